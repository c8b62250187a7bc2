//! One access-log line's fields, resolved from an exchange (or a TCP
//! connection summary) in the writer task, and its JSON form.
//!
//! JSON field names are a contract: every line carries every field below,
//! `null` when it does not apply, so consumers can rely on the shape.
use crate::pipeline::export::{ConnectionSummary, ExchangeContext, WallClock};
use periscope_parsers::{Exchange, ExchangeDetail, HttpVersion, Protocol, Timestamp};
use serde_json::{json, Value};

#[derive(Debug, Clone, Default)]
pub struct Entry {
    /// RFC 3339, UTC, milliseconds.
    pub timestamp: String,
    /// `http`, `grpc`, `mongodb`, `dynamodb` or `tcp`.
    pub kind: &'static str,
    pub listener: String,
    pub route: Option<String>,
    pub cluster: Option<String>,
    /// The detected protocol: `http1`, `http2`, `mongodb`, `tls`, `unknown`.
    pub protocol: &'static str,
    /// `HTTP/1.1`-style for `%PROTOCOL%`, as Envoy prints it.
    pub protocol_text: &'static str,
    /// HTTP method (gRPC and DynamoDB calls too: `POST`), or the MongoDB
    /// command.
    pub method: Option<String>,
    pub path: Option<String>,
    pub authority: Option<String>,
    pub status: Option<u16>,
    pub grpc_status: Option<&'static str>,
    /// MongoDB command or DynamoDB operation.
    pub db_operation: Option<String>,
    pub db_namespace: Option<String>,
    pub db_collection: Option<String>,
    pub db_status_code: Option<String>,
    pub duration_ms: u64,
    /// From the client (request bytes, or everything the client sent).
    pub bytes_received: u64,
    /// To the client.
    pub bytes_sent: u64,
    pub peer: Option<String>,
    pub upstream: Option<String>,
    pub request_id: Option<String>,
    pub trace_id: Option<String>,
    pub span_id: Option<String>,
    pub complete: bool,
}

impl Entry {
    pub fn exchange(
        listener: &str,
        context: &ExchangeContext,
        exchange: &Exchange,
        clock: &WallClock,
    ) -> Entry {
        let mut entry = Entry::base(
            listener,
            context,
            exchange.started,
            exchange.finished,
            clock,
        );
        entry.protocol = exchange.protocol.as_str();
        entry.bytes_received = exchange.request_bytes;
        entry.bytes_sent = exchange.response_bytes;
        entry.complete = exchange.outcome == periscope_parsers::Outcome::Complete;
        match &exchange.detail {
            ExchangeDetail::Http(http) => {
                entry.kind = if http.grpc.is_some() { "grpc" } else { "http" };
                entry.protocol_text = match http.version {
                    HttpVersion::Http10 => "HTTP/1.0",
                    HttpVersion::Http11 => "HTTP/1.1",
                    HttpVersion::Http2 => "HTTP/2",
                };
                entry.method = Some(
                    http.method_original
                        .clone()
                        .unwrap_or_else(|| http.method.as_str().to_owned()),
                );
                entry.path = Some(http.target.clone());
                entry.authority = http.host.clone();
                entry.status = http.status;
                entry.grpc_status = http
                    .grpc
                    .as_ref()
                    .and_then(|call| call.status)
                    .map(|status| status.as_str());
                if let Some(call) = &http.dynamodb {
                    // The HTTP fields stay (a DynamoDB call is a POST /);
                    // the database ones say what it did.
                    entry.kind = "dynamodb";
                    entry.db_operation = Some(call.operation_label.to_owned());
                    entry.db_collection = (!call.tables.is_empty()).then(|| {
                        let names: Vec<&str> =
                            call.tables.iter().map(|t| t.name.as_str()).collect();
                        names.join(",")
                    });
                    entry.db_status_code = call.error_type();
                }
            }
            ExchangeDetail::Mongo(mongo) => {
                entry.kind = "mongodb";
                entry.protocol_text = "mongodb";
                entry.method = Some(mongo.command.clone());
                entry.db_operation = Some(mongo.command.clone());
                entry.db_namespace = mongo.database.clone();
                entry.db_collection = mongo.collection.clone();
                entry.db_status_code = mongo.status_code().map(|code| code.to_string());
            }
        }
        entry
    }

    pub fn connection(
        listener: &str,
        context: &ExchangeContext,
        summary: &ConnectionSummary,
        clock: &WallClock,
    ) -> Entry {
        let mut entry = Entry::base(listener, context, summary.started, summary.finished, clock);
        entry.kind = "tcp";
        entry.protocol = summary.protocol.as_str();
        entry.protocol_text = match summary.protocol {
            Protocol::Tls => "tls",
            _ => "tcp",
        };
        entry.bytes_received = summary.bytes_from_client;
        entry.bytes_sent = summary.bytes_to_client;
        entry.complete = true;
        entry
    }

    fn base(
        listener: &str,
        context: &ExchangeContext,
        started: Timestamp,
        finished: Timestamp,
        clock: &WallClock,
    ) -> Entry {
        Entry {
            timestamp: rfc3339(clock.wall(started)),
            listener: listener.to_owned(),
            route: context.route.clone(),
            cluster: context.cluster.clone(),
            duration_ms: finished.0.saturating_sub(started.0) / 1_000_000,
            peer: context.peer.map(|p| p.to_string()),
            upstream: context.upstream.clone(),
            request_id: context.request_id.clone(),
            trace_id: context
                .span
                .filter(|s| s.sampled)
                .map(|s| format!("{:032x}", s.trace_id)),
            span_id: context
                .span
                .filter(|s| s.sampled)
                .map(|s| format!("{:016x}", s.span_id)),
            ..Entry::default()
        }
    }

    pub fn to_json(&self) -> Value {
        json!({
            "timestamp": self.timestamp,
            "kind": self.kind,
            "listener": self.listener,
            "route": self.route,
            "cluster": self.cluster,
            "protocol": self.protocol,
            "method": self.method,
            "path": self.path,
            "authority": self.authority,
            "status": self.status,
            "grpc_status": self.grpc_status,
            "db_operation": self.db_operation,
            "db_namespace": self.db_namespace,
            "db_collection": self.db_collection,
            "db_status_code": self.db_status_code,
            "duration_ms": self.duration_ms,
            "bytes_received": self.bytes_received,
            "bytes_sent": self.bytes_sent,
            "peer": self.peer,
            "upstream": self.upstream,
            "request_id": self.request_id,
            "trace_id": self.trace_id,
            "span_id": self.span_id,
            "complete": self.complete,
        })
    }
}

/// `2026-11-24T05:17:47.123Z`, computed from the Unix time (no date crate).
pub fn rfc3339(at: std::time::SystemTime) -> String {
    let since = at.duration_since(std::time::UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (year, month, day) = civil_from_days(days as i64);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:03}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_millis()
    )
}

/// Days since 1970-01-01 → (year, month, day); Howard Hinnant's algorithm.
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn formats_rfc3339_utc() {
        assert_eq!(rfc3339(UNIX_EPOCH), "1970-01-01T00:00:00.000Z");
        let at = UNIX_EPOCH + Duration::from_millis(1_795_929_467_123);
        assert_eq!(rfc3339(at), "2026-11-29T05:17:47.123Z");
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400); // 2000-02-29
        assert_eq!(rfc3339(leap), "2000-02-29T00:00:00.000Z");
    }
}

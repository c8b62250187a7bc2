//! Access-log text format: Envoy-style `%OPERATOR%` substitution.
//!
//! The format is compiled once (at config validation) into literal pieces
//! and operators, so an unknown operator is a config error with its
//! position, and rendering a line is a walk over the pieces.
use super::entry::Entry;
use std::fmt::Write;

/// Envoy's default text format, less what Periscope does not know.
pub const DEFAULT_TEXT_FORMAT: &str = "[%START_TIME%] \"%METHOD% %PATH% %PROTOCOL%\" \
     %RESPONSE_CODE% %BYTES_RECEIVED% %BYTES_SENT% %DURATION% \
     \"%REQ(X-REQUEST-ID)%\" \"%REQ(:AUTHORITY)%\" \"%UPSTREAM_HOST%\" %ROUTE_NAME%";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operator {
    StartTime,
    Method,
    Path,
    Authority,
    RequestId,
    Protocol,
    ResponseCode,
    GrpcStatus,
    Duration,
    BytesReceived,
    BytesSent,
    DownstreamRemoteAddress,
    UpstreamHost,
    RouteName,
    UpstreamCluster,
    ListenerName,
    TraceId,
    DbNamespace,
    DbCollection,
    DbOperation,
    DbStatusCode,
}

/// Operators by name, as written between `%`s.
const OPERATORS: &[(&str, Operator)] = &[
    ("START_TIME", Operator::StartTime),
    ("METHOD", Operator::Method),
    ("REQ(:METHOD)", Operator::Method),
    ("PATH", Operator::Path),
    ("REQ(:PATH)", Operator::Path),
    ("REQ(:AUTHORITY)", Operator::Authority),
    ("REQ(HOST)", Operator::Authority),
    ("REQ(X-REQUEST-ID)", Operator::RequestId),
    ("PROTOCOL", Operator::Protocol),
    ("RESPONSE_CODE", Operator::ResponseCode),
    ("GRPC_STATUS", Operator::GrpcStatus),
    ("DURATION", Operator::Duration),
    ("BYTES_RECEIVED", Operator::BytesReceived),
    ("BYTES_SENT", Operator::BytesSent),
    (
        "DOWNSTREAM_REMOTE_ADDRESS",
        Operator::DownstreamRemoteAddress,
    ),
    ("UPSTREAM_HOST", Operator::UpstreamHost),
    ("ROUTE_NAME", Operator::RouteName),
    ("UPSTREAM_CLUSTER", Operator::UpstreamCluster),
    ("LISTENER_NAME", Operator::ListenerName),
    ("TRACE_ID", Operator::TraceId),
    ("DB_NAMESPACE", Operator::DbNamespace),
    ("DB_COLLECTION", Operator::DbCollection),
    ("DB_OPERATION", Operator::DbOperation),
    ("DB_STATUS_CODE", Operator::DbStatusCode),
];

#[derive(Debug, Clone, PartialEq, Eq)]
enum Piece {
    Literal(String),
    Op(Operator),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFormat {
    pieces: Vec<Piece>,
}

impl TextFormat {
    /// Compiles a format; the error names the offending operator.
    pub fn parse(format: &str) -> Result<TextFormat, String> {
        let mut pieces = Vec::new();
        let mut rest = format;
        while let Some(open) = rest.find('%') {
            let (literal, after) = rest.split_at(open);
            if !literal.is_empty() {
                pieces.push(Piece::Literal(literal.to_owned()));
            }
            let after = &after[1..];
            let Some(close) = after.find('%') else {
                return Err(format!(
                    "unterminated operator \"%{after}\" (operators are written %NAME%)"
                ));
            };
            let name = &after[..close];
            let op = OPERATORS
                .iter()
                .find(|(known, _)| known.eq_ignore_ascii_case(name))
                .map(|(_, op)| *op)
                .ok_or_else(|| {
                    let known: Vec<_> = OPERATORS.iter().map(|(n, _)| *n).collect();
                    format!("unknown operator %{name}% (known: {})", known.join(", "))
                })?;
            pieces.push(Piece::Op(op));
            rest = &after[close + 1..];
        }
        if !rest.is_empty() {
            pieces.push(Piece::Literal(rest.to_owned()));
        }
        Ok(TextFormat { pieces })
    }

    /// One line (without its newline); unknown values render as `-`.
    pub fn render(&self, entry: &Entry, out: &mut String) {
        for piece in &self.pieces {
            match piece {
                Piece::Literal(text) => out.push_str(text),
                Piece::Op(op) => render_op(*op, entry, out),
            }
        }
    }
}

fn render_op(op: Operator, e: &Entry, out: &mut String) {
    let text = |out: &mut String, value: Option<&str>| {
        out.push_str(value.filter(|v| !v.is_empty()).unwrap_or("-"))
    };
    match op {
        Operator::StartTime => out.push_str(&e.timestamp),
        Operator::Method => text(out, e.method.as_deref()),
        Operator::Path => text(out, e.path.as_deref()),
        Operator::Authority => text(out, e.authority.as_deref()),
        Operator::RequestId => text(out, e.request_id.as_deref()),
        Operator::Protocol => out.push_str(e.protocol_text),
        Operator::ResponseCode => match e.status {
            Some(code) => {
                let _ = write!(out, "{code}");
            }
            None => out.push('0'),
        },
        Operator::GrpcStatus => text(out, e.grpc_status),
        Operator::Duration => {
            let _ = write!(out, "{}", e.duration_ms);
        }
        Operator::BytesReceived => {
            let _ = write!(out, "{}", e.bytes_received);
        }
        Operator::BytesSent => {
            let _ = write!(out, "{}", e.bytes_sent);
        }
        Operator::DownstreamRemoteAddress => text(out, e.peer.as_deref()),
        Operator::UpstreamHost => text(out, e.upstream.as_deref()),
        Operator::RouteName => text(out, e.route.as_deref()),
        Operator::UpstreamCluster => text(out, e.cluster.as_deref()),
        Operator::ListenerName => out.push_str(&e.listener),
        Operator::TraceId => text(out, e.trace_id.as_deref()),
        Operator::DbNamespace => text(out, e.db_namespace.as_deref()),
        Operator::DbCollection => text(out, e.db_collection.as_deref()),
        Operator::DbOperation => text(out, e.db_operation.as_deref()),
        Operator::DbStatusCode => text(out, e.db_status_code.as_deref()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn compiles_known_operators_and_rejects_unknown_ones() {
        assert!(TextFormat::parse(DEFAULT_TEXT_FORMAT).is_ok());
        let format = TextFormat::parse("%method% %PATH% -> %RESPONSE_CODE%").expect("ok");
        assert_eq!(format.pieces.len(), 5);
        let err = TextFormat::parse("%METHOD% %BOGUS%").expect_err("unknown");
        assert!(err.starts_with("unknown operator %BOGUS% (known: START_TIME, METHOD,"));
        assert_eq!(
            TextFormat::parse("100%").expect_err("open"),
            "unterminated operator \"%\" (operators are written %NAME%)"
        );
    }
}

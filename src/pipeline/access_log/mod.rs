//! Access logs: one line per exchange (HTTP request, gRPC call, MongoDB
//! operation) and one summary line per opaque TCP connection, as JSON lines
//! or Envoy-style text, to stdout or a file per listener.
//!
//! The hot path does a `try_send` of the exchange into one bounded queue
//! shared by all listeners (a full queue drops the line and counts it in
//! `periscope_telemetry_dropped_total{signal="access_log"}`). The writer task
//! (`writer.rs`) resolves fields (`entry.rs`), formats (`format.rs`) and
//! writes; one task for every destination keeps each line whole even when
//! several listeners log to stdout.
mod entry;
mod format;
mod writer;

pub use format::{TextFormat, DEFAULT_TEXT_FORMAT};
pub use writer::{spawn, AccessLogTask, Destinations};

use super::export::{ConnectionSummary, ExchangeContext, ListenerExport};
use periscope_parsers::mongodb::CommandKind;
use periscope_parsers::{Exchange, ExchangeDetail};
use prometheus::IntCounter;
use std::sync::Arc;
use tokio::sync::mpsc;

/// Lines waiting for the writer; beyond it lines are dropped and counted.
pub const QUEUE_SIZE: usize = 8192;

pub enum Record {
    Exchange(Box<(ExchangeContext, Exchange)>),
    Connection(Box<(ExchangeContext, ConnectionSummary)>),
}

/// One queued line and where it goes.
pub struct Line {
    pub destination: usize,
    pub listener: Arc<str>,
    pub record: Record,
}

/// A listener's handle on the writer.
#[derive(Clone)]
pub struct AccessLog {
    queue: mpsc::Sender<Line>,
    destination: usize,
    dropped: IntCounter,
}

impl AccessLog {
    pub fn exchange(&self, to: &ListenerExport, context: ExchangeContext, exchange: Exchange) {
        // Driver housekeeping (hello, ping, auth) is not an operation: kept
        // out of the log as it is kept out of operation metrics.
        if let ExchangeDetail::Mongo(mongo) = &exchange.detail {
            if mongo.kind == CommandKind::Handshake {
                return;
            }
        }
        self.send(to, Record::Exchange(Box::new((context, exchange))));
    }

    pub fn connection(
        &self,
        to: &ListenerExport,
        context: ExchangeContext,
        summary: ConnectionSummary,
    ) {
        self.send(to, Record::Connection(Box::new((context, summary))));
    }

    fn send(&self, to: &ListenerExport, record: Record) {
        let line = Line {
            destination: self.destination,
            listener: to.listener.clone(),
            record,
        };
        if self.queue.try_send(line).is_err() {
            self.dropped.inc();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use periscope_parsers::{HttpExchange, HttpMethod, HttpVersion, Outcome, Protocol, Timestamp};

    fn exchange() -> Exchange {
        Exchange {
            protocol: Protocol::Http1,
            started: Timestamp(0),
            finished: Timestamp(5_000_000),
            request_bytes: 0,
            response_bytes: 2,
            outcome: Outcome::Complete,
            detail: ExchangeDetail::Http(HttpExchange {
                method: HttpMethod::Get,
                method_original: None,
                target: "/".to_owned(),
                host: None,
                version: HttpVersion::Http11,
                status: Some(200),
                request_body_bytes: 0,
                response_body_bytes: 2,
                upgraded: false,
                grpc: None,
                dynamodb: None,
            }),
        }
    }

    #[test]
    fn a_full_queue_drops_lines_and_counts_them() {
        let (queue, _lines) = mpsc::channel(2);
        let dropped = IntCounter::new("d", "d").expect("counter");
        let log = AccessLog {
            queue,
            destination: 0,
            dropped: dropped.clone(),
        };
        let to = ListenerExport {
            access_log: Some(log),
            ..ListenerExport::off("edge", 1)
        };
        for _ in 0..5 {
            to.exchange(ExchangeContext::default(), exchange());
        }
        assert_eq!(dropped.get(), 3);
    }

    #[test]
    fn json_and_text_render_the_same_entry() {
        let clock = crate::pipeline::export::WallClock::now();
        let context = ExchangeContext {
            route: Some("api".to_owned()),
            request_id: Some("r1".to_owned()),
            ..ExchangeContext::default()
        };
        let entry = entry::Entry::exchange("edge", &context, &exchange(), &clock);
        let json = entry.to_json();
        assert_eq!(json["duration_ms"], 5);
        assert_eq!(json["route"], "api");
        assert_eq!(json["peer"], serde_json::Value::Null);
        let format =
            TextFormat::parse("%ROUTE_NAME% %DURATION% %UPSTREAM_HOST% %REQ(X-REQUEST-ID)%")
                .expect("format");
        let mut line = String::new();
        format.render(&entry, &mut line);
        assert_eq!(line, "api 5 - r1");
    }
}

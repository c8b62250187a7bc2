//! Where an exchange goes besides metrics: a span (OTLP) and an access log
//! line. The hot path only moves the finished `Exchange` and its context into
//! bounded queues (`try_send`); building spans, formatting lines and all I/O
//! happen in tasks of their own, so telemetry never slows or blocks traffic.
mod handles;
mod outputs;

pub use handles::{ConnectionExport, L7Export};
pub use outputs::Outputs;

use super::access_log::AccessLog;
use super::traces::{SpanIds, Tracer};
use periscope_parsers::{Exchange, Protocol, Timestamp};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One listener's export targets; both `None` when neither is configured,
/// and then nothing on the hot path touches this module beyond a check.
pub struct ListenerExport {
    pub listener: Arc<str>,
    /// The listener's own port: `server.port` of its SERVER spans.
    pub port: u16,
    pub tracer: Option<Tracer>,
    pub access_log: Option<AccessLog>,
}

/// What an exchange is exported with, besides the exchange itself.
#[derive(Debug, Clone, Default)]
pub struct ExchangeContext {
    pub peer: Option<SocketAddr>,
    pub route: Option<String>,
    pub cluster: Option<String>,
    /// The endpoint (`host:port`) the request or connection went to.
    pub upstream: Option<String>,
    pub request_id: Option<String>,
    /// Set on the L7 path when the request starts (so the ids can be
    /// injected upstream); sniffed exchanges get theirs when exported.
    pub span: Option<SpanIds>,
}

/// One opaque TCP connection, for its access-log summary line.
#[derive(Debug, Clone)]
pub struct ConnectionSummary {
    pub protocol: Protocol,
    pub started: Timestamp,
    pub finished: Timestamp,
    pub bytes_from_client: u64,
    pub bytes_to_client: u64,
}

impl ListenerExport {
    pub fn off(listener: &str, port: u16) -> ListenerExport {
        ListenerExport {
            listener: listener.into(),
            port,
            tracer: None,
            access_log: None,
        }
    }

    pub fn is_on(&self) -> bool {
        self.tracer.is_some() || self.access_log.is_some()
    }

    /// Hand a finished exchange to the span and log queues; never waits.
    pub fn exchange(&self, mut context: ExchangeContext, exchange: Exchange) {
        if let Some(tracer) = &self.tracer {
            if context.span.is_none() {
                context.span = Some(tracer.start(None));
            }
        }
        match (&self.tracer, &self.access_log) {
            (Some(tracer), Some(log)) => {
                log.exchange(self, context.clone(), exchange.clone());
                tracer.submit(self, context, exchange);
            }
            (Some(tracer), None) => tracer.submit(self, context, exchange),
            (None, Some(log)) => log.exchange(self, context, exchange),
            (None, None) => {}
        }
    }

    /// An opaque TCP connection ended: one summary line.
    pub fn connection(&self, context: ExchangeContext, summary: ConnectionSummary) {
        if let Some(log) = &self.access_log {
            log.connection(self, context, summary);
        }
    }
}

/// The runtime's monotonic clock (`pipeline::clock`) mapped to wall time,
/// read once at start-up: spans and log lines get wall timestamps without
/// reading the system clock per exchange, and durations stay monotonic.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    mono: Timestamp,
    wall: SystemTime,
}

impl WallClock {
    pub fn now() -> WallClock {
        WallClock {
            mono: super::clock::now(),
            wall: SystemTime::now(),
        }
    }

    pub fn wall(&self, at: Timestamp) -> SystemTime {
        if at >= self.mono {
            self.wall + Duration::from_nanos(at.0 - self.mono.0)
        } else {
            self.wall - Duration::from_nanos(self.mono.0 - at.0)
        }
    }
}

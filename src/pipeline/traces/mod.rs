//! OTLP traces: one span per exchange, exported off the hot path.
//!
//! The hot path calls [`Tracer::submit`], a `try_send` of the exchange and
//! its context into a bounded queue (a full queue drops the span and counts
//! it in `periscope_telemetry_dropped_total{signal="traces"}`). One tokio
//! task (`exporter.rs`) turns them into spans (`span.rs`) and exports them
//! in batches over OTLP/gRPC or OTLP/HTTP. We batch ourselves rather than use
//! the SDK's `BatchSpanProcessor`, which exports from a thread of its own:
//! here export runs on the same runtime as tonic and hyper, and spans need
//! explicit ids and timestamps that the SDK's tracer API would not take.
mod context;
mod exporter;
mod span;

pub use context::{parse_traceparent, Parent, SpanIds};
pub use exporter::{spawn, TraceTask};

use super::export::{ExchangeContext, ListenerExport};
use periscope_parsers::Exchange;
use prometheus::IntCounter;
use std::sync::Arc;
use tokio::sync::mpsc;

/// What the export task needs to build one span.
pub struct SpanJob {
    pub listener: Arc<str>,
    pub port: u16,
    pub context: ExchangeContext,
    pub exchange: Exchange,
}

/// The hot path's handle; cheap to clone (one per listener).
#[derive(Clone)]
pub struct Tracer {
    queue: mpsc::Sender<SpanJob>,
    dropped: IntCounter,
    sampling_ratio: f64,
}

impl Tracer {
    /// Ids for a new span: a child of `parent`, or a new sampled-by-ratio root.
    pub fn start(&self, parent: Option<Parent>) -> SpanIds {
        SpanIds::start(parent, self.sampling_ratio)
    }

    /// Queue the exchange's span; never waits. Unsampled spans stop here.
    pub fn submit(&self, to: &ListenerExport, context: ExchangeContext, exchange: Exchange) {
        if !context.span.is_some_and(|span| span.sampled) || !span::exported(&exchange) {
            return;
        }
        let job = SpanJob {
            listener: to.listener.clone(),
            port: to.port,
            context,
            exchange,
        };
        if self.queue.try_send(job).is_err() {
            self.dropped.inc();
        }
    }
}

#[cfg(test)]
mod tests;

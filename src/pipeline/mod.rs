//! The telemetry pipeline: every exchange, from either path, is recorded
//! here. Recording never awaits and never takes a global lock.
pub mod clock;
pub mod families;
pub mod http_scope;
pub mod label_cap;
pub mod listener_metrics;
pub mod mongo;
pub mod mongo_families;
pub mod status_slots;

pub use families::Families;
pub use http_scope::{http_budget, HttpScope, SeriesBudget};
pub use listener_metrics::{ActiveConnection, ClusterMetrics, ListenerMetrics, UpstreamFailure};

use periscope_parsers::{Exchange, ExchangeDetail};

/// Record an HTTP exchange against a pre-resolved scope. Other protocols'
/// exchanges are not HTTP requests and are ignored here.
pub fn record_http(scope: &HttpScope, exchange: &Exchange) {
    if let ExchangeDetail::Http(http) = &exchange.detail {
        scope.observe(
            http.method,
            http.version,
            http.status,
            exchange.outcome,
            exchange.duration_seconds(),
        );
    }
}

#[cfg(test)]
mod mongo_tests;

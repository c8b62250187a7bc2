//! The telemetry pipeline: every exchange, from either path, is recorded
//! here. Recording never awaits and never takes a global lock.
pub mod clock;
pub mod families;
pub mod http_scope;
pub mod listener_metrics;
pub mod status_slots;

pub use families::Families;
pub use http_scope::{http_budget, HttpScope, SeriesBudget};
pub use listener_metrics::{ActiveConnection, ClusterMetrics, ListenerMetrics, UpstreamFailure};

use periscope_parsers::{Exchange, ExchangeDetail};

/// Record one exchange against a pre-resolved scope.
pub fn record_exchange(scope: &HttpScope, exchange: &Exchange) {
    match &exchange.detail {
        ExchangeDetail::Http(http) => scope.observe(
            http.method,
            http.version,
            http.status,
            exchange.duration_seconds(),
        ),
    }
}

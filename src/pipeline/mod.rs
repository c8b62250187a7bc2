//! The telemetry pipeline: every exchange, from either path, is recorded
//! here. Recording never awaits and never takes a global lock.
pub mod access_log;
pub mod clock;
pub mod dynamo;
pub mod dynamo_families;
pub mod export;
pub mod families;
pub mod grpc;
pub mod grpc_families;
pub mod handle_table;
pub mod health_families;
pub mod http_scope;
pub mod label_cap;
pub mod listener_metrics;
pub mod mongo;
pub mod mongo_families;
pub mod status_slots;
pub mod traces;
pub mod upstream_activity;

pub use families::Families;
pub use http_scope::{http_budget, HttpScope, SeriesBudget};
pub use listener_metrics::{ActiveConnection, ClusterMetrics, ListenerMetrics, UpstreamFailure};

pub use dynamo::{DynamoLabels, DynamoScope};
pub use grpc::GrpcScope;
pub use label_cap::LabelCap;
pub use upstream_activity::{BreakerCounters, UpstreamActivity};

use periscope_parsers::{Exchange, ExchangeDetail};
use std::sync::Arc;

/// Everything an HTTP exchange can be recorded against at one place
/// (listener × route × cluster): plain HTTP requests, gRPC calls, and
/// DynamoDB calls.
pub struct Scope {
    pub http: HttpScope,
    pub grpc: GrpcScope,
    pub dynamo: DynamoScope,
}

/// A listener's caps on label values taken from traffic, shared by all of
/// its scopes.
#[derive(Clone)]
pub struct ListenerLabels {
    pub rpc_methods: Arc<LabelCap>,
    pub dynamo: Arc<DynamoLabels>,
}

impl Scope {
    pub fn new(
        families: &Arc<Families>,
        budget: &Arc<SeriesBudget>,
        labels: &ListenerLabels,
        [listener, route, cluster]: [&str; 3],
    ) -> Scope {
        Scope {
            http: HttpScope::new(
                &families.http_duration,
                budget.clone(),
                listener,
                route,
                cluster,
            ),
            grpc: GrpcScope::new(
                families.clone(),
                labels.rpc_methods.clone(),
                listener,
                route,
                cluster,
            ),
            dynamo: DynamoScope::new(families.clone(), labels.dynamo.clone(), listener, cluster),
        }
    }
}

/// Record an HTTP exchange: a gRPC call goes to the RPC metrics, anything
/// else to the HTTP ones; a DynamoDB call also goes to the database
/// metrics (it is an HTTP request Periscope served *and* a database
/// operation its client made). Other protocols' exchanges are ignored here.
pub fn record_http(scope: &Scope, exchange: &Exchange) {
    let ExchangeDetail::Http(http) = &exchange.detail else {
        return;
    };
    if let Some(call) = &http.dynamodb {
        scope
            .dynamo
            .record(call, exchange.outcome, exchange.duration_seconds());
    }
    match &http.grpc {
        Some(call) => scope.grpc.record(call, exchange.duration_seconds()),
        None => scope.http.observe(
            http.method,
            http.version,
            http.status,
            exchange.outcome,
            exchange.duration_seconds(),
        ),
    }
}

#[cfg(test)]
mod mongo_tests;

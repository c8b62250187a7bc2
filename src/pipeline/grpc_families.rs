//! gRPC metric families: the OpenTelemetry RPC convention's server call
//! duration, and Periscope's message and call-shape counts.
use super::families::DURATION_BUCKETS;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, Opts};

pub const RPC_LABELS: [&str; 7] = [
    "listener",
    "route",
    "cluster",
    "rpc_system_name",
    "rpc_method",
    "rpc_response_status_code",
    "error_type",
];

pub struct GrpcFamilies {
    pub call_duration: HistogramVec,
    pub messages: IntCounterVec,
    pub calls: IntCounterVec,
}

impl GrpcFamilies {
    pub fn new() -> GrpcFamilies {
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter definition")
        };
        GrpcFamilies {
            call_duration: HistogramVec::new(
                HistogramOpts::new(
                    "rpc_server_call_duration_seconds",
                    "Duration of gRPC calls seen by Periscope, to the end of the stream.",
                )
                .buckets(DURATION_BUCKETS.to_vec()),
                &RPC_LABELS,
            )
            .expect("valid histogram definition"),
            messages: counter(
                "periscope_grpc_messages_total",
                "gRPC messages by method and direction (request = client to server).",
                &["listener", "route", "rpc_method", "direction"],
            ),
            calls: counter(
                "periscope_grpc_calls_total",
                "gRPC calls by method and shape (unary, client/server/bidi streaming).",
                &["listener", "route", "rpc_method", "call_kind"],
            ),
        }
    }

    pub fn collectors(&self) -> [Box<dyn prometheus::core::Collector>; 3] {
        [
            Box::new(self.call_duration.clone()),
            Box::new(self.messages.clone()),
            Box::new(self.calls.clone()),
        ]
    }
}

impl Default for GrpcFamilies {
    fn default() -> Self {
        GrpcFamilies::new()
    }
}

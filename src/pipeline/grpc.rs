//! Recording gRPC calls against a scope (listener × route × cluster).
//!
//! Methods come off the wire, so each scope keeps a [`HandleTable`] from
//! the raw method to its handles (lock-free reads), capped by the
//! listener's `label_limits.rpc_methods`: later methods share one `_OTHER`
//! entry and are counted as overflow.
use super::families::Families;
use super::handle_table::HandleTable;
use super::label_cap::{LabelCap, OTHER};
use super::status_slots::INCOMPLETE;
use periscope_parsers::grpc::{CallKind, GrpcCall, GrpcStatus};
use prometheus::{Histogram, IntCounter};
use std::sync::{Arc, OnceLock};

const STATUSES: usize = GrpcStatus::ALL.len();
/// Slot for calls that ended without a status (reset, connection lost).
const NO_STATUS: usize = STATUSES;
const KINDS: [CallKind; 4] = [
    CallKind::Unary,
    CallKind::ClientStreaming,
    CallKind::ServerStreaming,
    CallKind::BidiStreaming,
];

pub struct GrpcScope {
    families: Arc<Families>,
    labels: [String; 3],
    methods: Arc<LabelCap>,
    table: HandleTable<MethodHandles>,
}

struct MethodHandles {
    label: Arc<str>,
    durations: Box<[OnceLock<Histogram>]>,
    requests: IntCounter,
    responses: IntCounter,
    /// Created on first use, so a method shows only the shapes it had.
    kinds: [OnceLock<IntCounter>; KINDS.len()],
}

impl GrpcScope {
    pub fn new(
        families: Arc<Families>,
        methods: Arc<LabelCap>,
        listener: &str,
        route: &str,
        cluster: &str,
    ) -> GrpcScope {
        GrpcScope {
            families,
            labels: [listener.to_owned(), route.to_owned(), cluster.to_owned()],
            methods,
            table: HandleTable::default(),
        }
    }

    pub fn record(&self, call: &GrpcCall, seconds: f64) {
        let handles = self.handles(call.method.as_deref());
        if &*handles.label == OTHER {
            self.methods.count_overflow();
        }
        let slot = call.status.map_or(NO_STATUS, GrpcStatus::index);
        if let Some(cell) = handles.durations.get(slot) {
            cell.get_or_init(|| self.duration(&handles.label, call.status))
                .observe(seconds);
        }
        handles.requests.inc_by(call.request_messages);
        handles.responses.inc_by(call.response_messages);
        let kind = call.kind();
        let index = KINDS.iter().position(|k| *k == kind).unwrap_or(0);
        handles.kinds[index]
            .get_or_init(|| {
                let [listener, route, _] = &self.labels;
                self.families.grpc.calls.with_label_values(&[
                    listener.as_str(),
                    route.as_str(),
                    &handles.label,
                    kind.as_str(),
                ])
            })
            .inc();
    }

    /// Calls whose method is not gRPC-shaped share the `_OTHER` entry.
    fn handles(&self, method: Option<&str>) -> Arc<MethodHandles> {
        let create = |label| self.create(label);
        match method {
            Some(method) => self.table.get(method, &self.methods, create),
            None => self.table.other(create),
        }
    }

    fn create(&self, label: Arc<str>) -> MethodHandles {
        let [listener, route, _] = &self.labels;
        let grpc = &self.families.grpc;
        let messages = |direction| {
            grpc.messages
                .with_label_values(&[listener, route, &*label, direction])
        };
        MethodHandles {
            durations: (0..=STATUSES).map(|_| OnceLock::new()).collect(),
            requests: messages("request"),
            responses: messages("response"),
            kinds: Default::default(),
            label,
        }
    }

    fn duration(&self, method: &str, status: Option<GrpcStatus>) -> Histogram {
        let [listener, route, cluster] = &self.labels;
        let (status_label, error_type) = match status {
            Some(GrpcStatus::Ok) => ("OK", ""),
            Some(other) => (other.as_str(), other.as_str()),
            None => ("", INCOMPLETE),
        };
        self.families.grpc.call_duration.with_label_values(&[
            listener.as_str(),
            route.as_str(),
            cluster.as_str(),
            "grpc",
            method,
            status_label,
            error_type,
        ])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scope(cap: usize) -> (Arc<Families>, GrpcScope) {
        let families = Arc::new(Families::new());
        let overflow = families.label_overflow.with_label_values(&["rpc_method"]);
        let methods = Arc::new(LabelCap::new(cap, overflow));
        let scope = GrpcScope::new(families.clone(), methods, "edge", "api", "greeter");
        (families, scope)
    }

    fn call(method: &str, status: Option<GrpcStatus>, requests: u64, responses: u64) -> GrpcCall {
        GrpcCall {
            method: Some(method.to_owned()),
            status,
            request_messages: requests,
            response_messages: responses,
            ..GrpcCall::default()
        }
    }

    fn count(families: &Families, method: &str, status: &str, error: &str) -> u64 {
        families
            .grpc
            .call_duration
            .with_label_values(&["edge", "api", "greeter", "grpc", method, status, error])
            .get_sample_count()
    }

    #[test]
    fn calls_are_counted_by_method_status_and_shape() {
        let (families, scope) = scope(10);
        let hello = "helloworld.Greeter/SayHello";
        scope.record(&call(hello, Some(GrpcStatus::Ok), 1, 1), 0.01);
        scope.record(&call(hello, Some(GrpcStatus::Ok), 1, 1), 0.01);
        scope.record(&call(hello, Some(GrpcStatus::NotFound), 1, 0), 0.01);
        scope.record(
            &call("helloworld.Greeter/SayHellos", Some(GrpcStatus::Ok), 1, 5),
            0.01,
        );
        scope.record(&call(hello, None, 1, 0), 0.01);
        assert_eq!(count(&families, hello, "OK", ""), 2);
        assert_eq!(count(&families, hello, "NOT_FOUND", "NOT_FOUND"), 1);
        assert_eq!(count(&families, hello, "", "incomplete"), 1);
        let messages = |method, direction| {
            families
                .grpc
                .messages
                .with_label_values(&["edge", "api", method, direction])
                .get()
        };
        assert_eq!(messages(hello, "request"), 4);
        assert_eq!(messages("helloworld.Greeter/SayHellos", "response"), 5);
        let shape = families
            .grpc
            .calls
            .with_label_values(&[
                "edge",
                "api",
                "helloworld.Greeter/SayHellos",
                "server_streaming",
            ])
            .get();
        assert_eq!(shape, 1);
    }

    #[test]
    fn methods_past_the_cap_and_non_grpc_paths_are_other() {
        let (families, scope) = scope(1);
        scope.record(&call("a.S/One", Some(GrpcStatus::Ok), 1, 1), 0.0);
        scope.record(&call("a.S/Two", Some(GrpcStatus::Ok), 1, 1), 0.0);
        scope.record(&call("a.S/Three", Some(GrpcStatus::Ok), 1, 1), 0.0);
        let mut shapeless = call("", Some(GrpcStatus::Ok), 1, 1);
        shapeless.method = None;
        scope.record(&shapeless, 0.0);
        assert_eq!(count(&families, "a.S/One", "OK", ""), 1);
        assert_eq!(count(&families, "_OTHER", "OK", ""), 3);
        let overflow = families
            .label_overflow
            .with_label_values(&["rpc_method"])
            .get();
        assert_eq!(overflow, 3);
    }
}

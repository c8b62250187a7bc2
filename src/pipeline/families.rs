//! Every metric family Periscope exports, registered once at start-up.
//!
//! Names follow the OpenTelemetry semantic conventions in Prometheus form
//! (`http.server.request.duration` → `http_server_request_duration_seconds`);
//! Periscope's own metrics start with `periscope_`. Label values come only
//! from configuration (listener, route, cluster names) or from closed sets
//! (protocols, methods, status slots, reasons), so cardinality is bounded by
//! construction.
use prometheus::{
    HistogramOpts, HistogramVec, IntCounterVec, IntGaugeVec, Opts, Registry, TextEncoder,
};

/// Bucket boundaries recommended by the OpenTelemetry HTTP conventions.
pub const DURATION_BUCKETS: [f64; 14] = [
    0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0,
];

pub const HTTP_LABELS: [&str; 7] = [
    "listener",
    "route",
    "cluster",
    "http_request_method",
    "http_response_status_code",
    "network_protocol_version",
    "error_type",
];

/// Upper bound on series of `http_server_request_duration_seconds`; beyond it
/// new label sets fold into one `_OTHER` series per scope and are counted.
pub const HTTP_SERIES_CAP: usize = 20_000;

pub struct Families {
    pub registry: Registry,
    pub http_duration: HistogramVec,
    pub connections_total: IntCounterVec,
    pub connections_active: IntGaugeVec,
    pub bytes_received: IntCounterVec,
    pub bytes_sent: IntCounterVec,
    pub detections: IntCounterVec,
    pub parse_errors: IntCounterVec,
    pub upstream_connect_failures: IntCounterVec,
    pub upstream_errors: IntCounterVec,
    pub label_overflow: IntCounterVec,
    pub parser_events: IntCounterVec,
    pub upstream_retries: IntCounterVec,
    pub idle_timeouts: IntCounterVec,
    pub drain_closed: IntCounterVec,
    pub max_duration_reached: IntCounterVec,
    pub tls_handshake_failures: IntCounterVec,
    pub breaker_overflow: IntCounterVec,
    pub http_upgrades: IntCounterVec,
    pub http_upgrades_active: IntGaugeVec,
    pub mongo: super::mongo_families::MongoFamilies,
    pub grpc: super::grpc_families::GrpcFamilies,
    pub dynamo: super::dynamo_families::DynamoFamilies,
    pub health: super::health_families::HealthFamilies,
    /// In-flight gauges per cluster, read from the breakers at scrape time.
    pub upstream_activity: std::sync::Arc<super::UpstreamActivity>,
}

impl Families {
    pub fn new() -> Families {
        let registry = Registry::new();
        let http_duration = HistogramVec::new(
            HistogramOpts::new(
                "http_server_request_duration_seconds",
                "Duration of HTTP server requests seen by Periscope (proxied or sniffed).",
            )
            .buckets(DURATION_BUCKETS.to_vec()),
            &HTTP_LABELS,
        )
        .expect("valid histogram definition");
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter definition")
        };
        let families = Families {
            http_duration,
            connections_total: counter(
                "periscope_downstream_connections_total",
                "Downstream connections accepted, by detected protocol.",
                &["listener", "protocol"],
            ),
            connections_active: IntGaugeVec::new(
                Opts::new(
                    "periscope_downstream_connections_active",
                    "Downstream connections open now, by detected protocol.",
                ),
                &["listener", "protocol"],
            )
            .expect("valid gauge definition"),
            bytes_received: counter(
                "periscope_downstream_bytes_received_total",
                "Bytes received from downstream clients.",
                &["listener"],
            ),
            bytes_sent: counter(
                "periscope_downstream_bytes_sent_total",
                "Bytes sent to downstream clients.",
                &["listener"],
            ),
            detections: counter(
                "periscope_detections_total",
                "Protocol detections on accepted connections.",
                &["listener", "protocol"],
            ),
            parse_errors: counter(
                "periscope_parse_errors_total",
                "Connections on which sniffing stopped because the parser failed; their bytes were still forwarded.",
                &["listener", "protocol", "reason"],
            ),
            upstream_connect_failures: counter(
                "periscope_upstream_connect_failures_total",
                "Failed connection attempts to upstream endpoints.",
                &["cluster"],
            ),
            upstream_errors: counter(
                "periscope_upstream_errors_total",
                "Requests or connections that failed on the upstream side, by reason.",
                &["cluster", "reason"],
            ),
            label_overflow: counter(
                "periscope_metric_label_overflow_total",
                "Observations folded into an _OTHER series because a metric reached its series cap.",
                &["metric"],
            ),
            parser_events: counter(
                "periscope_parser_events_total",
                "What sniffing parsers tolerated instead of failing: unresolved HPACK indexes, server pushes, evicted streams, skipped oversize messages, checksum mismatches.",
                &["listener", "protocol", "event"],
            ),
            idle_timeouts: counter(
                "periscope_downstream_idle_timeouts_total",
                "Downstream connections closed by an idle timeout: tcp_idle_timeout on the TCP relay (no byte either way), http_idle_timeout on HTTP (no request in flight), stream_idle_timeout on an upgraded connection (no byte either way).",
                &["listener"],
            ),
            drain_closed: counter(
                "periscope_downstream_connections_drain_closed_total",
                "Downstream connections still open when their drain deadline (--drain-time-s) passed after a reload or at shutdown, closed then: TCP relays, upgraded connections, requests still in flight.",
                &["listener"],
            ),
            max_duration_reached: counter(
                "periscope_downstream_connections_max_duration_reached_total",
                "Downstream connections that reached the listener's max_connection_duration: drained (HTTP) or closed (TCP relay).",
                &["listener"],
            ),
            tls_handshake_failures: counter(
                "periscope_downstream_tls_handshake_failures_total",
                "TLS handshakes with clients that failed or timed out on a listener with tls (Envoy's ssl.connection_error).",
                &["listener"],
            ),
            upstream_retries: counter(
                "periscope_upstream_retries_total",
                "Requests sent again to a cluster by a route's retry policy.",
                &["cluster"],
            ),
            breaker_overflow: counter(
                "periscope_circuit_breaker_overflow_total",
                "Requests, retries and connections refused because a cluster's circuit breaker threshold was reached.",
                &["cluster", "breaker"],
            ),
            http_upgrades: counter(
                "periscope_http_upgrades_total",
                "HTTP/1.1 requests asking to switch protocols (Upgrade), by type and result: upgraded (the upstream answered 101 and the relay started), refused (the type is not enabled on the route: 403; or the request has a body: 400), declined (any other answer).",
                &["listener", "upgrade_type", "result"],
            ),
            http_upgrades_active: IntGaugeVec::new(
                Opts::new(
                    "periscope_http_upgrades_active",
                    "Upgraded connections (WebSocket and other upgrades) relaying now.",
                ),
                &["listener"],
            )
            .expect("valid gauge definition"),
            mongo: super::mongo_families::MongoFamilies::new(),
            grpc: super::grpc_families::GrpcFamilies::new(),
            dynamo: super::dynamo_families::DynamoFamilies::new(),
            health: super::health_families::HealthFamilies::new(),
            upstream_activity: std::sync::Arc::default(),
            registry,
        };
        families.register_all();
        families
    }

    fn collectors(&self) -> [Box<dyn prometheus::core::Collector>; 19] {
        [
            Box::new(self.http_duration.clone()),
            Box::new(self.connections_total.clone()),
            Box::new(self.connections_active.clone()),
            Box::new(self.bytes_received.clone()),
            Box::new(self.bytes_sent.clone()),
            Box::new(self.detections.clone()),
            Box::new(self.parse_errors.clone()),
            Box::new(self.upstream_connect_failures.clone()),
            Box::new(self.upstream_errors.clone()),
            Box::new(self.label_overflow.clone()),
            Box::new(self.parser_events.clone()),
            Box::new(self.upstream_retries.clone()),
            Box::new(self.idle_timeouts.clone()),
            Box::new(self.drain_closed.clone()),
            Box::new(self.max_duration_reached.clone()),
            Box::new(self.tls_handshake_failures.clone()),
            Box::new(self.breaker_overflow.clone()),
            Box::new(self.http_upgrades.clone()),
            Box::new(self.http_upgrades_active.clone()),
        ]
    }

    fn register_all(&self) {
        let mongo = self.mongo.collectors();
        let grpc = self.grpc.collectors();
        let dynamo = self.dynamo.collectors();
        let health = self.health.collectors();
        let activity: Box<dyn prometheus::core::Collector> =
            Box::new(ActivityCollector(self.upstream_activity.clone()));
        let all = self.collectors().into_iter().chain(mongo).chain(grpc);
        for collector in all.chain(dynamo).chain(health).chain([activity]) {
            self.registry
                .register(collector)
                .expect("metric names are unique");
        }
    }

    /// The Prometheus text exposition (format 0.0.4).
    pub fn render(&self) -> String {
        TextEncoder::new()
            .encode_to_string(&self.registry.gather())
            .unwrap_or_else(|err| format!("# encoding failed: {err}\n"))
    }
}

/// Registers the shared [`UpstreamActivity`](super::UpstreamActivity).
struct ActivityCollector(std::sync::Arc<super::UpstreamActivity>);

impl prometheus::core::Collector for ActivityCollector {
    fn desc(&self) -> Vec<&prometheus::core::Desc> {
        self.0.desc()
    }

    fn collect(&self) -> Vec<prometheus::proto::MetricFamily> {
        self.0.collect()
    }
}

impl Default for Families {
    fn default() -> Self {
        Families::new()
    }
}

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
    pub mongo: super::mongo_families::MongoFamilies,
    pub grpc: super::grpc_families::GrpcFamilies,
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
            mongo: super::mongo_families::MongoFamilies::new(),
            grpc: super::grpc_families::GrpcFamilies::new(),
            registry,
        };
        families.register_all();
        families
    }

    /// Names of every registered family, whether or not it has series yet.
    #[cfg(test)]
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .collectors()
            .iter()
            .chain(self.mongo.collectors().iter())
            .chain(self.grpc.collectors().iter())
            .flat_map(|c| {
                c.desc()
                    .into_iter()
                    .map(|d| d.fq_name.clone())
                    .collect::<Vec<_>>()
            })
            .collect();
        names.sort();
        names
    }

    fn collectors(&self) -> [Box<dyn prometheus::core::Collector>; 11] {
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
        ]
    }

    fn register_all(&self) {
        let mongo = self.mongo.collectors();
        let grpc = self.grpc.collectors();
        for collector in self.collectors().into_iter().chain(mongo).chain(grpc) {
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

impl Default for Families {
    fn default() -> Self {
        Families::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every metric a shipped dashboard queries must be one we export, or
    /// the panel silently shows nothing.
    #[test]
    fn dashboards_query_only_exported_metrics() {
        let names = Families::new().names();
        let exported = |metric: &str| {
            let base = ["_bucket", "_count", "_sum"]
                .iter()
                .find_map(|suffix| metric.strip_suffix(suffix))
                .unwrap_or(metric);
            names.iter().any(|n| n == metric || n == base)
        };
        let metric_name =
            regex::Regex::new(r"\b((?:http|rpc|db|periscope)_[a-z0-9_]+)\b").expect("valid regex");
        // Label names look like metric names; drop selectors and groupings.
        let labels =
            regex::Regex::new(r"\{[^}]*\}|\b(?:by|without)\s*\([^)]*\)").expect("valid regex");
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).expect("dashboards/ exists") {
            let path = entry.expect("readable entry").path();
            if path.extension().and_then(|e| e.to_str()) != Some("json") {
                continue;
            }
            let text = std::fs::read_to_string(&path).expect("readable dashboard");
            let dashboard: serde_json::Value =
                serde_json::from_str(&text).expect("dashboard is valid JSON");
            for panel in dashboard["panels"].as_array().into_iter().flatten() {
                for target in panel["targets"].as_array().into_iter().flatten() {
                    let expr = target["expr"].as_str().unwrap_or("");
                    let expr = labels.replace_all(expr, "");
                    for found in metric_name.captures_iter(&expr) {
                        let metric = &found[1];
                        assert!(
                            exported(metric),
                            "{}: panel {:?} queries {metric}, which Periscope does not export",
                            path.display(),
                            panel["title"]
                        );
                        checked += 1;
                    }
                }
            }
        }
        assert!(
            checked > 0,
            "no dashboard queries found under {}",
            dir.display()
        );
    }
}

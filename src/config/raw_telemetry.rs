//! Raw model of the telemetry outputs besides metrics: the top-level
//! `tracing:` block (OTLP trace export) and a listener's `access_log:`.
//!
//! Kept apart from `raw.rs` so the file model of the proxy itself stays
//! readable; the same rules apply (unknown fields rejected, values that need
//! checking stay strings or wide numbers until validation).
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

pub const DEFAULT_SERVICE_NAME: &str = "periscope";
pub const DEFAULT_SAMPLING_RATIO: f64 = 1.0;
pub const DEFAULT_TRACE_QUEUE: u64 = 2048;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTracing {
    /// Collector base URL, as `OTEL_EXPORTER_OTLP_ENDPOINT`: for
    /// `http/protobuf` the exporter posts to `<endpoint>/v1/traces`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub protocol: RawOtlpProtocol,
    /// Sent with every export (gRPC metadata or HTTP headers), e.g. an API key.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, String>,
    #[serde(default = "default_service_name")]
    pub service_name: String,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub resource_attributes: BTreeMap<String, String>,
    /// Share of new traces kept (0..=1); a continued trace follows its
    /// parent's sampled flag.
    #[serde(default = "default_sampling_ratio")]
    pub sampling_ratio: f64,
    /// Spans waiting for export; beyond it spans are dropped and counted.
    #[serde(default = "default_trace_queue")]
    pub queue_size: u64,
}

impl Default for RawTracing {
    fn default() -> Self {
        RawTracing {
            endpoint: None,
            protocol: RawOtlpProtocol::default(),
            headers: BTreeMap::new(),
            service_name: default_service_name(),
            resource_attributes: BTreeMap::new(),
            sampling_ratio: DEFAULT_SAMPLING_RATIO,
            queue_size: DEFAULT_TRACE_QUEUE,
        }
    }
}

fn default_service_name() -> String {
    DEFAULT_SERVICE_NAME.to_owned()
}

fn default_sampling_ratio() -> f64 {
    DEFAULT_SAMPLING_RATIO
}

fn default_trace_queue() -> u64 {
    DEFAULT_TRACE_QUEUE
}

/// The OTLP transports, spelled as `OTEL_EXPORTER_OTLP_PROTOCOL` spells them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum RawOtlpProtocol {
    #[default]
    #[serde(rename = "grpc")]
    Grpc,
    #[serde(rename = "http/protobuf")]
    HttpProtobuf,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAccessLog {
    /// `stdout`, or a file path (appended to, created if missing).
    pub path: String,
    #[serde(default)]
    pub format: RawLogFormat,
    /// Only for `format: text`: a line with Envoy-style `%OPERATOR%`s.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_format: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawLogFormat {
    #[default]
    Json,
    Text,
}

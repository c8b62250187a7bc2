//! Raw model of a route's retry policy and a cluster's circuit breakers,
//! Envoy's shapes and defaults.
use serde::{Deserialize, Serialize};

/// Envoy's default number of retries once a policy is set.
pub const DEFAULT_NUM_RETRIES: u64 = 1;
pub const DEFAULT_RETRY_BASE_INTERVAL: &str = "25ms";
/// Request bodies up to this size are kept for a retry (Envoy buffers up to
/// its per-request buffer limit).
pub const DEFAULT_RETRY_BODY_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetryPolicy {
    /// Comma-separated conditions: `5xx`, `gateway-error`, `reset`,
    /// `connect-failure`, `retriable-status-codes`, and the gRPC ones
    /// `cancelled`, `deadline-exceeded`, `internal`, `resource-exhausted`,
    /// `unavailable`.
    pub retry_on: String,
    #[serde(default = "default_num_retries")]
    pub num_retries: u64,
    /// Each attempt's limit until response headers; absent = only the
    /// route's timeout bounds the attempts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub per_try_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub retriable_status_codes: Vec<u64>,
    #[serde(default)]
    pub retry_back_off: RawBackOff,
    /// Bodies up to this many bytes (with a known length) are kept so the
    /// request can be sent again; longer ones are streamed once and not
    /// retried.
    #[serde(default = "default_retry_body_bytes")]
    pub max_body_bytes: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawBackOff {
    #[serde(default = "default_base_interval")]
    pub base_interval: String,
    /// Default: ten times the base interval (Envoy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_interval: Option<String>,
}

impl Default for RawBackOff {
    fn default() -> Self {
        RawBackOff {
            base_interval: default_base_interval(),
            max_interval: None,
        }
    }
}

fn default_num_retries() -> u64 {
    DEFAULT_NUM_RETRIES
}

fn default_base_interval() -> String {
    DEFAULT_RETRY_BASE_INTERVAL.to_owned()
}

fn default_retry_body_bytes() -> u64 {
    DEFAULT_RETRY_BODY_BYTES
}

/// Envoy's default thresholds.
pub const DEFAULT_MAX_CONNECTIONS: u64 = 1024;
pub const DEFAULT_MAX_PENDING_REQUESTS: u64 = 1024;
pub const DEFAULT_MAX_REQUESTS: u64 = 1024;
pub const DEFAULT_MAX_RETRIES: u64 = 3;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCircuitBreakers {
    /// Upstream connections of the cluster (TCP relays and HTTP/1.1 pooled
    /// connections).
    #[serde(default = "default_max_connections")]
    pub max_connections: u64,
    /// Requests waiting for an HTTP/1.1 connection while the cluster is at
    /// `max_connections`; past it a request is answered 503 at once.
    #[serde(default = "default_max_pending_requests")]
    pub max_pending_requests: u64,
    /// Requests in flight to the cluster.
    #[serde(default = "default_max_requests")]
    pub max_requests: u64,
    /// Retries in flight to the cluster (ignored when `retry_budget` is set).
    #[serde(default = "default_max_retries")]
    pub max_retries: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_budget: Option<RawRetryBudget>,
}

impl Default for RawCircuitBreakers {
    fn default() -> Self {
        RawCircuitBreakers {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            max_pending_requests: DEFAULT_MAX_PENDING_REQUESTS,
            max_requests: DEFAULT_MAX_REQUESTS,
            max_retries: DEFAULT_MAX_RETRIES,
            retry_budget: None,
        }
    }
}

/// Retries in flight may be at most `budget_percent` of the requests in
/// flight, and always at least `min_retry_concurrency` (Envoy: 20 %, 3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRetryBudget {
    #[serde(default = "default_budget_percent")]
    pub budget_percent: f64,
    #[serde(default = "default_min_retry_concurrency")]
    pub min_retry_concurrency: u64,
}

fn default_max_connections() -> u64 {
    DEFAULT_MAX_CONNECTIONS
}

fn default_max_pending_requests() -> u64 {
    DEFAULT_MAX_PENDING_REQUESTS
}

fn default_max_requests() -> u64 {
    DEFAULT_MAX_REQUESTS
}

fn default_max_retries() -> u64 {
    DEFAULT_MAX_RETRIES
}

fn default_budget_percent() -> f64 {
    20.0
}

fn default_min_retry_concurrency() -> u64 {
    3
}

//! Raw model of a cluster's `health_check` and `outlier_detection` blocks.
//!
//! Field names follow Envoy's (`interval_jitter`, `healthy_threshold`,
//! `consecutive_5xx`, `base_ejection_time`, ...) so an Envoy user can carry
//! settings over. Envoy requires the health-check timings explicitly; here
//! they default (interval 5s, timeout 1s, unhealthy 3, healthy 2) and the
//! effective config (`/config_dump`) shows the values in force.
use serde::{Deserialize, Serialize};

pub const DEFAULT_HC_INTERVAL: &str = "5s";
pub const DEFAULT_HC_TIMEOUT: &str = "1s";
pub const DEFAULT_UNHEALTHY_THRESHOLD: u64 = 3;
pub const DEFAULT_HEALTHY_THRESHOLD: u64 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHealthCheck {
    #[serde(default = "default_hc_interval")]
    pub interval: String,
    /// A random extra delay of up to this much before each check, so that
    /// many proxies do not probe in lockstep.
    #[serde(default = "zero_duration")]
    pub interval_jitter: String,
    #[serde(default = "default_hc_timeout")]
    pub timeout: String,
    /// Between checks of an endpoint out of rotation; default `interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_interval: Option<String>,
    /// The first check after an endpoint is taken out; default
    /// `unhealthy_interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unhealthy_edge_interval: Option<String>,
    /// The first check after an endpoint is brought back; default
    /// `interval`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub healthy_edge_interval: Option<String>,
    #[serde(default = "default_unhealthy_threshold")]
    pub unhealthy_threshold: u64,
    #[serde(default = "default_healthy_threshold")]
    pub healthy_threshold: u64,
    /// Whether an endpoint's checks follow one another on one kept
    /// connection (Envoy's, on by default); off, each check connects anew.
    /// Connect-only TCP checks always connect anew: connecting is what
    /// they test.
    #[serde(default = "yes")]
    pub reuse_connection: bool,
    /// Exactly one of `http`, `tcp`, `grpc` (sibling options rather than a
    /// serde enum, so validation can name the clash).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub http: Option<RawHttpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tcp: Option<RawTcpCheck>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grpc: Option<RawGrpcCheck>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHttpCheck {
    /// Defaulted so a missing path is reported by validation with the rest.
    #[serde(default)]
    pub path: String,
    /// The `Host` header; Envoy's default, the cluster name, when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// Half-open ranges `[start, end)` as in Envoy; default 200 alone.
    #[serde(default = "default_expected_statuses")]
    pub expected_statuses: Vec<RawStatusRange>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawStatusRange {
    pub start: u64,
    pub end: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTcpCheck {
    /// Written after connecting; connect-only when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub send: Option<RawPayload>,
    /// Each block must appear in the reply, in this order, not
    /// necessarily adjacent (Envoy's fuzzy matching).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub receive: Vec<RawPayload>,
}

/// Exactly one of `text` (the bytes of the string as written) or `hex`.
/// Note: Envoy's `text` is hex; ours is literal, `hex` is the hex form.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawPayload {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hex: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawGrpcCheck {
    /// `grpc.health.v1.HealthCheckRequest.service`; empty asks about the
    /// server as a whole.
    #[serde(default)]
    pub service_name: String,
    /// `:authority`; the cluster name when absent (as Envoy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub authority: Option<String>,
}

/// Envoy's `outlier_detection` defaults throughout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawOutlierDetection {
    #[serde(default = "five")]
    pub consecutive_5xx: u64,
    #[serde(default = "five")]
    pub consecutive_gateway_failure: u64,
    /// Connect failures (refused, timed out), on L4 and L7.
    #[serde(default = "five")]
    pub consecutive_local_origin_failure: u64,
    /// Percent chance that reaching the threshold ejects.
    #[serde(default = "hundred")]
    pub enforcing_consecutive_5xx: u64,
    /// Envoy's default 0: gateway failures are counted but do not eject.
    #[serde(default)]
    pub enforcing_consecutive_gateway_failure: u64,
    #[serde(default = "hundred")]
    pub enforcing_consecutive_local_origin_failure: u64,
    #[serde(default = "default_od_interval")]
    pub interval: String,
    #[serde(default = "default_base_ejection_time")]
    pub base_ejection_time: String,
    #[serde(default = "default_max_ejection_time")]
    pub max_ejection_time: String,
    #[serde(default = "ten")]
    pub max_ejection_percent: u64,
    /// A passing active health check returns an ejected endpoint at once.
    #[serde(default = "yes")]
    pub successful_active_health_check_uneject_host: bool,
    #[serde(default = "five")]
    pub success_rate_minimum_hosts: u64,
    #[serde(default = "hundred")]
    pub success_rate_request_volume: u64,
    /// Standard deviations below the mean, in thousandths.
    #[serde(default = "default_stdev_factor")]
    pub success_rate_stdev_factor: u64,
    #[serde(default = "hundred")]
    pub enforcing_success_rate: u64,
    #[serde(default = "default_failure_percentage_threshold")]
    pub failure_percentage_threshold: u64,
    /// Envoy's default 0: off (nothing is counted for it).
    #[serde(default)]
    pub enforcing_failure_percentage: u64,
    #[serde(default = "five")]
    pub failure_percentage_minimum_hosts: u64,
    #[serde(default = "default_failure_percentage_volume")]
    pub failure_percentage_request_volume: u64,
}

impl Default for RawOutlierDetection {
    fn default() -> Self {
        RawOutlierDetection {
            consecutive_5xx: 5,
            consecutive_gateway_failure: 5,
            consecutive_local_origin_failure: 5,
            enforcing_consecutive_5xx: 100,
            enforcing_consecutive_gateway_failure: 0,
            enforcing_consecutive_local_origin_failure: 100,
            interval: default_od_interval(),
            base_ejection_time: default_base_ejection_time(),
            max_ejection_time: default_max_ejection_time(),
            max_ejection_percent: 10,
            successful_active_health_check_uneject_host: true,
            success_rate_minimum_hosts: 5,
            success_rate_request_volume: 100,
            success_rate_stdev_factor: default_stdev_factor(),
            enforcing_success_rate: 100,
            failure_percentage_threshold: default_failure_percentage_threshold(),
            enforcing_failure_percentage: 0,
            failure_percentage_minimum_hosts: 5,
            failure_percentage_request_volume: default_failure_percentage_volume(),
        }
    }
}

fn default_hc_interval() -> String {
    DEFAULT_HC_INTERVAL.to_owned()
}
fn default_hc_timeout() -> String {
    DEFAULT_HC_TIMEOUT.to_owned()
}
fn zero_duration() -> String {
    "0s".to_owned()
}
fn default_unhealthy_threshold() -> u64 {
    DEFAULT_UNHEALTHY_THRESHOLD
}
fn default_healthy_threshold() -> u64 {
    DEFAULT_HEALTHY_THRESHOLD
}
/// Envoy's default: 200 alone is healthy. A redirect or a 204 from a
/// health endpoint usually means the path is wrong, not that all is well.
fn default_expected_statuses() -> Vec<RawStatusRange> {
    vec![RawStatusRange {
        start: 200,
        end: 201,
    }]
}
fn default_od_interval() -> String {
    "10s".to_owned()
}
fn default_base_ejection_time() -> String {
    "30s".to_owned()
}
fn default_max_ejection_time() -> String {
    "300s".to_owned()
}
fn default_stdev_factor() -> u64 {
    1900
}
fn default_failure_percentage_threshold() -> u64 {
    85
}
fn default_failure_percentage_volume() -> u64 {
    50
}
fn five() -> u64 {
    5
}
fn ten() -> u64 {
    10
}
fn hundred() -> u64 {
    100
}
fn yes() -> bool {
    true
}

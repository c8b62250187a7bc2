//! Typed health-checking and outlier-detection settings of a cluster,
//! validated from `health_check:` and `outlier_detection:`.
use std::time::Duration;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthCheckConfig {
    pub interval: Duration,
    /// Between checks of an endpoint the checks took out (Envoy's).
    pub unhealthy_interval: Duration,
    /// The first check after the checks took an endpoint out.
    pub unhealthy_edge_interval: Duration,
    /// The first check after the checks brought an endpoint back.
    pub healthy_edge_interval: Duration,
    /// Up to this much is added, at random, to each interval.
    pub interval_jitter: Duration,
    pub timeout: Duration,
    /// Failed checks in a row that take a healthy endpoint out.
    pub unhealthy_threshold: u32,
    /// Passed checks in a row that bring an unhealthy endpoint back.
    pub healthy_threshold: u32,
    /// Keep an endpoint's check connection between checks.
    pub reuse_connection: bool,
    pub kind: HealthCheckKind,
}

impl HealthCheckConfig {
    /// The wait before the next check (jitter apart): `changed` is the
    /// state the last check moved the endpoint to (`true` healthy), if it
    /// moved it, and `healthy` the state it is in.
    pub fn next_interval(&self, changed: Option<bool>, healthy: bool) -> Duration {
        match (changed, healthy) {
            (Some(true), _) => self.healthy_edge_interval,
            (Some(false), _) => self.unhealthy_edge_interval,
            (None, true) => self.interval,
            (None, false) => self.unhealthy_interval,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HealthCheckKind {
    /// `GET path`; healthy when the status is in one of `expected`.
    Http {
        path: String,
        /// `Host`; `None` = the cluster name.
        host: Option<String>,
        /// Half-open `[start, end)` ranges.
        expected: Vec<(u16, u16)>,
    },
    /// Connect; then, if `send` is not empty, write it and wait until
    /// every `receive` block has been read, in order.
    Tcp {
        send: Vec<u8>,
        receive: Vec<Vec<u8>>,
    },
    /// `grpc.health.v1.Health/Check` over h2c; healthy when SERVING.
    Grpc {
        service_name: String,
        /// `:authority`; `None` = the cluster name.
        authority: Option<String>,
    },
}

impl HealthCheckKind {
    pub fn name(&self) -> &'static str {
        match self {
            HealthCheckKind::Http { .. } => "http",
            HealthCheckKind::Tcp { .. } => "tcp",
            HealthCheckKind::Grpc { .. } => "grpc",
        }
    }
}

/// Envoy's outlier detection: the consecutive-failure detectors, and the
/// success-rate and failure-percentage ones reviewed every `interval`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutlierConfig {
    pub consecutive_5xx: u32,
    pub consecutive_gateway_failure: u32,
    pub consecutive_local_origin_failure: u32,
    /// Percent (0-100) chance that reaching each threshold ejects.
    pub enforcing_consecutive_5xx: u8,
    pub enforcing_consecutive_gateway_failure: u8,
    pub enforcing_consecutive_local_origin_failure: u8,
    /// How often ejections are reviewed (ended, multipliers decayed).
    pub interval: Duration,
    pub base_ejection_time: Duration,
    pub max_ejection_time: Duration,
    pub max_ejection_percent: u8,
    pub successful_active_health_check_uneject_host: bool,
    pub success_rate: SuccessRateDetector,
    pub failure_percentage: FailurePercentageDetector,
}

/// Ejects an endpoint whose success rate over the last interval falls
/// below the mean of its peers' by `stdev_factor / 1000` standard
/// deviations (Envoy's `success_rate_*` fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SuccessRateDetector {
    /// Endpoints with enough requests needed before any is judged.
    pub minimum_hosts: u32,
    /// Requests in the interval for an endpoint to count.
    pub request_volume: u32,
    pub stdev_factor: u32,
    pub enforcing: u8,
}

/// Ejects an endpoint whose failures over the last interval reach
/// `threshold` percent of its requests (Envoy's `failure_percentage_*`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailurePercentageDetector {
    pub minimum_hosts: u32,
    pub request_volume: u32,
    pub threshold: u8,
    pub enforcing: u8,
}

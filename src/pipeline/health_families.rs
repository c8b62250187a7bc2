//! Endpoint health metric families: what active health checks and
//! outlier detection decided, per cluster. Labels are cluster names from
//! the config, closed sets (`state`, `result`, `reason`), and endpoint
//! addresses only for small static clusters, so cardinality stays bounded.
use prometheus::{IntCounterVec, IntGaugeVec, Opts};

pub struct HealthFamilies {
    pub endpoint_healthy: IntGaugeVec,
    pub cluster_endpoints: IntGaugeVec,
    pub checks: IntCounterVec,
    pub ejections: IntCounterVec,
}

impl HealthFamilies {
    pub fn new() -> HealthFamilies {
        let gauge = |name: &str, help: &str, labels: &[&str]| {
            IntGaugeVec::new(Opts::new(name, help), labels).expect("valid gauge definition")
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            IntCounterVec::new(Opts::new(name, help), labels).expect("valid counter definition")
        };
        HealthFamilies {
            endpoint_healthy: gauge(
                "periscope_endpoint_healthy",
                "1 when the endpoint may take traffic (passing health checks, not ejected); only for clusters of at most 32 endpoints.",
                &["cluster", "endpoint"],
            ),
            cluster_endpoints: gauge(
                "periscope_cluster_endpoints",
                "Endpoints per cluster by health state (healthy, unhealthy = failing active checks, ejected = outlier detection).",
                &["cluster", "state"],
            ),
            checks: counter(
                "periscope_health_checks_total",
                "Active health checks by result (success, failure, timeout, network_failure).",
                &["cluster", "result"],
            ),
            ejections: counter(
                "periscope_outlier_ejections_total",
                "Endpoints ejected by outlier detection, by reason.",
                &["cluster", "reason"],
            ),
        }
    }

    pub fn collectors(&self) -> [Box<dyn prometheus::core::Collector>; 4] {
        [
            Box::new(self.endpoint_healthy.clone()),
            Box::new(self.cluster_endpoints.clone()),
            Box::new(self.checks.clone()),
            Box::new(self.ejections.clone()),
        ]
    }
}

impl Default for HealthFamilies {
    fn default() -> Self {
        HealthFamilies::new()
    }
}

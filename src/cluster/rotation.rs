//! Which endpoints take traffic: those with no health flag set, unless
//! too few are left (Envoy's panic threshold), then all of them.
//!
//! Every change of an endpoint's flags happens under the cluster's
//! rotation lock and ends with [`Cluster::refresh_rotation`], which
//! rebuilds the balancer and the health gauges. Changes are rare (a check
//! flips, an ejection starts or ends), so a mutex is fine; requests never
//! take it, they only load the balancer.
use super::health::{HealthState, CHECK_RESULTS};
use super::outlier::EjectReason;
use super::Cluster;
use crate::pipeline::Families;
use prometheus::{IntCounter, IntGauge};
use std::sync::{Mutex, MutexGuard};

/// Above this many endpoints a cluster exports no per-endpoint gauge: the
/// series would grow with the cluster, the per-state counts do not.
pub const MAX_ENDPOINT_GAUGES: usize = 32;

pub struct Rotation {
    state: Mutex<RotationState>,
    /// Percent of endpoints that must be eligible; 0 never panics.
    panic_threshold: u8,
    metrics: HealthMetrics,
}

pub struct RotationState {
    /// Balancing over every endpoint because too few are eligible.
    pub panic: bool,
}

/// Handles resolved once per cluster.
pub struct HealthMetrics {
    endpoint_healthy: Vec<IntGauge>,
    states: Vec<IntGauge>,
    /// By `CHECK_RESULTS`; empty without health checking.
    pub checks: Vec<IntCounter>,
    /// By `EjectReason::ALL`; empty without outlier detection.
    pub ejections: Vec<IntCounter>,
}

impl Rotation {
    pub fn new(
        families: &Families,
        cluster: &str,
        addresses: &[&str],
        panic_threshold: u8,
        checked: bool,
        outlier: bool,
    ) -> Rotation {
        let f = &families.health;
        let endpoint_healthy = if addresses.len() <= MAX_ENDPOINT_GAUGES {
            (addresses.iter())
                .map(|a| f.endpoint_healthy.with_label_values(&[cluster, a]))
                .collect()
        } else {
            Vec::new()
        };
        let states = (HealthState::ALL.iter())
            .map(|s| {
                f.cluster_endpoints
                    .with_label_values(&[cluster, s.as_str()])
            })
            .collect();
        let checks = (CHECK_RESULTS.iter())
            .filter(|_| checked)
            .map(|r| f.checks.with_label_values(&[cluster, r]))
            .collect();
        let ejections = (EjectReason::ALL.iter())
            .filter(|_| outlier)
            .map(|r| f.ejections.with_label_values(&[cluster, r.as_str()]))
            .collect();
        Rotation {
            state: Mutex::new(RotationState { panic: false }),
            panic_threshold,
            metrics: HealthMetrics {
                endpoint_healthy,
                states,
                checks,
                ejections,
            },
        }
    }

    pub fn metrics(&self) -> &HealthMetrics {
        &self.metrics
    }

    pub fn in_panic(&self) -> bool {
        self.lock().panic
    }

    pub fn lock(&self) -> MutexGuard<'_, RotationState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// Too few eligible endpoints: `eligible / total < threshold %`.
pub fn panics(eligible: usize, total: usize, threshold: u8) -> bool {
    eligible * 100 < usize::from(threshold) * total
}

impl Cluster {
    /// Rebuilds the balancer over the endpoints that may take traffic
    /// (all of them in panic) and refreshes the gauges. Takes the rotation
    /// state to prove the caller holds the lock.
    pub(super) fn refresh_rotation(&self, state: &mut RotationState) {
        let rotation = &self.rotation;
        let total = self.endpoints.len();
        let eligible = (self.endpoints.iter())
            .filter(|e| e.health.eligible())
            .count();
        let panic = panics(eligible, total, rotation.panic_threshold);
        if panic {
            self.rebalance(|_| true);
        } else {
            self.rebalance(|e| e.health.eligible());
        }
        if panic != state.panic {
            state.panic = panic;
            let threshold = rotation.panic_threshold;
            if panic {
                tracing::warn!(cluster = %self.name, eligible, total, "cluster in panic: fewer than healthy_panic_threshold {threshold}% of endpoints are eligible; balancing over all of them");
            } else {
                tracing::info!(cluster = %self.name, eligible, total, "cluster out of panic");
            }
        }
        let metrics = &rotation.metrics;
        let mut counts = [0i64; 3];
        for (i, endpoint) in self.endpoints.iter().enumerate() {
            let state = endpoint.health.state();
            counts[state as usize] += 1;
            if let Some(gauge) = metrics.endpoint_healthy.get(i) {
                gauge.set(i64::from(state == HealthState::Healthy));
            }
        }
        for (gauge, count) in metrics.states.iter().zip(counts) {
            gauge.set(count);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panic_below_the_threshold_share() {
        // Envoy's default 50%: 2 of 4 eligible is enough, 1 of 4 is not.
        assert!(!panics(2, 4, 50));
        assert!(panics(1, 4, 50));
        assert!(!panics(4, 4, 100));
        assert!(panics(3, 4, 100));
        // 0 disables panic: even no eligible endpoint stays "no endpoint".
        assert!(!panics(0, 4, 0));
        assert!(panics(0, 3, 1));
    }
}

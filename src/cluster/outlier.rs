//! Passive outlier detection: Envoy's consecutive-failure detectors, and
//! its success-rate and failure-percentage ones (`outlier_stats.rs`).
//!
//! Every upstream result (an L7 response or failure, an L4 connect) bumps
//! or clears three per-endpoint atomic counters, and adds to the
//! interval's two; that is the whole cost on the request path. Only the
//! result that reaches a threshold takes the cluster's rotation lock to
//! eject. A task per cluster wakes every `interval` to end ejections whose
//! time is up, to decay the ejection-time multiplier of endpoints that
//! stayed in rotation, and to judge the interval's success rates.
use super::health::state::{Change, EJECTED};
use super::health::{stopped, Stop};
use super::outlier_stats::{
    failure_percentage_outliers, success_rate_outliers, IntervalCounts, Volume,
};
use super::{random_below, Cluster, Endpoint};
use crate::config::OutlierConfig;
use crate::pipeline::UpstreamFailure;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Weak;
use std::time::{Duration, Instant};

/// Consecutive failures of one endpoint, by kind.
#[derive(Default)]
pub struct OutlierCounters {
    errors_5xx: AtomicU32,
    gateway: AtomicU32,
    local_origin: AtomicU32,
    interval: IntervalCounts,
}

/// One upstream result, as the detectors see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Observed {
    /// Response headers arrived with this status.
    Status(u16),
    /// A TCP connection to the endpoint was established (L4 path).
    Connected,
    /// Refused, unreachable or timed out while connecting.
    ConnectFailure,
    /// No response before the route timeout (answered 504).
    Timeout,
    /// Reset or protocol error after connecting (answered 502).
    Reset,
}

impl From<UpstreamFailure> for Observed {
    fn from(failure: UpstreamFailure) -> Observed {
        match failure {
            UpstreamFailure::ConnectFailure => Observed::ConnectFailure,
            UpstreamFailure::Timeout => Observed::Timeout,
            UpstreamFailure::Reset | UpstreamFailure::Protocol => Observed::Reset,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EjectReason {
    Consecutive5xx,
    ConsecutiveGatewayFailure,
    ConsecutiveLocalOriginFailure,
    SuccessRate,
    FailurePercentage,
}

impl EjectReason {
    pub const ALL: [EjectReason; 5] = [
        EjectReason::Consecutive5xx,
        EjectReason::ConsecutiveGatewayFailure,
        EjectReason::ConsecutiveLocalOriginFailure,
        EjectReason::SuccessRate,
        EjectReason::FailurePercentage,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EjectReason::Consecutive5xx => "consecutive_5xx",
            EjectReason::ConsecutiveGatewayFailure => "consecutive_gateway_failure",
            EjectReason::ConsecutiveLocalOriginFailure => "consecutive_local_origin_failure",
            EjectReason::SuccessRate => "success_rate",
            EjectReason::FailurePercentage => "failure_percentage",
        }
    }
}

/// Which counters a result bumps: (5xx, gateway, local origin). `None`
/// clears the counter, `Some(false)` leaves it alone.
fn classify(observed: Observed) -> [Option<bool>; 3] {
    match observed {
        Observed::Status(code) if code >= 500 => {
            let gateway = matches!(code, 502..=504);
            [Some(true), gateway.then_some(true), None]
        }
        Observed::Status(_) | Observed::Connected => [None, None, None],
        Observed::ConnectFailure => [Some(true), Some(true), Some(true)],
        Observed::Timeout | Observed::Reset => [Some(true), Some(true), Some(false)],
    }
}

/// Seconds an ejection lasts: base × multiplier, capped by the maximum
/// (or by the base, if the maximum is set below it), as in Envoy.
pub fn ejection_time(config: &OutlierConfig, backoff: u32) -> Duration {
    let cap = config.max_ejection_time.max(config.base_ejection_time);
    config.base_ejection_time.saturating_mul(backoff).min(cap)
}

/// Envoy: the first ejection always happens; more only while the ejected
/// share stays within `max_ejection_percent`.
pub fn may_eject(ejected: usize, total: usize, max_percent: u8) -> bool {
    ejected == 0 || (ejected + 1) * 100 <= usize::from(max_percent) * total
}

impl Cluster {
    /// Feeds one upstream result to the detectors. Atomics only, unless a
    /// threshold is reached.
    pub fn observe(&self, endpoint: &Endpoint, observed: Observed) {
        let Some(config) = &self.outlier else { return };
        let counters = &endpoint.outlier;
        let slots = [
            (
                &counters.local_origin,
                EjectReason::ConsecutiveLocalOriginFailure,
            ),
            (&counters.gateway, EjectReason::ConsecutiveGatewayFailure),
            (&counters.errors_5xx, EjectReason::Consecutive5xx),
        ];
        let [c5xx, gateway, local] = classify(observed);
        if judges_intervals(config) {
            counters.interval.record(c5xx == Some(true));
        }
        let mut reached = None;
        for ((counter, reason), bump) in slots.into_iter().zip([local, gateway, c5xx]) {
            match bump {
                // Load first: a streak of successes writes nothing.
                None if counter.load(Ordering::Relaxed) != 0 => counter.store(0, Ordering::Relaxed),
                Some(true) => {
                    let count = counter.fetch_add(1, Ordering::Relaxed) + 1;
                    let (threshold, enforcing) = limits(config, reason);
                    if reached.is_none() && count == threshold && enforced(enforcing) {
                        reached = Some(reason);
                    }
                }
                _ => {}
            }
        }
        if let Some(reason) = reached {
            self.eject(endpoint, reason, config);
        }
    }

    fn eject(&self, endpoint: &Endpoint, reason: EjectReason, config: &OutlierConfig) {
        let mut rotation = self.rotation.lock();
        if endpoint.health.has(EJECTED) {
            return;
        }
        let ejected = (self.endpoints.iter())
            .filter(|e| e.health.has(EJECTED))
            .count();
        if !may_eject(ejected, self.endpoints.len(), config.max_ejection_percent) {
            tracing::debug!(cluster = %self.name, endpoint = %endpoint.address, reason = reason.as_str(), "not ejected: max_ejection_percent reached");
            return;
        }
        let duration = {
            let mut detail = endpoint.health.detail();
            detail.ejections += 1;
            // Grow while the product is below the cap, so a long streak of
            // ejections cannot overflow and decays back in bounded time.
            if config.base_ejection_time.saturating_mul(detail.backoff) < config.max_ejection_time {
                detail.backoff += 1;
            }
            let duration = ejection_time(config, detail.backoff.max(1));
            detail.ejected_until = Some(Instant::now() + duration);
            detail.outlier = Change::now(reason.as_str());
            duration
        };
        endpoint.health.set(EJECTED, true);
        endpoint.outlier.reset();
        let index = EjectReason::ALL.iter().position(|r| *r == reason);
        let metrics = self.rotation.metrics();
        if let Some(counter) = index.and_then(|i| metrics.ejections.get(i)) {
            counter.inc();
        }
        tracing::warn!(cluster = %self.name, endpoint = %endpoint.address, reason = reason.as_str(), ejection_secs = duration.as_secs_f64(), "endpoint ejected by outlier detection");
        self.refresh_rotation(&mut rotation);
    }

    /// Returns an ejected endpoint to rotation now (its time is up, or an
    /// active health check passed).
    pub(super) fn uneject(&self, endpoint: &Endpoint, why: &str) {
        let mut rotation = self.rotation.lock();
        if !endpoint.health.set(EJECTED, false) {
            return;
        }
        {
            let mut detail = endpoint.health.detail();
            detail.ejected_until = None;
            detail.outlier = Change::now(why);
        }
        endpoint.outlier.reset();
        tracing::info!(cluster = %self.name, endpoint = %endpoint.address, reason = why, "endpoint returned from ejection");
        self.refresh_rotation(&mut rotation);
    }

    /// One outlier interval: end the ejections that are due, decay the
    /// multiplier of endpoints that stayed in rotation.
    fn sweep(&self) {
        let now = Instant::now();
        for endpoint in &self.endpoints {
            let due = {
                let mut detail = endpoint.health.detail();
                if !endpoint.health.has(EJECTED) {
                    detail.backoff = detail.backoff.saturating_sub(1);
                    false
                } else {
                    detail.ejected_until.is_none_or(|until| until <= now)
                }
            };
            if due {
                self.uneject(endpoint, "ejection time elapsed");
            }
        }
        if let Some(config) = &self.outlier {
            if judges_intervals(config) {
                self.judge_interval(config);
            }
        }
    }

    /// Success rate and failure percentage over the interval just ended,
    /// among the endpoints in rotation (an ejected one gets no traffic).
    fn judge_interval(&self, config: &OutlierConfig) {
        let (endpoints, volumes): (Vec<&Endpoint>, Vec<Volume>) = (self.endpoints.iter())
            .map(|e| (e, e.outlier.interval.take()))
            .filter(|(e, _)| !e.health.has(EJECTED))
            .unzip();
        let detectors = [
            (
                EjectReason::SuccessRate,
                config.success_rate.enforcing,
                success_rate_outliers(&config.success_rate, &volumes),
            ),
            (
                EjectReason::FailurePercentage,
                config.failure_percentage.enforcing,
                failure_percentage_outliers(&config.failure_percentage, &volumes),
            ),
        ];
        for (reason, enforcing, outliers) in detectors {
            for i in outliers {
                if enforced(enforcing) {
                    self.eject(endpoints[i], reason, config);
                }
            }
        }
    }
}

/// Whether a statistical detector can eject: only then are intervals
/// counted.
fn judges_intervals(config: &OutlierConfig) -> bool {
    config.success_rate.enforcing > 0 || config.failure_percentage.enforcing > 0
}

impl OutlierCounters {
    fn reset(&self) {
        self.errors_5xx.store(0, Ordering::Relaxed);
        self.gateway.store(0, Ordering::Relaxed);
        self.local_origin.store(0, Ordering::Relaxed);
    }
}

fn limits(config: &OutlierConfig, reason: EjectReason) -> (u32, u8) {
    match reason {
        EjectReason::SuccessRate | EjectReason::FailurePercentage => (u32::MAX, 0),
        EjectReason::Consecutive5xx => (config.consecutive_5xx, config.enforcing_consecutive_5xx),
        EjectReason::ConsecutiveGatewayFailure => (
            config.consecutive_gateway_failure,
            config.enforcing_consecutive_gateway_failure,
        ),
        EjectReason::ConsecutiveLocalOriginFailure => (
            config.consecutive_local_origin_failure,
            config.enforcing_consecutive_local_origin_failure,
        ),
    }
}

/// `enforcing` percent of the time.
fn enforced(enforcing: u8) -> bool {
    match enforcing {
        0 => false,
        100.. => true,
        p => random_below(100) < u64::from(p),
    }
}

/// The cluster's sweep task, for as long as the cluster lives.
pub(super) async fn sweep_loop(cluster: Weak<Cluster>, interval: Duration, mut stop: Stop) {
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => return,
            _ = tokio::time::sleep(interval) => {}
        }
        match cluster.upgrade() {
            Some(cluster) => cluster.sweep(),
            None => return,
        }
    }
}

#[cfg(test)]
#[path = "outlier_tests.rs"]
mod tests;

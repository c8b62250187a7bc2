//! An endpoint's health as the balancer and `/clusters` see it.
//!
//! Two independent flags, as Envoy's host health flags: failing active
//! health checks, and ejected by outlier detection. Either one takes the
//! endpoint out of rotation. The flags are one atomic byte (read when the
//! rotation is rebuilt); the details behind them (why, since when, how
//! many ejections) sit behind a mutex that only state changes and
//! `/clusters` take, never a request.
use serde::Serialize;
use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant, SystemTime};

/// Failing active health checks.
pub const FAILED_ACTIVE_HC: u8 = 1;
/// Ejected by outlier detection.
pub const EJECTED: u8 = 2;

#[derive(Default)]
pub struct EndpointHealth {
    flags: AtomicU8,
    pub checks_passed: AtomicU64,
    pub checks_failed: AtomicU64,
    detail: Mutex<Detail>,
}

/// What `/clusters` explains, and the outlier detector's memory.
#[derive(Default)]
pub struct Detail {
    /// The last change of the health-check flag.
    pub checks: Change,
    /// The last ejection or return.
    pub outlier: Change,
    /// Ejections since start, for display.
    pub ejections: u64,
    /// Envoy's ejection-time multiplier: raised by each ejection, lowered
    /// by each outlier interval the endpoint spends in rotation.
    pub backoff: u32,
    /// Set while ejected: when the ejection may end.
    pub ejected_until: Option<Instant>,
}

/// One flag's last change: when, and why.
#[derive(Default, Clone)]
pub struct Change {
    pub since: Option<SystemTime>,
    pub reason: Option<String>,
}

impl Change {
    pub fn now(reason: impl Into<String>) -> Change {
        Change {
            since: Some(SystemTime::now()),
            reason: Some(reason.into()),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum HealthState {
    Healthy,
    /// Failing active health checks (whether or not also ejected).
    Unhealthy,
    Ejected,
}

impl HealthState {
    pub const ALL: [HealthState; 3] = [
        HealthState::Healthy,
        HealthState::Unhealthy,
        HealthState::Ejected,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            HealthState::Healthy => "healthy",
            HealthState::Unhealthy => "unhealthy",
            HealthState::Ejected => "ejected",
        }
    }

    fn of(flags: u8) -> HealthState {
        if flags & FAILED_ACTIVE_HC != 0 {
            HealthState::Unhealthy
        } else if flags & EJECTED != 0 {
            HealthState::Ejected
        } else {
            HealthState::Healthy
        }
    }
}

#[derive(Serialize)]
pub struct HealthSnapshot {
    pub state: HealthState,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Unix time (ms) of the last state change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub since_unix_ms: Option<u64>,
    pub ejected: bool,
    pub ejections: u64,
    /// Seconds left of the current ejection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ejection_remaining_secs: Option<f64>,
    pub health_checks_passed: u64,
    pub health_checks_failed: u64,
}

impl EndpointHealth {
    /// May take traffic: no flag set.
    pub fn eligible(&self) -> bool {
        self.flags.load(Ordering::Acquire) == 0
    }

    pub fn has(&self, flag: u8) -> bool {
        self.flags.load(Ordering::Acquire) & flag != 0
    }

    pub fn state(&self) -> HealthState {
        HealthState::of(self.flags.load(Ordering::Acquire))
    }

    /// Sets or clears `flag`; returns whether that changed anything. The
    /// caller holds the cluster's rotation lock, so flag changes and the
    /// rebuild that follows them are never interleaved.
    pub fn set(&self, flag: u8, on: bool) -> bool {
        let before = if on {
            self.flags.fetch_or(flag, Ordering::AcqRel)
        } else {
            self.flags.fetch_and(!flag, Ordering::AcqRel)
        };
        (before & flag != 0) != on
    }

    pub fn detail(&self) -> MutexGuard<'_, Detail> {
        // A panic while holding it leaves plain data behind: keep going.
        self.detail.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn snapshot(&self) -> HealthSnapshot {
        let detail = self.detail();
        let now = Instant::now();
        let state = self.state();
        // The reason of the state shown; when healthy, the latest return.
        let change = match state {
            HealthState::Unhealthy => &detail.checks,
            HealthState::Ejected => &detail.outlier,
            HealthState::Healthy => (detail.checks.since)
                .max(detail.outlier.since)
                .filter(|latest| Some(*latest) == detail.checks.since)
                .map_or(&detail.outlier, |_| &detail.checks),
        };
        let since_unix_ms = change.since.map(|at| {
            let since = at
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default();
            since.as_millis() as u64
        });
        HealthSnapshot {
            state,
            reason: change.reason.clone(),
            since_unix_ms,
            ejected: self.has(EJECTED),
            ejections: detail.ejections,
            ejection_remaining_secs: (detail.ejected_until)
                .filter(|_| self.has(EJECTED))
                .map(|until| until.saturating_duration_since(now))
                .map(|left: Duration| (left.as_millis() as f64) / 1000.0),
            health_checks_passed: self.checks_passed.load(Ordering::Relaxed),
            health_checks_failed: self.checks_failed.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_independent_and_report_changes() {
        let health = EndpointHealth::default();
        assert!(health.eligible());
        assert!(health.set(EJECTED, true));
        assert!(!health.set(EJECTED, true), "already set");
        assert_eq!(health.state(), HealthState::Ejected);
        assert!(health.set(FAILED_ACTIVE_HC, true));
        assert_eq!(health.state(), HealthState::Unhealthy);
        assert!(health.set(EJECTED, false));
        assert!(!health.eligible());
        assert!(health.set(FAILED_ACTIVE_HC, false));
        assert!(health.eligible());
        assert_eq!(health.snapshot().state, HealthState::Healthy);
    }
}

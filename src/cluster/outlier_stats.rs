//! Envoy's statistical outlier detectors: success rate and failure
//! percentage, judged once per `interval` over what each endpoint answered
//! in it.
//!
//! The request path adds to two per-endpoint atomics; the sweep takes
//! them (and starts the next interval) and compares endpoints with each
//! other. Failures are 5xx answers and local-origin failures (connect,
//! timeout, reset), as Envoy counts them without
//! `split_external_local_origin_errors`.
use crate::config::{FailurePercentageDetector, SuccessRateDetector};
use std::sync::atomic::{AtomicU64, Ordering};

/// One endpoint's requests (low 32 bits) and failures (high 32 bits) in
/// the current interval, in one word so that taking them is exact.
#[derive(Default)]
pub struct IntervalCounts(AtomicU64);

impl IntervalCounts {
    pub fn record(&self, failed: bool) {
        self.0
            .fetch_add(1 | u64::from(failed) << 32, Ordering::Relaxed);
    }

    /// The interval's counts, leaving zero for the next one. Over 2^32
    /// requests an interval would wrap: at a million a second that is an
    /// interval of 70 minutes.
    pub fn take(&self) -> Volume {
        let both = self.0.swap(0, Ordering::Relaxed);
        let requests = both as u32;
        Volume {
            requests,
            failures: ((both >> 32) as u32).min(requests),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Volume {
    pub requests: u32,
    pub failures: u32,
}

impl Volume {
    fn success_percent(self) -> f64 {
        100.0 * f64::from(self.requests - self.failures) / f64::from(self.requests)
    }
}

/// The positions in `volumes` whose success rate is below the mean of
/// the endpoints with enough requests by more than `stdev_factor / 1000`
/// (population) standard deviations; none unless `minimum_hosts` of them
/// had enough requests.
pub fn success_rate_outliers(config: &SuccessRateDetector, volumes: &[Volume]) -> Vec<usize> {
    let counted: Vec<(usize, f64)> = (volumes.iter().enumerate())
        .filter(|(_, v)| v.requests >= config.request_volume.max(1))
        .map(|(i, v)| (i, v.success_percent()))
        .collect();
    if counted.is_empty() || counted.len() < config.minimum_hosts as usize {
        return Vec::new();
    }
    let n = counted.len() as f64;
    let mean = counted.iter().map(|(_, rate)| rate).sum::<f64>() / n;
    let variance = counted
        .iter()
        .map(|(_, rate)| (rate - mean).powi(2))
        .sum::<f64>()
        / n;
    // Equal rates have no outlier; rounding could put the mean a hair
    // above all of them and eject every one.
    if variance < 1e-9 {
        return Vec::new();
    }
    let limit = mean - f64::from(config.stdev_factor) / 1000.0 * variance.sqrt();
    counted
        .into_iter()
        .filter(|(_, rate)| *rate < limit)
        .map(|(i, _)| i)
        .collect()
}

/// The positions in `volumes` whose failures reach `threshold` percent of
/// their requests, among endpoints with enough requests; none unless
/// `minimum_hosts` of them had enough.
pub fn failure_percentage_outliers(
    config: &FailurePercentageDetector,
    volumes: &[Volume],
) -> Vec<usize> {
    let counted: Vec<usize> = (volumes.iter().enumerate())
        .filter(|(_, v)| v.requests >= config.request_volume.max(1))
        .map(|(i, _)| i)
        .collect();
    if counted.len() < config.minimum_hosts as usize {
        return Vec::new();
    }
    counted
        .into_iter()
        .filter(|&i| {
            let v = volumes[i];
            100.0 - v.success_percent() >= f64::from(config.threshold)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUCCESS_RATE: SuccessRateDetector = SuccessRateDetector {
        minimum_hosts: 5,
        request_volume: 100,
        stdev_factor: 1900,
        enforcing: 100,
    };
    const FAILURE_PERCENTAGE: FailurePercentageDetector = FailurePercentageDetector {
        minimum_hosts: 5,
        request_volume: 50,
        threshold: 85,
        enforcing: 100,
    };

    fn volume(requests: u32, failures: u32) -> Volume {
        Volume { requests, failures }
    }

    #[test]
    fn one_failing_endpoint_among_five_is_a_success_rate_outlier() {
        // Rates 100, 100, 100, 100, 0: mean 80, stdev 40, limit 4.
        let volumes = [
            volume(100, 0),
            volume(120, 0),
            volume(100, 0),
            volume(100, 0),
            volume(100, 100),
        ];
        assert_eq!(success_rate_outliers(&SUCCESS_RATE, &volumes), [4]);
        // A mild dip stays within 1.9 deviations.
        let volumes = [
            volume(100, 0),
            volume(100, 1),
            volume(100, 2),
            volume(100, 0),
            volume(100, 5),
        ];
        assert!(success_rate_outliers(&SUCCESS_RATE, &volumes).is_empty());
    }

    #[test]
    fn equal_rates_have_no_outlier_whatever_the_factor() {
        let volumes = [volume(102, 4); 10];
        let lenient = SuccessRateDetector {
            stdev_factor: 0,
            ..SUCCESS_RATE
        };
        assert!(success_rate_outliers(&lenient, &volumes).is_empty());
    }

    #[test]
    fn too_few_endpoints_with_enough_requests_judge_nothing() {
        let volumes = [
            volume(100, 0),
            volume(100, 0),
            volume(100, 0),
            volume(99, 0),
            volume(100, 100),
        ];
        assert!(success_rate_outliers(&SUCCESS_RATE, &volumes).is_empty());
        assert!(failure_percentage_outliers(&FAILURE_PERCENTAGE, &volumes[..4]).is_empty());
        assert!(success_rate_outliers(&SUCCESS_RATE, &[]).is_empty());
    }

    #[test]
    fn failure_percentage_ejects_from_the_threshold_on() {
        let volumes = [
            volume(50, 0),
            volume(50, 0),
            volume(100, 85),
            volume(100, 84),
            volume(60, 60),
            volume(49, 49),
        ];
        assert_eq!(
            failure_percentage_outliers(&FAILURE_PERCENTAGE, &volumes),
            [2, 4]
        );
    }

    #[test]
    fn counts_are_taken_once() {
        let counts = IntervalCounts::default();
        for failed in [false, true, true] {
            counts.record(failed);
        }
        assert_eq!(counts.take(), volume(3, 2));
        assert_eq!(counts.take(), volume(0, 0));
    }
}

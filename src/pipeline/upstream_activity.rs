//! What is in flight against each cluster, as Envoy's `upstream_rq_active`,
//! `upstream_cx_active` and `upstream_rq_pending_active` gauges: read from
//! the circuit breakers' own counters when Prometheus scrapes, so the data
//! path keeps its one atomic per slot and never touches a gauge.
//!
//! Clusters register the counters of each generation they build; a
//! generation that is gone (a reload replaced it and its last request
//! ended) drops out at the next scrape, and two live generations of one
//! cluster (the old one finishing its requests) add up under its name.
use prometheus::core::{Collector, Desc};
use prometheus::proto::MetricFamily;
use prometheus::{IntGaugeVec, Opts};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Mutex, Weak};

/// One cluster generation's breaker counters, in `cluster::breakers::
/// BREAKERS` order: requests, retries, connections, pending.
pub type BreakerCounters = [Weak<AtomicUsize>; 4];

const GAUGES: [(&str, &str); 4] = [
    (
        "periscope_upstream_requests_active",
        "Requests in flight to the cluster (Envoy's upstream_rq_active).",
    ),
    (
        "periscope_upstream_retries_active",
        "Retries in flight to the cluster, under max_retries or the retry budget.",
    ),
    (
        "periscope_upstream_connections_active",
        "Open upstream connections, busy or idle: L4 relays, the HTTP/1.1 pool and h2c connections (Envoy's upstream_cx_active).",
    ),
    (
        "periscope_upstream_requests_pending",
        "Requests waiting for an HTTP/1.1 upstream connection (Envoy's upstream_rq_pending_active).",
    ),
];

pub struct UpstreamActivity {
    clusters: Mutex<Vec<(String, BreakerCounters)>>,
    /// Filled afresh at each scrape; never registered on their own.
    gauges: [IntGaugeVec; 4],
}

impl UpstreamActivity {
    pub fn new() -> UpstreamActivity {
        UpstreamActivity {
            clusters: Mutex::new(Vec::new()),
            gauges: GAUGES.map(|(name, help)| {
                IntGaugeVec::new(Opts::new(name, help), &["cluster"]).expect("valid gauge")
            }),
        }
    }

    /// Report `counters` under `cluster` for as long as they live.
    pub fn track(&self, cluster: &str, counters: BreakerCounters) {
        if let Ok(mut clusters) = self.clusters.lock() {
            clusters.retain(|(_, c)| c[0].strong_count() > 0);
            clusters.push((cluster.to_owned(), counters));
        }
    }

    /// Current totals per cluster name.
    fn totals(&self) -> BTreeMap<String, [i64; 4]> {
        let mut totals: BTreeMap<String, [i64; 4]> = BTreeMap::new();
        let Ok(mut clusters) = self.clusters.lock() else {
            return totals;
        };
        clusters.retain(|(_, c)| c[0].strong_count() > 0);
        for (name, counters) in clusters.iter() {
            let sum = totals.entry(name.clone()).or_default();
            for (total, counter) in sum.iter_mut().zip(counters) {
                let now = counter.upgrade().map_or(0, |c| c.load(Ordering::Acquire));
                *total += i64::try_from(now).unwrap_or(i64::MAX);
            }
        }
        totals
    }
}

impl Default for UpstreamActivity {
    fn default() -> Self {
        UpstreamActivity::new()
    }
}

impl Collector for UpstreamActivity {
    fn desc(&self) -> Vec<&Desc> {
        self.gauges.iter().flat_map(|g| g.desc()).collect()
    }

    fn collect(&self) -> Vec<MetricFamily> {
        let totals = self.totals();
        self.gauges
            .iter()
            .enumerate()
            .flat_map(|(i, gauge)| {
                gauge.reset();
                for (cluster, values) in &totals {
                    gauge.with_label_values(&[cluster]).set(values[i]);
                }
                gauge.collect()
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    fn counters(values: [usize; 4]) -> [Arc<AtomicUsize>; 4] {
        values.map(|v| Arc::new(AtomicUsize::new(v)))
    }

    fn weak(c: &[Arc<AtomicUsize>; 4]) -> BreakerCounters {
        [0, 1, 2, 3].map(|i| Arc::downgrade(&c[i]))
    }

    #[test]
    fn generations_add_up_and_dropped_ones_vanish() {
        let activity = UpstreamActivity::new();
        let old = counters([1, 0, 2, 0]);
        let new = counters([3, 1, 1, 2]);
        let other = counters([0, 0, 5, 0]);
        activity.track("web", weak(&old));
        activity.track("web", weak(&new));
        activity.track("db", weak(&other));
        assert_eq!(activity.totals()["web"], [4, 1, 3, 2]);
        assert_eq!(activity.totals()["db"], [0, 0, 5, 0]);
        drop(old);
        assert_eq!(activity.totals()["web"], [3, 1, 1, 2]);
        drop(other);
        assert!(!activity.totals().contains_key("db"));
        let text = prometheus::TextEncoder::new()
            .encode_to_string(&activity.collect())
            .expect("text exposition");
        assert!(
            text.contains("periscope_upstream_connections_active{cluster=\"web\"} 1\n"),
            "{text}"
        );
        assert!(!text.contains("cluster=\"db\""), "{text}");
    }
}

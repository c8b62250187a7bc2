//! Circuit breakers per cluster (Envoy's thresholds): requests and retries
//! in flight, upstream connections, and requests waiting for an HTTP/1.1
//! connection (pending). Past a threshold a request is
//! answered at once (503 / UNAVAILABLE) instead of queueing behind a
//! failing upstream, and the overflow is counted.
//!
//! Each threshold is one atomic counter taken with a compare-free
//! `fetch_add` and given back by a guard's `Drop`: no lock, and a guard
//! cannot leak a slot on any exit path.
use crate::config::CircuitBreakersConfig;
use prometheus::IntCounter;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

pub struct Breakers {
    config: CircuitBreakersConfig,
    requests: Arc<AtomicUsize>,
    retries: Arc<AtomicUsize>,
    connections: Arc<AtomicUsize>,
    pending: Arc<AtomicUsize>,
    overflow: [IntCounter; 4],
}

/// A slot held under one threshold; released on drop.
pub struct Slot(Arc<AtomicUsize>);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Which threshold overflowed: the `breaker` label.
pub const BREAKERS: [&str; 4] = ["requests", "retries", "connections", "pending"];

impl Breakers {
    pub fn new(config: CircuitBreakersConfig, overflow: [IntCounter; 4]) -> Breakers {
        Breakers {
            config,
            requests: Arc::default(),
            retries: Arc::default(),
            connections: Arc::default(),
            pending: Arc::default(),
            overflow,
        }
    }

    /// A request slot, or `None` (counted) when `max_requests` are in flight.
    pub fn request(&self) -> Option<Slot> {
        self.take(&self.requests, self.config.max_requests, Some(0))
    }

    /// A retry slot: under `max_retries`, or under the retry budget (a share
    /// of the requests in flight, at least its minimum concurrency).
    pub fn retry(&self) -> Option<Slot> {
        let limit = match self.config.retry_budget {
            Some((percent, min)) => {
                let active = self.requests.load(Ordering::Acquire) as f64;
                ((active * percent / 100.0) as usize).max(min)
            }
            None => self.config.max_retries,
        };
        self.take(&self.retries, limit, Some(1))
    }

    /// An upstream connection slot, or `None` past `max_connections`.
    pub fn connection(&self) -> Option<Slot> {
        self.take(&self.connections, self.config.max_connections, Some(2))
    }

    /// A connection slot without counting an overflow: the HTTP/1.1 pool
    /// asks again each time a waiting request wakes, and counts the
    /// overflow once per request with [`Breakers::connection_overflowed`].
    pub fn try_connection(&self) -> Option<Slot> {
        self.take(&self.connections, self.config.max_connections, None)
    }

    /// A multiplexed (h2) upstream connection, counted in the connections
    /// gauge for as long as it lives but never refused: its requests are
    /// already bounded by `max_requests`.
    pub fn count_connection(&self) -> Slot {
        self.connections.fetch_add(1, Ordering::AcqRel);
        Slot(self.connections.clone())
    }

    /// A request found the cluster at `max_connections` and must wait.
    pub fn connection_overflowed(&self) {
        self.overflow[2].inc();
    }

    /// A place among the requests waiting for an HTTP/1.1 connection, or
    /// `None` (counted) past `max_pending_requests`.
    pub fn pending(&self) -> Option<Slot> {
        self.take(&self.pending, self.config.max_pending_requests, Some(3))
    }

    fn take(&self, counter: &Arc<AtomicUsize>, limit: usize, which: Option<usize>) -> Option<Slot> {
        let before = counter.fetch_add(1, Ordering::AcqRel);
        let slot = Slot(counter.clone());
        if before < limit {
            return Some(slot);
        }
        drop(slot);
        if let Some(which) = which {
            self.overflow[which].inc();
        }
        None
    }

    /// The counters behind each threshold, for the scrape-time gauges
    /// (`pipeline::UpstreamActivity`); weak, so they never outlive us.
    pub fn counters(&self) -> crate::pipeline::BreakerCounters {
        [
            &self.requests,
            &self.retries,
            &self.connections,
            &self.pending,
        ]
        .map(Arc::downgrade)
    }

    pub fn snapshot(&self) -> BreakersSnapshot {
        let now = |c: &AtomicUsize| c.load(Ordering::Acquire);
        BreakersSnapshot {
            requests: now(&self.requests),
            max_requests: self.config.max_requests,
            retries: now(&self.retries),
            max_retries: self.config.max_retries,
            retry_budget_percent: self.config.retry_budget.map(|(percent, _)| percent),
            connections: now(&self.connections),
            max_connections: self.config.max_connections,
            pending_requests: now(&self.pending),
            max_pending_requests: self.config.max_pending_requests,
        }
    }
}

/// `/clusters`: what is in flight against each threshold.
#[derive(Debug, serde::Serialize)]
pub struct BreakersSnapshot {
    pub requests: usize,
    pub max_requests: usize,
    pub retries: usize,
    pub max_retries: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub retry_budget_percent: Option<f64>,
    pub connections: usize,
    pub max_connections: usize,
    pub pending_requests: usize,
    pub max_pending_requests: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn breakers(config: CircuitBreakersConfig) -> Breakers {
        let counter = || IntCounter::new("t", "t").expect("counter");
        Breakers::new(config, [counter(), counter(), counter(), counter()])
    }

    #[test]
    fn requests_past_the_threshold_overflow_and_slots_come_back() {
        let b = breakers(CircuitBreakersConfig {
            max_requests: 2,
            ..CircuitBreakersConfig::default()
        });
        let one = b.request().expect("first");
        let two = b.request().expect("second");
        assert!(b.request().is_none());
        assert_eq!(b.overflow[0].get(), 1);
        drop(one);
        let _three = b.request().expect("a slot came back");
        drop(two);
        assert_eq!(b.snapshot().requests, 1);
    }

    #[test]
    fn the_retry_budget_scales_with_requests_in_flight() {
        let b = breakers(CircuitBreakersConfig {
            max_requests: 100,
            retry_budget: Some((20.0, 1)),
            ..CircuitBreakersConfig::default()
        });
        let requests: Vec<_> = (0..10).map(|_| b.request().expect("request")).collect();
        // 20 % of 10 in flight: two retries at once, not a third.
        let r1 = b.retry().expect("first retry");
        let _r2 = b.retry().expect("second retry");
        assert!(b.retry().is_none());
        assert_eq!(b.overflow[1].get(), 1);
        drop(r1);
        assert!(b.retry().is_some());
        drop(requests);
        let lone = breakers(CircuitBreakersConfig {
            retry_budget: Some((20.0, 3)),
            ..CircuitBreakersConfig::default()
        });
        let held: Vec<_> = (0..3).map(|_| lone.retry().expect("minimum")).collect();
        assert!(lone.retry().is_none());
        drop(held);
    }

    #[test]
    fn pending_places_overflow_and_waiting_for_connections_counts_once() {
        let b = breakers(CircuitBreakersConfig {
            max_connections: 1,
            max_pending_requests: 1,
            ..CircuitBreakersConfig::default()
        });
        let connection = b.try_connection().expect("first connection");
        // Asking again while waiting is not an overflow by itself.
        assert!(b.try_connection().is_none());
        assert!(b.try_connection().is_none());
        assert_eq!(b.overflow[2].get(), 0);
        b.connection_overflowed();
        assert_eq!(b.overflow[2].get(), 1);
        let waiting = b.pending().expect("one may wait");
        assert!(b.pending().is_none());
        assert_eq!(b.overflow[3].get(), 1);
        assert_eq!(b.snapshot().pending_requests, 1);
        drop((waiting, connection));
        assert_eq!(
            (b.snapshot().pending_requests, b.snapshot().connections),
            (0, 0)
        );
    }
}

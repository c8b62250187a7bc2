//! One upstream endpoint and the counters `/clusters` shows for it.
use super::health::{EndpointHealth, HealthSnapshot};
use super::outlier::OutlierCounters;
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Endpoint {
    /// Position in its cluster, for per-endpoint tables (connection pools).
    pub index: usize,
    /// `ip:port`, or `host:port` as configured (resolved at connect time)
    /// for a hostname a `strict_dns` cluster has not resolved yet.
    pub address: String,
    /// The configured `host:port` a `strict_dns` endpoint came from.
    pub hostname: Option<String>,
    pub authority: http::uri::Authority,
    /// 1-128; read by the balancers, shown by `/clusters`.
    pub weight: u32,
    pub stats: EndpointStats,
    /// Health-check and outlier flags: whether it may take traffic.
    pub health: EndpointHealth,
    /// Consecutive failures, for outlier detection.
    pub outlier: OutlierCounters,
}

#[derive(Default)]
pub struct EndpointStats {
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub connect_failures: AtomicU64,
    /// Upstream connections established (not attempts).
    pub connections: AtomicU64,
    /// HTTP requests being forwarded and TCP connections being relayed
    /// right now; `least_request` balances on it. Only [`ActiveRequest`]
    /// changes it, so every increment has its decrement.
    pub active_requests: AtomicU64,
}

#[derive(Serialize)]
pub struct EndpointSnapshot {
    pub address: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname: Option<String>,
    pub weight: u32,
    pub active_requests: u64,
    pub requests: u64,
    pub failures: u64,
    pub connect_failures: u64,
    pub connections: u64,
    #[serde(flatten)]
    pub health: HealthSnapshot,
}

impl Endpoint {
    pub fn new(
        index: usize,
        address: &str,
        weight: u32,
    ) -> Result<Endpoint, http::uri::InvalidUri> {
        Ok(Endpoint {
            index,
            address: address.to_owned(),
            hostname: None,
            authority: address.parse()?,
            weight,
            stats: EndpointStats::default(),
            health: EndpointHealth::default(),
            outlier: OutlierCounters::default(),
        })
    }

    pub fn active_requests(&self) -> u64 {
        self.stats.active_requests.load(Ordering::Relaxed)
    }

    pub fn snapshot(&self) -> EndpointSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        EndpointSnapshot {
            address: self.address.clone(),
            hostname: self.hostname.clone(),
            weight: self.weight,
            active_requests: load(&self.stats.active_requests),
            requests: load(&self.stats.requests),
            failures: load(&self.stats.failures),
            connect_failures: load(&self.stats.connect_failures),
            connections: load(&self.stats.connections),
            health: self.health.snapshot(),
        }
    }
}

/// Holds one unit of an endpoint's `active_requests` while alive: taken at
/// the pick, dropped when the request (HTTP) or connection (TCP) is over,
/// whichever way it ends.
pub struct ActiveRequest<'a>(&'a AtomicU64);

impl<'a> ActiveRequest<'a> {
    pub fn begin(endpoint: &'a Endpoint) -> ActiveRequest<'a> {
        endpoint
            .stats
            .active_requests
            .fetch_add(1, Ordering::Relaxed);
        ActiveRequest(&endpoint.stats.active_requests)
    }
}

impl Drop for ActiveRequest<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn active_requests_follow_the_guards() {
        let endpoint = Endpoint::new(0, "127.0.0.1:1", 3).expect("endpoint");
        let first = ActiveRequest::begin(&endpoint);
        let second = ActiveRequest::begin(&endpoint);
        assert_eq!(endpoint.active_requests(), 2);
        drop(first);
        assert_eq!(endpoint.snapshot().active_requests, 1);
        drop(second);
        assert_eq!(endpoint.active_requests(), 0);
        assert_eq!(endpoint.snapshot().weight, 3);
    }
}

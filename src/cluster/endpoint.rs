//! One upstream endpoint and the counters `/clusters` shows for it.
use serde::Serialize;
use std::sync::atomic::{AtomicU64, Ordering};

pub struct Endpoint {
    /// Position in its cluster, for per-endpoint tables (connection pools).
    pub index: usize,
    /// `host:port` as configured; hostnames are resolved at connect time.
    pub address: String,
    pub authority: http::uri::Authority,
    pub stats: EndpointStats,
}

#[derive(Default)]
pub struct EndpointStats {
    pub requests: AtomicU64,
    pub failures: AtomicU64,
    pub connect_failures: AtomicU64,
    /// Upstream connections established (not attempts).
    pub connections: AtomicU64,
}

#[derive(Serialize)]
pub struct EndpointSnapshot {
    pub address: String,
    pub requests: u64,
    pub failures: u64,
    pub connect_failures: u64,
    pub connections: u64,
}

impl Endpoint {
    pub fn new(index: usize, address: &str) -> Result<Endpoint, http::uri::InvalidUri> {
        Ok(Endpoint {
            index,
            address: address.to_owned(),
            authority: address.parse()?,
            stats: EndpointStats::default(),
        })
    }

    pub fn snapshot(&self) -> EndpointSnapshot {
        let load = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        EndpointSnapshot {
            address: self.address.clone(),
            requests: load(&self.stats.requests),
            failures: load(&self.stats.failures),
            connect_failures: load(&self.stats.connect_failures),
            connections: load(&self.stats.connections),
        }
    }
}

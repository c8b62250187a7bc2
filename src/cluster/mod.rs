//! Clusters: named groups of upstream endpoints and how one is chosen.
//!
//! Transport-agnostic: the L4 path connects TCP to the chosen endpoint, the
//! L7 path hands its authority to a pooled HTTP client. The choice is the
//! cluster's [`Balancer`], an immutable value swapped whole (`ArcSwap`)
//! when the set of endpoints that may take traffic changes.
mod balancer;
pub mod breakers;
pub mod dns;
mod endpoint;
mod hash_key;
pub mod health;
mod outlier;
mod outlier_stats;
mod rotation;
pub mod tls;

pub use balancer::{Balancer, Member};
pub use breakers::Breakers;
pub use endpoint::{ActiveRequest, Endpoint, EndpointSnapshot};

/// A per-thread random number (retry back-off jitter shares the balancers'
/// source: no lock, no shared cache line).
pub fn random_u64() -> u64 {
    balancer::rng::next_u64()
}
pub use hash_key::HashSource;
pub use outlier::Observed;

use crate::config::{
    ClusterConfig, HashPolicy, HealthCheckConfig, LbPolicy, OutlierConfig, UpstreamProtocol,
};
use crate::pipeline::{ClusterMetrics, Families, UpstreamFailure};
use arc_swap::ArcSwap;
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

pub struct Cluster {
    pub name: String,
    pub protocol: UpstreamProtocol,
    pub connect_timeout: Duration,
    lb_policy: LbPolicy,
    hash_policy: Option<HashPolicy>,
    endpoints: Vec<Endpoint>,
    balancer: ArcSwap<Balancer>,
    pub metrics: ClusterMetrics,
    health_check: Option<HealthCheckConfig>,
    outlier: Option<OutlierConfig>,
    rotation: rotation::Rotation,
    /// Dropped with the cluster, which stops its health tasks.
    stop: tokio::sync::watch::Sender<()>,
    pub breakers: Breakers,
    /// A `strict_dns` cluster's resolutions, for `/clusters`.
    dns: Option<Arc<dns::DnsStatus>>,
    /// TLS to the endpoints (HTTP clusters and their health checks).
    pub tls: Option<Arc<tls::UpstreamTls>>,
}

/// The chosen endpoint, counted in its `active_requests` until dropped:
/// hold it for as long as the request or connection it was picked for.
pub struct Picked<'a> {
    pub endpoint: &'a Endpoint,
    _active: ActiveRequest<'a>,
    /// The L4 path's `max_connections` slot, held with the connection.
    _connection: Option<breakers::Slot>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cluster {0} has no endpoints")]
    NoEndpoint(String),
    #[error("cluster {0} is at its max_connections circuit breaker")]
    Overflow(String),
    #[error("connect to {endpoint} timed out")]
    Timeout { endpoint: String },
    #[error("connect to {endpoint} failed: {source}")]
    Io {
        endpoint: String,
        source: std::io::Error,
    },
}

#[derive(Serialize)]
pub struct ClusterSnapshot {
    pub name: String,
    pub lb_policy: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hash_policy: Option<String>,
    /// Too few endpoints are eligible: balancing over all of them.
    pub panic: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub health_check: Option<&'static str>,
    pub outlier_detection: bool,
    /// In flight now, against the circuit breakers' thresholds.
    pub circuit_breakers: breakers::BreakersSnapshot,
    /// `strict_dns` only: refresh settings and the last resolution.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns: Option<dns::DnsSnapshot>,
    pub endpoints: Vec<EndpointSnapshot>,
}

impl Cluster {
    /// A cluster over its configured endpoints as written (tests).
    #[cfg(test)]
    pub fn new(config: &ClusterConfig, families: &Families) -> Result<Cluster, String> {
        Cluster::resolved(config, &dns::endpoints(config, None), None, families)
    }

    /// A cluster over `resolved`, the endpoints a resolution of `config`'s
    /// hostnames gave (see [`dns::endpoints`]).
    pub fn resolved(
        config: &ClusterConfig,
        resolved: &[dns::ResolvedEndpoint],
        dns: Option<Arc<dns::DnsStatus>>,
        families: &Families,
    ) -> Result<Cluster, String> {
        let endpoints = (resolved.iter().enumerate())
            .map(|(index, endpoint)| {
                let mut built =
                    Endpoint::new(index, &endpoint.address, endpoint.weight).map_err(|err| {
                        format!(
                            "cluster {}: endpoint {}: {err}",
                            config.name, endpoint.address
                        )
                    })?;
                built.hostname = endpoint.hostname.clone();
                Ok(built)
            })
            .collect::<Result<Vec<_>, String>>()?;
        let addresses: Vec<&str> = endpoints.iter().map(|e| e.address.as_str()).collect();
        let rotation = rotation::Rotation::new(
            families,
            &config.name,
            &addresses,
            config.healthy_panic_threshold,
            config.health_check.is_some(),
            config.outlier_detection.is_some(),
        );
        let metrics = ClusterMetrics::new(families, &config.name);
        let tls = match &config.tls {
            Some(tls) => Some(Arc::new(
                tls::UpstreamTls::new(tls).map_err(|e| format!("cluster {}: {e}", config.name))?,
            )),
            None => None,
        };
        let cluster = Cluster {
            name: config.name.clone(),
            protocol: config.protocol,
            connect_timeout: config.connect_timeout,
            lb_policy: config.lb_policy,
            hash_policy: config.hash_policy.clone(),
            endpoints,
            balancer: ArcSwap::from_pointee(Balancer::build(config.lb_policy, &[])),
            health_check: config.health_check.clone(),
            outlier: config.outlier_detection,
            rotation,
            stop: tokio::sync::watch::channel(()).0,
            breakers: Breakers::new(config.circuit_breakers.clone(), metrics.overflow.clone()),
            metrics,
            dns,
            tls,
        };
        cluster.refresh_rotation(&mut cluster.rotation.lock());
        families
            .upstream_activity
            .track(&cluster.name, cluster.breakers.counters());
        Ok(cluster)
    }

    /// Rebuilds the balancer over the endpoints `eligible` accepts and
    /// swaps it in; picks already running finish on the old one. This is
    /// how health checking and outlier ejection take endpoints out of (and
    /// back into) rotation, through `refresh_rotation`.
    pub fn rebalance(&self, eligible: impl Fn(&Endpoint) -> bool) {
        let members: Vec<Member> = (self.endpoints.iter())
            .filter(|e| eligible(e))
            .map(|e| Member {
                index: e.index,
                weight: e.weight,
                key: &e.address,
            })
            .collect();
        let balancer = Balancer::build(self.lb_policy, &members);
        self.balancer.store(Arc::new(balancer));
    }

    /// The endpoint for one request or connection, by the cluster's policy;
    /// `None` when no endpoint may take traffic.
    pub fn pick(&self, source: HashSource) -> Option<Picked<'_>> {
        let hash = (self.hash_policy.as_ref()).and_then(|p| hash_key::hash_key(p, source));
        let active = |i: usize| self.endpoints.get(i).map_or(0, Endpoint::active_requests);
        let index = self.balancer.load().pick(hash, &active)?;
        let endpoint = self.endpoints.get(index)?;
        Some(Picked {
            endpoint,
            _active: ActiveRequest::begin(endpoint),
            _connection: None,
        })
    }

    /// Open a connection to the endpoint picked for a client at `peer`
    /// (the L4 path), TLS when the cluster has it; the endpoint counts it
    /// as active while the returned [`Picked`] lives.
    pub async fn connect_tcp(
        &self,
        peer: IpAddr,
    ) -> Result<(tls::UpstreamIo, Picked<'_>), ConnectError> {
        let slot = self
            .breakers
            .connection()
            .ok_or_else(|| ConnectError::Overflow(self.name.clone()))?;
        let mut picked = self
            .pick(HashSource::Connection { peer })
            .ok_or_else(|| ConnectError::NoEndpoint(self.name.clone()))?;
        picked._connection = Some(slot);
        let endpoint = picked.endpoint;
        let connecting = tls::open(self.tls.as_deref(), endpoint, tls::Alpn::Relay);
        let attempt = tokio::time::timeout(self.connect_timeout, connecting).await;
        let result = match attempt {
            Err(_) => Err(ConnectError::Timeout {
                endpoint: endpoint.address.clone(),
            }),
            Ok(Err(source)) => Err(ConnectError::Io {
                endpoint: endpoint.address.clone(),
                source,
            }),
            Ok(Ok(stream)) => {
                endpoint.stats.connections.fetch_add(1, Ordering::Relaxed);
                self.observe(endpoint, Observed::Connected);
                return Ok((stream, picked));
            }
        };
        endpoint
            .stats
            .connect_failures
            .fetch_add(1, Ordering::Relaxed);
        self.metrics.failed(UpstreamFailure::ConnectFailure);
        self.observe(endpoint, Observed::ConnectFailure);
        result
    }

    pub fn endpoint_count(&self) -> usize {
        self.endpoints.len()
    }

    /// The endpoint at `index`, for tests that address one directly.
    #[cfg(test)]
    pub fn endpoint(&self, index: usize) -> &Endpoint {
        &self.endpoints[index]
    }

    pub fn snapshot(&self) -> ClusterSnapshot {
        ClusterSnapshot {
            name: self.name.clone(),
            lb_policy: self.lb_policy.name(),
            hash_policy: self.hash_policy.as_ref().map(|p| match p {
                HashPolicy::Header(name) => format!("header:{name}"),
                HashPolicy::Cookie(name) => format!("cookie:{name}"),
                HashPolicy::SourceIp => "source_ip".to_owned(),
            }),
            panic: self.rotation.in_panic(),
            health_check: self.health_check.as_ref().map(|hc| hc.kind.name()),
            outlier_detection: self.outlier.is_some(),
            circuit_breakers: self.breakers.snapshot(),
            dns: self.dns.as_ref().map(|d| d.snapshot()),
            endpoints: self.endpoints.iter().map(Endpoint::snapshot).collect(),
        }
    }
}

/// A random number below `bound` (at least 1), for rare decisions: check
/// jitter, outlier enforcement. Each `RandomState` is freshly keyed, so
/// hashing a constant is enough; the balancers keep their own fast rng.
fn random_below(bound: u64) -> u64 {
    use std::hash::BuildHasher;
    std::collections::hash_map::RandomState::new().hash_one(0u8) % bound.max(1)
}

/// All clusters by name, built once per configuration.
pub type Clusters = HashMap<String, Arc<Cluster>>;

/// Builds one cluster over resolved endpoints and, on a tokio runtime,
/// starts its health checks and outlier sweep (see [`health::start`]):
/// start-up and reload alike build clusters here (`reload/build.rs`), so
/// every built cluster gets them running.
pub fn build_resolved(
    config: &ClusterConfig,
    resolved: &[dns::ResolvedEndpoint],
    status: Option<Arc<dns::DnsStatus>>,
    families: &Families,
) -> Result<Arc<Cluster>, String> {
    let on_runtime = tokio::runtime::Handle::try_current().is_ok();
    let cluster = Cluster::resolved(config, resolved, status, families)?;
    Ok(start(cluster, on_runtime))
}

fn start(cluster: Cluster, on_runtime: bool) -> Arc<Cluster> {
    let cluster = Arc::new(cluster);
    if on_runtime {
        health::start(&cluster);
    }
    cluster
}

#[cfg(test)]
mod tests;

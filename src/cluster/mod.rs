//! Clusters: named groups of upstream endpoints and how one is chosen.
//!
//! Transport-agnostic: the L4 path connects TCP to the chosen endpoint, the
//! L7 path hands its authority to a pooled HTTP client. The choice is the
//! cluster's [`Balancer`], an immutable value swapped whole (`ArcSwap`)
//! when the set of endpoints that may take traffic changes.
mod balancer;
mod endpoint;
mod hash_key;

pub use balancer::{Balancer, Member};
pub use endpoint::{ActiveRequest, Endpoint, EndpointSnapshot};
pub use hash_key::HashSource;

use crate::config::{ClusterConfig, HashPolicy, LbPolicy, UpstreamProtocol};
use crate::pipeline::{ClusterMetrics, Families, UpstreamFailure};
use arc_swap::ArcSwap;
use serde::Serialize;
use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

pub struct Cluster {
    pub name: String,
    pub protocol: UpstreamProtocol,
    pub connect_timeout: Duration,
    lb_policy: LbPolicy,
    hash_policy: Option<HashPolicy>,
    endpoints: Vec<Endpoint>,
    balancer: ArcSwap<Balancer>,
    pub metrics: ClusterMetrics,
}

/// The chosen endpoint, counted in its `active_requests` until dropped:
/// hold it for as long as the request or connection it was picked for.
pub struct Picked<'a> {
    pub endpoint: &'a Endpoint,
    _active: ActiveRequest<'a>,
}

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("cluster {0} has no endpoints")]
    NoEndpoint(String),
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
    pub endpoints: Vec<EndpointSnapshot>,
}

impl Cluster {
    pub fn new(config: &ClusterConfig, families: &Families) -> Result<Cluster, String> {
        let endpoints = config
            .endpoints
            .iter()
            .enumerate()
            .map(|(index, endpoint)| {
                Endpoint::new(index, &endpoint.address, endpoint.weight).map_err(|err| {
                    format!(
                        "cluster {}: endpoint {}: {err}",
                        config.name, endpoint.address
                    )
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let cluster = Cluster {
            name: config.name.clone(),
            protocol: config.protocol,
            connect_timeout: config.connect_timeout,
            lb_policy: config.lb_policy,
            hash_policy: config.hash_policy.clone(),
            endpoints,
            balancer: ArcSwap::from_pointee(Balancer::build(config.lb_policy, &[])),
            metrics: ClusterMetrics::new(families, &config.name),
        };
        cluster.rebalance(|_| true);
        Ok(cluster)
    }

    /// Rebuilds the balancer over the endpoints `eligible` accepts and
    /// swaps it in; picks already running finish on the old one. This is
    /// how health checking and outlier ejection will take endpoints out
    /// of (and back into) rotation.
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
        })
    }

    /// Open a TCP connection to the endpoint picked for a client at
    /// `peer` (the L4 path); the endpoint counts it as active while the
    /// returned [`Picked`] lives.
    pub async fn connect_tcp(&self, peer: IpAddr) -> Result<(TcpStream, Picked<'_>), ConnectError> {
        let picked = self
            .pick(HashSource::Connection { peer })
            .ok_or_else(|| ConnectError::NoEndpoint(self.name.clone()))?;
        let endpoint = picked.endpoint;
        let attempt = tokio::time::timeout(
            self.connect_timeout,
            TcpStream::connect(endpoint.address.as_str()),
        )
        .await;
        let result = match attempt {
            Err(_) => Err(ConnectError::Timeout {
                endpoint: endpoint.address.clone(),
            }),
            Ok(Err(source)) => Err(ConnectError::Io {
                endpoint: endpoint.address.clone(),
                source,
            }),
            Ok(Ok(stream)) => {
                let _ = stream.set_nodelay(true);
                endpoint.stats.connections.fetch_add(1, Ordering::Relaxed);
                return Ok((stream, picked));
            }
        };
        endpoint
            .stats
            .connect_failures
            .fetch_add(1, Ordering::Relaxed);
        self.metrics.failed(UpstreamFailure::ConnectFailure);
        result
    }

    /// The endpoint a request URI's authority names.
    pub fn endpoint_for(&self, authority: &http::uri::Authority) -> Option<&Endpoint> {
        self.endpoints.iter().find(|e| &e.authority == authority)
    }

    pub fn endpoint_count(&self) -> usize {
        self.endpoints.len()
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
            endpoints: self.endpoints.iter().map(Endpoint::snapshot).collect(),
        }
    }
}

/// All clusters by name, built once per configuration.
pub type Clusters = HashMap<String, Arc<Cluster>>;

pub fn build_all(configs: &[ClusterConfig], families: &Families) -> Result<Clusters, String> {
    configs
        .iter()
        .map(|config| {
            Ok((
                config.name.clone(),
                Arc::new(Cluster::new(config, families)?),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests;

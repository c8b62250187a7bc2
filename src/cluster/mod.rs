//! Clusters: named groups of upstream endpoints and how one is chosen.
//!
//! Transport-agnostic: the L4 path connects TCP to the chosen endpoint, the
//! L7 path hands its authority to a pooled HTTP client.
mod endpoint;

pub use endpoint::{Endpoint, EndpointSnapshot};

use crate::config::{ClusterConfig, LbPolicy, UpstreamProtocol};
use crate::pipeline::{ClusterMetrics, Families, UpstreamFailure};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;

pub struct Cluster {
    pub name: String,
    pub protocol: UpstreamProtocol,
    pub connect_timeout: Duration,
    lb_policy: LbPolicy,
    endpoints: Vec<Endpoint>,
    next: AtomicUsize,
    pub metrics: ClusterMetrics,
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
    pub endpoints: Vec<EndpointSnapshot>,
}

impl Cluster {
    pub fn new(config: &ClusterConfig, families: &Families) -> Result<Cluster, String> {
        let endpoints = config
            .endpoints
            .iter()
            .enumerate()
            .map(|(index, address)| {
                Endpoint::new(index, address)
                    .map_err(|err| format!("cluster {}: endpoint {address}: {err}", config.name))
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Cluster {
            name: config.name.clone(),
            protocol: config.protocol,
            connect_timeout: config.connect_timeout,
            lb_policy: config.lb_policy,
            endpoints,
            next: AtomicUsize::new(0),
            metrics: ClusterMetrics::new(families, &config.name),
        })
    }

    /// The next endpoint by the cluster's policy.
    pub fn pick(&self) -> Option<&Endpoint> {
        match self.lb_policy {
            LbPolicy::RoundRobin => {
                if self.endpoints.is_empty() {
                    return None;
                }
                let turn = self.next.fetch_add(1, Ordering::Relaxed);
                self.endpoints.get(turn % self.endpoints.len())
            }
        }
    }

    /// Open a TCP connection to the next endpoint (the L4 path).
    pub async fn connect_tcp(&self) -> Result<(TcpStream, &Endpoint), ConnectError> {
        let endpoint = self
            .pick()
            .ok_or_else(|| ConnectError::NoEndpoint(self.name.clone()))?;
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
                return Ok((stream, endpoint));
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
            lb_policy: match self.lb_policy {
                LbPolicy::RoundRobin => "round_robin",
            },
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
mod tests {
    use super::*;

    fn cluster(endpoints: &[&str]) -> Cluster {
        let config = ClusterConfig {
            name: "web".into(),
            protocol: UpstreamProtocol::Auto,
            connect_timeout: Duration::from_secs(1),
            lb_policy: LbPolicy::RoundRobin,
            endpoints: endpoints.iter().map(|e| e.to_string()).collect(),
        };
        Cluster::new(&config, &Families::new()).expect("valid cluster")
    }

    #[test]
    fn round_robin_visits_every_endpoint_in_turn() {
        let cluster = cluster(&["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);
        let picked: Vec<_> = (0..6)
            .map(|_| cluster.pick().map(|e| e.address.clone()))
            .collect::<Option<_>>()
            .expect("endpoints");
        assert_eq!(
            picked,
            [
                "127.0.0.1:1",
                "127.0.0.1:2",
                "127.0.0.1:3",
                "127.0.0.1:1",
                "127.0.0.1:2",
                "127.0.0.1:3"
            ]
        );
    }

    #[tokio::test]
    async fn refused_connections_are_counted() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let address = listener.local_addr().expect("addr").to_string();
        drop(listener);
        let cluster = cluster(&[&address]);
        assert!(cluster.connect_tcp().await.is_err());
        assert_eq!(cluster.metrics.connect_failures.get(), 1);
        assert_eq!(cluster.snapshot().endpoints[0].connect_failures, 1);
    }
}

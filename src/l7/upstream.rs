//! Pooled HTTP clients per cluster, one per upstream protocol.
//!
//! The upstream protocol is independent of the downstream one: a cluster
//! says `http1`, `h2c`, or `auto` (keep the client's). hyper-util's pool is
//! keyed by authority, and each request's URI carries the chosen endpoint's
//! authority, so every endpoint gets its own pool.
use super::body::CountedBody;
use crate::cluster::Cluster;
use crate::config::UpstreamProtocol;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::Arc;
use std::time::Duration;

pub type UpstreamClient = Client<HttpConnector, CountedBody>;

pub struct HttpCluster {
    pub cluster: Arc<Cluster>,
    http1: UpstreamClient,
    h2c: UpstreamClient,
}

impl HttpCluster {
    pub fn new(cluster: Arc<Cluster>) -> HttpCluster {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(cluster.connect_timeout));
        let http1 = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .build(connector.clone());
        let h2c = Client::builder(TokioExecutor::new())
            .http2_only(true)
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .timer(TokioTimer::new())
            .build(connector);
        HttpCluster {
            cluster,
            http1,
            h2c,
        }
    }

    /// The client and request version to use for a downstream request.
    pub fn client_for(&self, downstream: http::Version) -> (&UpstreamClient, http::Version) {
        let h2 = match self.cluster.protocol {
            UpstreamProtocol::Http1 => false,
            UpstreamProtocol::H2c => true,
            UpstreamProtocol::Auto => downstream == http::Version::HTTP_2,
        };
        if h2 {
            (&self.h2c, http::Version::HTTP_2)
        } else {
            (&self.http1, http::Version::HTTP_11)
        }
    }
}

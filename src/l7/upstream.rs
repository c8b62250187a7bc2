//! Upstream HTTP per cluster: HTTP/1.1 through hyper-util's pooled client,
//! h2c through our per-endpoint multiplexed connections (`h2_pool`).
//!
//! The upstream protocol is independent of the downstream one: a cluster
//! says `http1`, `h2c`, or `auto` (keep the client's).
use super::connector::CountingConnector;
use super::h2_pool::{self, H2Pool};
use super::upstream_body::UpstreamBody;
use crate::cluster::{Cluster, Endpoint};
use crate::config::UpstreamProtocol;
use crate::pipeline::UpstreamFailure;
use http::{Request, Response, Version};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use std::sync::Arc;
use std::time::Duration;

type Http1Client = Client<CountingConnector, UpstreamBody>;

/// Why sending failed, and a description for the debug log.
pub type SendError = (UpstreamFailure, String);

pub struct HttpCluster {
    pub cluster: Arc<Cluster>,
    /// Pooled per authority; each request's URI carries the chosen
    /// endpoint's authority, so every endpoint gets its own pool.
    http1: Http1Client,
    h2c: H2Pool,
}

impl HttpCluster {
    pub fn new(cluster: Arc<Cluster>) -> HttpCluster {
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(cluster.connect_timeout));
        let http1 = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .pool_timer(TokioTimer::new())
            .build(CountingConnector::new(connector, cluster.clone()));
        let h2c = H2Pool::new(cluster.endpoint_count(), cluster.connect_timeout);
        HttpCluster {
            cluster,
            http1,
            h2c,
        }
    }

    /// The version to speak upstream for a downstream request.
    pub fn upstream_version(&self, downstream: Version) -> Version {
        let h2 = match self.cluster.protocol {
            UpstreamProtocol::Http1 => false,
            UpstreamProtocol::H2c => true,
            UpstreamProtocol::Auto => downstream == Version::HTTP_2,
        };
        if h2 {
            Version::HTTP_2
        } else {
            Version::HTTP_11
        }
    }

    /// Send to `endpoint`. The request's version says which protocol; its
    /// URI must be absolute (HTTP/2 takes `:scheme` and `:authority` from it).
    pub async fn send(
        &self,
        endpoint: &Endpoint,
        request: Request<UpstreamBody>,
    ) -> Result<Response<Incoming>, SendError> {
        if request.version() == Version::HTTP_2 {
            return self.h2c.send(endpoint, request).await;
        }
        self.http1.request(request).await.map_err(|err| {
            let failure = if err.is_connect() {
                UpstreamFailure::ConnectFailure
            } else {
                classify_http1(&err)
            };
            (failure, format!("{err:?}"))
        })
    }
}

fn classify_http1(err: &hyper_util::client::legacy::Error) -> UpstreamFailure {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(hyper_err) = cause.downcast_ref::<hyper::Error>() {
            return h2_pool::classify(hyper_err);
        }
        source = cause.source();
    }
    UpstreamFailure::Reset
}

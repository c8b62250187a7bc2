//! Upstream HTTP per cluster: HTTP/1.1 through our per-endpoint pools
//! (`h1`, where the circuit breakers on connections and pending
//! requests are enforced), h2c through our per-endpoint multiplexed
//! connections (`h2_pool`).
//!
//! The upstream protocol is independent of the downstream one: a cluster
//! says `http1`, `h2c`, or `auto` (keep the client's).
use super::body::BoxError;
use super::h1::{H1Body, H1Pool};
use super::h2_pool::H2Pool;
use super::upstream_body::UpstreamBody;
use crate::cluster::{Cluster, Endpoint};
use crate::config::UpstreamProtocol;
use crate::pipeline::UpstreamFailure;
use bytes::Bytes;
use http::{Request, Response, Version};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

pin_project! {
    /// An upstream response body: h2c streams come through hyper, HTTP/1.1
    /// bodies from our own connections.
    #[project = ReplyBodyProj]
    pub enum ReplyBody {
        H2 { #[pin] body: Incoming },
        Http1 { #[pin] body: H1Body },
    }
}

impl Body for ReplyBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            ReplyBodyProj::H2 { body } => body.poll_frame(cx).map_err(Into::into),
            ReplyBodyProj::Http1 { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            ReplyBody::H2 { body } => body.is_end_stream(),
            ReplyBody::Http1 { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ReplyBody::H2 { body } => body.size_hint(),
            ReplyBody::Http1 { body } => body.size_hint(),
        }
    }
}

/// Why sending failed.
#[derive(Debug)]
pub enum SendError {
    /// No response: how it failed, and a description for the debug log.
    Failed(UpstreamFailure, String),
    /// A circuit breaker refused the request before it was sent (the
    /// cluster is at `max_connections` and `max_pending_requests` wait
    /// already): answered 503 overloaded, not counted as an upstream failure.
    Overflow,
}

impl From<(UpstreamFailure, String)> for SendError {
    fn from((failure, detail): (UpstreamFailure, String)) -> SendError {
        SendError::Failed(failure, detail)
    }
}

pub struct HttpCluster {
    pub cluster: Arc<Cluster>,
    http1: H1Pool,
    h2c: H2Pool,
}

impl HttpCluster {
    pub fn new(cluster: Arc<Cluster>) -> HttpCluster {
        let (endpoints, timeout) = (cluster.endpoint_count(), cluster.connect_timeout);
        let http1 = H1Pool::new(endpoints, timeout, cluster.tls.clone());
        let h2c = H2Pool::new(endpoints, timeout, cluster.tls.clone());
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
    /// URI must be absolute (HTTP/2 takes `:scheme` and `:authority` from
    /// it; HTTP/1.1 sends its path, the host travels in `Host`).
    pub async fn send(
        &self,
        endpoint: &Endpoint,
        request: Request<UpstreamBody>,
    ) -> Result<Response<ReplyBody>, SendError> {
        let breakers = &self.cluster.breakers;
        if request.version() == Version::HTTP_2 {
            let response = self.h2c.send(breakers, endpoint, request).await?;
            return Ok(response.map(|body| ReplyBody::H2 { body }));
        }
        let response = self.http1.send(breakers, endpoint, request).await?;
        Ok(response.map(|body| ReplyBody::Http1 { body }))
    }
}

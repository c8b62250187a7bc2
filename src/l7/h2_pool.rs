//! HTTP/2 upstream connections: one multiplexed connection per endpoint.
//!
//! Ours rather than hyper-util's pooled client because that client takes
//! `:authority` from the URI it also uses as the pool key, so a request could
//! not both reach a chosen endpoint and carry the client's authority (which
//! name-based virtual hosts and gRPC servers check). Here the endpoint picks
//! the connection and the request keeps its own authority, as in Envoy.
use super::upstream_body::UpstreamBody;
use crate::cluster::breakers::Breakers;
use crate::cluster::tls::{self, Alpn, UpstreamTls};
use crate::cluster::Endpoint;
use crate::pipeline::UpstreamFailure;
use hyper::body::Incoming;
use hyper::client::conn::http2::{self, SendRequest};
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use std::sync::Arc;
use std::sync::Mutex;
use std::time::Duration;

pub struct H2Pool {
    /// Indexed by `Endpoint::index`. The lock is per endpoint and held only
    /// to clone or replace a sender, never across an await.
    senders: Vec<Mutex<Option<SendRequest<UpstreamBody>>>>,
    connect_timeout: Duration,
    /// The cluster's TLS (ALPN `h2`), when it has one.
    tls: Option<Arc<UpstreamTls>>,
}

impl H2Pool {
    pub fn new(
        endpoints: usize,
        connect_timeout: Duration,
        tls: Option<Arc<UpstreamTls>>,
    ) -> H2Pool {
        H2Pool {
            senders: (0..endpoints).map(|_| Mutex::new(None)).collect(),
            connect_timeout,
            tls,
        }
    }

    pub async fn send(
        &self,
        breakers: &Breakers,
        endpoint: &Endpoint,
        request: http::Request<UpstreamBody>,
    ) -> Result<http::Response<Incoming>, (UpstreamFailure, String)> {
        let mut sender = match self.live_sender(endpoint) {
            Some(sender) => sender,
            None => {
                let connecting = Box::pin(self.connect(breakers, endpoint));
                connecting.await?
            }
        };
        if sender.ready().await.is_err() {
            // The connection died between the check and now (GOAWAY, reset):
            // one fresh connection, then give up.
            let connecting = Box::pin(self.connect(breakers, endpoint));
            sender = connecting.await?;
        }
        sender
            .send_request(request)
            .await
            .map_err(|err| (classify(&err), err.to_string()))
    }

    fn live_sender(&self, endpoint: &Endpoint) -> Option<SendRequest<UpstreamBody>> {
        let slot = self.senders.get(endpoint.index)?.lock().ok()?;
        slot.as_ref().filter(|sender| !sender.is_closed()).cloned()
    }

    async fn connect(
        &self,
        breakers: &Breakers,
        endpoint: &Endpoint,
    ) -> Result<SendRequest<UpstreamBody>, (UpstreamFailure, String)> {
        let connect_failure = |what: String| (UpstreamFailure::ConnectFailure, what);
        let tls = self.tls.as_deref();
        let io = tls::connect(tls, endpoint, Alpn::H2, self.connect_timeout)
            .await
            .map_err(connect_failure)?;
        let (sender, connection) = http2::Builder::new(TokioExecutor::new())
            .timer(TokioTimer::new())
            .handshake(TokioIo::new(io))
            .await
            .map_err(|err| {
                connect_failure(format!("h2 handshake with {}: {err}", endpoint.address))
            })?;
        let address = endpoint.address.clone();
        // Counted open (`periscope_upstream_connections_active`) until the
        // connection task ends.
        let counted = breakers.count_connection();
        tokio::spawn(async move {
            let _counted = counted;
            if let Err(err) = connection.await {
                tracing::debug!(endpoint = %address, "upstream h2 connection ended: {err}");
            }
        });
        endpoint
            .stats
            .connections
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(Ok(mut slot)) = self.senders.get(endpoint.index).map(Mutex::lock) {
            *slot = Some(sender.clone());
        }
        Ok(sender)
    }
}

/// Tell a reset apart from a response that broke the protocol.
pub fn classify(err: &hyper::Error) -> UpstreamFailure {
    if err.is_parse() || err.is_parse_status() {
        UpstreamFailure::Protocol
    } else {
        UpstreamFailure::Reset
    }
}

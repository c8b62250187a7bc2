//! hyper-util's HTTP connector, counting each established upstream
//! connection against its endpoint for `/clusters`.
use crate::cluster::Cluster;
use http::Uri;
use hyper_util::client::legacy::connect::HttpConnector;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::task::{Context, Poll};
use tower_service::Service;

#[derive(Clone)]
pub struct CountingConnector {
    inner: HttpConnector,
    cluster: Arc<Cluster>,
}

impl CountingConnector {
    pub fn new(inner: HttpConnector, cluster: Arc<Cluster>) -> CountingConnector {
        CountingConnector { inner, cluster }
    }
}

type Connected = <HttpConnector as Service<Uri>>::Response;
type ConnectError = <HttpConnector as Service<Uri>>::Error;

impl Service<Uri> for CountingConnector {
    type Response = Connected;
    type Error = ConnectError;
    /// Boxed once per new connection, not per request.
    type Future = Pin<Box<dyn Future<Output = Result<Connected, ConnectError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        let connecting = self.inner.call(uri.clone());
        let cluster = self.cluster.clone();
        Box::pin(async move {
            let connected = connecting.await?;
            if let Some(endpoint) = uri.authority().and_then(|a| cluster.endpoint_for(a)) {
                endpoint.stats.connections.fetch_add(1, Ordering::Relaxed);
            }
            Ok(connected)
        })
    }
}

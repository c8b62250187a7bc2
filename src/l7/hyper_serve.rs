//! The connections hyper's servers serve: h2c prior knowledge in the
//! clear, and HTTP/1.1 or h2 behind a listener's TLS (our HTTP/1 server
//! reads plain sockets only). [`GracefulConnection`] is what
//! [`HttpListener::drive`] needs of them.
use super::h2_streams::{StreamInbox, WithStreams};
use super::{h1, handler, idle, upgrade, HttpListener};
use crate::drain::Drain;
use crate::listener::DownstreamIo;
use hyper::server::conn::http2;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use periscope_parsers::Protocol;
use std::net::SocketAddr;
use std::sync::Arc;

/// A client connection after a listener's TLS handshake.
pub type ServerTls = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;

impl HttpListener {
    /// A connection from a listener that terminated TLS. hyper serves it,
    /// HTTP/2 when the client chose `h2` by ALPN, else HTTP/1.1: our
    /// HTTP/1 server reads plain sockets only (its idle wait needs the
    /// socket's readiness).
    pub async fn serve_tls(
        self: Arc<Self>,
        io: DownstreamIo<ServerTls>,
        peer: SocketAddr,
        h2: bool,
        drain: Drain,
    ) {
        let activity = idle::ConnectionActivity::new();
        // Each boxed in a statement of its own: see `HttpListener::serve`.
        match h2 {
            true => {
                let serving = Box::pin(self.serve_h2(io, peer, drain, activity));
                serving.await
            }
            false => {
                let serving = Box::pin(self.serve_hyper_http1(io, peer, drain, activity));
                serving.await
            }
        }
    }

    /// An HTTP/2 connection, in the clear or behind TLS.
    pub(super) async fn serve_h2<S>(
        self: Arc<Self>,
        io: DownstreamIo<S>,
        peer: SocketAddr,
        drain: Drain,
        activity: Arc<idle::ConnectionActivity>,
    ) where
        S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let (listener, requests) = (self.clone(), activity.clone());
        let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
            let request = request.map(|body| h1::DownstreamBody::Hyper { body });
            handler::handle(listener.clone(), peer, requests.begin(), request)
        });
        // The stream (polled by this task, `h2_streams`) holds each
        // request's future.
        let inbox = StreamInbox::default();
        let connection = http2::Builder::new(inbox.clone())
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(io), service);
        let connection = WithStreams::new(connection, inbox);
        (self.drive(connection, (peer, Protocol::Http2), drain, activity)).await
    }

    /// HTTP/1.1 behind TLS, by hyper's server with upgrades: a `101` the
    /// handler returns leaves its upstream connection in a slot, and once
    /// hyper has written it and handed the connection over, the two are
    /// relayed here, in this connection's task.
    async fn serve_hyper_http1(
        self: Arc<Self>,
        io: DownstreamIo<ServerTls>,
        peer: SocketAddr,
        drain: Drain,
        activity: Arc<idle::ConnectionActivity>,
    ) {
        // Held until the relay ends too: the snapshot's drain then waits
        // for it and closes it at its deadline, as it does a plain one.
        let _held = drain.clone();
        type Pending = std::sync::Mutex<Option<(hyper::upgrade::OnUpgrade, upgrade::Switch)>>;
        let pending: Arc<Pending> = Arc::default();
        let (listener, requests, slot) = (self.clone(), activity.clone(), pending.clone());
        let service = service_fn(move |mut request: http::Request<hyper::body::Incoming>| {
            let on_upgrade = hyper::upgrade::on(&mut request);
            let request = request.map(|body| h1::DownstreamBody::Hyper { body });
            let handling = handler::handle(listener.clone(), peer, requests.begin(), request);
            let slot = slot.clone();
            async move {
                let Ok(response) = handling.await;
                let (mut response, switch) = upgrade::take_switch(response);
                if let (Some(switch), Ok(mut slot)) = (switch, slot.lock()) {
                    // Ours writes it for every `101`; hyper's does not.
                    let upgrade = http::HeaderValue::from_static("upgrade");
                    response
                        .headers_mut()
                        .insert(http::header::CONNECTION, upgrade);
                    *slot = Some((on_upgrade, switch));
                }
                Ok::<_, std::convert::Infallible>(response)
            }
        });
        let connection = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .serve_connection(TokioIo::new(io), service)
            .with_upgrades();
        (self.drive(connection, (peer, Protocol::Http1), drain, activity)).await;
        let switched = pending.lock().ok().and_then(|mut slot| slot.take());
        let Some((on_upgrade, switch)) = switched else {
            return;
        };
        // Back to the TLS stream itself, under the byte-counting layer the
        // relay counts for itself; what hyper read past the request (and
        // counted) goes first.
        let upgraded = on_upgrade.await.ok().map(|upgraded| upgraded.downcast());
        if let Some(Ok(parts)) = upgraded {
            let parts: hyper::upgrade::Parts<TokioIo<DownstreamIo<ServerTls>>> = parts;
            let (mut client_sent, tls, _) = parts.io.into_inner().into_parts();
            client_sent.extend_from_slice(&parts.read_buf);
            let client = crate::l4::Downstream::Tls(Box::new(tls));
            upgrade::relay(&self, client, client_sent, switch).await;
        }
    }
}

/// hyper's HTTP/2 server connection, as [`HttpListener::drive`] runs it.
pub(super) trait GracefulConnection:
    std::future::Future<Output = hyper::Result<()>>
{
    fn shut_down_gracefully(self: std::pin::Pin<&mut Self>);
}

impl<I, S, B> GracefulConnection for WithStreams<http2::Connection<I, S, StreamInbox>>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    StreamInbox: hyper::rt::bounds::Http2ServerConnExec<S::Future, B>,
{
    fn shut_down_gracefully(self: std::pin::Pin<&mut Self>) {
        if let Some(connection) = self.get_mut().connection() {
            connection.graceful_shutdown();
        }
    }
}

impl<I, S, B> GracefulConnection for hyper::server::conn::http1::UpgradeableConnection<I, S>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
    S: hyper::service::HttpService<hyper::body::Incoming, ResBody = B>,
    S::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    fn shut_down_gracefully(self: std::pin::Pin<&mut Self>) {
        self.graceful_shutdown();
    }
}

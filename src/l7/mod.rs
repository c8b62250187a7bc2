//! The L7 path: HTTP/1.x (our own server, `h1/server`) and h2c prior
//! knowledge (hyper's server) on one port, a router, and pooled upstream
//! clients.
mod body;
mod build;
mod forward;
mod grpc;
mod h1;
mod h2_pool;
mod h2_streams;
mod handler;
mod headers;
mod hyper_serve;
mod idle;
mod recorder;
mod retry;
mod route;
mod router;
mod upgrade;
mod upstream;
mod upstream_body;

pub use build::{HttpClusters, ScopeCache};
pub use upstream::HttpCluster;

use crate::config::ListenerConfig;
use crate::drain::Drain;
use crate::listener::DownstreamIo;
use crate::pipeline::{Families, ListenerMetrics, Scope, SeriesBudget};
use periscope_parsers::{ErrorReason, Protocol};
use router::Router;
use std::net::SocketAddr;
use std::sync::Arc;

pub struct HttpListener {
    pub metrics: Arc<ListenerMetrics>,
    /// Bytes kept per DynamoDB body for the refiner (0: off).
    pub dynamodb_body_bytes: usize,
    pub stream_idle_timeout: Option<std::time::Duration>,
    /// Connections are drained this long after they opened.
    pub max_connection_duration: Option<std::time::Duration>,
    /// The listener terminates TLS: clients' scheme is `https`.
    pub secure: bool,
    http_idle_timeout: Option<std::time::Duration>,
    router: Router,
    /// Requests no route matched.
    no_route_scope: Arc<Scope>,
    upgrades: upgrade::UpgradeMetrics,
}

impl HttpListener {
    pub fn new(
        config: &ListenerConfig,
        metrics: Arc<ListenerMetrics>,
        clusters: &HttpClusters,
        families: &Arc<Families>,
        budget: &Arc<SeriesBudget>,
        cache: &ScopeCache,
    ) -> Result<HttpListener, String> {
        let scopes = build::Scopes {
            families,
            budget,
            labels: &metrics.labels,
            cache,
        };
        let router = build::build_router(config, clusters, &scopes)
            .map_err(|e| format!("listener {}: {e}", config.name))?;
        Ok(HttpListener {
            dynamodb_body_bytes: config.dynamodb_body_bytes,
            stream_idle_timeout: config.stream_idle_timeout,
            max_connection_duration: config.max_connection_duration,
            secure: config.tls.is_some(),
            http_idle_timeout: config.http_idle_timeout,
            no_route_scope: scopes.scope(&config.name, "", ""),
            upgrades: upgrade::UpgradeMetrics::new(families, config),
            metrics,
            router,
        })
    }

    /// The scheme clients use on this listener.
    pub fn scheme(&self) -> &'static str {
        if self.secure {
            "https"
        } else {
            "http"
        }
    }

    /// Serve one downstream connection until it ends or the drain deadline.
    /// `protocol` is what detection saw: HTTP/2 (the client sent the h2c
    /// preface) goes to hyper's server, anything else to ours for HTTP/1.x.
    pub async fn serve(
        self: Arc<Self>,
        io: DownstreamIo,
        peer: SocketAddr,
        protocol: Protocol,
        drain: Drain,
    ) {
        let activity = idle::ConnectionActivity::new();
        if protocol != Protocol::Http2 {
            return h1::serve(self, io, peer, drain, activity).await;
        }
        // Boxed, as hyper's servers are: inline, their state would size
        // every HTTP/1 connection's future (idle ones included). Boxed in
        // a statement of its own: a temporary lives to the end of its
        // statement, so in the awaiting one the unboxed future would keep a
        // slot in this one after all.
        let serving = Box::pin(self.serve_h2(io, peer, drain, activity));
        serving.await
    }

    /// Run a connection until it ends, or until a drain or the idle timeout
    /// asks it to finish what is in flight and close.
    async fn drive<C: hyper_serve::GracefulConnection>(
        &self,
        connection: C,
        (peer, protocol): (SocketAddr, Protocol),
        drain: Drain,
        activity: Arc<idle::ConnectionActivity>,
    ) {
        tokio::pin!(connection);
        // Boxed, and only when set: a timer inline would make every h2
        // connection's future larger.
        let mut max_age = (self.max_connection_duration).map(|d| Box::pin(tokio::time::sleep(d)));
        let mut aged = false;
        tokio::select! {
            result = connection.as_mut() => return self.ended(result, peer, protocol),
            _ = drain.signaled() => {}
            () = activity.idle_for(self.http_idle_timeout) => {
                // Nothing in flight for the idle timeout: close the way a
                // drain does (h2 gets GOAWAY).
                self.metrics.idle_timeouts.inc();
            }
            () = idle::expiry(&mut max_age) => {
                self.metrics.max_duration_reached.inc();
                aged = true;
            }
        }
        connection.as_mut().shut_down_gracefully();
        // An aged connection closes after the drain period once no stream
        // is in flight, as Envoy's drain timeout does: h2's final GOAWAY
        // waits for the client's PING ack, which a client may never send.
        // (A reload's drain has its own deadline, `--drain-time-s`.)
        let result = match aged {
            true => {
                let quiet = async {
                    tokio::time::sleep(AGED_DRAIN_PERIOD).await;
                    activity.idle_for(Some(AGED_QUIET_CHECK)).await;
                };
                tokio::select! {
                    result = connection.as_mut() => result,
                    () = quiet => return,
                }
            }
            false => connection.await,
        };
        self.ended(result, peer, protocol);
    }

    /// A connection that broke the protocol is counted and logged, however
    /// it came to end.
    fn ended(&self, result: hyper::Result<()>, peer: SocketAddr, protocol: Protocol) {
        if let Err(err) = result {
            if let Some(reason) = parse_error_reason(&err) {
                self.metrics.parse_error(protocol, reason);
            }
            tracing::debug!(listener = self.metrics.name(), %peer, "http connection ended: {err}");
        }
    }
}

/// How long a connection that reached `max_connection_duration` may take
/// to finish its streams after GOAWAY (Envoy's HCM `drain_timeout`
/// default).
const AGED_DRAIN_PERIOD: std::time::Duration = std::time::Duration::from_secs(5);
/// After the period, how often an aged connection looks for a moment with
/// no stream in flight.
const AGED_QUIET_CHECK: std::time::Duration = std::time::Duration::from_millis(100);

/// hyper ends a connection that breaks the protocol; the connection's error
/// says why, and it is counted like a sniffing parse error so that bad
/// clients are visible.
fn parse_error_reason(err: &(dyn std::error::Error + 'static)) -> Option<ErrorReason> {
    let mut cause = Some(err);
    while let Some(current) = cause {
        if let Some(hyper_err) = current.downcast_ref::<hyper::Error>() {
            if hyper_err.is_parse_too_large() {
                return Some(ErrorReason::HeadTooLarge);
            }
            if hyper_err.is_parse() {
                return Some(ErrorReason::Malformed);
            }
        }
        cause = current.source();
    }
    None
}

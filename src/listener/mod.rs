//! Listeners: accept, decide the path (L4 or L7) and hand the connection on.
mod downstream_io;
mod sniff;
mod tls;

pub use downstream_io::DownstreamIo;

use crate::cluster::Cluster;
use crate::config::{ListenerConfig, ListenerProtocol};
use crate::drain::Drain;
use crate::l4::{self, Downstream, Tap};
use crate::l7::HttpListener;
use crate::pipeline::ListenerMetrics;
use arc_swap::ArcSwap;
use periscope_parsers::http1::DynamoOptions;
use periscope_parsers::{MongoOptions, ParserOptions, Protocol};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

pub struct Listener {
    pub name: String,
    protocol: ListenerProtocol,
    /// `tcp` listeners: false relays without a tap (`sniff: false`).
    sniff: bool,
    detect_timeout: Duration,
    tcp_idle_timeout: Option<Duration>,
    /// A TCP relay is closed this long after it started.
    max_connection_duration: Option<Duration>,
    metrics: Arc<ListenerMetrics>,
    /// The L4 target (and `auto`'s fallback for non-HTTP traffic).
    cluster: Option<Arc<Cluster>>,
    http: Arc<HttpListener>,
    parser_options: Arc<ParserOptions>,
    /// TLS termination, with ALPN for the listener's protocol.
    tls: Option<tokio_rustls::TlsAcceptor>,
}

/// Where a connection goes once its first bytes are known.
enum Path {
    /// Closed before a byte: nothing to do.
    Done,
    Http(Protocol),
    Relay(Protocol),
}

/// What a listener serves new connections with: its runtime and the drain
/// its connections hold (one per configuration generation).
pub struct Snapshot {
    pub listener: Arc<Listener>,
    pub drain: Drain,
}

impl Listener {
    pub fn new(
        config: &ListenerConfig,
        metrics: Arc<ListenerMetrics>,
        cluster: Option<Arc<Cluster>>,
        http: Arc<HttpListener>,
    ) -> Listener {
        Listener {
            name: config.name.clone(),
            protocol: config.protocol,
            sniff: config.sniff,
            detect_timeout: config.detect_timeout,
            tcp_idle_timeout: config.tcp_idle_timeout,
            max_connection_duration: config.max_connection_duration,
            metrics,
            cluster,
            http,
            tls: config
                .tls
                .as_ref()
                .map(|tls| tls::acceptor(tls, config.protocol)),
            parser_options: Arc::new(ParserOptions {
                mongodb: MongoOptions {
                    query_text: config.mongodb_query_text,
                    ..MongoOptions::default()
                },
                dynamodb: DynamoOptions {
                    body_prefix: config.dynamodb_body_bytes,
                },
            }),
        }
    }

    /// A tap for `protocol` on a connection from `peer`.
    fn tap(&self, protocol: Protocol, peer: SocketAddr) -> Tap {
        Tap::for_protocol(protocol, self.metrics.clone(), self.parser_options.clone())
            .with_peer(peer)
    }

    /// Where connections closed at a drain's deadline are counted.
    pub fn drain_closed_counter(&self) -> prometheus::IntCounter {
        self.metrics.drain_closed.clone()
    }

    /// Accept until `drain`; each connection runs in its own task with the
    /// snapshot that was current when it was accepted, so a config reload
    /// (which stores a new one in `current`) never changes the rules under
    /// a running connection. The connection holds the snapshot's own
    /// drain: a reload drains the connections of the snapshot it replaced
    /// (HTTP finishes what is in flight and closes), so keep-alive clients
    /// reconnect onto the new routes; what is still open at the drain's
    /// deadline is closed.
    pub async fn accept_loop(
        current: Arc<ArcSwap<Snapshot>>,
        socket: Arc<TcpListener>,
        drain: Drain,
    ) {
        loop {
            let accepted = tokio::select! {
                accepted = socket.accept() => accepted,
                _ = drain.signaled() => return,
            };
            match accepted {
                Ok((stream, peer)) => {
                    let _ = stream.set_nodelay(true);
                    let snapshot = current.load_full();
                    let (this, drain) = (snapshot.listener.clone(), snapshot.drain.clone());
                    snapshot
                        .drain
                        .spawn(async move { this.handle(stream, peer, drain).await });
                }
                Err(err) => {
                    // Out of file descriptors and the like: back off briefly
                    // rather than spin.
                    tracing::warn!(listener = %current.load().listener.name, "accept failed: {err}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
        }
    }

    async fn handle(&self, mut stream: TcpStream, peer: SocketAddr, drain: Drain) {
        if let Some(acceptor) = &self.tls {
            // Boxed: the TLS path's state (handshake, hyper's servers) would
            // otherwise size every plaintext connection's future too.
            // In a statement of its own: see `HttpListener::serve`.
            let handling = Box::pin(self.handle_tls(acceptor, stream, peer, drain));
            return handling.await;
        }
        if self.protocol == ListenerProtocol::Tcp && !self.sniff {
            // Relay only: counted as an unknown-protocol connection, still
            // in the access log, never parsed.
            let _active = self.metrics.connection_opened(Protocol::Unknown);
            let tap = self.tap(Protocol::Unknown, peer);
            return self
                .relay_tcp(Downstream::Plain(stream), peer, &[], tap)
                .await;
        }
        if self.protocol == ListenerProtocol::Tcp {
            let tap =
                Tap::detecting(self.metrics.clone(), self.parser_options.clone()).with_peer(peer);
            return self
                .relay_tcp(Downstream::Plain(stream), peer, &[], tap)
                .await;
        }
        let sniffed = match sniff::sniff(&mut stream, self.detect_timeout).await {
            Ok(sniffed) => sniffed,
            Err(err) => {
                tracing::debug!(listener = %self.name, %peer, "read failed during detection: {err}");
                return;
            }
        };
        match self.route_sniffed(&sniffed, peer) {
            Path::Done => {}
            Path::Http(protocol) => {
                let _active = self.metrics.connection_opened(protocol);
                let io = DownstreamIo::new(sniffed.prefix, stream, self.metrics.clone());
                self.http.clone().serve(io, peer, protocol, drain).await
            }
            Path::Relay(protocol) => {
                let _active = self.metrics.connection_opened(protocol);
                let tap = self.tap(protocol, peer);
                let client = Downstream::Plain(stream);
                self.relay_tcp(client, peer, &sniffed.prefix, tap).await
            }
        }
    }

    /// Where a sniffed connection goes; counts its first bytes and what
    /// was detected.
    fn route_sniffed(&self, sniffed: &sniff::Sniffed, peer: SocketAddr) -> Path {
        self.metrics
            .bytes_received
            .inc_by(sniffed.prefix.len() as u64);
        if sniffed.prefix.is_empty() && !sniffed.silent {
            // Connected and closed without a byte (a TCP health probe):
            // nothing to forward, so no upstream connection either.
            self.metrics.detected(Protocol::Unknown);
            self.metrics.connection_counted(Protocol::Unknown);
            return Path::Done;
        }
        self.metrics.detected(sniffed.protocol);
        let is_http = matches!(sniffed.protocol, Protocol::Http1 | Protocol::Http2);
        if self.protocol == ListenerProtocol::Http || is_http {
            // An `http` listener serves everything as HTTP: hyper speaks
            // HTTP/1 to anything without the h2 preface, so that is what the
            // connection (and any parse error on it) is.
            return Path::Http(match sniffed.protocol {
                Protocol::Http2 => Protocol::Http2,
                _ => Protocol::Http1,
            });
        }
        // `auto`, not HTTP: relay as TCP, sniffing what was detected.
        if sniffed.silent {
            tracing::debug!(listener = %self.name, %peer, "client silent: relaying as server-speaks-first TCP");
        }
        Path::Relay(sniffed.protocol)
    }

    async fn relay_tcp(
        &self,
        mut client: Downstream,
        peer: SocketAddr,
        prefix: &[u8],
        mut tap: Tap,
    ) {
        let Some(cluster) = &self.cluster else {
            tracing::debug!(listener = %self.name, "non-HTTP connection but no cluster: closing");
            return;
        };
        // `_active` counts the connection on its endpoint until the relay ends.
        let (mut upstream, _active) = match cluster.connect_tcp(peer.ip()).await {
            Ok((upstream, picked)) => {
                tap.set_upstream(&picked.endpoint.address, &cluster.name);
                (upstream, picked)
            }
            Err(err) => {
                tracing::debug!(listener = %self.name, "{err}");
                return;
            }
        };
        let counters = l4::Counters {
            from_client: self.metrics.bytes_received.clone(),
            to_client: self.metrics.bytes_sent.clone(),
            idle_timeouts: self.metrics.idle_timeouts.clone(),
        };
        let idle = self.tcp_idle_timeout;
        let early = l4::Early {
            to_upstream: prefix,
            ..l4::Early::default()
        };
        let relayed = l4::relay_io(
            &mut client,
            &mut upstream,
            early,
            Some(tap),
            &counters,
            idle,
        );
        let relayed = match self.max_connection_duration {
            Some(limit) => match tokio::time::timeout(limit, relayed).await {
                Ok(relayed) => relayed,
                Err(_) => {
                    self.metrics.max_duration_reached.inc();
                    return;
                }
            },
            None => relayed.await,
        };
        if let Err(err) = relayed {
            tracing::debug!(listener = %self.name, "relay ended: {err}");
        }
    }
}

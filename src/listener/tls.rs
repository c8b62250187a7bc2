//! TLS termination on a listener (its `tls:`): the handshake, then the
//! decrypted stream goes where a plaintext one would. A `tcp` listener
//! relays it (sniffed as configured). On `http` and `auto` listeners the
//! client's ALPN choice (`h2`, `http/1.1`) means HTTP, served by hyper;
//! without one the decrypted bytes are sniffed: HTTP, or on `auto` the
//! TCP relay for anything else (MongoDB over TLS).
use super::{sniff, DownstreamIo, Listener, Path};
use crate::config::{DownstreamTlsConfig, ListenerProtocol};
use crate::drain::Drain;
use crate::l4::{Downstream, Tap};
use bytes::BytesMut;
use periscope_parsers::Protocol;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// A client that has not finished its handshake by then is dropped.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// The listener's acceptor: its certificate, and ALPN offers for what it
/// serves (`h2` and `http/1.1` on HTTP, none on the TCP relay).
pub fn acceptor(tls: &DownstreamTlsConfig, protocol: ListenerProtocol) -> TlsAcceptor {
    let mut server = (*tls.server).clone();
    server.alpn_protocols = match protocol {
        ListenerProtocol::Tcp => Vec::new(),
        _ => vec![b"h2".to_vec(), b"http/1.1".to_vec()],
    };
    TlsAcceptor::from(Arc::new(server))
}

impl Listener {
    pub(super) async fn handle_tls(
        &self,
        acceptor: &TlsAcceptor,
        stream: TcpStream,
        peer: SocketAddr,
        drain: Drain,
    ) {
        let accepted = tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await;
        let tls = match accepted {
            Ok(Ok(tls)) => tls,
            Ok(Err(err)) => return self.handshake_failed(peer, &err.to_string()),
            Err(_) => return self.handshake_failed(peer, "timed out"),
        };
        if self.protocol == ListenerProtocol::Tcp {
            let client = Downstream::Tls(Box::new(tls));
            if !self.sniff {
                let _active = self.metrics.connection_opened(Protocol::Unknown);
                let tap = self.tap(Protocol::Unknown, peer);
                return self.relay_tcp(client, peer, &[], tap).await;
            }
            let tap =
                Tap::detecting(self.metrics.clone(), self.parser_options.clone()).with_peer(peer);
            return self.relay_tcp(client, peer, &[], tap).await;
        }
        // The client's ALPN choice says HTTP; without one (a database
        // driver, or HTTP from a client that offers nothing) the decrypted
        // bytes are sniffed as on a plaintext listener.
        let mut tls = tls;
        let chosen = match tls.get_ref().1.alpn_protocol() {
            Some(b"h2") => Some(Protocol::Http2),
            Some(b"http/1.1") => Some(Protocol::Http1),
            _ => None,
        };
        let (path, prefix) = match chosen {
            Some(protocol) => {
                self.metrics.detected(protocol);
                (Path::Http(protocol), BytesMut::new())
            }
            None => match sniff::sniff(&mut tls, self.detect_timeout).await {
                Ok(sniffed) => (self.route_sniffed(&sniffed, peer), sniffed.prefix),
                Err(err) => {
                    tracing::debug!(listener = %self.name, %peer, "read failed during detection: {err}");
                    return;
                }
            },
        };
        match path {
            Path::Done => {}
            Path::Http(protocol) => {
                let _active = self.metrics.connection_opened(protocol);
                let io = DownstreamIo::new(prefix, tls, self.metrics.clone());
                let h2 = protocol == Protocol::Http2;
                self.http.clone().serve_tls(io, peer, h2, drain).await
            }
            Path::Relay(protocol) => {
                let _active = self.metrics.connection_opened(protocol);
                let tap = self.tap(protocol, peer);
                let client = Downstream::Tls(Box::new(tls));
                self.relay_tcp(client, peer, &prefix, tap).await
            }
        }
    }

    fn handshake_failed(&self, peer: SocketAddr, why: &str) {
        self.metrics.tls_handshake_failures.inc();
        tracing::debug!(listener = %self.name, %peer, "TLS handshake failed: {why}");
    }
}

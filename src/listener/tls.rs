//! TLS termination on a listener (its `tls:`): the handshake, then the
//! decrypted stream goes where a plaintext one would. A `tcp` listener
//! relays it (sniffed as configured); an `http` listener serves it with
//! hyper, HTTP/2 when the client chose `h2` by ALPN, else HTTP/1.1.
use super::{DownstreamIo, Listener};
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
        let h2 = tls.get_ref().1.alpn_protocol() == Some(b"h2".as_slice());
        let protocol = if h2 { Protocol::Http2 } else { Protocol::Http1 };
        self.metrics.detected(protocol);
        let _active = self.metrics.connection_opened(protocol);
        let io = DownstreamIo::new(BytesMut::new(), tls, self.metrics.clone());
        self.http.clone().serve_tls(io, peer, h2, drain).await
    }

    fn handshake_failed(&self, peer: SocketAddr, why: &str) {
        self.metrics.tls_handshake_failures.inc();
        tracing::debug!(listener = %self.name, %peer, "TLS handshake failed: {why}");
    }
}

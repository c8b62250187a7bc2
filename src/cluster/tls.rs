//! TLS to a cluster's endpoints (its `tls:` block): rustls client configs
//! built once per cluster, one per ALPN offer, and [`UpstreamIo`], the
//! stream the HTTP clients and the health checks hold, plaintext or TLS.
//!
//! The server name sent and verified is the block's `sni`, else the
//! endpoint's host: its DNS name for a `strict_dns` endpoint, else its IP
//! address (verified against the certificate's IP SANs). Trust is the
//! block's `trusted_ca`, else the system's store, read once per process.
//! Unlike Envoy, which verifies nothing without a validation context, an
//! upstream certificate is always verified. A client certificate, when
//! configured, is presented to upstreams that ask (mutual TLS).
use super::Endpoint;
use crate::config::UpstreamTlsConfig;
use rustls::pki_types::ServerName;
use rustls::{ClientConfig, RootCertStore};
use std::io;
use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// What the connection will carry, offered by ALPN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alpn {
    Http1,
    H2,
    /// The TCP relay: the client's protocol, whatever it is; nothing
    /// offered.
    Relay,
}

pub struct UpstreamTls {
    http1: TlsConnector,
    h2: TlsConnector,
    relay: TlsConnector,
    sni: Option<ServerName<'static>>,
}

impl UpstreamTls {
    pub fn new(config: &UpstreamTlsConfig) -> Result<UpstreamTls, String> {
        let roots = match &config.trusted_ca {
            Some(certificates) => {
                let mut roots = RootCertStore::empty();
                for certificate in certificates {
                    (roots.add(certificate.clone()))
                        .map_err(|e| format!("tls.trusted_ca: unusable certificate: {e}"))?;
                }
                Arc::new(roots)
            }
            None => system_roots()?,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let connector = |alpn: Option<&[u8]>| -> Result<TlsConnector, String> {
            let builder = ClientConfig::builder_with_provider(provider.clone())
                .with_safe_default_protocol_versions()
                .map_err(|e| format!("tls: {e}"))?
                .with_root_certificates(roots.clone());
            let mut client = match &config.client_certificate {
                Some(mine) => (builder
                    .with_client_auth_cert(mine.chain.clone(), mine.key.clone_key()))
                .map_err(|e| format!("tls.private_key: does not fit the certificate chain: {e}"))?,
                None => builder.with_no_client_auth(),
            };
            client.alpn_protocols = alpn.into_iter().map(<[u8]>::to_vec).collect();
            Ok(TlsConnector::from(Arc::new(client)))
        };
        Ok(UpstreamTls {
            http1: connector(Some(b"http/1.1"))?,
            h2: connector(Some(b"h2"))?,
            relay: connector(None)?,
            sni: config.sni.clone(),
        })
    }

    /// The TLS handshake over a connected socket. Its errors read as
    /// connect failures ("tls handshake with ...: invalid peer
    /// certificate: UnknownIssuer").
    pub async fn connect(
        &self,
        tcp: TcpStream,
        endpoint: &Endpoint,
        alpn: Alpn,
    ) -> io::Result<UpstreamIo> {
        let name = match &self.sni {
            Some(name) => name.clone(),
            None => endpoint_name(endpoint)?,
        };
        let connector = match alpn {
            Alpn::Http1 => &self.http1,
            Alpn::H2 => &self.h2,
            Alpn::Relay => &self.relay,
        };
        let stream = connector.connect(name, tcp).await.map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("tls handshake with {}: {e}", endpoint.address),
            )
        })?;
        // An h2 preface sent to a server that did not choose h2 would fail
        // later as a reset; said here, it is a connect failure that names
        // the cause.
        if alpn == Alpn::H2 && stream.get_ref().1.alpn_protocol() != Some(b"h2".as_slice()) {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "tls handshake with {}: the server did not choose h2 by ALPN",
                    endpoint.address
                ),
            ));
        }
        Ok(UpstreamIo::Tls(Box::new(stream)))
    }
}

/// Opens a connection to `endpoint`: TCP (no Nagle) and then, when `tls`
/// is set, the TLS handshake offering `alpn`. Unbounded: callers put
/// their own timeout around it.
pub async fn open(
    tls: Option<&UpstreamTls>,
    endpoint: &Endpoint,
    alpn: Alpn,
) -> io::Result<UpstreamIo> {
    let tcp = TcpStream::connect(endpoint.address.as_str()).await?;
    let _ = tcp.set_nodelay(true);
    match tls {
        Some(tls) => tls.connect(tcp, endpoint, alpn).await,
        None => Ok(UpstreamIo::Plain(tcp)),
    }
}

/// [`open`] within `timeout`, its error worded for `/clusters`, the logs
/// and a 503's body.
pub async fn connect(
    tls: Option<&UpstreamTls>,
    endpoint: &Endpoint,
    alpn: Alpn,
    timeout: std::time::Duration,
) -> Result<UpstreamIo, String> {
    let address = endpoint.address.as_str();
    tokio::time::timeout(timeout, open(tls, endpoint, alpn))
        .await
        .map_err(|_| format!("connect to {address} timed out"))?
        .map_err(|err| format!("connect to {address}: {err}"))
}

/// The endpoint's host: the configured DNS name of a `strict_dns`
/// endpoint, else the host of its address.
fn endpoint_name(endpoint: &Endpoint) -> io::Result<ServerName<'static>> {
    let address = endpoint.hostname.as_deref().unwrap_or(&endpoint.address);
    let host = match address.rsplit_once(':') {
        Some((host, _port)) => host.trim_start_matches('[').trim_end_matches(']'),
        None => address,
    };
    ServerName::try_from(host.to_owned()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{host:?} is no TLS server name: set the cluster's tls.sni"),
        )
    })
}

/// The system's trust store, read once per process once found (a cluster
/// rebuilt by a reload shares it); a store not found is looked for again
/// at the next build, so installing ca-certificates and reloading works.
fn system_roots() -> Result<Arc<RootCertStore>, String> {
    static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
    if let Some(roots) = ROOTS.get() {
        return Ok(roots.clone());
    }
    let found = rustls_native_certs::load_native_certs();
    let mut roots = RootCertStore::empty();
    let (added, _ignored) = roots.add_parsable_certificates(found.certs);
    if added == 0 {
        let why = (found.errors.first()).map_or(String::new(), |e| format!(": {e}"));
        return Err(format!(
            "tls: no certificate in the system's trust store{why} \
             (install ca-certificates, or set tls.trusted_ca)"
        ));
    }
    Ok(ROOTS.get_or_init(|| Arc::new(roots)).clone())
}

/// An upstream connection, plaintext or TLS.
pub enum UpstreamIo {
    Plain(TcpStream),
    /// Boxed: the TLS state is large, and the stream travels inside every
    /// HTTP/1 response body.
    Tls(Box<TlsStream<TcpStream>>),
}

impl UpstreamIo {
    /// Whether an idle connection can carry a request: the server has not
    /// closed it nor sent anything unasked. A plaintext socket is asked
    /// without a syscall unless it signalled readiness; a TLS one is polled
    /// once (what TLS itself sends, such as session tickets, is consumed).
    pub fn is_reusable(&mut self) -> bool {
        match self {
            UpstreamIo::Plain(tcp) => {
                let mut probe = [0u8; 1];
                match tcp.try_read(&mut probe) {
                    Err(err) => err.kind() == io::ErrorKind::WouldBlock,
                    Ok(_) => false,
                }
            }
            UpstreamIo::Tls(tls) => {
                let mut probe = [0u8; 1];
                let mut buf = ReadBuf::new(&mut probe);
                let mut cx = Context::from_waker(std::task::Waker::noop());
                matches!(
                    Pin::new(tls.as_mut()).poll_read(&mut cx, &mut buf),
                    Poll::Pending
                )
            }
        }
    }
}

impl AsyncRead for UpstreamIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(tcp) => Pin::new(tcp).poll_read(cx, buf),
            UpstreamIo::Tls(tls) => Pin::new(tls.as_mut()).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for UpstreamIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpstreamIo::Plain(tcp) => Pin::new(tcp).poll_write(cx, buf),
            UpstreamIo::Tls(tls) => Pin::new(tls.as_mut()).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        match self.get_mut() {
            UpstreamIo::Plain(tcp) => Pin::new(tcp).poll_write_vectored(cx, bufs),
            UpstreamIo::Tls(tls) => Pin::new(tls.as_mut()).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            UpstreamIo::Plain(tcp) => tcp.is_write_vectored(),
            UpstreamIo::Tls(tls) => tls.is_write_vectored(),
        }
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(tcp) => Pin::new(tcp).poll_flush(cx),
            UpstreamIo::Tls(tls) => Pin::new(tls.as_mut()).poll_flush(cx),
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.get_mut() {
            UpstreamIo::Plain(tcp) => Pin::new(tcp).poll_shutdown(cx),
            UpstreamIo::Tls(tls) => Pin::new(tls.as_mut()).poll_shutdown(cx),
        }
    }
}

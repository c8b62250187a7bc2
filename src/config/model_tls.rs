//! TLS settings as validated: files read and parsed at load time, so a
//! bad file fails validation with its field's line.
use rustls::ServerConfig;
use std::sync::Arc;

/// A cluster's TLS settings, its CA file read and parsed at load time (so
/// a bad file fails validation with the field's line).
#[derive(Debug, Clone)]
pub struct UpstreamTlsConfig {
    /// Fixed server name; `None`: each endpoint's host.
    pub sni: Option<rustls::pki_types::ServerName<'static>>,
    /// `None`: the system's trust store.
    pub trusted_ca: Option<Vec<rustls::pki_types::CertificateDer<'static>>>,
    /// A client certificate chain and key, for mutual TLS.
    pub client_certificate: Option<ClientCertificate>,
}

/// A certificate chain and its private key, read at load time.
#[derive(Debug, Clone)]
pub struct ClientCertificate {
    pub chain: Vec<rustls::pki_types::CertificateDer<'static>>,
    pub key: Arc<rustls::pki_types::PrivateKeyDer<'static>>,
}

impl PartialEq for ClientCertificate {
    fn eq(&self, other: &Self) -> bool {
        self.chain == other.chain && self.key.secret_der() == other.key.secret_der()
    }
}

/// A listener's TLS: its certificate and key, as a rustls server config
/// (ALPN is set per listener protocol when the listener is built).
#[derive(Clone)]
pub struct DownstreamTlsConfig {
    pub certificate_chain: String,
    pub private_key: String,
    /// Of both files' contents: a reload that only renews the certificate
    /// is a change of the listener.
    pub digest: u64,
    pub server: Arc<ServerConfig>,
}

impl std::fmt::Debug for DownstreamTlsConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DownstreamTlsConfig")
            .field("certificate_chain", &self.certificate_chain)
            .field("private_key", &self.private_key)
            .field("digest", &format_args!("{:016x}", self.digest))
            .finish()
    }
}

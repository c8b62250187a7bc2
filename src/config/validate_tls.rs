//! Validation of TLS settings: certificates, keys and names are read and
//! parsed at load time, and a listener's server config is built there, so
//! every problem is a configuration error with its file, line and field.
use super::raw::{RawDownstreamTls, RawUpstreamTls};
use super::validate::Issues;
use super::{DownstreamTlsConfig, UpstreamTlsConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::hash::Hasher;
use std::sync::Arc;

/// The server name must be a DNS name or an IP address; the CA file must
/// read and hold at least one PEM certificate.
pub(crate) fn upstream(v: &mut Issues, p: &str, raw: &RawUpstreamTls) -> Option<UpstreamTlsConfig> {
    let sni = match &raw.sni {
        None => Some(None),
        Some(name) => v
            .check(
                format!("{p}.sni"),
                ServerName::try_from(name.as_str())
                    .map(|n| n.to_owned())
                    .map_err(|_| format!("{name:?} is neither a DNS name nor an IP address")),
            )
            .map(Some),
    };
    let trusted_ca = match &raw.trusted_ca {
        None => Some(None),
        Some(path) => v
            .check(format!("{p}.trusted_ca"), read_certificates(path))
            .map(Some),
    };
    Some(UpstreamTlsConfig {
        sni: sni?,
        trusted_ca: trusted_ca?,
    })
}

fn read_certificates(path: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    let certificates = CertificateDer::pem_file_iter(path)
        .map_err(|e| format!("cannot read {path}: {e}"))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{path}: not a PEM certificate file: {e}"))?;
    if certificates.is_empty() {
        return Err(format!("{path} holds no PEM certificate"));
    }
    Ok(certificates)
}

/// The certificate chain and key must read, parse and belong together.
pub(crate) fn downstream(
    v: &mut Issues,
    p: &str,
    raw: &RawDownstreamTls,
) -> Option<DownstreamTlsConfig> {
    let chain = v.check(
        format!("{p}.certificate_chain"),
        read_certificates(&raw.certificate_chain),
    );
    let key = v.check(
        format!("{p}.private_key"),
        PrivateKeyDer::from_pem_file(&raw.private_key)
            .map_err(|e| format!("{}: no usable PEM private key: {e}", raw.private_key)),
    );
    let (chain, key) = (chain?, key?);
    let mut digest = twox_hash::XxHash64::with_seed(0);
    for certificate in &chain {
        digest.write(certificate.as_ref());
    }
    digest.write(key.secret_der());
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
        .and_then(|builder| {
            (builder.with_no_client_auth().with_single_cert(chain, key))
                .map_err(|e| format!("the private key does not fit the certificate chain: {e}"))
        });
    let server = v.check(format!("{p}.private_key"), server)?;
    Some(DownstreamTlsConfig {
        certificate_chain: raw.certificate_chain.clone(),
        private_key: raw.private_key.clone(),
        digest: digest.finish(),
        server: Arc::new(server),
    })
}

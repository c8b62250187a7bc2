//! Validation of TLS settings: certificates, keys and names are read and
//! parsed at load time, and a listener's server config is built there, so
//! every problem is a configuration error with its file, line and field.
use super::raw::{RawDownstreamTls, RawUpstreamTls};
use super::validate::Issues;
use super::{ClientCertificate, DownstreamTlsConfig, UpstreamTlsConfig};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};
use std::hash::Hasher;
use std::sync::Arc;

/// The server name must be a DNS name or an IP address; the CA file must
/// read and hold at least one PEM certificate; a client certificate needs
/// its key.
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
    let client_certificate = match (&raw.certificate_chain, &raw.private_key) {
        (None, None) => Some(None),
        (Some(chain), Some(key)) => {
            let chain = v.check(format!("{p}.certificate_chain"), read_certificates(chain));
            let key = v.check(format!("{p}.private_key"), read_key(key));
            let (chain, key) = (chain?, key?);
            let provider = rustls::crypto::ring::default_provider();
            let fits =
                rustls::sign::CertifiedKey::from_der(chain.clone(), key.clone_key(), &provider)
                    .map_err(|e| {
                        format!("the private key does not fit the certificate chain: {e}")
                    });
            v.check(format!("{p}.private_key"), fits)?;
            Some(Some(ClientCertificate {
                chain,
                key: Arc::new(key),
            }))
        }
        (Some(_), None) | (None, Some(_)) => {
            let missing = match raw.private_key {
                None => "private_key",
                Some(_) => "certificate_chain",
            };
            v.add(
                format!("{p}.{missing}"),
                "a client certificate needs both certificate_chain and private_key",
            );
            None
        }
    };
    Some(UpstreamTlsConfig {
        sni: sni?,
        trusted_ca: trusted_ca?,
        client_certificate: client_certificate?,
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

fn read_key(path: &str) -> Result<PrivateKeyDer<'static>, String> {
    PrivateKeyDer::from_pem_file(path)
        .map_err(|e| format!("{path}: no usable PEM private key: {e}"))
}

/// The certificate chain and key must read, parse and belong together;
/// client certificates are verified against `trusted_ca` when given.
pub(crate) fn downstream(
    v: &mut Issues,
    p: &str,
    raw: &RawDownstreamTls,
) -> Option<DownstreamTlsConfig> {
    let chain = v.check(
        format!("{p}.certificate_chain"),
        read_certificates(&raw.certificate_chain),
    );
    let key = v.check(format!("{p}.private_key"), read_key(&raw.private_key));
    let client_ca = match &raw.trusted_ca {
        None => Some(None),
        Some(path) => (v.check(format!("{p}.trusted_ca"), read_certificates(path))).map(Some),
    };
    if raw.require_client_certificate && raw.trusted_ca.is_none() {
        v.add(
            format!("{p}.require_client_certificate"),
            "requiring client certificates needs a trusted_ca to verify them",
        );
        return None;
    }
    let (chain, key, client_ca) = (chain?, key?, client_ca?);
    let mut digest = twox_hash::XxHash64::with_seed(0);
    for certificate in chain.iter().chain(client_ca.iter().flatten()) {
        digest.write(certificate.as_ref());
    }
    digest.write(key.secret_der());
    digest.write_u8(u8::from(raw.require_client_certificate));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let verifier = match client_ca {
        None => Ok(None),
        Some(cas) => client_verifier(cas, raw.require_client_certificate, &provider).map(Some),
    };
    let verifier = v.check(format!("{p}.trusted_ca"), verifier)?;
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())
        .and_then(|builder| {
            let builder = match verifier {
                Some(verifier) => builder.with_client_cert_verifier(verifier),
                None => builder.with_no_client_auth(),
            };
            (builder.with_single_cert(chain, key))
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

/// Verifies client certificates against `cas`; unless `required`, a client
/// may also present none.
fn client_verifier(
    cas: Vec<CertificateDer<'static>>,
    required: bool,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, String> {
    let mut roots = rustls::RootCertStore::empty();
    for ca in cas {
        roots
            .add(ca)
            .map_err(|e| format!("unusable CA certificate: {e}"))?;
    }
    let builder = rustls::server::WebPkiClientVerifier::builder_with_provider(
        Arc::new(roots),
        provider.clone(),
    );
    let builder = match required {
        true => builder,
        false => builder.allow_unauthenticated(),
    };
    builder.build().map_err(|e| e.to_string())
}

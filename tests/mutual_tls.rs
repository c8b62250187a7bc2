//! Mutual TLS both ways. Upstream: a cluster's `certificate_chain` and
//! `private_key` are presented to nginx, which requires a client
//! certificate from the test CA and answers with its subject; a cluster
//! without one is refused by nginx. Downstream: a listener's `trusted_ca`
//! with `require_client_certificate` lets curl in with a certificate from
//! that CA and fails (and counts) the handshake of a curl without one;
//! without `require_client_certificate` a certificate is optional.
mod common;

use common::configs::{admin_block, endpoints_yaml, listen_addr, listener_per_cluster};
use common::test_pki::TestPki;
use common::tls_nginx::TlsNginx;
use common::{Curl, HyperClient, Nginx, Periscope};

#[test]
fn a_cluster_presents_its_client_certificate_to_an_upstream_that_requires_one() {
    let nginx = TlsNginx::start();
    let pki = TestPki::new();
    let px = Periscope::start(|| {
        let cluster = |extra: &str| {
            format!(
                "    protocol: http1\n{}    tls: {{ trusted_ca: \"{}\"{extra} }}\n",
                endpoints_yaml(&[nginx.mtls]),
                nginx.ca.display()
            )
        };
        // The client certificate nginx trusts comes from nginx's own CA.
        let mine = format!(
            ", certificate_chain: \"{}\", private_key: \"{}\"",
            nginx.client_cert.display(),
            nginx.client_key.display()
        );
        let stranger = format!(
            ", certificate_chain: \"{}\", private_key: \"{}\"",
            pki.client_cert.display(),
            pki.client_key.display()
        );
        listener_per_cluster(&[
            ("mine", "http", cluster(&mine)),
            ("anonymous", "http", cluster("")),
            ("stranger", "http", cluster(&stranger)),
        ])
    });
    let client = HyperClient::http1();
    let r = client.get(&px.url("mine", "/whoami"));
    assert_eq!(
        (r.status.as_u16(), r.body_text()),
        (200, "client=CN=periscope-test-client\n".into())
    );
    // nginx answers 400 to a client without an acceptable certificate.
    for listener in ["anonymous", "stranger"] {
        let r = client.get(&px.url(listener, "/whoami"));
        assert_eq!(r.status.as_u16(), 400, "{listener}: {}", r.body_text());
        assert!(
            r.body_text().contains("SSL certificate"),
            "{}",
            r.body_text()
        );
    }
}

fn listener(pki: &TestPki, upstream: std::net::SocketAddr, extra: &str) -> String {
    format!(
        "{}listeners:\n  - {{ name: edge, address: {}, protocol: http, cluster: up, \
         tls: {{ certificate_chain: \"{}\", private_key: \"{}\", trusted_ca: \"{}\"{extra} }} }}\n\
         clusters:\n  - {{ name: up, protocol: http1, endpoints: [\"{upstream}\"] }}\n",
        admin_block(),
        listen_addr(),
        pki.server_cert.display(),
        pki.server_key.display(),
        pki.ca.display(),
    )
}

fn https_get(px: &Periscope, pki: &TestPki, with_certificate: bool) -> common::curl::CurlResponse {
    let url = format!("https://{}/", px.addr("edge"));
    let curl = Curl::get(&url)
        .arg("--cacert")
        .arg(&pki.ca.display().to_string());
    match with_certificate {
        true => curl
            .arg("--cert")
            .arg(&pki.client_cert.display().to_string())
            .arg("--key")
            .arg(&pki.client_key.display().to_string())
            .run(),
        false => curl.run(),
    }
}

#[test]
fn a_listener_requiring_client_certificates_lets_in_only_those_its_ca_signed() {
    let (pki, nginx) = (TestPki::new(), Nginx::start());
    let px = Periscope::start(|| listener(&pki, nginx.h1, ", require_client_certificate: true"));
    let r = https_get(&px, &pki, true);
    assert_eq!(
        (r.status, r.body_text().as_str()),
        (200, "ok\n"),
        "{}",
        r.stderr
    );
    let refused = https_get(&px, &pki, false);
    assert_ne!(refused.status, 200, "served without a client certificate");
    let failed = [("listener", "edge")];
    px.wait_metric(
        "periscope_downstream_tls_handshake_failures_total",
        &failed,
        1.0,
    );
}

/// Optional, but verified when presented: a certificate from another CA
/// fails the handshake.
#[test]
fn without_require_client_certificate_a_certificate_is_optional_but_verified() {
    let (pki, nginx) = (TestPki::new(), Nginx::start());
    let px = Periscope::start(|| listener(&pki, nginx.h1, ""));
    for with_certificate in [true, false] {
        let r = https_get(&px, &pki, with_certificate);
        assert_eq!(
            (r.status, r.body_text().as_str()),
            (200, "ok\n"),
            "{}",
            r.stderr
        );
    }
    let stranger = TestPki::new();
    let url = format!("https://{}/", px.addr("edge"));
    let r = Curl::get(&url)
        .arg("--cacert")
        .arg(&pki.ca.display().to_string())
        .arg("--cert")
        .arg(&stranger.client_cert.display().to_string())
        .arg("--key")
        .arg(&stranger.client_key.display().to_string())
        .run();
    assert_ne!(r.status, 200, "a certificate from another CA was let in");
    let failed = [("listener", "edge")];
    px.wait_metric(
        "periscope_downstream_tls_handshake_failures_total",
        &failed,
        1.0,
    );
}

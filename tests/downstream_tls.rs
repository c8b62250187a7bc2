//! TLS termination on listeners (`tls:` on a listener): curl speaks HTTPS
//! to an `http` listener, HTTP/1.1 or h2 by ALPN, forwarded in the clear
//! to nginx and counted exactly by version; pymongo speaks MongoDB over TLS
//! to a `tcp` listener, relayed in the clear to nx-27017 and sniffed
//! exactly; a client that does not trust the certificate fails its
//! handshake, which is counted; configuration errors name the field.
mod common;

use common::configs::{admin_block, auto_split, listen_addr};
use common::mongo_telemetry::telemetry_matches;
use common::periscope::assert_invalid;
use common::test_pki::TestPki;
use common::{Curl, MongoServer, Nginx, Periscope, Workload, REQUESTS};
use std::net::SocketAddr;

fn tls_block(pki: &TestPki) -> String {
    format!(
        "{{ certificate_chain: \"{}\", private_key: \"{}\" }}",
        pki.server_cert.display(),
        pki.server_key.display()
    )
}

fn config(protocol: &str, upstream: SocketAddr, pki: &TestPki) -> String {
    format!(
        "{}listeners:\n  - {{ name: edge, address: {}, protocol: {protocol}, cluster: up, tls: {} }}\n\
         clusters:\n  - {{ name: up, protocol: http1, endpoints: [\"{upstream}\"] }}\n",
        admin_block(),
        listen_addr(),
        tls_block(pki),
    )
}

fn https(px: &Periscope, path: &str) -> String {
    format!("https://{}{path}", px.addr("edge"))
}

/// curl GET / over HTTPS with `flag` (the protocol), trusting the test CA:
/// nginx's "ok".
fn get_ok(px: &Periscope, pki: &TestPki, flag: &str) {
    let r = Curl::get(&https(px, "/"))
        .arg("--cacert")
        .arg(&pki.ca.display().to_string())
        .arg(flag)
        .run();
    let answer = (r.status, r.body_text());
    assert_eq!(answer, (200, "ok\n".to_owned()), "{flag}: {}", r.stderr);
}

#[test]
fn https_clients_are_served_over_http1_and_h2_and_counted_by_version() {
    let (pki, nginx) = (TestPki::new(), Nginx::start());
    let px = Periscope::start(|| config("http", nginx.h1, &pki));
    for (flag, version) in [("--http1.1", "1.1"), ("--http2", "2")] {
        for _ in 0..5 {
            get_ok(&px, &pki, flag);
        }
        let labels = [
            ("listener", "edge"),
            ("http_request_method", "GET"),
            ("http_response_status_code", "200"),
            ("network_protocol_version", version),
            ("error_type", ""),
        ];
        px.wait_metric(REQUESTS, &labels, 5.0);
    }
    for protocol in ["http1", "http2"] {
        let labels = [("listener", "edge"), ("protocol", protocol)];
        px.wait_metric("periscope_downstream_connections_total", &labels, 5.0);
    }
    // nginx saw plain HTTP/1.1, told the client's scheme.
    let echoed = Curl::get(&https(&px, "/headers"))
        .arg("--cacert")
        .arg(&pki.ca.display().to_string())
        .run();
    let seen = echoed.body_text();
    assert!(seen.contains("x-forwarded-proto=https\n"), "{seen}");
}

#[test]
fn a_client_that_does_not_trust_the_certificate_is_counted_as_a_failed_handshake() {
    let (pki, nginx) = (TestPki::new(), Nginx::start());
    let px = Periscope::start(|| config("http", nginx.h1, &pki));
    let other = pki.other_ca.display().to_string();
    let r = Curl::get(&https(&px, "/"))
        .arg("--cacert")
        .arg(&other)
        .run();
    assert_ne!(r.exit_code, 0, "curl trusted a certificate it should not");
    let failed = [("listener", "edge")];
    px.wait_metric(
        "periscope_downstream_tls_handshake_failures_total",
        &failed,
        1.0,
    );
    assert_eq!(px.metric(REQUESTS, &[("listener", "edge")]), 0.0);
}

#[test]
fn pymongo_over_tls_to_a_tcp_listener_is_relayed_in_the_clear_and_sniffed() {
    let (pki, mongo) = (TestPki::new(), MongoServer::start());
    let px = Periscope::start(|| config("tcp", mongo.addr, &pki));
    let account = Workload::crud().tls(&pki.ca).run(px.addr("edge"));
    assert_eq!(account.count("getMore", "items"), 3, "{account:#?}");
    assert_eq!(account.failed_without_code, 0, "{account:#?}");
    telemetry_matches(&px, "edge", &account);
}

/// One TLS port for both: curl's ALPN choice takes the HTTP path (routed
/// to nginx), pymongo (no ALPN) is sniffed inside TLS and relayed to
/// nx-27017, each counted exactly.
#[test]
fn an_auto_listener_with_tls_serves_https_and_relays_mongodb_over_tls() {
    let (pki, nginx, mongo) = (TestPki::new(), Nginx::start(), MongoServer::start());
    let px = Periscope::start(|| {
        let tls = format!("    cluster: raw\n    tls: {}\n", tls_block(&pki));
        auto_split(nginx.h1, mongo.addr, "1s").replace("    cluster: raw\n", &tls)
    });
    // By ALPN, and without it (HTTP found by sniffing inside TLS).
    for flag in ["--http1.1", "--http2", "--no-alpn"] {
        get_ok(&px, &pki, flag);
    }
    let account = Workload::crud().tls(&pki.ca).run(px.addr("edge"));
    assert_eq!(account.failed_without_code, 0, "{account:#?}");
    telemetry_matches(&px, "edge", &account);
    px.wait_metric(REQUESTS, &[("listener", "edge"), ("route", "all")], 3.0);
}

#[test]
fn listener_tls_errors_name_file_line_and_field() {
    let pki = TestPki::new();
    let dir = common::workdir::WorkDir::new("tls-listener-config");
    let file = dir.write(
        "bad.yaml",
        format!(
            "listeners:\n\
             \x20 - {{ name: a, address: 127.0.0.1:1, protocol: auto, cluster: c, tls: {{ certificate_chain: {cert}, private_key: /no/key.pem }} }}\n\
             \x20 - {{ name: b, address: 127.0.0.1:2, protocol: http, cluster: c, tls: {{ certificate_chain: /no/cert.pem, private_key: {key} }} }}\n\
             \x20 - {{ name: d, address: 127.0.0.1:3, protocol: tcp, cluster: c, tls: {{ certificate_chain: {cert}, private_key: {ca} }} }}\n\
             \x20 - {{ name: e, address: 127.0.0.1:4, protocol: tcp, cluster: c, tls: {{ certificate_chain: {cert}, private_key: {key}, require_client_certificate: true }} }}\n\
             clusters:\n\
             \x20 - {{ name: c, endpoints: [\"127.0.0.1:9\"] }}\n",
            key = pki.server_key.display(),
            cert = pki.server_cert.display(),
            ca = pki.ca.display(),
        ),
    );
    assert_invalid(
        &file,
        &[
            "bad.yaml:2:",
            "listeners[0].tls.private_key: /no/key.pem: no usable PEM private key",
            "bad.yaml:3:",
            "listeners[1].tls.certificate_chain: cannot read /no/cert.pem",
            "listeners[2].tls.private_key:",
            "listeners[3].tls.require_client_certificate: requiring client certificates needs a trusted_ca",
        ],
    );
}

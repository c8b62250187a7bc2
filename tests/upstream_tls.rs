//! TLS to upstream clusters (`tls:`) against a real nginx serving HTTPS
//! with a certificate from a test CA: HTTP/1.1 and h2 (by ALPN) forwarded
//! and counted exactly; the server name sent and verified (the endpoint's
//! IP by default, `sni` when set); a certificate from an unknown CA, or
//! for another name, refused (503, counted as connect failures), including
//! when no `trusted_ca` is given and the system's store is used; health
//! checks over TLS; configuration errors named by file, line and field.
//! (The TCP relay over TLS: `upstream_tls_relay.rs`.)
mod common;

use common::configs::{admin_block, endpoints_yaml, listen_addr, listener_per_cluster};
use common::periscope::assert_invalid;
use common::tls_nginx::{TlsNginx, SERVER_NAME};
use common::{eventually, Curl, HyperClient, Periscope, REQUESTS};
use std::path::Path;
use std::time::Duration;

/// One `http` listener per cluster, named like it; each cluster is the
/// TLS nginx with this protocol and `tls:` block.
fn config(nginx: &TlsNginx, clusters: &[(&str, &str, String)]) -> String {
    config_at(nginx.addr, clusters)
}

/// As [`config`], the clusters' endpoint at `endpoint`.
fn config_at(endpoint: std::net::SocketAddr, clusters: &[(&str, &str, String)]) -> String {
    let clusters: Vec<(&str, &str, String)> = (clusters.iter())
        .map(|(name, protocol, tls)| {
            let cluster = format!(
                "    protocol: {protocol}\n    connect_timeout: 2s\n{}    tls: {tls}\n",
                endpoints_yaml(&[endpoint])
            );
            (*name, "http", cluster)
        })
        .collect();
    listener_per_cluster(&clusters)
}

/// Listeners and clusters `h1` (HTTP/1.1) and `h2` (h2 by ALPN), both
/// at `endpoint` and trusting `ca`.
fn h1_and_h2_at(endpoint: std::net::SocketAddr, ca: &Path) -> String {
    config_at(
        endpoint,
        &[
            ("h1", "http1", trusting(ca, None)),
            ("h2", "h2c", trusting(ca, None)),
        ],
    )
}

fn trusting(ca: &Path, sni: Option<&str>) -> String {
    let sni = sni.map_or(String::new(), |name| format!(", sni: {name}"));
    format!("{{ trusted_ca: \"{}\"{sni} }}", ca.display())
}

fn ok(listener: &str, version: &str) -> Vec<(&'static str, String)> {
    vec![
        ("listener", listener.to_owned()),
        ("cluster", listener.to_owned()),
        ("http_request_method", "GET".to_owned()),
        ("http_response_status_code", "200".to_owned()),
        ("network_protocol_version", version.to_owned()),
        ("error_type", String::new()),
    ]
}

fn labels<'a>(owned: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    owned.iter().map(|(k, v)| (*k, v.as_str())).collect()
}

#[test]
fn http1_and_h2_clusters_speak_tls_verified_by_the_trusted_ca() {
    let nginx = TlsNginx::start();
    let px = Periscope::start(|| {
        config(
            &nginx,
            &[
                ("h1", "http1", trusting(&nginx.ca, None)),
                ("h2", "h2c", trusting(&nginx.ca, None)),
                ("named", "http1", trusting(&nginx.ca, Some(SERVER_NAME))),
            ],
        )
    });
    let client = HyperClient::http1();
    for _ in 0..5 {
        // The endpoint's IP is the name verified; rustls sends no SNI for
        // an IP address.
        let h1 = client.get(&px.url("h1", "/whoami"));
        assert_eq!(
            (h1.status.as_u16(), h1.body_text()),
            (200, "HTTP/1.1 sni=\n".into())
        );
        let h2 = client.get(&px.url("h2", "/whoami"));
        assert_eq!(
            (h2.status.as_u16(), h2.body_text()),
            (200, "HTTP/2.0 sni=\n".into())
        );
        let named = client.get(&px.url("named", "/whoami"));
        let expected = format!("HTTP/1.1 sni={SERVER_NAME}\n");
        assert_eq!((named.status.as_u16(), named.body_text()), (200, expected));
    }
    // Downstream the requests are HTTP/1.1 whatever went upstream.
    for listener in ["h1", "h2", "named"] {
        px.wait_metric(REQUESTS, &labels(&ok(listener, "1.1")), 5.0);
        // One TLS connection each carried all five: kept and reused.
        let connections = &px.endpoint_stats(listener, nginx.addr)["connections"];
        assert_eq!(connections, 1, "{listener}");
    }
}

/// A pooled TLS connection the server closed while it was idle (nginx's
/// keepalive timeout: close_notify and FIN on HTTP/1.1, GOAWAY on h2) is
/// not used again: the next request gets a new connection and its answer.
#[test]
fn a_pooled_tls_connection_the_server_closed_while_idle_is_replaced() {
    let nginx = TlsNginx::start();
    let px = Periscope::start(|| h1_and_h2_at(nginx.brief, &nginx.ca));
    let client = HyperClient::http1();
    for round in 1..=3 {
        for listener in ["h1", "h2"] {
            let r = client.get(&px.url(listener, "/"));
            let answer = (r.status.as_u16(), r.body_text());
            assert_eq!(answer, (200, "brief\n".into()), "{listener}, round {round}");
        }
        // nginx closes both connections a second after their answers.
        std::thread::sleep(Duration::from_millis(1500));
    }
    for listener in ["h1", "h2"] {
        px.wait_metric(REQUESTS, &labels(&ok(listener, "1.1")), 3.0);
        let connections = &px.endpoint_stats(listener, nginx.brief)["connections"];
        assert_eq!(connections, 3, "{listener}: one connection a round");
    }
}

/// Uploads of 4 MiB arrive whole over TLS (nginx reads the body whole
/// and answers its length), on HTTP/1.1 and h2, sent with a length or
/// chunked (no length known: chunks on to HTTP/1.1, DATA frames to h2).
#[test]
fn large_uploads_cross_a_tls_upstream_whole() {
    let nginx = TlsNginx::start();
    let px = Periscope::start(|| h1_and_h2_at(nginx.addr, &nginx.ca));
    let body = vec![b'x'; 4 << 20];
    let client = HyperClient::http1();
    let dir = common::workdir::WorkDir::new("tls-upload");
    let file = dir.join("upload");
    std::fs::write(&file, &body).unwrap();
    for listener in ["h1", "h2"] {
        let r = client.post(&px.url(listener, "/upload"), body.clone());
        assert_eq!(
            (r.status.as_u16(), r.body_text()),
            (200, format!("{}\n", body.len())),
            "{listener}"
        );
        let r = Curl::post_file(&px.url(listener, "/upload"), &file)
            .chunked()
            .run();
        assert_eq!(
            (r.status, r.body_text()),
            (200, format!("{}\n", body.len())),
            "{listener}, chunked"
        );
    }
}

/// A server that answers an upload early (413) and reads no more of it:
/// the answer comes back at once over TLS too, not after a timeout.
#[test]
fn an_early_answer_to_an_upload_over_tls_comes_back() {
    let nginx = TlsNginx::start();
    let px = Periscope::start(|| config(&nginx, &[("h1", "http1", trusting(&nginx.ca, None))]));
    let started = std::time::Instant::now();
    let r = HyperClient::http1().post(&px.url("h1", "/small"), vec![b'x'; 4 << 20]);
    assert_eq!(r.status.as_u16(), 413);
    assert!(
        started.elapsed() < std::time::Duration::from_secs(10),
        "{:?}",
        started.elapsed()
    );
}

/// An h2 cluster whose endpoint does not choose h2 by ALPN (a TLS
/// terminator in front of a TCP server) fails to connect, saying why.
#[test]
fn an_h2_cluster_needs_the_server_to_choose_h2() {
    let echo = common::EchoServer::start();
    let nginx = TlsNginx::terminating(echo.addr);
    let relay = nginx.tls_relay.expect("TLS relay");
    let px = Periscope::start(|| {
        let cluster = format!(
            "    protocol: h2c\n    endpoints: [\"{relay}\"]\n    tls: {}\n",
            trusting(&nginx.ca, None)
        );
        listener_per_cluster(&[("h2", "http", cluster)])
    });
    let r = HyperClient::http1().get(&px.url("h2", "/"));
    assert_eq!(r.status.as_u16(), 503);
    assert!(
        r.body_text()
            .contains("the server did not choose h2 by ALPN"),
        "{}",
        r.body_text()
    );
}

#[test]
fn certificates_from_an_unknown_ca_or_for_another_name_are_refused() {
    let nginx = TlsNginx::start();
    let px = Periscope::start(|| {
        config(
            &nginx,
            &[
                ("stranger", "http1", trusting(&nginx.other_ca, None)),
                ("misnamed", "http1", trusting(&nginx.ca, Some("other.test"))),
                // The system's store does not know the test CA: verification
                // is on without a trusted_ca (unlike Envoy's default).
                ("system", "h2c", "{}".to_owned()),
            ],
        )
    });
    let client = HyperClient::http1();
    for listener in ["stranger", "misnamed", "system"] {
        for _ in 0..3 {
            assert_eq!(
                client.get(&px.url(listener, "/")).status.as_u16(),
                503,
                "{listener}"
            );
        }
        let failures = [("cluster", listener), ("reason", "connect_failure")];
        px.wait_metric("periscope_upstream_errors_total", &failures, 3.0);
    }
    let answer = client.get(&px.url("stranger", "/")).body_text();
    assert!(answer.contains("invalid peer certificate"), "{answer}");
}

#[test]
fn health_checks_run_over_the_clusters_tls() {
    let nginx = TlsNginx::start();
    let px = Periscope::start(|| {
        let cluster = |name: &str, ca: &Path, check: &str| {
            format!(
                "  - name: {name}\n    protocol: http1\n    endpoints: [\"{}\"]\n    tls: {}\n    health_check: {{ interval: 100ms, timeout: 2s, {check} }}\n",
                nginx.addr,
                trusting(ca, None),
            )
        };
        format!(
            "{}listeners:\n  - {{ name: edge, address: {}, protocol: http, cluster: checked }}\nclusters:\n{}{}{}",
            admin_block(),
            listen_addr(),
            cluster("checked", &nginx.ca, "http: { path: /health }"),
            cluster("reachable", &nginx.ca, "tcp: {}"),
            // Connecting includes the handshake: an untrusted certificate
            // fails even a connect-only check.
            cluster("untrusted", &nginx.other_ca, "tcp: {}"),
        )
    });
    for cluster in ["checked", "reachable"] {
        let passed = [("cluster", cluster), ("result", "success")];
        px.wait_metric_at_least("periscope_health_checks_total", &passed, 3.0);
        let failed = [("cluster", cluster), ("result", "network_failure")];
        assert_eq!(px.metric("periscope_health_checks_total", &failed), 0.0);
    }
    let refused = [("cluster", "untrusted"), ("result", "network_failure")];
    px.wait_metric_at_least("periscope_health_checks_total", &refused, 1.0);
    let states = || {
        let (_, body) = px.admin_get("/clusters");
        let doc: serde_json::Value = serde_json::from_str(&body).expect("/clusters is JSON");
        let clusters = doc["clusters"].as_array().cloned().unwrap_or_default();
        (clusters.iter())
            .map(|c| {
                (
                    c["name"].to_string(),
                    c["endpoints"][0]["state"].to_string(),
                )
            })
            .collect::<Vec<_>>()
    };
    eventually(
        "the untrusted endpoint out, the others in",
        Duration::from_secs(5),
        || {
            let states = states();
            let right = |(name, state): &(String, String)| match name.as_str() {
                "\"untrusted\"" => state == "\"unhealthy\"",
                _ => state == "\"healthy\"",
            };
            (states.len() == 3 && states.iter().all(right)).then_some(())
        },
    );
}

#[test]
fn tls_configuration_errors_name_file_line_and_field() {
    let pki = common::test_pki::TestPki::new();
    let dir = common::workdir::WorkDir::new("tls-config");
    let file = dir.write(
        "bad.yaml",
        format!(
            "listeners:\n\
             \x20 - {{ name: relay, address: 127.0.0.1:1, protocol: tcp, cluster: secure }}\n\
             clusters:\n\
             \x20 - name: secure\n\
             \x20   endpoints: [\"127.0.0.1:2\"]\n\
             \x20   tls: {{ sni: \"not a name\", trusted_ca: /no/such/ca.pem, certificate_chain: /no/cert.pem }}\n\
             \x20 - name: mismatched\n\
             \x20   endpoints: [\"127.0.0.1:3\"]\n\
             \x20   tls: {{ certificate_chain: {cert}, private_key: {key} }}\n",
            cert = pki.client_cert.display(),
            key = pki.server_key.display(),
        ),
    );
    assert_invalid(
        &file,
        &[
            "bad.yaml:6:",
            "clusters[0].tls.sni: \"not a name\" is neither a DNS name nor an IP address",
            "clusters[0].tls.trusted_ca: cannot read /no/such/ca.pem",
            "clusters[0].tls.private_key: a client certificate needs both certificate_chain and private_key",
            "bad.yaml:9:",
            "clusters[1].tls.private_key: the private key does not fit the certificate chain",
        ],
    );
}

//! The `/metrics` exposition after mixed traffic: promtool-clean, the
//! contract's families with their types and exact label sets, consistent
//! histograms, and gauges that return to zero.
mod common;

use common::configs::{admin_block, listen_addr};
use common::metrics::Sample;
use common::{
    closed_addr, opaque_garbage, promtool_check_metrics, Curl, EchoServer, Nginx, Periscope,
    RawConn, Scrape,
};
use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::time::Duration;

/// `edge` (auto: HTTP to nginx, the rest to an echo server) and `dead`
/// (http, its cluster on a closed port).
fn mixed_config(nginx: SocketAddr, echo: SocketAddr, closed: SocketAddr) -> String {
    format!(
        r#"{admin}listeners:
  - name: edge
    address: {edge}
    protocol: auto
    cluster: raw
    virtual_hosts:
      - name: site
        domains: ["*"]
        routes:
          - name: all
            match: {{ prefix: / }}
            route: {{ cluster: web }}
  - name: dead
    address: {dead}
    protocol: http
    cluster: down
clusters:
  - name: web
    protocol: http1
    endpoints: ["{nginx}"]
  - name: raw
    endpoints: ["{echo}"]
  - name: down
    protocol: http1
    connect_timeout: 1s
    endpoints: ["{closed}"]
"#,
        admin = admin_block(),
        edge = listen_addr(),
        dead = listen_addr(),
    )
}

/// Starts the peers and periscope, sends one of each kind of traffic (one
/// of them a malformed request, for the parse error family) and returns
/// once every connection has been closed.
fn after_mixed_traffic() -> (Nginx, EchoServer, Periscope) {
    let nginx = Nginx::start();
    let echo = EchoServer::start();
    let closed = closed_addr();
    let px = Periscope::start(|| mixed_config(nginx.h1, echo.addr, closed));
    assert_eq!(Curl::get(&px.url("edge", "/")).run().status, 200);
    assert_eq!(Curl::get(&px.url("edge", "/status/500")).run().status, 500);
    assert_eq!(
        Curl::get(&px.url("edge", "/"))
            .http2_prior_knowledge()
            .run()
            .status,
        200
    );
    assert_eq!(Curl::get(&px.url("dead", "/")).run().status, 503);
    let garbage = opaque_garbage(100);
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(&garbage);
    assert_eq!(conn.read_at_least(100, Duration::from_secs(5)), garbage);
    drop(conn);
    let mut malformed = RawConn::connect(px.addr("edge"));
    malformed.send(b"GET / HTTP/1.1\r\nHost: a\r\nno colon here\r\n\r\n");
    assert!(malformed.is_closed_by_peer(Duration::from_secs(5)));
    px.wait_metric(common::REQUESTS, &[], 4.0);
    let malformed_h1 = [
        ("listener", "edge"),
        ("protocol", "http1"),
        ("reason", "malformed"),
    ];
    px.wait_metric("periscope_parse_errors_total", &malformed_h1, 1.0);
    px.wait_metric("periscope_parse_errors_total", &[], 1.0);
    (nginx, echo, px)
}

/// `# TYPE name kind` lines of the exposition.
fn declared_types(scrape: &Scrape) -> Vec<(String, String)> {
    scrape
        .text
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_once(' '))
        .map(|(n, t)| (n.to_string(), t.trim().to_string()))
        .collect()
}

fn label_keys(s: &Sample) -> BTreeSet<&str> {
    s.labels
        .keys()
        .map(String::as_str)
        .filter(|k| *k != "le")
        .collect()
}

#[test]
fn scrape_passes_promtool() {
    let (_n, _e, px) = after_mixed_traffic();
    let scrape = px.scrape();
    if let Err(complaints) = promtool_check_metrics(&scrape.text) {
        panic!(
            "promtool check metrics:\n{complaints}\n--- scrape ---\n{}",
            scrape.text
        );
    }
}

#[test]
fn metrics_are_served_as_prometheus_text() {
    let (_n, _e, px) = after_mixed_traffic();
    let r = Curl::get(&format!("http://{}/metrics", px.admin)).run();
    assert_eq!(r.status, 200);
    let content_type = r.header("content-type").unwrap_or_default();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type:?}"
    );
}

#[test]
fn contract_families_have_their_types_and_exact_label_sets() {
    let (_n, _e, px) = after_mixed_traffic();
    let scrape = px.scrape();
    let types = declared_types(&scrape);
    let families: [(&str, &str, &[&str]); 10] = [
        (
            "http_server_request_duration_seconds",
            "histogram",
            &[
                "listener",
                "route",
                "cluster",
                "http_request_method",
                "http_response_status_code",
                "network_protocol_version",
                "error_type",
            ],
        ),
        (
            "periscope_downstream_connections_total",
            "counter",
            &["listener", "protocol"],
        ),
        (
            "periscope_downstream_connections_active",
            "gauge",
            &["listener", "protocol"],
        ),
        (
            "periscope_downstream_bytes_received_total",
            "counter",
            &["listener"],
        ),
        (
            "periscope_downstream_bytes_sent_total",
            "counter",
            &["listener"],
        ),
        (
            "periscope_detections_total",
            "counter",
            &["listener", "protocol"],
        ),
        (
            "periscope_upstream_connect_failures_total",
            "counter",
            &["cluster"],
        ),
        (
            "periscope_upstream_errors_total",
            "counter",
            &["cluster", "reason"],
        ),
        (
            "periscope_parse_errors_total",
            "counter",
            &["listener", "protocol", "reason"],
        ),
        (
            "periscope_metric_label_overflow_total",
            "counter",
            &["metric"],
        ),
    ];
    for (family, kind, labels) in families {
        assert!(
            types.iter().any(|(n, t)| n == family && t == kind),
            "no '# TYPE {family} {kind}' in:\n{}",
            scrape.text
        );
        let want: BTreeSet<&str> = labels.iter().copied().collect();
        let series: Vec<&Sample> = scrape
            .samples
            .iter()
            .filter(|s| {
                s.name == family
                    || s.name
                        .strip_prefix(family)
                        .is_some_and(|r| r.starts_with('_'))
            })
            .collect();
        assert!(!series.is_empty(), "no samples of {family}");
        for s in series {
            assert_eq!(label_keys(s), want, "labels of {s}");
        }
    }
}

#[test]
fn request_histogram_counts_match_their_inf_buckets() {
    let (_n, _e, px) = after_mixed_traffic();
    let scrape = px.scrape();
    let counts: Vec<&Sample> = scrape
        .samples
        .iter()
        .filter(|s| s.name == common::REQUESTS)
        .collect();
    assert!(!counts.is_empty());
    for count in counts {
        let mut labels: Vec<(&str, &str)> = count
            .labels
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect();
        labels.push(("le", "+Inf"));
        let inf = scrape.counter("http_server_request_duration_seconds_bucket", &labels);
        assert_eq!(inf, count.value, "+Inf bucket vs count for {count}");
    }
    let failed = [
        ("listener", "dead"),
        ("http_response_status_code", "503"),
        ("error_type", "503"),
    ];
    scrape.assert_value(common::REQUESTS, &failed, 1.0);
    scrape.assert_value(
        common::REQUESTS,
        &[("listener", "edge"), ("error_type", "500")],
        1.0,
    );
}

#[test]
fn active_connections_return_to_zero_when_clients_leave() {
    let (_n, _e, px) = after_mixed_traffic();
    px.wait_metric("periscope_downstream_connections_active", &[], 0.0);
    let total = px.metric(
        "periscope_downstream_connections_total",
        &[("listener", "edge")],
    );
    assert_eq!(
        total, 5.0,
        "edge saw h1, h1, h2c, one opaque and one malformed connection"
    );
}

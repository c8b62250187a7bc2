//! Quick mode (`--listen` + `--upstream`): defaults are `--protocol auto`
//! and `--upstream-protocol auto` (the upstream speaks what the client
//! spoke); `--upstream-protocol http1` converts h2c clients; the quick-mode
//! flags without `--listen` are a usage error.
mod common;

use common::periscope::periscope_cli;
use common::{free_port, opaque_garbage, Curl, EchoServer, Nginx, Periscope, RawConn, REQUESTS};
use std::net::SocketAddr;
use std::time::Duration;

/// `periscope --listen <free> --upstream <upstream> EXTRA...`
fn quick(upstream: SocketAddr, extra: &[&str]) -> Periscope {
    let listen = format!("127.0.0.1:{}", free_port());
    let upstream = upstream.to_string();
    let mut args = vec!["--listen", &listen, "--upstream", &upstream];
    args.extend_from_slice(extra);
    Periscope::quick(&args)
}

fn ok_requests(px: &Periscope, version: &str, expected: f64) {
    px.wait_metric(
        REQUESTS,
        &[
            ("listener", "quick"),
            ("http_response_status_code", "200"),
            ("network_protocol_version", version),
        ],
        expected,
    );
}

#[test]
fn defaults_are_auto_both_ways_in_the_config_dump() {
    let nginx = Nginx::start();
    let px = quick(nginx.h1, &[]);
    let (_, body) = px.admin_get("/config_dump");
    let dump: serde_json::Value = serde_json::from_str(&body).expect("config_dump JSON");
    assert_eq!(dump["listeners"][0]["protocol"], "auto", "{body}");
    assert_eq!(dump["clusters"][0]["protocol"], "auto", "{body}");
}

#[test]
fn by_default_an_h2c_client_reaches_an_h2c_upstream() {
    let nginx = Nginx::start();
    let px = quick(nginx.h2c, &[]);
    let r = Curl::get(&px.url("quick", "/bytes/1k"))
        .http2_prior_knowledge()
        .run();
    assert_eq!(
        (r.status, r.http_version.as_str(), r.body.len()),
        (200, "2", 1024),
        "{}",
        r.stderr
    );
    ok_requests(&px, "2", 1.0);
    px.wait_metric(REQUESTS, &[], 1.0);
}

#[test]
fn by_default_an_http1_client_reaches_an_http1_upstream() {
    let nginx = Nginx::start();
    let px = quick(nginx.h1, &[]);
    let r = Curl::get(&px.url("quick", "/bytes/1k")).run();
    assert_eq!(
        (r.status, r.http_version.as_str(), r.body.len()),
        (200, "1.1", 1024),
        "{}",
        r.stderr
    );
    ok_requests(&px, "1.1", 1.0);
    px.wait_metric(REQUESTS, &[], 1.0);
}

#[test]
fn by_default_opaque_bytes_are_relayed_as_tcp() {
    let echo = EchoServer::start();
    let px = quick(echo.addr, &[]);
    let garbage = opaque_garbage(512);
    let mut conn = RawConn::connect(px.addr("quick"));
    conn.send(&garbage);
    assert_eq!(conn.read_at_least(512, Duration::from_secs(5)), garbage);
    px.wait_metric(
        "periscope_detections_total",
        &[("listener", "quick"), ("protocol", "unknown")],
        1.0,
    );
    px.wait_metric(REQUESTS, &[], 0.0);
}

/// nginx's HTTP/1.1 port cannot speak h2c, so a 200 proves the conversion.
#[test]
fn upstream_protocol_http1_converts_h2c_clients() {
    let nginx = Nginx::start();
    let px = quick(nginx.h1, &["--upstream-protocol", "http1"]);
    let r = Curl::get(&px.url("quick", "/bytes/1k"))
        .http2_prior_knowledge()
        .run();
    assert_eq!(
        (r.status, r.http_version.as_str(), r.body.len()),
        (200, "2", 1024),
        "{}",
        r.stderr
    );
    ok_requests(&px, "2", 1.0);
}

#[test]
fn quick_mode_flags_without_listen_are_a_usage_error() {
    let admin = format!("127.0.0.1:{}", free_port());
    for args in [
        vec!["--admin", admin.as_str()],
        vec!["--protocol", "http"],
        vec!["--upstream-protocol", "http1"],
    ] {
        let out = periscope_cli(&args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains("--listen"), "{args:?}: {stderr}");
    }
}

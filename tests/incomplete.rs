//! Exchanges the client abandons are recorded once, as incomplete: before
//! the response headers with no status (`""`), after them with the status
//! the upstream gave. A client giving up is never an upstream failure.
mod common;

use common::configs::proxy;
use common::{Curl, EchoServer, HyperClient, Nginx, Periscope, REQUESTS};
use std::time::Duration;

const UPSTREAM_ERRORS: &str = "periscope_upstream_errors_total";

/// The labels of an abandoned exchange with `status` ("" = none yet).
fn incomplete<'a>(method: &'a str, status: &'a str, version: &'a str) -> [(&'a str, &'a str); 5] {
    [
        ("listener", "edge"),
        ("http_request_method", method),
        ("http_response_status_code", status),
        ("network_protocol_version", version),
        ("error_type", "incomplete"),
    ]
}

#[test]
fn http1_client_giving_up_before_headers_is_incomplete_without_status() {
    let silent = EchoServer::silent();
    let px = Periscope::start(|| proxy("http", "http1", silent.addr));
    let r = Curl::get(&px.url("edge", "/"))
        .arg("--max-time")
        .arg("1")
        .run();
    assert_eq!(
        (r.exit_code, r.status),
        (28, 0),
        "curl should time out: {}",
        r.stderr
    );
    px.wait_metric(REQUESTS, &incomplete("GET", "", "1.1"), 1.0);
    px.wait_metric(REQUESTS, &[], 1.0);
    px.wait_metric(UPSTREAM_ERRORS, &[], 0.0);
}

#[test]
fn h2_stream_reset_before_headers_is_incomplete_without_status() {
    let silent = EchoServer::silent();
    let px = Periscope::start(|| proxy("http", "http1", silent.addr));
    let client = HyperClient::h2c();
    let r = client.get_abandoned_after(&px.url("edge", "/"), Duration::from_millis(500));
    assert!(r.is_err(), "the silent upstream answered: {r:?}");
    px.wait_metric(REQUESTS, &incomplete("GET", "", "2"), 1.0);
    px.wait_metric(REQUESTS, &[], 1.0);
    px.wait_metric(UPSTREAM_ERRORS, &[], 0.0);
    // Only the stream was reset: the connection is still the one counted.
    px.wait_metric(
        "periscope_downstream_connections_active",
        &[("listener", "edge"), ("protocol", "http2")],
        1.0,
    );
}

#[test]
fn download_cut_off_after_headers_keeps_its_200() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let r = Curl::get(&px.url("edge", "/bytes/20m"))
        .arg("--limit-rate")
        .arg("1M")
        .arg("--max-time")
        .arg("1")
        .discard_body()
        .run();
    assert_eq!((r.exit_code, r.status), (28, 200), "{}", r.stderr);
    assert!(r.bytes_downloaded < 20 * 1024 * 1024, "download finished");
    px.wait_metric(REQUESTS, &incomplete("GET", "200", "1.1"), 1.0);
    px.wait_metric(REQUESTS, &[], 1.0);
    px.wait_metric(UPSTREAM_ERRORS, &[], 0.0);
}

#[test]
fn upload_aborted_mid_body_is_incomplete_and_no_upstream_failure() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let file = px
        .work_dir()
        .write_filled("upload.bin", 20 * 1024 * 1024, b'u');
    let r = Curl::post_file(&px.url("edge", "/post"), &file)
        .arg("--limit-rate")
        .arg("1M")
        .arg("--max-time")
        .arg("1")
        .run();
    // Only curl's `Expect: 100-continue` was answered, with the interim 100.
    assert_eq!((r.exit_code, r.status), (28, 100), "{}", r.stderr);
    px.wait_metric(REQUESTS, &incomplete("POST", "", "1.1"), 1.0);
    px.wait_metric(REQUESTS, &[], 1.0);
    px.wait_metric(UPSTREAM_ERRORS, &[], 0.0);
    px.wait_metric("periscope_upstream_connect_failures_total", &[], 0.0);
}

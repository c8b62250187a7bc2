//! `auto` listeners: one port serves HTTP/1.1 and h2c on the L7 path and
//! anything else as opaque TCP; a client that says nothing is taken for a
//! server-speaks-first protocol once `detect_timeout` passes.
mod common;

use common::configs::auto_split;
use common::{opaque_garbage, Curl, EchoServer, Nginx, Periscope, RawConn, REQUESTS};
use std::time::{Duration, Instant};

const DETECTIONS: &str = "periscope_detections_total";

#[test]
fn one_auto_port_serves_http1_h2c_and_opaque_tcp() {
    let nginx = Nginx::start();
    let echo = EchoServer::start();
    let px = Periscope::start(|| auto_split(nginx.h1, echo.addr, "1s"));

    let h1 = Curl::get(&px.url("edge", "/")).run();
    assert_eq!(
        (h1.status, h1.http_version.as_str(), h1.body_text().as_str()),
        (200, "1.1", "ok\n")
    );
    let h2 = Curl::get(&px.url("edge", "/"))
        .http2_prior_knowledge()
        .run();
    assert_eq!(
        (h2.status, h2.http_version.as_str(), h2.body_text().as_str()),
        (200, "2", "ok\n")
    );

    let garbage = opaque_garbage(1000);
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(&garbage);
    assert_eq!(
        conn.read_at_least(garbage.len(), Duration::from_secs(5)),
        garbage
    );
    assert_eq!(echo.received(), garbage);

    for (protocol, n) in [("http1", 1.0), ("http2", 1.0), ("unknown", 1.0)] {
        px.wait_metric(
            DETECTIONS,
            &[("listener", "edge"), ("protocol", protocol)],
            n,
        );
    }
    px.wait_metric(
        REQUESTS,
        &[("route", "all"), ("network_protocol_version", "1.1")],
        1.0,
    );
    px.wait_metric(
        REQUESTS,
        &[("route", "all"), ("network_protocol_version", "2")],
        1.0,
    );
}

#[test]
fn server_speaks_first_banner_arrives_after_the_detect_timeout() {
    let nginx = Nginx::start();
    let banner = b"220 banner.test ESMTP ready\r\n";
    let server = EchoServer::with_banner(banner);
    let px = Periscope::start(|| auto_split(nginx.h1, server.addr, "300ms"));

    let started = Instant::now();
    let mut conn = RawConn::connect(px.addr("edge"));
    let got = conn.read_at_least(banner.len(), Duration::from_secs(5));
    let waited = started.elapsed();
    assert_eq!(got, banner, "banner not relayed after {waited:?}");
    assert!(
        waited >= Duration::from_millis(250),
        "banner relayed before the detect timeout: {waited:?}"
    );
    assert!(waited < Duration::from_secs(3), "banner took {waited:?}");

    // The relay now runs both ways.
    conn.send(b"EHLO client\r\n");
    assert_eq!(
        conn.read_at_least(13, Duration::from_secs(5)),
        b"EHLO client\r\n"
    );
    assert_eq!(server.connections(), 1);
    px.wait_metric(
        "periscope_downstream_connections_total",
        &[("listener", "edge")],
        1.0,
    );
}

#[test]
fn http1_request_split_across_writes_is_still_detected() {
    let nginx = Nginx::start();
    let echo = EchoServer::start();
    let px = Periscope::start(|| auto_split(nginx.h1, echo.addr, "1s"));
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(b"GE");
    std::thread::sleep(Duration::from_millis(100));
    conn.send(b"T / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
    let responses = conn.read_responses(1, Duration::from_secs(5));
    assert_eq!(responses.len(), 1);
    assert_eq!(
        (responses[0].status, responses[0].body.as_slice()),
        (200, &b"ok\n"[..])
    );
    assert!(echo.received().is_empty(), "HTTP leaked to the TCP cluster");
    px.wait_metric(
        DETECTIONS,
        &[("listener", "edge"), ("protocol", "http1")],
        1.0,
    );
    px.wait_metric(
        REQUESTS,
        &[("route", "all"), ("http_response_status_code", "200")],
        1.0,
    );
}

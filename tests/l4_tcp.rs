//! `tcp` listeners: bytes are relayed untouched, and HTTP found on the L4
//! path is still sniffed and counted (with an empty route: no routing
//! happened).
mod common;

use common::configs::proxy;
use common::{
    closed_addr, h2load, opaque_garbage, Curl, EchoServer, HyperClient, Nginx, Periscope, RawConn,
    REQUESTS,
};
use std::time::Duration;

#[test]
fn http1_through_a_tcp_listener_reaches_nginx_and_is_counted_without_route() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("tcp", "auto", nginx.h1));
    let r = Curl::get(&px.url("edge", "/bytes/1k")).run();
    assert_eq!((r.status, r.body.len()), (200, 1024), "{}", r.stderr);
    let client = HyperClient::http1();
    for _ in 0..5 {
        assert_eq!(client.get(&px.url("edge", "/")).body_text(), "ok\n");
    }
    let sniffed = [
        ("listener", "edge"),
        ("route", ""),
        ("cluster", "web"),
        ("http_request_method", "GET"),
        ("http_response_status_code", "200"),
        ("network_protocol_version", "1.1"),
    ];
    px.wait_metric(REQUESTS, &sniffed, 6.0);
    px.wait_metric(
        "periscope_downstream_connections_total",
        &[("listener", "edge")],
        2.0,
    );
}

/// h2c through a `tcp` listener: relayed untouched, and every request,
/// multiplexed five at a time, sniffed by the HTTP/2 parser (route "").
#[test]
fn h2c_through_a_tcp_listener_is_relayed_and_every_request_counted() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("tcp", "auto", nginx.h2c));
    let report = h2load(&px.url("edge", "/"), 50, 1, 5);
    assert_eq!(
        (report.succeeded, report.status_2xx),
        (50, 50),
        "{}",
        report.output
    );
    let http2 = [("listener", "edge"), ("protocol", "http2")];
    px.wait_metric("periscope_downstream_connections_total", &http2, 1.0);
    px.wait_metric("periscope_detections_total", &http2, 1.0);
    let sniffed = [
        ("listener", "edge"),
        ("route", ""),
        ("http_request_method", "GET"),
        ("http_response_status_code", "200"),
        ("network_protocol_version", "2"),
        ("error_type", ""),
    ];
    px.wait_metric(REQUESTS, &sniffed, 50.0);
    px.wait_metric(REQUESTS, &[("listener", "edge")], 50.0);
}

#[test]
fn opaque_bytes_are_relayed_both_ways_and_counted() {
    let echo = EchoServer::start();
    let px = Periscope::start(|| proxy("tcp", "auto", echo.addr));
    let payload = opaque_garbage(64 * 1024);
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(&payload);
    let back = conn.read_at_least(payload.len(), Duration::from_secs(5));
    assert!(
        back == payload,
        "echo differs: {} of {} bytes back",
        back.len(),
        payload.len()
    );
    conn.shutdown_write();
    assert!(
        conn.is_closed_by_peer(Duration::from_secs(5)),
        "relay did not pass the close on"
    );
    assert_eq!(echo.received(), payload);
    let edge = [("listener", "edge")];
    px.wait_metric(
        "periscope_downstream_bytes_received_total",
        &edge,
        payload.len() as f64,
    );
    px.wait_metric(
        "periscope_downstream_bytes_sent_total",
        &edge,
        payload.len() as f64,
    );
    px.wait_metric(REQUESTS, &[], 0.0);
}

/// A bulk stream makes the relay grow its reads to their largest size, and
/// a pause in the middle makes it release and retake its buffers: every
/// byte still arrives once and in order, both ways.
#[test]
fn a_bulk_stream_with_a_pause_is_relayed_byte_for_byte() {
    use std::io::{Read, Write};
    let echo = EchoServer::start();
    let px = Periscope::start(|| proxy("tcp", "auto", echo.addr));
    let payload = opaque_garbage(6 * 1024 * 1024);
    let mut stream = std::net::TcpStream::connect(px.addr("edge")).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    let mut writer = stream.try_clone().expect("clone");
    let sent = payload.clone();
    let sender = std::thread::spawn(move || {
        let (first, second) = sent.split_at(sent.len() / 2);
        writer.write_all(first).expect("first half");
        std::thread::sleep(Duration::from_millis(300));
        writer.write_all(second).expect("second half");
        writer
            .shutdown(std::net::Shutdown::Write)
            .expect("shutdown");
    });
    let mut back = Vec::with_capacity(payload.len());
    stream.read_to_end(&mut back).expect("echo until close");
    sender.join().expect("sender");
    assert!(
        back == payload,
        "echo differs: {} of {} bytes back",
        back.len(),
        payload.len()
    );
    px.wait_metric(
        "periscope_downstream_bytes_received_total",
        &[("listener", "edge")],
        payload.len() as f64,
    );
}

/// Each relayed connection holds one upstream connection, seen in
/// `periscope_upstream_connections_active` (Envoy's upstream_cx_active)
/// while it lasts and given back when it ends.
#[test]
fn relayed_connections_are_counted_active_upstream_while_open() {
    let echo = EchoServer::start();
    let px = Periscope::start(|| proxy("tcp", "auto", echo.addr));
    let web = [("cluster", "web")];
    let mut held: Vec<RawConn> = (0..3).map(|_| RawConn::connect(px.addr("edge"))).collect();
    for conn in &mut held {
        conn.send(b"ping");
        assert_eq!(conn.read_at_least(4, Duration::from_secs(5)), b"ping");
    }
    px.wait_metric("periscope_upstream_connections_active", &web, 3.0);
    drop(held);
    px.wait_metric("periscope_upstream_connections_active", &web, 0.0);
}

#[test]
fn http_1_0_on_the_l4_path_is_counted_as_version_1_0() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("tcp", "auto", nginx.h1));
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(b"GET /bytes/1k HTTP/1.0\r\nHost: a\r\n\r\n");
    let (bytes, closed) = conn.read_until_close(Duration::from_secs(5));
    let responses = common::raw_http::parse_responses(&bytes);
    assert!(closed, "HTTP/1.0 without keep-alive must end with a close");
    assert_eq!(responses.len(), 1);
    assert_eq!((responses[0].status, responses[0].body.len()), (200, 1024));
    let v10 = [
        ("listener", "edge"),
        ("route", ""),
        ("network_protocol_version", "1.0"),
    ];
    px.wait_metric(REQUESTS, &v10, 1.0);
}

/// The tap only watches: a request it cannot parse still reaches the
/// upstream byte for byte, and the parse error is counted once.
#[test]
fn malformed_http_on_the_l4_path_is_relayed_untouched_and_counted() {
    let echo = EchoServer::start();
    let px = Periscope::start(|| proxy("tcp", "auto", echo.addr));
    let bad = b"GET / HTTP/1.1\r\nHost: a\r\nthis line has no colon\r\n\r\n";
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(bad);
    assert_eq!(conn.read_at_least(bad.len(), Duration::from_secs(5)), bad);
    assert_eq!(echo.received(), bad);
    let errors = [
        ("listener", "edge"),
        ("protocol", "http1"),
        ("reason", "malformed"),
    ];
    px.wait_metric("periscope_parse_errors_total", &errors, 1.0);
    px.wait_metric("periscope_parse_errors_total", &[], 1.0);
    px.wait_metric(REQUESTS, &[], 0.0);
}

/// The upstream refuses: the client's connection is closed, yet it was a
/// connection, so it is counted (its protocol never became known), and so
/// is the failed connect.
#[test]
fn tcp_connection_whose_upstream_refuses_is_still_counted() {
    let closed = closed_addr();
    let px = Periscope::start(|| proxy("tcp", "auto", closed));
    let mut conn = RawConn::connect(px.addr("edge"));
    assert!(
        conn.is_closed_by_peer(Duration::from_secs(5)),
        "client left open with no upstream"
    );
    let unknown = [("listener", "edge"), ("protocol", "unknown")];
    px.wait_metric("periscope_downstream_connections_total", &unknown, 1.0);
    px.wait_metric("periscope_downstream_connections_total", &[], 1.0);
    px.wait_metric("periscope_detections_total", &unknown, 1.0);
    px.wait_metric("periscope_downstream_connections_active", &[], 0.0);
    px.wait_metric(
        "periscope_upstream_connect_failures_total",
        &[("cluster", "web")],
        1.0,
    );
    px.wait_metric(
        "periscope_upstream_errors_total",
        &[("cluster", "web"), ("reason", "connect_failure")],
        1.0,
    );
}

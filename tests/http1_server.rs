//! Our HTTP/1.x server (`l7/h1/server`) on the wire, in front of real
//! nginx: `Expect: 100-continue`, HTTP/1.0 clients, request-smuggling
//! shapes refused, and what an idle keep-alive connection costs.
mod common;

use common::configs::proxy;
use common::{Nginx, Periscope, RawConn, REQUESTS};
use std::io::{Read, Write};
use std::time::Duration;

const PARSE_ERRORS: &str = "periscope_parse_errors_total";

#[test]
fn expect_100_continue_is_answered_before_the_body_is_sent() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(
        b"POST /length HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n",
    );
    let interim = conn.read_at_least(25, Duration::from_secs(5));
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue\r\n\r\n"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    conn.send(b"hello");
    let responses = conn.read_responses(1, Duration::from_secs(5));
    assert_eq!(responses.len(), 1, "{responses:?}");
    assert_eq!(
        (responses[0].status, responses[0].body.as_slice()),
        (200, &b"5\n"[..])
    );
    px.wait_metric(
        REQUESTS,
        &[
            ("http_request_method", "POST"),
            ("http_response_status_code", "200"),
        ],
        1.0,
    );
}

#[test]
fn an_http_1_0_client_gets_its_answer_then_the_close_unless_it_keeps_alive() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let mut plain = RawConn::connect(px.addr("edge"));
    plain.send(b"GET / HTTP/1.0\r\nHost: a\r\n\r\n");
    let (bytes, closed) = plain.read_until_close(Duration::from_secs(5));
    assert!(closed, "HTTP/1.0 without keep-alive ends with the close");
    let text = String::from_utf8_lossy(&bytes).to_string();
    assert!(
        text.starts_with("HTTP/1.1 200 OK\r\n") && text.ends_with("\r\n\r\nok\n"),
        "{text}"
    );
    assert!(text.contains("connection: close\r\n"), "{text}");

    let mut kept = RawConn::connect(px.addr("edge"));
    kept.send(b"GET / HTTP/1.0\r\nHost: a\r\nConnection: keep-alive\r\n\r\n");
    let first = kept.read_responses(1, Duration::from_secs(5));
    assert_eq!(
        first[0].header("connection"),
        Some("keep-alive"),
        "{first:?}"
    );
    kept.send(b"GET /status/404 HTTP/1.0\r\nHost: a\r\n\r\n");
    let second = kept.read_responses(1, Duration::from_secs(5));
    assert_eq!(second[0].status, 404);
    px.wait_metric(REQUESTS, &[("network_protocol_version", "1.0")], 3.0);
}

#[test]
fn request_smuggling_shapes_are_refused_with_400_and_counted() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let shapes: [&[u8]; 3] = [
        b"POST /post HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        b"POST /post HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nbody",
        b"POST /post HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
    ];
    for shape in shapes {
        let mut conn = RawConn::connect(px.addr("edge"));
        conn.send(shape);
        let (bytes, closed) = conn.read_until_close(Duration::from_secs(5));
        let text = String::from_utf8_lossy(&bytes).to_string();
        assert!(text.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{text}");
        assert!(closed, "a refused head closes the connection");
    }
    px.wait_metric(
        PARSE_ERRORS,
        &[("protocol", "http1"), ("reason", "malformed")],
        3.0,
    );
    assert_eq!(px.metric(REQUESTS, &[]), 0.0, "nothing reached the router");
}

/// The bound: at most 8 KiB per idle keep-alive connection (each
/// made one request first). Between requests our server holds no buffer.
#[test]
fn an_idle_keep_alive_connection_costs_under_8_kib() {
    const IDLE: usize = 2000;
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let addr = px.addr("edge");
    // Warm the pools and the allocator with a first batch, released again.
    let warm: Vec<_> = (0..200).map(|_| one_request(addr)).collect();
    drop(warm);
    std::thread::sleep(Duration::from_millis(300));
    let before = px.rss_kib();
    let idle: Vec<_> = (0..IDLE).map(|_| one_request(addr)).collect();
    std::thread::sleep(Duration::from_millis(500));
    let per_connection = (px.rss_kib().saturating_sub(before)) as f64 / IDLE as f64;
    eprintln!("{per_connection:.2} KiB per idle connection (debug build)");
    assert!(
        per_connection <= 8.0,
        "{per_connection:.2} KiB per idle connection"
    );
    assert_eq!(idle.len(), IDLE);
    px.wait_metric(
        REQUESTS,
        &[("http_response_status_code", "200")],
        (IDLE + 200) as f64,
    );
}

/// A connection that made one keep-alive request and read its answer.
fn one_request(addr: std::net::SocketAddr) -> std::net::TcpStream {
    let mut tcp = std::net::TcpStream::connect(addr).expect("connect");
    tcp.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    tcp.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n")
        .expect("send");
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.ends_with(b"\r\n\r\nok\n") {
        let n = tcp.read(&mut chunk).expect("answer");
        assert!(n > 0, "closed early: {}", String::from_utf8_lossy(&answer));
        answer.extend_from_slice(&chunk[..n]);
    }
    tcp
}

//! The HTTP path's idle timeouts (Envoy's `idle_timeout` and
//! `stream_idle_timeout`): an idle keep-alive connection is closed and
//! counted, one with a request in flight is not; a response that stalls
//! mid-body is cut and recorded incomplete; a client that stops sending its
//! body gets 408.
mod common;

use common::configs::{admin_block, listen_addr};
use common::{Nginx, Periscope, RawConn, REQUESTS};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::time::{Duration, Instant};

const IDLE: &str = "periscope_downstream_idle_timeouts_total";

fn config(upstream: SocketAddr, timeouts: &str) -> String {
    format!(
        "{admin}listeners:\n  - {{ name: edge, address: {listen}, protocol: http, cluster: web, \
         {timeouts} }}\nclusters:\n  - {{ name: web, protocol: http1, endpoints: [\"{upstream}\"] }}\n",
        admin = admin_block(),
        listen = listen_addr(),
    )
}

fn get(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: edge\r\n\r\n").into_bytes()
}

#[test]
fn idle_keep_alive_connections_close_busy_ones_do_not() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| config(nginx.h1, "http_idle_timeout: 400ms"));
    // A download of 1 MiB at 256 KiB/s: about 4 s in flight, ten timeouts.
    let mut busy = RawConn::connect(px.addr("edge"));
    busy.send(&get("/slow/1m"));
    let mut idle = RawConn::connect(px.addr("edge"));
    idle.send(&get("/"));
    assert_eq!(
        idle.read_responses(1, Duration::from_secs(5))[0].status,
        200
    );
    let quiet_from = Instant::now();
    assert!(idle.is_closed_by_peer(Duration::from_secs(3)));
    let waited = quiet_from.elapsed();
    assert!(
        waited >= Duration::from_millis(350) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    let download = busy.read_responses(1, Duration::from_secs(15));
    assert_eq!(download[0].body.len(), 1024 * 1024, "the busy one finished");
    px.wait_metric(IDLE, &[("listener", "edge")], 1.0);
}

/// An upstream that sends response headers and a few bytes, then nothing.
fn stalling_upstream() -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            std::thread::spawn(move || {
                let mut head = [0u8; 4096];
                let _ = stream.read(&mut head);
                let _ = stream.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\nabc");
                std::thread::sleep(Duration::from_secs(10));
            });
        }
    });
    addr
}

#[test]
fn a_stalled_response_body_is_cut_and_recorded_incomplete() {
    let upstream = stalling_upstream();
    let px = Periscope::start(|| config(upstream, "stream_idle_timeout: 300ms"));
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(&get("/"));
    let started = Instant::now();
    let (bytes, closed) = conn.read_until_close(Duration::from_secs(5));
    assert!(closed, "the client's stream was ended");
    assert!(started.elapsed() < Duration::from_secs(3));
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    px.wait_metric(
        REQUESTS,
        &[
            ("http_response_status_code", "200"),
            ("error_type", "incomplete"),
        ],
        1.0,
    );
}

#[test]
fn a_client_that_stops_sending_its_body_gets_408() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| config(nginx.h1, "stream_idle_timeout: 300ms"));
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(b"POST /post HTTP/1.1\r\nHost: edge\r\nContent-Length: 100\r\n\r\n0123456789");
    let responses = conn.read_responses(1, Duration::from_secs(5));
    assert_eq!(responses[0].status, 408);
    px.wait_metric(
        REQUESTS,
        &[
            ("http_request_method", "POST"),
            ("http_response_status_code", "408"),
        ],
        1.0,
    );
}

//! Hostile and broken clients: a malformed request costs only its own
//! connection, never the process or other clients; bytes an `auto` listener
//! cannot classify go to the TCP cluster untouched.
mod common;

use common::configs::{auto_split, proxy};
use common::{opaque_garbage, EchoServer, HyperClient, Nginx, Periscope, RawConn, REQUESTS};
use std::time::Duration;

const PARSE_ERRORS: &str = "periscope_parse_errors_total";
const CONNECTIONS: &str = "periscope_downstream_connections_total";

fn malformed(protocol: &str) -> [(&str, &str); 3] {
    [
        ("listener", "edge"),
        ("protocol", protocol),
        ("reason", "malformed"),
    ]
}

/// Requests hyper-class servers must refuse with 400.
const MALFORMED: [&[u8]; 4] = [
    b"GET / HTTP/1.1\r\nHost: a\r\nthis line has no colon\r\n\r\n",
    b"G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n",
    b"POST /post HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab",
    b"GET / HTTP/1.1\r\nHost: a\r\nContent-Length: -5\r\n\r\n",
];

#[test]
fn malformed_request_gets_400_and_only_its_connection_closes() {
    let nginx = Nginx::start();
    let mut px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let healthy = HyperClient::http1();
    assert_eq!(healthy.get(&px.url("edge", "/")).status, 200);

    for bad in MALFORMED {
        let mut conn = RawConn::connect(px.addr("edge"));
        conn.send(bad);
        let (bytes, closed) = conn.read_until_close(Duration::from_secs(5));
        let text = String::from_utf8_lossy(&bytes);
        let shown = String::from_utf8_lossy(bad);
        assert!(text.starts_with("HTTP/1.1 400"), "{shown:?} got {text:?}");
        assert!(closed, "{shown:?}: connection left open after the 400");
        // The keep-alive connection opened before is still served.
        assert_eq!(
            healthy.get(&px.url("edge", "/")).status,
            200,
            "after {shown:?}"
        );
    }
    assert!(px.is_running(), "periscope died");
    assert_eq!(px.admin_get("/ready").0, 200);
    // hyper answered the 400s itself: no request reached a route, and each
    // bad connection is one parse error. An `http` listener serves whatever
    // lacks the h2 preface as HTTP/1, so even `G\x01T` counts as http1.
    px.wait_metric(PARSE_ERRORS, &malformed("http1"), MALFORMED.len() as f64);
    let http1_connections = [("listener", "edge"), ("protocol", "http1")];
    px.wait_metric(CONNECTIONS, &http1_connections, 5.0);
    px.wait_metric(PARSE_ERRORS, &[], MALFORMED.len() as f64);
    px.wait_metric(REQUESTS, &[], (1 + MALFORMED.len()) as f64);
    px.wait_metric(REQUESTS, &[("http_response_status_code", "200")], 5.0);
    px.wait_metric(CONNECTIONS, &[("listener", "edge")], 5.0);
}

/// More header lines than hyper accepts (100): 431, counted as a head too
/// large, not as malformed.
#[test]
fn header_flood_gets_431_and_counts_head_too_large() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let mut flood = b"GET / HTTP/1.1\r\nHost: a\r\n".to_vec();
    for i in 0..200 {
        flood.extend_from_slice(format!("X-Flood-{i}: 1\r\n").as_bytes());
    }
    flood.extend_from_slice(b"\r\n");
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(&flood);
    let (bytes, closed) = conn.read_until_close(Duration::from_secs(5));
    let text = String::from_utf8_lossy(&bytes);
    assert!(text.starts_with("HTTP/1.1 431"), "got {text:?}");
    assert!(closed, "connection left open after the 431");
    let too_large = [
        ("listener", "edge"),
        ("protocol", "http1"),
        ("reason", "head_too_large"),
    ];
    px.wait_metric(PARSE_ERRORS, &too_large, 1.0);
    px.wait_metric(PARSE_ERRORS, &[], 1.0);
    px.wait_metric(REQUESTS, &[], 0.0);
}

#[test]
fn clients_hanging_up_mid_request_leave_the_proxy_healthy() {
    let nginx = Nginx::start();
    let mut px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let partials: [&[u8]; 4] = [
        b"GET / HT",
        b"GET / HTTP/1.1\r\nHost: a\r\nX-Long: ",
        b"POST /post HTTP/1.1\r\nHost: a\r\nContent-Length: 1000\r\n\r\nonly this much",
        b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00",
    ];
    for _ in 0..5 {
        for partial in partials {
            let mut conn = RawConn::connect(px.addr("edge"));
            conn.send(partial);
        } // dropped: closed mid-request
    }
    // Only the POST got as far as a request; cut off before any answer it
    // is incomplete, with no status. A hang-up is no parse error.
    let abandoned_posts = [
        ("listener", "edge"),
        ("http_request_method", "POST"),
        ("http_response_status_code", ""),
        ("error_type", "incomplete"),
    ];
    px.wait_metric(REQUESTS, &abandoned_posts, 5.0);
    px.wait_metric(REQUESTS, &[], 5.0);
    // 20 connections; how the truncated ones are labelled depends on how
    // far detection got, except the HTTP/2 preface.
    px.wait_metric(CONNECTIONS, &[("listener", "edge")], 20.0);
    px.wait_metric(
        CONNECTIONS,
        &[("listener", "edge"), ("protocol", "http2")],
        5.0,
    );
    px.wait_metric("periscope_downstream_connections_active", &[], 0.0);
    px.wait_metric(PARSE_ERRORS, &[], 0.0);
    assert!(px.is_running(), "periscope died");
    let r = HyperClient::http1().get(&px.url("edge", "/"));
    assert_eq!((r.status.as_u16(), r.body_text().as_str()), (200, "ok\n"));
    px.wait_metric(REQUESTS, &[("http_response_status_code", "200")], 1.0);
}

#[test]
fn garbage_on_an_auto_listener_is_relayed_as_opaque_tcp() {
    let nginx = Nginx::start();
    let echo = EchoServer::start();
    let px = Periscope::start(|| auto_split(nginx.h1, echo.addr, "1s"));
    let garbage = opaque_garbage(4096);
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(&garbage);
    let back = conn.read_at_least(garbage.len(), Duration::from_secs(5));
    assert!(
        back == garbage,
        "{} of {} bytes echoed back",
        back.len(),
        garbage.len()
    );
    assert!(
        echo.received() == garbage,
        "echo server saw different bytes"
    );
    let unknown = [("listener", "edge"), ("protocol", "unknown")];
    px.wait_metric("periscope_detections_total", &unknown, 1.0);
    px.wait_metric(common::REQUESTS, &[], 0.0);
}

//! L7 proxying on an `http` listener to real nginx: keep-alive, pipelining,
//! h2c, protocol conversion both ways, uploads, upstream statuses and a dead
//! upstream, each with exact request counts.
mod common;

use common::configs::proxy;
use common::{h2load, Curl, HyperClient, Nginx, Periscope, RawConn, REQUESTS};
use std::time::Duration;

const CONNECTIONS: &str = "periscope_downstream_connections_total";

#[test]
fn keep_alive_requests_on_one_connection_are_each_counted() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let client = HyperClient::http1();
    for _ in 0..20 {
        let r = client.get(&px.url("edge", "/"));
        assert_eq!((r.status.as_u16(), r.body_text().as_str()), (200, "ok\n"));
    }
    let ok_h1 = [
        ("listener", "edge"),
        ("cluster", "web"),
        ("http_request_method", "GET"),
        ("http_response_status_code", "200"),
        ("network_protocol_version", "1.1"),
        ("error_type", ""),
    ];
    px.wait_metric(REQUESTS, &ok_h1, 20.0);
    px.wait_metric(
        CONNECTIONS,
        &[("listener", "edge"), ("protocol", "http1")],
        1.0,
    );
}

#[test]
fn pipelined_requests_are_answered_in_order() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(
        b"GET /status/404 HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /bytes/1k HTTP/1.1\r\nHost: a\r\n\r\n\
          GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let responses = conn.read_responses(3, Duration::from_secs(5));
    let got: Vec<(u16, usize)> = responses.iter().map(|r| (r.status, r.body.len())).collect();
    assert_eq!(got.len(), 3, "{responses:?}");
    assert_eq!(got[0].0, 404);
    assert_eq!(got[1..], [(200, 1024), (200, 3)]);
    px.wait_metric(REQUESTS, &[("listener", "edge")], 3.0);
    px.wait_metric(REQUESTS, &[("http_response_status_code", "404")], 1.0);
}

#[test]
fn h2c_prior_knowledge_from_curl_is_proxied_as_http2() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "auto", nginx.h2c));
    let r = Curl::get(&px.url("edge", "/bytes/64k"))
        .http2_prior_knowledge()
        .discard_body()
        .run();
    assert_eq!(
        (r.status, r.http_version.as_str()),
        (200, "2"),
        "{}",
        r.stderr
    );
    assert_eq!(r.bytes_downloaded, 64 * 1024);
    px.wait_metric(
        REQUESTS,
        &[
            ("network_protocol_version", "2"),
            ("http_response_status_code", "200"),
        ],
        1.0,
    );
    px.wait_metric(
        CONNECTIONS,
        &[("listener", "edge"), ("protocol", "http2")],
        1.0,
    );
}

#[test]
fn h2load_multiplexed_requests_are_counted_exactly() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "auto", nginx.h2c));
    let report = h2load(&px.url("edge", "/"), 200, 2, 10);
    assert_eq!(
        (report.succeeded, report.status_2xx),
        (200, 200),
        "{}",
        report.output
    );
    let ok_h2 = [
        ("listener", "edge"),
        ("http_request_method", "GET"),
        ("http_response_status_code", "200"),
        ("network_protocol_version", "2"),
    ];
    px.wait_metric(REQUESTS, &ok_h2, 200.0);
    px.wait_metric(REQUESTS, &[], 200.0);
    px.wait_metric(
        CONNECTIONS,
        &[("listener", "edge"), ("protocol", "http2")],
        2.0,
    );
}

/// nginx's h2c port speaks nothing but HTTP/2, so a correct body proves the
/// upstream leg was converted.
#[test]
fn http1_downstream_is_converted_to_h2c_upstream() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "h2c", nginx.h2c));
    let client = HyperClient::http1();
    for _ in 0..3 {
        let r = client.get(&px.url("edge", "/bytes/64k"));
        assert_eq!((r.status.as_u16(), r.body.len()), (200, 64 * 1024));
        assert_eq!(r.version, http::Version::HTTP_11);
    }
    px.wait_metric(
        REQUESTS,
        &[
            ("network_protocol_version", "1.1"),
            ("http_response_status_code", "200"),
        ],
        3.0,
    );
}

#[test]
fn h2c_downstream_is_converted_to_http1_upstream() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let client = HyperClient::h2c();
    for _ in 0..5 {
        let r = client.get(&px.url("edge", "/bytes/1k"));
        assert_eq!((r.status.as_u16(), r.body.len()), (200, 1024));
        assert_eq!(r.version, http::Version::HTTP_2);
    }
    let r = Curl::get(&px.url("edge", "/"))
        .http2_prior_knowledge()
        .run();
    assert_eq!(
        (r.status, r.body_text().as_str()),
        (200, "ok\n"),
        "{}",
        r.stderr
    );
    px.wait_metric(
        REQUESTS,
        &[("network_protocol_version", "2"), ("cluster", "web")],
        6.0,
    );
}

/// nginx's `/length` answers with the number of body bytes it received.
#[test]
fn chunked_upload_is_streamed_to_nginx_in_full() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let file = px.work_dir().write_filled("upload.bin", 300 * 1024, b'u');
    let r = Curl::post_file(&px.url("edge", "/length"), &file)
        .chunked()
        .run();
    assert_eq!(
        (r.status, r.body_text().as_str()),
        (200, "307200\n"),
        "{}",
        r.stderr
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
fn upstream_statuses_are_counted_with_error_type_for_5xx() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let client = HyperClient::http1();
    for code in [204u16, 404, 500, 503, 500] {
        let r = client.get(&px.url("edge", &format!("/status/{code}")));
        assert_eq!(r.status.as_u16(), code);
    }
    let status = |code| [("listener", "edge"), ("http_response_status_code", code)];
    px.wait_metric(REQUESTS, &status("500"), 2.0);
    px.wait_metric(REQUESTS, &status("204"), 1.0);
    px.wait_metric(REQUESTS, &status("404"), 1.0);
    px.wait_metric(REQUESTS, &status("503"), 1.0);
    px.wait_metric(
        REQUESTS,
        &[("http_response_status_code", "500"), ("error_type", "500")],
        2.0,
    );
    px.wait_metric(
        REQUESTS,
        &[("http_response_status_code", "404"), ("error_type", "")],
        1.0,
    );
}

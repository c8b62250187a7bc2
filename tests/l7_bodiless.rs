//! Responses without a body on the L7 path: HEAD, 304 from nginx's static
//! files (If-None-Match, If-Modified-Since) and 204, each answered intact
//! and counted once under its own status.
mod common;

use common::configs::proxy;
use common::{Curl, Nginx, Periscope, RawConn, REQUESTS};
use std::time::Duration;

fn count_of(px: &Periscope, method: &str, status: &str, expected: f64) {
    px.wait_metric(
        REQUESTS,
        &[
            ("listener", "edge"),
            ("http_request_method", method),
            ("http_response_status_code", status),
            ("error_type", ""),
        ],
        expected,
    );
}

#[test]
fn head_is_answered_with_the_length_but_no_body() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let mut conn = RawConn::connect(px.addr("edge"));
    // Two HEADs then a GET on one connection: a body sent after a HEAD
    // answer would be read as the next response and break the framing.
    conn.send(
        b"HEAD /bytes/1k HTTP/1.1\r\nHost: a\r\n\r\n\
          HEAD /bytes/64k HTTP/1.1\r\nHost: a\r\n\r\n\
          GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let (bytes, closed) = conn.read_until_close(Duration::from_secs(5));
    assert!(closed, "Connection: close not honoured");
    let text = String::from_utf8_lossy(&bytes).to_ascii_lowercase();
    assert_eq!(text.matches("http/1.1 200").count(), 3, "{text}");
    assert!(text.contains("content-length: 1024\r\n"), "{text}");
    assert!(text.contains("content-length: 65536\r\n"), "{text}");
    assert!(
        text.ends_with("\r\n\r\nok\n"),
        "a HEAD answer carried a body: {text}"
    );
    count_of(&px, "HEAD", "200", 2.0);
    count_of(&px, "GET", "200", 1.0);
    px.wait_metric(REQUESTS, &[], 3.0);
}

#[test]
fn conditional_gets_of_static_files_are_304s() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let url = px.url("edge", "/bytes/1k");
    let first = Curl::get(&url).run();
    assert_eq!(
        (first.status, first.body.len()),
        (200, 1024),
        "{}",
        first.stderr
    );
    let etag = first
        .header("etag")
        .expect("nginx sends an ETag")
        .to_string();
    let modified = first
        .header("last-modified")
        .expect("nginx sends Last-Modified")
        .to_string();
    for (name, value) in [("if-none-match", &etag), ("if-modified-since", &modified)] {
        let r = Curl::get(&url).header(name, value).run();
        assert_eq!((r.status, r.body.len()), (304, 0), "{name}: {}", r.stderr);
        assert_eq!(r.header("etag"), Some(etag.as_str()), "{name}");
    }
    count_of(&px, "GET", "200", 1.0);
    count_of(&px, "GET", "304", 2.0);
    px.wait_metric(REQUESTS, &[], 3.0);
}

#[test]
fn no_content_is_a_204_over_http1_and_h2c() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let h1 = Curl::get(&px.url("edge", "/status/204")).run();
    let h2 = Curl::get(&px.url("edge", "/status/204"))
        .http2_prior_knowledge()
        .run();
    for r in [&h1, &h2] {
        assert_eq!((r.status, r.body.len()), (204, 0), "{}", r.stderr);
    }
    assert_eq!(h2.http_version, "2");
    count_of(&px, "GET", "204", 2.0);
    px.wait_metric(REQUESTS, &[("network_protocol_version", "2")], 1.0);
    px.wait_metric(REQUESTS, &[], 2.0);
}

#[test]
fn head_over_h2c_is_counted_as_head() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let r = Curl::get(&px.url("edge", "/bytes/64k"))
        .http2_prior_knowledge()
        .arg("--head")
        .run();
    // With --head curl writes the headers where the body would go, so
    // the downloaded body size is what shows no body came.
    assert_eq!((r.status, r.bytes_downloaded), (200, 0), "{}", r.stderr);
    assert_eq!(r.header("content-length"), Some("65536"));
    count_of(&px, "HEAD", "200", 1.0);
    px.wait_metric(REQUESTS, &[], 1.0);
}

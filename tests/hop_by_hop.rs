//! Headers on the way to the upstream, as nginx's `/headers` sees them:
//! hop-by-hop headers (RFC 9110 §7.6.1) never cross the proxy, headers the
//! client names in `Connection` neither; `x-forwarded-proto` is set when
//! absent; an h2c client's `:authority` becomes an HTTP/1.1 `Host`.
mod common;

use common::configs::proxy;
use common::{Curl, Nginx, Periscope, RawConn, REQUESTS};
use std::time::Duration;

/// One HTTP/1.1 request with every hop-by-hop header a client can send.
const HOP_BY_HOP_REQUEST: &[u8] = b"GET /headers HTTP/1.1\r\n\
Host: site.org\r\n\
Connection: keep-alive, x-hop\r\n\
Keep-Alive: timeout=5\r\n\
Proxy-Connection: keep-alive\r\n\
TE: trailers\r\n\
X-Hop: secret\r\n\
X-Debug: kept\r\n\
\r\n";

/// `name=value` lines of a `/headers` answer.
fn echoed(body: &[u8]) -> Vec<(String, String)> {
    String::from_utf8_lossy(body)
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// What nginx saw for `name` ("" when the header did not reach it).
fn seen<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_else(|| panic!("/headers does not echo {name}: {headers:?}"))
}

/// Sends `request` on a fresh connection and returns what nginx saw.
fn headers_seen_for(px: &Periscope, request: &[u8]) -> Vec<(String, String)> {
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(request);
    let responses = conn.read_responses(1, Duration::from_secs(5));
    assert_eq!(responses.len(), 1, "no response to {request:?}");
    assert_eq!(responses[0].status, 200, "{responses:?}");
    echoed(&responses[0].body)
}

#[test]
fn hop_by_hop_headers_do_not_reach_an_http1_upstream() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let h = headers_seen_for(&px, HOP_BY_HOP_REQUEST);
    for hop in [
        "connection",
        "keep-alive",
        "proxy-connection",
        "te",
        "x-hop",
    ] {
        assert_eq!(seen(&h, hop), "", "{hop} crossed the proxy: {h:?}");
    }
    assert_eq!(seen(&h, "x-debug"), "kept", "{h:?}");
    assert_eq!(seen(&h, "host"), "site.org", "{h:?}");
    px.wait_metric(REQUESTS, &[("http_response_status_code", "200")], 1.0);
}

#[test]
fn upgrade_does_not_reach_the_upstream() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let h = headers_seen_for(
        &px,
        b"GET /headers HTTP/1.1\r\nHost: site.org\r\nUpgrade: h2c\r\n\r\n",
    );
    assert_eq!(seen(&h, "upgrade"), "", "{h:?}");
    assert_eq!(seen(&h, "connection"), "", "{h:?}");
    px.wait_metric(REQUESTS, &[("http_response_status_code", "200")], 1.0);
}

/// gRPC needs `te: trailers` end to end, so it alone survives to HTTP/2.
#[test]
fn te_trailers_survives_to_an_h2c_upstream_and_other_hops_do_not() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "h2c", nginx.h2c));
    let h = headers_seen_for(&px, HOP_BY_HOP_REQUEST);
    assert_eq!(seen(&h, "te"), "trailers", "{h:?}");
    for hop in ["connection", "keep-alive", "proxy-connection", "x-hop"] {
        assert_eq!(seen(&h, hop), "", "{hop} crossed the proxy: {h:?}");
    }
    let gzip_te = b"GET /headers HTTP/1.1\r\nHost: site.org\r\nTE: gzip\r\n\r\n";
    assert_eq!(seen(&headers_seen_for(&px, gzip_te), "te"), "");
    px.wait_metric(REQUESTS, &[("http_response_status_code", "200")], 2.0);
}

#[test]
fn x_forwarded_proto_is_http_unless_a_hop_in_front_set_it() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let plain = b"GET /headers HTTP/1.1\r\nHost: site.org\r\n\r\n";
    assert_eq!(
        seen(&headers_seen_for(&px, plain), "x-forwarded-proto"),
        "http"
    );
    let behind_tls = b"GET /headers HTTP/1.1\r\nHost: site.org\r\nX-Forwarded-Proto: https\r\n\r\n";
    assert_eq!(
        seen(&headers_seen_for(&px, behind_tls), "x-forwarded-proto"),
        "https"
    );
}

#[test]
fn h2c_authority_becomes_the_host_of_an_http1_upstream() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let r = Curl::get(&px.url("edge", "/headers"))
        .http2_prior_knowledge()
        .run();
    assert_eq!(
        (r.status, r.http_version.as_str()),
        (200, "2"),
        "{}",
        r.stderr
    );
    let h = echoed(&r.body);
    assert_eq!(seen(&h, "host"), px.addr("edge").to_string(), "{h:?}");
    assert_eq!(seen(&h, "x-forwarded-proto"), "http", "{h:?}");
}

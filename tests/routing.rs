//! Virtual hosts and routes: domain matching (exact, suffix, any), path
//! matching (prefix, exact, regex), header matching, redirects, direct
//! responses, response header edits, and the `route` label on each count.
mod common;

use common::configs::{admin_block, listen_addr};
use common::{Curl, Nginx, Periscope, REQUESTS};
use std::net::SocketAddr;

/// Most routes answer directly, so the route that matched is visible in the
/// body; `bytes` goes to nginx with response header edits.
fn routing_config(nginx: SocketAddr) -> String {
    format!(
        r#"{admin}listeners:
  - name: edge
    address: {listen}
    protocol: http
    virtual_hosts:
      - name: exact
        domains: ["api.example.com"]
        routes:
          - name: exact-host
            match: {{ prefix: / }}
            direct_response: {{ status: 200, body: "exact host\n" }}
      - name: suffix
        domains: ["*.example.com"]
        routes:
          - name: suffix-host
            match: {{ prefix: / }}
            direct_response: {{ status: 200, body: "suffix host\n" }}
      - name: any
        domains: ["*"]
        routes:
          - name: health
            match: {{ path: /healthz }}
            direct_response: {{ status: 200, body: "ok\n" }}
          - name: versioned
            match: {{ regex: "^/v[0-9]+/items$" }}
            direct_response: {{ status: 200, body: "versioned\n" }}
          - name: prod
            match: {{ prefix: /api, headers: [ {{ name: x-env, exact: prod }} ] }}
            direct_response: {{ status: 200, body: "prod\n" }}
          - name: canary
            match: {{ prefix: /api, headers: [ {{ name: x-env, prefix: canary- }} ] }}
            direct_response: {{ status: 200, body: "canary\n" }}
          - name: numbered
            match: {{ prefix: /api, headers: [ {{ name: x-env, regex: "^[0-9]+$" }} ] }}
            direct_response: {{ status: 200, body: "numbered\n" }}
          - name: traced
            match: {{ prefix: /api, headers: [ {{ name: x-trace, present: true }} ] }}
            direct_response: {{ status: 200, body: "traced\n" }}
          - name: not-beta
            match: {{ prefix: /api, headers: [ {{ name: x-env, exact: beta, invert: true }} ] }}
            direct_response: {{ status: 200, body: "not beta\n" }}
          - name: maintenance
            match: {{ prefix: /maintenance }}
            direct_response: {{ status: 503, body: "down\n" }}
          - name: old
            match: {{ prefix: /old }}
            redirect: {{ path: /new, response_code: 301 }}
          - name: headers
            match: {{ path: /headers }}
            route: {{ cluster: web }}
            request_headers_to_add: [ {{ name: x-via, value: periscope }} ]
            request_headers_to_remove: [ x-debug ]
          - name: bytes
            match: {{ prefix: /bytes }}
            route: {{ cluster: web, timeout: 5s }}
            response_headers_to_add: [ {{ name: x-served-by, value: periscope }} ]
            response_headers_to_remove: [ server ]
clusters:
  - name: web
    protocol: http1
    connect_timeout: 2s
    endpoints: ["{nginx}"]
"#,
        admin = admin_block(),
        listen = listen_addr(),
    )
}

/// GET `path` with `Host: host` and extra headers; returns status and body.
fn get(px: &Periscope, host: &str, path: &str, headers: &[(&str, &str)]) -> (u16, String) {
    let mut curl = Curl::get(&px.url("edge", path)).header("host", host);
    for (k, v) in headers {
        curl = curl.header(k, v);
    }
    let r = curl.run();
    (r.status, r.body_text())
}

fn start() -> (Nginx, Periscope) {
    let nginx = Nginx::start();
    let px = Periscope::start(|| routing_config(nginx.h1));
    (nginx, px)
}

#[test]
fn virtual_hosts_match_exact_then_suffix_then_any() {
    let (_nginx, px) = start();
    let ok = |body: &str| (200, body.to_string());
    assert_eq!(get(&px, "api.example.com", "/x", &[]), ok("exact host\n"));
    assert_eq!(get(&px, "www.example.com", "/x", &[]), ok("suffix host\n"));
    assert_eq!(get(&px, "a.b.example.com", "/x", &[]), ok("suffix host\n"));
    assert_eq!(get(&px, "other.org", "/healthz", &[]), ok("ok\n"));
    assert_eq!(get(&px, "example.com", "/healthz", &[]), ok("ok\n"));
    px.wait_metric(REQUESTS, &[("route", "exact-host")], 1.0);
    px.wait_metric(REQUESTS, &[("route", "suffix-host")], 2.0);
    px.wait_metric(REQUESTS, &[("route", "health")], 2.0);
}

#[test]
fn paths_match_by_exact_path_regex_and_prefix() {
    let (_nginx, px) = start();
    let h = "site.org";
    assert_eq!(get(&px, h, "/healthz", &[]), (200, "ok\n".into()));
    assert_eq!(get(&px, h, "/v2/items", &[]), (200, "versioned\n".into()));
    assert_eq!(get(&px, h, "/v10/items", &[]), (200, "versioned\n".into()));
    assert_eq!(
        get(&px, h, "/maintenance/window", &[]),
        (503, "down\n".into())
    );
    // Near misses fall through to no route at all.
    assert_eq!(
        get(&px, h, "/healthz/deep", &[]),
        (404, "no route\n".into())
    );
    assert_eq!(get(&px, h, "/v2/items/7", &[]), (404, "no route\n".into()));
    assert_eq!(get(&px, h, "/vx/items", &[]), (404, "no route\n".into()));
    px.wait_metric(REQUESTS, &[("route", "health")], 1.0);
    px.wait_metric(REQUESTS, &[("route", "versioned")], 2.0);
    px.wait_metric(
        REQUESTS,
        &[("route", "maintenance"), ("error_type", "503")],
        1.0,
    );
    px.wait_metric(
        REQUESTS,
        &[("route", ""), ("http_response_status_code", "404")],
        3.0,
    );
}

#[test]
fn headers_pick_the_route() {
    let (_nginx, px) = start();
    let h = "site.org";
    let cases: [(&[(&str, &str)], &str); 6] = [
        (&[("x-env", "prod")], "prod\n"),
        (&[("x-env", "canary-7")], "canary\n"),
        (&[("x-env", "42")], "numbered\n"),
        (&[("x-env", "beta"), ("x-trace", "1")], "traced\n"),
        (&[("x-env", "dev")], "not beta\n"),
        (&[("x-env", "prodx")], "not beta\n"),
    ];
    for (headers, body) in cases {
        assert_eq!(
            get(&px, h, "/api/v1", headers),
            (200, body.into()),
            "{headers:?}"
        );
    }
    assert_eq!(
        get(&px, h, "/api/v1", &[("x-env", "beta")]),
        (404, "no route\n".into())
    );
    px.wait_metric(REQUESTS, &[("route", "not-beta")], 2.0);
    px.wait_metric(REQUESTS, &[("route", "prod")], 1.0);
}

#[test]
fn redirect_answers_with_its_status_and_location() {
    let (_nginx, px) = start();
    let r = Curl::get(&px.url("edge", "/old/page"))
        .header("host", "site.org")
        .run();
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("http://site.org/new"));
    px.wait_metric(
        REQUESTS,
        &[("route", "old"), ("http_response_status_code", "301")],
        1.0,
    );
}

#[test]
fn redirect_keeps_the_query_string() {
    let (_nginx, px) = start();
    let r = Curl::get(&px.url("edge", "/old?x=1&y=two"))
        .header("host", "site.org")
        .run();
    assert_eq!(r.status, 301);
    assert_eq!(r.header("location"), Some("http://site.org/new?x=1&y=two"));
    px.wait_metric(REQUESTS, &[("route", "old")], 1.0);
}

#[test]
fn routed_response_gets_header_edits() {
    let (_nginx, px) = start();
    let r = Curl::get(&px.url("edge", "/bytes/1k"))
        .header("host", "site.org")
        .run();
    assert_eq!((r.status, r.body.len()), (200, 1024), "{}", r.stderr);
    assert_eq!(
        r.header("x-served-by"),
        Some("periscope"),
        "{:?}",
        r.headers
    );
    assert_eq!(
        r.header("server"),
        None,
        "server header not removed: {:?}",
        r.headers
    );
    px.wait_metric(
        REQUESTS,
        &[
            ("route", "bytes"),
            ("cluster", "web"),
            ("http_response_status_code", "200"),
        ],
        1.0,
    );
}

/// nginx's `/headers` answers with the request headers it received.
fn headers_seen_by_nginx(px: &Periscope, extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut curl = Curl::get(&px.url("edge", "/headers")).header("host", "site.org");
    for (k, v) in extra {
        curl = curl.header(k, v);
    }
    let r = curl.run();
    assert_eq!(r.status, 200, "{}", r.stderr);
    r.body_text()
        .lines()
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn seen<'a>(headers: &'a [(String, String)], name: &str) -> &'a str {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
        .unwrap_or_default()
}

#[test]
fn request_headers_are_added_removed_and_forwarded_for() {
    let (_nginx, px) = start();
    let h = headers_seen_by_nginx(&px, &[("x-debug", "1")]);
    assert_eq!(seen(&h, "x-via"), "periscope", "{h:?}");
    assert_eq!(seen(&h, "x-debug"), "", "x-debug not removed: {h:?}");
    assert_eq!(seen(&h, "x-forwarded-for"), "127.0.0.1", "{h:?}");
    assert!(
        !seen(&h, "x-request-id").is_empty(),
        "no x-request-id set: {h:?}"
    );

    let h = headers_seen_by_nginx(
        &px,
        &[("x-forwarded-for", "10.0.0.1"), ("x-request-id", "abc-123")],
    );
    assert_eq!(seen(&h, "x-forwarded-for"), "10.0.0.1, 127.0.0.1", "{h:?}");
    assert_eq!(
        seen(&h, "x-request-id"),
        "abc-123",
        "client's id replaced: {h:?}"
    );
    px.wait_metric(REQUESTS, &[("route", "headers"), ("cluster", "web")], 2.0);
}

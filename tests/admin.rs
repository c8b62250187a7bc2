//! The admin port: readiness, the effective config and the clusters, as a
//! dashboard or an operator would read them.
mod common;

use common::configs::{proxy, routed};
use common::{closed_addr, Curl, HyperClient, Nginx, Periscope};
use std::net::SocketAddr;

#[test]
fn ready_says_ready() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let (status, body) = px.admin_get("/ready");
    assert_eq!((status, body.trim()), (200, "ready"));
}

#[test]
fn config_dump_is_json_of_the_effective_config() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let (status, body) = px.admin_get("/config_dump");
    assert_eq!(status, 200, "{body}");
    let dump: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let text = dump.to_string();
    for expected in [
        "edge",
        "web",
        &nginx.h1.to_string(),
        &px.addr("edge").to_string(),
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from /config_dump: {text}"
        );
    }
}

#[test]
fn clusters_lists_each_cluster_and_endpoint() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let (status, body) = px.admin_get("/clusters");
    assert_eq!(status, 200, "{body}");
    let clusters: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let text = clusters.to_string();
    assert!(text.contains("\"web\""), "{text}");
    assert!(text.contains(&nginx.h1.to_string()), "{text}");
}

#[test]
fn clusters_count_each_proxied_request_exactly() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let client = HyperClient::http1();
    for _ in 0..7 {
        assert_eq!(client.get(&px.url("edge", "/")).status, 200);
    }
    px.wait_endpoint_stat("web", nginx.h1, "requests", 7);
    let stats = px.endpoint_stats("web", nginx.h1);
    assert_eq!(stats["failures"], 0, "{stats}");
    assert_eq!(stats["connect_failures"], 0, "{stats}");
    // Seven requests in a row reuse one pooled upstream connection.
    assert_eq!(stats["connections"], 1, "{stats}");
}

#[test]
fn clusters_count_connect_failures_of_a_dead_endpoint() {
    let closed = closed_addr();
    let px = Periscope::start(|| proxy("http", "http1", closed));
    for _ in 0..3 {
        assert_eq!(Curl::get(&px.url("edge", "/")).run().status, 503);
    }
    px.wait_endpoint_stat("web", closed, "connect_failures", 3);
    let stats = px.endpoint_stats("web", closed);
    assert_eq!(stats["requests"], 3, "{stats}");
    assert_eq!(stats["connections"], 0, "{stats}");
    let (_, body) = px.admin_get("/clusters");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("/clusters JSON");
    assert_eq!(doc["clusters"][0]["name"], "web", "{body}");
    assert_eq!(doc["clusters"][0]["lb_policy"], "round_robin", "{body}");
}

/// Route `plain` sets no timeout, `unlimited` sets `0s` (none at all).
fn timeouts_config(upstream: SocketAddr) -> String {
    let routes = [
        ("plain", "/a", "{ cluster: web }"),
        ("unlimited", "/b", "{ cluster: web, timeout: 0s }"),
    ];
    routed(&routes, "web", "http1", upstream, "")
}

#[test]
fn config_dump_shows_the_default_route_timeout() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| timeouts_config(nginx.h1));
    let (status, body) = px.admin_get("/config_dump");
    assert_eq!(status, 200, "{body}");
    let dump: serde_json::Value = serde_json::from_str(&body).expect("config_dump JSON");
    let routes = &dump["listeners"][0]["virtual_hosts"][0]["routes"];
    assert_eq!(routes[0]["name"], "plain", "{body}");
    assert_eq!(routes[0]["route"]["timeout"], "15s", "{body}");
    assert_eq!(routes[1]["route"]["timeout"], "0s", "{body}");
}

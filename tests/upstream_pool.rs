//! Periscope's own HTTP/1.1 upstream pool against real nginx: keep-alive
//! reuse seen from nginx's side (`/stub_status`) and in `/clusters`, and the
//! `max_connections` / `max_pending_requests` circuit breakers on the L7
//! path (waiting requests served later, overflow answered 503 at once).
mod common;

use common::configs::one_route;
use common::{HyperClient, Nginx, Periscope};

const OVERFLOW: &str = "periscope_circuit_breaker_overflow_total";

/// Everything to the HTTP/1.1 cluster `web` on nginx, with the given
/// circuit breakers (YAML flow map or "").
fn config(nginx: &Nginx, breakers: &str) -> String {
    let breakers = if breakers.is_empty() {
        String::new()
    } else {
        format!("    circuit_breakers: {breakers}\n")
    };
    one_route(&[nginx.h1], "timeout: 20s", &breakers)
}

/// Upstream connections nginx accepted between two `handled` readings.
fn opened_between(before: u64, after: u64) -> u64 {
    // The second reading's own connection is counted in `after`.
    after - before - 1
}

/// `n` concurrent GETs of `path` through the proxy, each on its own
/// client connection: (status, overloaded header, body length) each.
fn concurrently(px: &Periscope, n: usize, path: &str) -> Vec<(u16, bool, usize)> {
    let threads: Vec<_> = (0..n)
        .map(|_| {
            let url = px.url("edge", path);
            std::thread::spawn(move || {
                let response = HyperClient::http1().get(&url);
                let overloaded = response.header("x-envoy-overloaded") == Some("true");
                (response.status.as_u16(), overloaded, response.body.len())
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().expect("client"))
        .collect()
}

#[test]
fn sequential_requests_share_one_upstream_connection() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| config(&nginx, ""));
    let before = nginx.handled_connections();
    for _ in 0..10 {
        // A new client connection each time: reuse is upstream-side.
        let response = HyperClient::http1().get(&px.url("edge", "/bytes/1k"));
        assert_eq!((response.status.as_u16(), response.body.len()), (200, 1024));
    }
    assert_eq!(opened_between(before, nginx.handled_connections()), 1);
    px.wait_endpoint_stat("web", nginx.h1, "connections", 1);
    px.wait_endpoint_stat("web", nginx.h1, "requests", 10);
    // Envoy's upstream_cx_active / upstream_rq_active / pending: the idle
    // pooled connection is open, nothing is in flight or waiting.
    let web = [("cluster", "web")];
    px.wait_metric("periscope_upstream_connections_active", &web, 1.0);
    px.wait_metric("periscope_upstream_requests_active", &web, 0.0);
    px.wait_metric("periscope_upstream_requests_pending", &web, 0.0);
    px.wait_metric("periscope_upstream_retries_active", &web, 0.0);
}

/// Six slow downloads at once with `max_connections: 2`: two connections
/// serve them all, four requests wait their turn (counted once each as a
/// connection overflow), none is refused.
#[test]
fn past_max_connections_requests_wait_and_are_served() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| config(&nginx, "{ max_connections: 2 }"));
    let before = nginx.handled_connections();
    let answers = concurrently(&px, 6, "/slow/64k");
    assert!(
        answers.iter().all(|a| *a == (200, false, 64 * 1024)),
        "{answers:?}"
    );
    assert_eq!(opened_between(before, nginx.handled_connections()), 2);
    px.wait_endpoint_stat("web", nginx.h1, "connections", 2);
    px.wait_metric(
        "periscope_upstream_connections_active",
        &[("cluster", "web")],
        2.0,
    );
    px.wait_metric(
        OVERFLOW,
        &[("cluster", "web"), ("breaker", "connections")],
        4.0,
    );
    px.wait_metric(OVERFLOW, &[("cluster", "web"), ("breaker", "pending")], 0.0);
}

/// One connection, one waiting request: of three slow downloads at once,
/// the third is refused at once with 503 `x-envoy-overloaded`, counted as
/// a pending overflow; the other two are served one after the other.
#[test]
fn past_max_pending_requests_a_request_is_refused_at_once() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| config(&nginx, "{ max_connections: 1, max_pending_requests: 1 }"));
    let answers = concurrently(&px, 3, "/slow/64k");
    let served = answers.iter().filter(|a| **a == (200, false, 64 * 1024));
    assert_eq!(served.count(), 2, "{answers:?}");
    let refused = answers.iter().filter(|a| a.0 == 503 && a.1);
    assert_eq!(refused.count(), 1, "{answers:?}");
    px.wait_metric(OVERFLOW, &[("cluster", "web"), ("breaker", "pending")], 1.0);
    px.wait_endpoint_stat("web", nginx.h1, "connections", 1);
    // The slots all came back.
    let (_, clusters) = px.admin_get("/clusters");
    let doc: serde_json::Value = serde_json::from_str(&clusters).expect("/clusters JSON");
    let breakers = &doc["clusters"][0]["circuit_breakers"];
    assert_eq!(breakers["pending_requests"], 0, "{breakers}");
    assert_eq!(breakers["max_pending_requests"], 1, "{breakers}");
}

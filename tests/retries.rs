//! Retries, per-try timeouts and circuit breakers against real nginx
//! upstreams (and a closed port, and a server that never answers): what the
//! client sees, and the exact retry and overflow counts.
mod common;

use common::configs::one_route;
use common::{closed_addr, EchoServer, HyperClient, Nginx, Periscope};
use std::net::SocketAddr;
use std::time::{Duration, Instant};

const RETRIES: &str = "periscope_upstream_retries_total";
const OVERFLOW: &str = "periscope_circuit_breaker_overflow_total";
const CONNECT_FAILURES: &str = "periscope_upstream_connect_failures_total";

/// Route `all` to cluster `web` at `endpoints` with a 3 s timeout, the
/// given retry policy (YAML flow map, or "" for none) and cluster extras.
fn config(endpoints: &[SocketAddr], retry_policy: &str, cluster_extra: &str) -> String {
    let retry = if retry_policy.is_empty() {
        String::new()
    } else {
        format!(", retry_policy: {retry_policy}")
    };
    one_route(endpoints, &format!("timeout: 3s{retry}"), cluster_extra)
}

/// A closed port beside nginx: every request that picks it first is sent
/// again to nginx, so the client sees only 200s; each connect failure is
/// exactly one retry. A small POST body is kept and sent again too.
#[test]
fn connect_failures_are_retried_on_another_endpoint() {
    let nginx = Nginx::start();
    let closed = closed_addr();
    let px = Periscope::start(|| {
        config(
            &[closed, nginx.h1],
            "{ retry_on: connect-failure, num_retries: 2 }",
            "",
        )
    });
    let client = HyperClient::http1();
    for _ in 0..20 {
        assert_eq!(client.get(&px.url("edge", "/")).status, 200);
    }
    for _ in 0..4 {
        let r = client.post(&px.url("edge", "/length"), "0123456789");
        assert_eq!((r.status.as_u16(), r.body_text().as_str()), (200, "10\n"));
    }
    let failures = px.metric(CONNECT_FAILURES, &[("cluster", "web")]);
    assert!(failures >= 1.0, "the closed port was picked");
    px.wait_metric(RETRIES, &[("cluster", "web")], failures);
    px.wait_metric(
        "http_server_request_duration_seconds_count",
        &[("http_response_status_code", "200")],
        24.0,
    );
}

/// 503 answers are retried up to `num_retries`, then the last answer goes
/// to the client; without a policy nothing is retried.
#[test]
fn server_errors_are_retried_up_to_the_limit() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| config(&[nginx.h1], "{ retry_on: 5xx, num_retries: 2 }", ""));
    let client = HyperClient::http1();
    for _ in 0..5 {
        assert_eq!(client.get(&px.url("edge", "/status/503")).status, 503);
    }
    assert_eq!(client.get(&px.url("edge", "/status/404")).status, 404);
    px.wait_metric(RETRIES, &[("cluster", "web")], 10.0);

    let plain = Periscope::start(|| config(&[nginx.h1], "", ""));
    assert_eq!(client.get(&plain.url("edge", "/status/503")).status, 503);
    plain.wait_metric(RETRIES, &[("cluster", "web")], 0.0);
}

/// An endpoint that accepts and never answers: the per-try timeout moves
/// the request on to nginx well before the route timeout.
#[test]
fn a_silent_endpoint_is_left_after_the_per_try_timeout() {
    let nginx = Nginx::start();
    let silent = EchoServer::silent();
    let px = Periscope::start(|| {
        config(
            &[silent.addr, nginx.h1],
            "{ retry_on: reset, num_retries: 1, per_try_timeout: 200ms }",
            "",
        )
    });
    let client = HyperClient::http1();
    let started = Instant::now();
    for _ in 0..6 {
        assert_eq!(client.get(&px.url("edge", "/")).status, 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "per try, not per route"
    );
    let retries = px.metric(RETRIES, &[("cluster", "web")]);
    assert!(retries >= 1.0);
    px.wait_metric(
        "periscope_upstream_errors_total",
        &[("cluster", "web"), ("reason", "timeout")],
        retries,
    );
}

/// An upstream killed mid-load: with retries on, the client never sees a
/// failure; the survivor takes the traffic.
#[test]
fn killing_an_upstream_mid_load_fails_no_request() {
    let survivor = Nginx::start();
    let doomed = Nginx::start();
    let px = Periscope::start(|| {
        config(
            &[doomed.h1, survivor.h1],
            "{ retry_on: \"connect-failure,reset,5xx\", num_retries: 2 }",
            "",
        )
    });
    let client = HyperClient::http1();
    let mut doomed = Some(doomed);
    for i in 0..200 {
        if i == 60 {
            drop(doomed.take());
        }
        let r = client.get(&px.url("edge", "/port"));
        assert_eq!(r.status, 200, "request {i}: {}", r.body_text());
    }
    assert!(px.metric(RETRIES, &[("cluster", "web")]) >= 1.0);
}

/// `max_requests: 1` with a request hanging on a silent endpoint: the next
/// request is refused at once with 503 and `x-envoy-overloaded`, counted.
#[test]
fn the_request_circuit_breaker_answers_overflow_at_once() {
    let silent = EchoServer::silent();
    let px = Periscope::start(|| {
        config(
            &[silent.addr],
            "",
            "    circuit_breakers: { max_requests: 1 }\n",
        )
    });
    let url = px.url("edge", "/");
    let hanging = std::thread::spawn(move || HyperClient::http1().get(&url).status);
    px.wait_endpoint_stat("web", silent.addr, "active_requests", 1);
    let started = Instant::now();
    let refused = HyperClient::http1().get(&px.url("edge", "/"));
    assert!(started.elapsed() < Duration::from_secs(1));
    assert_eq!(refused.status, 503);
    assert_eq!(refused.header("x-envoy-overloaded"), Some("true"));
    px.wait_metric(
        OVERFLOW,
        &[("cluster", "web"), ("breaker", "requests")],
        1.0,
    );
    assert_eq!(hanging.join().expect("hanging request"), 504);
}

/// Retries in flight are bounded: with `max_retries: 1` (and again with a
/// retry budget of 25 % of four requests), four requests timing out at once
/// on a silent endpoint make one retry; the other three are answered at once
/// and counted as retry overflow.
#[test]
fn retries_beyond_the_breaker_or_the_budget_are_not_made() {
    let silent = EchoServer::silent();
    for breakers in [
        "    circuit_breakers: { max_retries: 1 }\n",
        "    circuit_breakers: { retry_budget: { budget_percent: 25, min_retry_concurrency: 1 } }\n",
    ] {
        let px = Periscope::start(|| {
            config(
                &[silent.addr],
                "{ retry_on: reset, num_retries: 1, per_try_timeout: 300ms }",
                breakers,
            )
        });
        let url = px.url("edge", "/");
        let requests: Vec<_> = (0..4)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || HyperClient::http1().get(&url).status)
            })
            .collect();
        for request in requests {
            assert_eq!(request.join().expect("request"), 504, "{breakers}");
        }
        px.wait_metric(RETRIES, &[("cluster", "web")], 1.0);
        px.wait_metric(
            OVERFLOW,
            &[("cluster", "web"), ("breaker", "retries")],
            3.0,
        );
    }
}

/// SIGSTOP or SIGCONT to nginx (the tests run it as one process,
/// `master_process off`).
fn signal_nginx(nginx: &Nginx, signal: &str) {
    let status = std::process::Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(nginx.pid().to_string())
        .status()
        .expect("kill");
    assert!(status.success());
}

/// An upstream paused mid-load (SIGSTOP: it accepts connections but never
/// answers): per-try timeouts move its requests to the other endpoint, the
/// client sees no failure, and after SIGCONT it serves again.
#[test]
fn pausing_an_upstream_mid_load_fails_no_request() {
    let steady = Nginx::start();
    let paused = Nginx::start();
    let px = Periscope::start(|| {
        config(
            &[paused.h1, steady.h1],
            "{ retry_on: \"reset,5xx\", num_retries: 2, per_try_timeout: 150ms }",
            "",
        )
    });
    let client = HyperClient::http1();
    let mut answered_by = std::collections::BTreeMap::new();
    for i in 0..60 {
        if i == 20 {
            signal_nginx(&paused, "STOP");
        }
        if i == 40 {
            signal_nginx(&paused, "CONT");
        }
        let r = client.get(&px.url("edge", "/port"));
        assert_eq!(r.status, 200, "request {i}: {}", r.body_text());
        *answered_by.entry((i / 20, r.body_text())).or_insert(0) += 1;
    }
    let paused_port = format!("{}\n", paused.h1.port());
    assert!(
        !answered_by.contains_key(&(1, paused_port.clone())),
        "nothing answered by the paused upstream: {answered_by:?}"
    );
    assert!(px.metric(RETRIES, &[("cluster", "web")]) >= 1.0);
    assert!(
        answered_by.contains_key(&(2, paused_port)),
        "it serves again after SIGCONT: {answered_by:?}"
    );
}

//! Active health checks and outlier detection against real upstreams:
//! nginx killed mid-load leaves the rotation and comes back after
//! `healthy_threshold` passing checks; an HTTP check path answering 503
//! takes its endpoint out while a slow download on it finishes; TCP checks
//! (connect, send/receive); gRPC checks against the greeter's
//! grpc.health.v1; only 200 passing an HTTP check unless configured;
//! consecutive 5xx and L4 connect failures eject, within
//! `max_ejection_percent`, for `base_ejection_time`.
mod common;

use common::configs::{checked_http1, endpoints_yaml as endpoints, listener_per_cluster as config};
use common::grpc::GreeterServer;
use common::raw_http::http_get;
use common::{closed_addr, eventually, HyperClient, Nginx, Periscope};
use serde_json::Value;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

/// Long enough for a few check intervals of 200 ms on a busy machine.
const SETTLE: Duration = Duration::from_secs(10);

/// Fast checks: 200 ms apart, out after 2 failures, back after 2 passes.
const FAST_HTTP_CHECK: &str = "{ interval: 200ms, interval_jitter: 50ms, timeout: 500ms, \
     unhealthy_threshold: 2, healthy_threshold: 2, http: { path: /health } }";

/// `/clusters` entry of one endpoint.
fn endpoint(px: &Periscope, cluster: &str, address: SocketAddr) -> Value {
    px.endpoint_stats(cluster, address)
}

fn wait_state(px: &Periscope, cluster: &str, address: SocketAddr, state: &str) -> Value {
    let deadline = std::time::Instant::now() + SETTLE;
    loop {
        let e = endpoint(px, cluster, address);
        if e["state"] == state {
            return e;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{cluster} {address} not {state} after {SETTLE:?}: {e}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn port_of(body: &str) -> u16 {
    body.trim()
        .parse()
        .unwrap_or_else(|_| panic!("not a port: {body:?}"))
}

#[test]
fn a_killed_upstream_leaves_the_rotation_and_returns_after_healthy_threshold() {
    let mut upstreams: Vec<Nginx> = (0..3).map(|_| Nginx::start()).collect();
    let addresses: Vec<SocketAddr> = upstreams.iter().map(|n| n.h1).collect();
    let px = Periscope::start(|| {
        config(&[(
            "web",
            "http",
            format!(
                "    protocol: http1\n    connect_timeout: 1s\n{}    health_check: {FAST_HTTP_CHECK}\n    \
                 outlier_detection: {{ consecutive_5xx: 3, interval: 200ms, base_ejection_time: 1s }}\n",
                endpoints(&addresses)
            ),
        )])
    });
    for a in &addresses {
        wait_state(&px, "web", *a, "healthy");
    }

    // Load from another thread for the whole test.
    let stop = Arc::new(AtomicBool::new(false));
    let failed = Arc::new(AtomicUsize::new(0));
    let url = px.url("web", "/port");
    let load = {
        let (stop, failed) = (stop.clone(), failed.clone());
        std::thread::spawn(move || {
            let client = HyperClient::http1();
            let mut served = 0usize;
            while !stop.load(Ordering::Relaxed) {
                match client.try_send(http::Method::GET, &url, &[], Default::default()) {
                    Ok(r) if r.status == 200 => served += 1,
                    _ => {
                        failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
            }
            served
        })
    };

    upstreams[0].stop();
    let dead = wait_state(&px, "web", addresses[0], "unhealthy");
    assert!(
        dead["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("connect"),
        "{dead}"
    );
    px.wait_metric(
        "periscope_endpoint_healthy",
        &[("cluster", "web"), ("endpoint", &addresses[0].to_string())],
        0.0,
    );
    px.wait_metric(
        "periscope_cluster_endpoints",
        &[("cluster", "web"), ("state", "healthy")],
        2.0,
    );
    // Out of rotation: no more traffic is sent its way.
    let before = endpoint(&px, "web", addresses[0])["requests"].clone();
    let failed_before = failed.load(Ordering::Relaxed);
    let client = HyperClient::http1();
    for _ in 0..60 {
        let response = client.get(&px.url("web", "/port"));
        assert_eq!(response.status, 200, "{}", response.body_text());
        assert_ne!(port_of(&response.body_text()), addresses[0].port());
    }
    assert_eq!(endpoint(&px, "web", addresses[0])["requests"], before);
    assert_eq!(failed.load(Ordering::Relaxed), failed_before);
    // Before it was noticed, a few requests may have failed over to 503s
    // (no retries here): bounded by the detection time.
    assert!(failed_before < 200, "{failed_before} failures");

    let passed_before = endpoint(&px, "web", addresses[0])["health_checks_passed"]
        .as_u64()
        .unwrap_or_default();
    upstreams[0].restart();
    let back = wait_state(&px, "web", addresses[0], "healthy");
    let passed = back["health_checks_passed"].as_u64().unwrap_or_default();
    assert!(passed >= passed_before + 2, "healthy_threshold 2: {back}");
    eventually("traffic on the returned upstream", SETTLE, || {
        let body = client.get(&px.url("web", "/port")).body_text();
        (port_of(&body) == addresses[0].port()).then_some(())
    });
    stop.store(true, Ordering::Relaxed);
    let served = load.join().expect("load thread");
    assert!(served > 0);
    let log = px.log();
    assert!(log.contains("endpoint unhealthy: out of rotation"), "{log}");
    assert!(log.contains("endpoint healthy: back in rotation"), "{log}");
}

#[test]
fn a_failing_health_path_takes_the_endpoint_out_without_cutting_requests_in_flight() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| {
        config(&[(
            "flap",
            "http",
            format!(
                "    protocol: http1\n    healthy_panic_threshold: 0\n{}    health_check: {FAST_HTTP_CHECK}\n",
                endpoints(&[nginx.h1])
            ),
        )])
    });
    wait_state(&px, "flap", nginx.h1, "healthy");

    // 1 MiB at 256 KiB/s: in flight for about four seconds.
    let url = px.url("flap", "/slow/1m");
    let download = std::thread::spawn(move || HyperClient::http1().get(&url));
    // Its headers are back long before its last byte.
    std::thread::sleep(Duration::from_millis(500));
    nginx.set_healthy(false);
    let out = wait_state(&px, "flap", nginx.h1, "unhealthy");
    assert_eq!(out["reason"], "http status 503", "{out}");
    // With no eligible endpoint and no panic threshold, new requests get 503.
    let client = HyperClient::http1();
    let refused = client.get(&px.url("flap", "/"));
    assert_eq!(refused.status, 503);
    assert_eq!(refused.body_text(), "no healthy upstream\n");
    assert!(
        px.metric(
            "periscope_health_checks_total",
            &[("cluster", "flap"), ("result", "failure")]
        ) >= 2.0
    );

    let downloaded = download.join().expect("download thread");
    assert_eq!(downloaded.status, 200);
    assert_eq!(
        downloaded.body.len(),
        1024 * 1024,
        "the flap cut the download"
    );

    nginx.set_healthy(true);
    wait_state(&px, "flap", nginx.h1, "healthy");
    assert_eq!(client.get(&px.url("flap", "/")).status, 200);
}

/// As in Envoy, 200 alone passes an HTTP check unless `expected_statuses`
/// says otherwise: a 204 fails by default and passes where it is listed.
#[test]
fn an_http_check_expects_200_unless_told_otherwise() {
    let nginx = Nginx::start();
    let check = |expected: &str| {
        let check = format!(
            "{{ interval: 200ms, timeout: 500ms, unhealthy_threshold: 1, \
             healthy_threshold: 1, http: {{ path: /status/204{expected} }} }}"
        );
        checked_http1(&[nginx.h1], &check)
    };
    let px = Periscope::start(|| {
        config(&[
            ("strict", "http", check("")),
            (
                "lenient",
                "http",
                check(", expected_statuses: [ { start: 200, end: 300 } ]"),
            ),
        ])
    });
    let out = wait_state(&px, "strict", nginx.h1, "unhealthy");
    assert_eq!(out["reason"], "http status 204", "{out}");
    // Endpoints start in rotation: a passed check must be seen, not assumed.
    px.wait_metric_at_least(
        "periscope_health_checks_total",
        &[("cluster", "lenient"), ("result", "success")],
        1.0,
    );
    wait_state(&px, "lenient", nginx.h1, "healthy");
}

#[test]
fn tcp_checks_connect_and_match_the_reply_in_order() {
    let nginx = Nginx::start();
    let closed = closed_addr();
    let check = |extra: &str| {
        format!("    health_check: {{ interval: 200ms, timeout: 500ms, tcp: {{ {extra} }} }}\n")
    };
    let ask = r#"send: { text: "GET /port HTTP/1.0\r\n\r\n" }"#;
    let port = nginx.h1.port();
    let px = Periscope::start(|| {
        config(&[
            (
                "connect",
                "tcp",
                endpoints(&[nginx.h1, closed]) + &check(""),
            ),
            (
                "reply",
                "tcp",
                endpoints(&[nginx.h1])
                    + &check(&format!(
                        "{ask}, receive: [ {{ text: \"200 OK\" }}, {{ text: \"{port}\" }} ]"
                    )),
            ),
            (
                "wrong",
                "tcp",
                endpoints(&[nginx.h1])
                    + &check(&format!("{ask}, receive: [ {{ hex: \"3530302049\" }} ]")),
            ),
        ])
    });
    wait_state(&px, "connect", nginx.h1, "healthy");
    let refused = wait_state(&px, "connect", closed, "unhealthy");
    assert!(
        refused["reason"]
            .as_str()
            .unwrap_or_default()
            .starts_with("connect:"),
        "{refused}"
    );
    let wrong = wait_state(&px, "wrong", nginx.h1, "unhealthy");
    assert!(
        wrong["reason"]
            .as_str()
            .unwrap_or_default()
            .contains("lacks the expected bytes"),
        "{wrong}"
    );
    eventually("the reply check passing", SETTLE, || {
        let e = endpoint(&px, "reply", nginx.h1);
        (e["state"] == "healthy" && e["health_checks_passed"].as_u64() >= Some(2)).then_some(())
    });
    // The L4 path only dials the endpoint that passes.
    for _ in 0..10 {
        let (status, body) = http_get(px.addr("connect"), "/port").expect("relayed GET");
        assert_eq!((status, port_of(&body)), (200, port));
    }
    assert_eq!(endpoint(&px, "connect", closed)["connect_failures"], 0);
    assert!(
        px.metric(
            "periscope_health_checks_total",
            &[("cluster", "wrong"), ("result", "failure")]
        ) >= 1.0
    );
}

#[test]
fn grpc_checks_ask_grpc_health_v1() {
    let greeter = GreeterServer::start();
    let grpc = |service: &str| {
        format!(
            "    protocol: h2c\n{}    health_check: {{ interval: 200ms, timeout: 1s, grpc: {{ service_name: \"{service}\" }} }}\n",
            endpoints(&[greeter.addr])
        )
    };
    let px = Periscope::start(|| {
        config(&[
            ("greeter", "http", grpc("periscope.test.Greeter")),
            ("server", "http", grpc("")),
            ("unknown", "http", grpc("no.such.Service")),
        ])
    });
    eventually("greeter checks passing", SETTLE, || {
        let e = endpoint(&px, "greeter", greeter.addr);
        (e["health_checks_passed"].as_u64() >= Some(2)).then_some(())
    });
    assert_eq!(endpoint(&px, "greeter", greeter.addr)["state"], "healthy");
    wait_state(&px, "server", greeter.addr, "healthy");
    // grpcio's health servicer answers NOT_FOUND for an unknown service.
    let unknown = wait_state(&px, "unknown", greeter.addr, "unhealthy");
    assert_eq!(unknown["reason"], "grpc-status 5", "{unknown}");
    let (_, body) = px.admin_get("/clusters");
    let doc: Value = serde_json::from_str(&body).expect("json");
    assert_eq!(doc["clusters"][0]["health_check"], "grpc", "{body}");
}

#[test]
fn consecutive_failures_eject_within_max_percent_for_base_ejection_time() {
    let upstreams: Vec<Nginx> = (0..2).map(|_| Nginx::start()).collect();
    let addresses: Vec<SocketAddr> = upstreams.iter().map(|n| n.h1).collect();
    let closed = closed_addr();
    let outlier =
        "    outlier_detection: { consecutive_5xx: 3, interval: 100ms, base_ejection_time: 700ms }\n";
    let px = Periscope::start(|| {
        config(&[
            (
                "errors",
                "http",
                format!("    protocol: http1\n{}{outlier}", endpoints(&addresses)),
            ),
            (
                "relay",
                "tcp",
                endpoints(&[upstreams[0].h1, closed])
                    + "    outlier_detection: { consecutive_5xx: 3 }\n",
            ),
        ])
    });
    // Both upstreams answer 500: only one may be ejected (max 10%, but
    // always one).
    let client = HyperClient::http1();
    for _ in 0..8 {
        assert_eq!(client.get(&px.url("errors", "/status/500")).status, 500);
    }
    let states: Vec<Value> = addresses
        .iter()
        .map(|a| endpoint(&px, "errors", *a))
        .collect();
    let ejected: Vec<&Value> = states.iter().filter(|e| e["state"] == "ejected").collect();
    assert_eq!(ejected.len(), 1, "{states:?}");
    assert_eq!(ejected[0]["reason"], "consecutive_5xx");
    assert_eq!(ejected[0]["ejections"], 1);
    px.wait_metric(
        "periscope_outlier_ejections_total",
        &[("cluster", "errors"), ("reason", "consecutive_5xx")],
        1.0,
    );
    let address: SocketAddr = ejected[0]["address"]
        .as_str()
        .and_then(|a| a.parse().ok())
        .expect("address");
    let back = wait_state(&px, "errors", address, "healthy");
    assert_eq!(back["reason"], "ejection time elapsed");

    // L4: connect failures to the closed endpoint eject it; the relay then
    // only dials nginx.
    for _ in 0..6 {
        let _ = http_get(px.addr("relay"), "/port");
    }
    let out = wait_state(&px, "relay", closed, "ejected");
    let failures = out["connect_failures"].as_u64().unwrap_or_default();
    assert_eq!(failures, 3, "{out}");
    for _ in 0..10 {
        let (status, _) = http_get(px.addr("relay"), "/port").expect("relayed GET");
        assert_eq!(status, 200);
    }
    assert_eq!(endpoint(&px, "relay", closed)["connect_failures"], failures);
}

/// Envoy's success-rate detector, on by default: of five nginx upstreams
/// one answers its health path with 503 while the others answer 200; over
/// an interval with enough requests it falls far below its peers and is
/// ejected for it, and only it.
#[test]
fn the_endpoint_far_below_its_peers_success_rate_is_ejected() {
    let upstreams: Vec<Nginx> = (0..5).map(|_| Nginx::start()).collect();
    let addresses: Vec<SocketAddr> = upstreams.iter().map(|n| n.h1).collect();
    upstreams[3].set_healthy(false);
    let outlier = "    outlier_detection: { consecutive_5xx: 1000, interval: 300ms, \
                   success_rate_request_volume: 10, max_ejection_percent: 20 }\n";
    let px = Periscope::start(|| {
        config(&[(
            "rates",
            "http",
            format!("    protocol: http1\n{}{outlier}", endpoints(&addresses)),
        )])
    });
    let client = HyperClient::http1();
    let deadline = std::time::Instant::now() + SETTLE;
    while endpoint(&px, "rates", addresses[3])["state"] != "ejected" {
        assert!(
            std::time::Instant::now() < deadline,
            "not ejected: {}",
            endpoint(&px, "rates", addresses[3])
        );
        for _ in 0..50 {
            client.get(&px.url("rates", "/health"));
        }
    }
    let out = endpoint(&px, "rates", addresses[3]);
    assert_eq!(out["reason"], "success_rate", "{out}");
    // The flag is set a moment before the balancer's rotation is rebuilt
    // (under the same lock); the gauge follows the rebuild.
    let bad = addresses[3].to_string();
    px.wait_metric(
        "periscope_endpoint_healthy",
        &[("cluster", "rates"), ("endpoint", bad.as_str())],
        0.0,
    );
    // The four left all succeed: none of them is below the others.
    for _ in 0..100 {
        assert_eq!(client.get(&px.url("rates", "/health")).status, 200);
    }
    for address in [0, 1, 2, 4].map(|i| addresses[i]) {
        assert_eq!(endpoint(&px, "rates", address)["state"], "healthy");
    }
    px.wait_metric(
        "periscope_outlier_ejections_total",
        &[("cluster", "rates"), ("reason", "success_rate")],
        1.0,
    );
}

/// Envoy's `unhealthy_interval`: once out, an endpoint is checked at its
/// own pace. With checks 200 ms apart while healthy and 60 s apart once
/// out, a recovered nginx is not checked again for the rest of the test.
#[test]
fn an_endpoint_out_of_rotation_is_checked_at_the_unhealthy_interval() {
    let nginx = Nginx::start();
    let check = "{ interval: 200ms, unhealthy_interval: 60s, timeout: 500ms, \
                 unhealthy_threshold: 1, healthy_threshold: 1, http: { path: /health } }";
    let px = Periscope::start(|| config(&[("slow", "http", checked_http1(&[nginx.h1], check))]));
    wait_state(&px, "slow", nginx.h1, "healthy");
    nginx.set_healthy(false);
    wait_state(&px, "slow", nginx.h1, "unhealthy");
    let checks = |px: &Periscope| {
        px.metric(
            "periscope_health_checks_total",
            &[("cluster", "slow"), ("result", "failure")],
        )
    };
    let failures = checks(&px);
    nginx.set_healthy(true);
    std::thread::sleep(Duration::from_secs(2));
    assert_eq!(endpoint(&px, "slow", nginx.h1)["state"], "unhealthy");
    assert_eq!(checks(&px), failures, "checked again within 2 s");
}

//! gRPC with a real grpcio server and client, proxied (L7) and sniffed on a
//! `tcp` listener (L4): every call counted exactly by method, status,
//! messages and shape — the same on both paths — and failures answered the
//! way gRPC clients understand.
mod common;

use common::configs;
use common::grpc::{run_client, GreeterServer, SeenCall};
use common::{closed_addr, free_port, Periscope};
use std::collections::BTreeMap;
use std::net::SocketAddr;

const CALLS: &str = "rpc_server_call_duration_seconds_count";
const SAY_HELLO: &str = "periscope.test.Greeter/SayHello";

/// (method, status) → calls, from the client's own account.
fn by_method_and_code(calls: &[SeenCall]) -> BTreeMap<(String, String), u64> {
    let mut counts = BTreeMap::new();
    for call in calls {
        *counts
            .entry((call.method.clone(), call.code.clone()))
            .or_insert(0) += 1;
    }
    counts
}

#[test]
fn every_call_shape_is_counted_exactly_as_the_client_saw_it() {
    let greeter = GreeterServer::start();
    let px = quick(greeter.addr, "auto");
    assert_counted_as_seen(&px, "default", &run_client(px.addr("quick"), "shapes"));
    // Every call went over one multiplexed upstream connection.
    px.wait_metric(
        "periscope_upstream_connections_active",
        &[("cluster", "upstream")],
        1.0,
    );
}

/// The same calls sniffed on a `tcp` listener (the HTTP/2 parser on the L4
/// path) give identical values, with no route.
#[test]
fn sniffed_calls_on_a_tcp_listener_are_counted_the_same() {
    let greeter = GreeterServer::start();
    let px = quick(greeter.addr, "tcp");
    assert_counted_as_seen(&px, "", &run_client(px.addr("quick"), "shapes"));
    px.wait_metric(
        "periscope_detections_total",
        &[("listener", "quick"), ("protocol", "http2")],
        1.0,
    );
}

fn assert_counted_as_seen(px: &Periscope, route: &str, calls: &[SeenCall]) {
    assert_eq!(calls.len(), 10, "{calls:?}");
    let not_found = calls.iter().filter(|c| c.code == "NOT_FOUND").count();
    assert_eq!(not_found, 1, "{calls:?}");
    let expected = by_method_and_code(calls);
    let total: u64 = expected.values().sum();
    px.wait_metric(CALLS, &[("listener", "quick")], total as f64);
    for ((method, code), count) in &expected {
        let error_type = if code == "OK" { "" } else { code.as_str() };
        let labels = [
            ("listener", "quick"),
            ("route", route),
            ("cluster", "upstream"),
            ("rpc_system_name", "grpc"),
            ("rpc_method", method.as_str()),
            ("rpc_response_status_code", code.as_str()),
            ("error_type", error_type),
        ];
        px.wait_metric(CALLS, &labels, *count as f64);
    }
    // Messages each way, per method, as the client sent and received them.
    let mut messages: BTreeMap<(&str, &str), u64> = BTreeMap::new();
    for call in calls {
        *messages.entry((&call.method, "request")).or_default() += call.sent;
        *messages.entry((&call.method, "response")).or_default() += call.received;
    }
    for ((method, direction), count) in &messages {
        let labels = [("rpc_method", *method), ("direction", *direction)];
        px.wait_metric("periscope_grpc_messages_total", &labels, *count as f64);
    }
    let shapes = [
        (SAY_HELLO, "unary", 6.0),
        (
            "periscope.test.Greeter/SayHelloStream",
            "server_streaming",
            1.0,
        ),
        (
            "periscope.test.Greeter/CollectHellos",
            "client_streaming",
            1.0,
        ),
        ("periscope.test.Greeter/Chat", "bidi_streaming", 1.0),
    ];
    for (method, kind, count) in shapes {
        let labels = [("rpc_method", method), ("call_kind", kind)];
        px.wait_metric("periscope_grpc_calls_total", &labels, count);
    }
    // gRPC calls are RPCs, not plain HTTP requests.
    assert_eq!(
        px.metric("http_server_request_duration_seconds_count", &[]),
        0.0
    );
}

#[test]
fn an_unreachable_upstream_is_unavailable_not_a_502_page() {
    let px = quick(closed_addr(), "auto");
    let calls = run_client(px.addr("quick"), "one");
    assert_eq!(calls.len(), 1);
    assert_eq!(calls[0].code, "UNAVAILABLE", "{calls:?}");
    let labels = [
        ("rpc_method", SAY_HELLO),
        ("rpc_response_status_code", "UNAVAILABLE"),
        ("error_type", "UNAVAILABLE"),
    ];
    px.wait_metric(CALLS, &labels, 1.0);
    let connect = [("cluster", "upstream"), ("reason", "connect_failure")];
    px.wait_metric("periscope_upstream_errors_total", &connect, 1.0);
}

/// An `http` listener `edge` with one virtual host holding `route`, in
/// front of the greeter as cluster `greeter` (h2c).
fn routed(greeter: SocketAddr, route: (&str, &str, &str)) -> String {
    configs::routed(&[route], "greeter", "h2c", greeter, "")
}

fn quick(upstream: SocketAddr, protocol: &str) -> Periscope {
    let listen = format!("127.0.0.1:{}", free_port());
    let upstream = upstream.to_string();
    Periscope::quick(&[
        "--listen",
        &listen,
        "--upstream",
        &upstream,
        "--protocol",
        protocol,
    ])
}

#[test]
fn a_route_timeout_is_deadline_exceeded() {
    let greeter = GreeterServer::start();
    let route = (
        "rpc",
        "/periscope.test.Greeter/",
        "{ cluster: greeter, timeout: 300ms }",
    );
    let px = Periscope::start(|| routed(greeter.addr, route));
    let calls = run_client(px.addr("edge"), "slow");
    assert_eq!(calls[0].code, "DEADLINE_EXCEEDED", "{calls:?}");
    let labels = [
        ("route", "rpc"),
        ("rpc_method", SAY_HELLO),
        ("rpc_response_status_code", "DEADLINE_EXCEEDED"),
    ];
    px.wait_metric(CALLS, &labels, 1.0);
    let timeout = [("cluster", "greeter"), ("reason", "timeout")];
    px.wait_metric("periscope_upstream_errors_total", &timeout, 1.0);
}

#[test]
fn a_call_no_route_matches_is_unimplemented() {
    let greeter = GreeterServer::start();
    let route = ("other", "/some.Other/", "{ cluster: greeter }");
    let px = Periscope::start(|| routed(greeter.addr, route));
    let calls = run_client(px.addr("edge"), "one");
    assert_eq!(calls[0].code, "UNIMPLEMENTED", "{calls:?}");
    let labels = [
        ("route", ""),
        ("rpc_method", SAY_HELLO),
        ("rpc_response_status_code", "UNIMPLEMENTED"),
    ];
    px.wait_metric(CALLS, &labels, 1.0);
}

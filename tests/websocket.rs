//! WebSocket through the HTTP listener (Envoy's `upgrade_configs`): real
//! `websockets` clients and echo server. An allowed upgrade becomes a byte
//! relay both ways (the server's greeting can come with its 101; a 256 KiB
//! message crosses many reads); a type the route does not enable gets 403;
//! an upstream that answers the handshake with anything but 101 is passed
//! through. Every handshake is counted exactly, by type and result, and as
//! an HTTP request with its status.
mod common;

use common::configs::{admin_block, listen_addr};
use common::websocket::{run_client, WsEchoServer, WsHolder};
use common::{Periscope, REQUESTS};
use std::net::SocketAddr;

const UPGRADES: &str = "periscope_http_upgrades_total";

fn config(upstream: SocketAddr) -> String {
    format!(
        r#"{admin}listeners:
  - name: edge
    address: {edge}
    protocol: http
    upgrade_configs:
      - upgrade_type: websocket
    virtual_hosts:
      - name: all
        routes:
          - name: closed
            match: {{ prefix: /closed }}
            route:
              cluster: ws
              upgrade_configs: [ {{ upgrade_type: WebSocket, enabled: false }} ]
          - name: chat
            match: {{ prefix: / }}
            route: {{ cluster: ws }}
  - name: plain
    address: {plain}
    protocol: http
    cluster: ws
  - name: brief
    address: {brief}
    protocol: http
    cluster: ws
    stream_idle_timeout: 300ms
    upgrade_configs: [ {{ upgrade_type: websocket }} ]
clusters:
  - name: ws
    protocol: http1
    connect_timeout: 2s
    endpoints: ["{upstream}"]
"#,
        admin = admin_block(),
        edge = listen_addr(),
        plain = listen_addr(),
        brief = listen_addr(),
    )
}

fn ws_url(px: &Periscope, listener: &str, path: &str) -> String {
    format!("ws://{}{path}", px.addr(listener))
}

fn upgrades(px: &Periscope, listener: &str, kind: &str, result: &str, expected: f64) {
    let labels = [
        ("listener", listener),
        ("upgrade_type", kind),
        ("result", result),
    ];
    px.wait_metric(UPGRADES, &labels, expected);
}

fn requests(px: &Periscope, listener: &str, route: &str, status: &str, expected: f64) {
    let labels = [
        ("listener", listener),
        ("route", route),
        ("http_request_method", "GET"),
        ("http_response_status_code", status),
        ("error_type", ""),
    ];
    px.wait_metric(REQUESTS, &labels, expected);
}

#[test]
fn an_allowed_websocket_is_relayed_both_ways_and_counted() {
    let echo = WsEchoServer::start();
    let px = Periscope::start(|| config(echo.addr));
    let seen = run_client(&ws_url(&px, "edge", "/room/1"), 3, 6);
    assert_eq!(seen.status, 101, "{seen:?}");
    assert_eq!(seen.greetings, ["hello /room/1"; 3], "{seen:?}");
    assert_eq!(seen.echoed, 3 * 6, "{seen:?}");
    upgrades(&px, "edge", "websocket", "upgraded", 3.0);
    requests(&px, "edge", "chat", "101", 3.0);
    // Each connection ended with its client: none is relaying any more.
    px.wait_metric(
        "periscope_http_upgrades_active",
        &[("listener", "edge")],
        0.0,
    );
    let received = px.metric(
        "periscope_downstream_bytes_received_total",
        &[("listener", "edge")],
    );
    assert!(
        received > 3.0 * 256.0 * 1024.0,
        "the relayed messages are counted as bytes received: {received}"
    );
}

#[test]
fn upgrades_a_route_does_not_enable_get_403_and_declined_ones_pass_through() {
    let echo = WsEchoServer::start();
    let px = Periscope::start(|| config(echo.addr));
    // Turned off by the route, listed by the listener.
    assert_eq!(
        run_client(&ws_url(&px, "edge", "/closed"), 1, 1).status,
        403
    );
    upgrades(&px, "edge", "websocket", "refused", 1.0);
    requests(&px, "edge", "closed", "403", 1.0);
    // A listener with no upgrade_configs: refused, and not a listed type.
    assert_eq!(run_client(&ws_url(&px, "plain", "/"), 1, 1).status, 403);
    upgrades(&px, "plain", "_OTHER", "refused", 1.0);
    // The upstream answers the handshake 404: the client sees it.
    assert_eq!(run_client(&ws_url(&px, "edge", "/deny"), 1, 1).status, 404);
    upgrades(&px, "edge", "websocket", "declined", 1.0);
    requests(&px, "edge", "chat", "404", 1.0);
    assert_eq!(
        px.metric(UPGRADES, &[("result", "upgraded")]),
        0.0,
        "nothing was upgraded"
    );
}

#[test]
fn a_silent_upgraded_connection_ends_at_the_stream_idle_timeout() {
    let echo = WsEchoServer::start();
    let px = Periscope::start(|| config(echo.addr));
    let held = WsHolder::start(&ws_url(&px, "brief", "/quiet"), 20).finish();
    assert!(held.closed, "{held:?}");
    assert!(
        (0.2..5.0).contains(&held.after_seconds),
        "closed by the 300 ms stream_idle_timeout: {held:?}"
    );
    let idle = [("listener", "brief")];
    px.wait_metric("periscope_downstream_idle_timeouts_total", &idle, 1.0);
    px.wait_metric("periscope_http_upgrades_active", &idle, 0.0);
}

#[test]
fn an_upstream_that_vanishes_closes_its_client() {
    let mut echo = WsEchoServer::start();
    let px = Periscope::start(|| config(echo.addr));
    let holder = WsHolder::start(&ws_url(&px, "edge", "/room/2"), 20);
    let active = [("listener", "edge")];
    px.wait_metric("periscope_http_upgrades_active", &active, 1.0);
    echo.kill();
    let held = holder.finish();
    assert!(held.closed, "the client saw its connection end: {held:?}");
    px.wait_metric("periscope_http_upgrades_active", &active, 0.0);
    upgrades(&px, "edge", "websocket", "upgraded", 1.0);
}

//! Health-check connections, as Envoy's `reuse_connection` (on by
//! default): an endpoint's HTTP, gRPC and TCP checks follow one another on
//! one kept connection; with `reuse_connection: false` every check
//! connects anew, and connect-only TCP checks always do (connecting is
//! what they test). Real nginx, the grpcio greeter and a TCP echo server.
//! (Kept connections the server closes are covered beside the checks, in
//! `src/cluster/health/tests.rs`.)
mod common;

use common::configs::{checked_http1, endpoints_yaml, listener_per_cluster};
use common::grpc::GreeterServer;
use common::process::established_to;
use common::{EchoServer, Nginx, Periscope};

const CHECKS: &str = "periscope_health_checks_total";

fn passed(px: &Periscope, cluster: &str) -> f64 {
    px.metric(CHECKS, &[("cluster", cluster), ("result", "success")])
}

/// Waits until `cluster`'s checks have passed `more` times since `from`.
fn wait_passes(px: &Periscope, cluster: &str, from: f64, more: f64) {
    let labels = [("cluster", cluster), ("result", "success")];
    px.wait_metric_at_least(CHECKS, &labels, from + more);
}

/// Twenty HTTP checks 50 ms apart open one connection.
#[test]
fn http_checks_reuse_one_connection() {
    let nginx = Nginx::start();
    let check = "{ interval: 50ms, timeout: 5s, http: { path: /health } }";
    let px = Periscope::start(|| {
        listener_per_cluster(&[("kept", "http", checked_http1(&[nginx.h1], check))])
    });
    wait_passes(&px, "kept", 0.0, 1.0);
    let before = nginx.handled_connections();
    wait_passes(&px, "kept", passed(&px, "kept"), 20.0);
    // Only our own stub_status reading is new.
    assert_eq!(
        nginx.handled_connections() - before,
        1,
        "checks opened connections"
    );
}

/// Twenty gRPC `Check` calls ride one h2c connection: the same socket is
/// open to the greeter before and after them.
#[test]
fn grpc_checks_reuse_one_connection() {
    let greeter = GreeterServer::start();
    let px = Periscope::start(|| {
        let cluster = format!(
            "    protocol: h2c\n{}    health_check: {{ interval: 50ms, timeout: 5s, grpc: {{}} }}\n",
            endpoints_yaml(&[greeter.addr])
        );
        listener_per_cluster(&[("greeter", "http", cluster)])
    });
    wait_passes(&px, "greeter", 0.0, 1.0);
    let before = established_to(px.pid(), greeter.addr.port());
    assert_eq!(before.len(), 1, "check connections open: {before:?}");
    wait_passes(&px, "greeter", passed(&px, "greeter"), 20.0);
    assert_eq!(
        established_to(px.pid(), greeter.addr.port()),
        before,
        "the checks moved to another connection"
    );
}

/// Three echo servers: checks with a payload keep one connection, unless
/// `reuse_connection: false`; connect-only checks connect every time.
#[test]
fn tcp_checks_with_a_payload_reuse_one_connection_and_connect_only_ones_do_not() {
    let (kept, fresh, connect_only) = (
        EchoServer::start(),
        EchoServer::start(),
        EchoServer::start(),
    );
    let check = |echo: &EchoServer, extra: &str| {
        format!(
            "{}    health_check: {{ interval: 50ms, timeout: 5s, {extra} }}\n",
            endpoints_yaml(&[echo.addr])
        )
    };
    let ping = r#"tcp: { send: { text: "PING" }, receive: [ { text: "PING" } ] }"#;
    let px = Periscope::start(|| {
        listener_per_cluster(&[
            ("kept", "tcp", check(&kept, ping)),
            (
                "fresh",
                "tcp",
                check(&fresh, &format!("reuse_connection: false, {ping}")),
            ),
            ("connect_only", "tcp", check(&connect_only, "tcp: {}")),
        ])
    });
    for cluster in ["kept", "fresh", "connect_only"] {
        wait_passes(&px, cluster, 0.0, 20.0);
    }
    assert_eq!(kept.connections(), 1, "kept checks opened connections");
    assert!(
        fresh.connections() >= 20,
        "{} connections",
        fresh.connections()
    );
    assert!(
        connect_only.connections() >= 20,
        "{} connections",
        connect_only.connections()
    );
    // Every PING came back on the kept connection, 4 bytes a check.
    assert!(kept.received().len() >= 20 * 4);
}

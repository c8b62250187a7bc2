//! The TCP relay's idle timeout (Envoy's tcp_proxy `idle_timeout`): a
//! connection silent both ways for that long is closed and counted; one
//! that keeps talking is not.
mod common;

use common::configs::{admin_block, listen_addr};
use common::{EchoServer, Periscope, RawConn};
use std::time::{Duration, Instant};

const IDLE: &str = "periscope_downstream_idle_timeouts_total";

#[test]
fn silent_relays_are_closed_after_the_idle_timeout_and_busy_ones_are_not() {
    let echo = EchoServer::start();
    let px = Periscope::start(|| {
        format!(
            "{admin}listeners:\n  - {{ name: edge, address: {listen}, protocol: tcp, cluster: echo, \
             tcp_idle_timeout: 400ms }}\nclusters:\n  - {{ name: echo, endpoints: [\"{echo}\"] }}\n",
            admin = admin_block(),
            listen = listen_addr(),
            echo = echo.addr,
        )
    });
    // Busy, meanwhile: a byte every 100 ms for 2 s, five times the timeout.
    let edge = px.addr("edge");
    let busy = std::thread::spawn(move || {
        let mut conn = RawConn::connect(edge);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(2) {
            conn.send(b"x");
            assert_eq!(conn.read_at_least(1, Duration::from_secs(2)), b"x");
            std::thread::sleep(Duration::from_millis(100));
        }
    });
    // Silent: closed by Periscope soon after 400 ms.
    let mut silent = RawConn::connect(px.addr("edge"));
    silent.send(b"hello");
    assert_eq!(silent.read_at_least(5, Duration::from_secs(2)), b"hello");
    let quiet_from = Instant::now();
    assert!(silent.is_closed_by_peer(Duration::from_secs(3)));
    let waited = quiet_from.elapsed();
    assert!(
        waited >= Duration::from_millis(350) && waited < Duration::from_secs(2),
        "{waited:?}"
    );
    // Only the silent one, while the busy one keeps talking.
    assert_eq!(px.metric(IDLE, &[("listener", "edge")]), 1.0);
    busy.join().expect("the busy connection was never cut");
}

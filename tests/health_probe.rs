//! A TCP health probe (connect, then close without a byte) on an `auto`
//! listener: counted as an unknown connection, and never worth an upstream
//! connection.
mod common;

use common::configs::auto_split;
use common::{opaque_garbage, EchoServer, Nginx, Periscope, RawConn};
use std::net::TcpStream;
use std::time::Duration;

#[test]
fn connect_and_close_is_counted_unknown_without_dialing_upstream() {
    let nginx = Nginx::start();
    let echo = EchoServer::start();
    let px = Periscope::start(|| auto_split(nginx.h1, echo.addr, "1s"));
    for _ in 0..3 {
        drop(TcpStream::connect(px.addr("edge")).expect("probe connect"));
    }
    let unknown = [("listener", "edge"), ("protocol", "unknown")];
    px.wait_metric("periscope_downstream_connections_total", &unknown, 3.0);
    px.wait_metric("periscope_detections_total", &unknown, 3.0);
    px.wait_metric("periscope_downstream_connections_total", &[], 3.0);
    px.wait_metric("periscope_downstream_connections_active", &[], 0.0);
    assert_eq!(echo.connections(), 0, "a probe dialed the TCP upstream");
    px.wait_endpoint_stat("raw", echo.addr, "connections", 0);
    px.wait_endpoint_stat("web", nginx.h1, "connections", 0);

    // A client that does send bytes is relayed: the counters above can move.
    let garbage = opaque_garbage(64);
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(&garbage);
    assert_eq!(conn.read_at_least(64, Duration::from_secs(5)), garbage);
    assert_eq!(echo.connections(), 1);
    px.wait_endpoint_stat("raw", echo.addr, "connections", 1);
    px.wait_metric("periscope_downstream_connections_total", &unknown, 4.0);
}

//! Shutdown: after SIGTERM the listeners stop accepting and `/ready` says
//! so, while a download in flight finishes; then the process exits cleanly.
mod common;

use common::configs::proxy;
use common::{eventually, Curl, Nginx, Periscope};
use std::net::TcpStream;
use std::time::Duration;

const BODY: u64 = 20 * 1024 * 1024;

#[test]
fn sigterm_stops_accepting_lets_the_download_finish_then_exits_cleanly() {
    let nginx = Nginx::start();
    let mut px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let edge = px.addr("edge");
    let url = px.url("edge", "/bytes/20m");
    // 20 MiB at 10 MiB/s: about two seconds in flight.
    let download = std::thread::spawn(move || {
        Curl::get(&url)
            .arg("--limit-rate")
            .arg("10M")
            .discard_body()
            .run()
    });
    // In flight: the connection is open and body bytes are flowing.
    px.wait_metric(
        "periscope_downstream_connections_active",
        &[("listener", "edge")],
        1.0,
    );
    px.wait_metric_at_least(
        "periscope_downstream_bytes_sent_total",
        &[("listener", "edge")],
        64.0 * 1024.0,
    );
    assert!(!download.is_finished(), "download ended before SIGTERM");

    px.sigterm();
    eventually(
        "the listener to refuse new connections",
        Duration::from_secs(2),
        || {
            TcpStream::connect_timeout(&edge, Duration::from_millis(200))
                .is_err()
                .then_some(())
        },
    );
    assert_eq!(px.admin_get("/ready"), (503, "not ready\n".to_string()));

    let r = download.join().expect("download thread");
    assert_eq!((r.status, r.bytes_downloaded), (200, BODY), "{}", r.stderr);
    let status = px.wait_exit(Duration::from_secs(8));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status {status:?} after the drain"
    );
}

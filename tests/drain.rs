//! Shutdown: SIGTERM lets a download in flight finish, then the process
//! exits cleanly.
mod common;

use common::configs::proxy;
use common::{Curl, Nginx, Periscope};
use std::time::{Duration, Instant};

#[test]
fn sigterm_lets_an_in_flight_download_finish_then_exits_cleanly() {
    let nginx = Nginx::start();
    let mut px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let url = px.url("edge", "/bytes/20m");
    // 20 MiB at 10 MiB/s: about two seconds in flight.
    let download = std::thread::spawn(move || {
        Curl::get(&url)
            .arg("--limit-rate")
            .arg("10M")
            .discard_body()
            .run()
    });
    std::thread::sleep(Duration::from_millis(300));
    assert!(!download.is_finished(), "download ended before SIGTERM");
    let started = Instant::now();
    let status = px.terminate(Duration::from_secs(8));
    let r = download.join().expect("download thread");
    assert_eq!(
        (r.status, r.bytes_downloaded),
        (200, 20 * 1024 * 1024),
        "{}",
        r.stderr
    );
    assert!(
        status.success(),
        "exit status {status} after {:?}",
        started.elapsed()
    );
}

//! 20 MiB bodies both ways through an `http` listener: the body must stream,
//! so the proxy's resident memory may grow by far less than the body.
mod common;

use common::configs::proxy;
use common::{Curl, Nginx, Periscope};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

const MIB: u64 = 1024 * 1024;
const BODY: u64 = 20 * MIB;
/// Allowed RSS growth over the warmed-up baseline while 20 MiB pass.
const HEADROOM_KIB: u64 = 15 * 1024;
/// Bytes of request and response heads a test's few exchanges may add to
/// the body bytes on the wire: far below a body counted twice.
const HEAD_ALLOWANCE: u64 = 4 * 1024;
/// The warm-up download.
const WARM_UP: u64 = 64 * 1024;

/// Waits until every connection closed (the byte counters are final), then
/// asserts `counter` of `edge` lies in `[bodies, bodies + HEAD_ALLOWANCE]`.
fn assert_bytes_are_bodies_plus_heads(px: &Periscope, counter: &str, bodies: u64) {
    px.wait_metric("periscope_downstream_connections_active", &[], 0.0);
    let counted = px.metric(counter, &[("listener", "edge")]) as u64;
    assert!(
        (bodies..=bodies + HEAD_ALLOWANCE).contains(&counted),
        "{counter} = {counted}, expected {bodies} body bytes plus at most {HEAD_ALLOWANCE} of heads"
    );
}

fn assert_requests(px: &Periscope, method: &str, expected: f64) {
    px.wait_metric(
        common::REQUESTS,
        &[
            ("http_request_method", method),
            ("http_response_status_code", "200"),
            ("error_type", ""),
        ],
        expected,
    );
}

/// Runs `transfer` on another thread while sampling the proxy's RSS every
/// 5 ms; returns what the transfer returned and the peak RSS seen (KiB).
fn peak_rss_during<T: Send>(px: &Periscope, transfer: impl FnOnce() -> T + Send) -> (T, u64) {
    let done = AtomicBool::new(false);
    std::thread::scope(|s| {
        let worker = s.spawn(|| {
            let out = transfer();
            done.store(true, Ordering::SeqCst);
            out
        });
        let mut peak = 0;
        while !done.load(Ordering::SeqCst) {
            peak = peak.max(px.rss_kib());
            std::thread::sleep(Duration::from_millis(5));
        }
        (
            worker.join().expect("transfer thread"),
            peak.max(px.rss_kib()),
        )
    })
}

/// One small request first so thread stacks, pools and buffers exist before
/// the baseline is taken.
fn warmed_up_baseline(px: &Periscope) -> u64 {
    let r = Curl::get(&px.url("edge", "/bytes/64k"))
        .discard_body()
        .run();
    assert_eq!(
        (r.status, r.bytes_downloaded),
        (200, WARM_UP),
        "{}",
        r.stderr
    );
    px.rss_kib()
}

#[test]
fn download_of_20_mib_streams_through() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let base = warmed_up_baseline(&px);
    let (r, peak) = peak_rss_during(&px, || {
        Curl::get(&px.url("edge", "/bytes/20m"))
            .discard_body()
            .run()
    });
    assert_eq!((r.status, r.bytes_downloaded), (200, BODY), "{}", r.stderr);
    eprintln!("[streaming] RSS {base} KiB -> peak {peak} KiB");
    assert!(
        peak <= base + HEADROOM_KIB,
        "RSS grew from {base} KiB to {peak} KiB while 20 MiB streamed: the body is buffered"
    );
    assert_requests(&px, "GET", 2.0);
    px.wait_metric(common::REQUESTS, &[], 2.0);
    assert_bytes_are_bodies_plus_heads(
        &px,
        "periscope_downstream_bytes_sent_total",
        BODY + WARM_UP,
    );
}

#[test]
fn upload_of_20_mib_streams_through() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let file = px
        .work_dir()
        .write_filled("upload.bin", BODY as usize, b'u');
    let base = warmed_up_baseline(&px);
    let (r, peak) = peak_rss_during(&px, || {
        Curl::post_file(&px.url("edge", "/post"), &file).run()
    });
    assert_eq!(
        (r.status, r.body_text().as_str()),
        (200, "ok\n"),
        "{}",
        r.stderr
    );
    eprintln!("[streaming] RSS {base} KiB -> peak {peak} KiB");
    assert!(
        peak <= base + HEADROOM_KIB,
        "RSS grew from {base} KiB to {peak} KiB while 20 MiB were uploaded: the body is buffered"
    );
    assert_requests(&px, "POST", 1.0);
    assert_requests(&px, "GET", 1.0);
    px.wait_metric(common::REQUESTS, &[], 2.0);
    assert_bytes_are_bodies_plus_heads(&px, "periscope_downstream_bytes_received_total", BODY);
}

//! A reload (or shutdown) drains HTTP/1 keep-alive connections the way
//! Envoy does: the next answer on each carries `Connection: close`, so the
//! client reconnects for the request after it instead of sending it into a
//! connection that is going away; a connection left idle is closed after a
//! short grace. A client that keeps sending loses nothing.
mod common;

use common::configs::proxy;
use common::{HyperClient, Nginx, Periscope, RawConn};
use std::time::{Duration, Instant};

const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: site\r\n\r\n";

fn reload(px: &Periscope, successes: f64) {
    let (status, body) = px.admin_post("/reload");
    assert_eq!(status, 200, "{body}");
    px.wait_metric(
        "periscope_config_reloads_total",
        &[("result", "success")],
        successes,
    );
}

#[test]
fn after_a_reload_the_next_answer_says_close_and_an_idle_connection_is_closed() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let mut busy = RawConn::connect(px.addr("edge"));
    let mut idle = RawConn::connect(px.addr("edge"));
    for conn in [&mut busy, &mut idle] {
        let first = conn.send(GET).read_responses(1, Duration::from_secs(5));
        assert_eq!(first[0].status, 200);
        assert_eq!(
            first[0].header("connection"),
            None,
            "{:?}",
            first[0].headers
        );
    }

    reload(&px, 1.0);
    let answer = busy.send(GET).read_responses(1, Duration::from_secs(5));
    assert_eq!(answer[0].status, 200);
    assert_eq!(answer[0].header("connection"), Some("close"));
    assert!(busy.is_closed_by_peer(Duration::from_secs(5)));

    let drained = Instant::now();
    assert!(idle.is_closed_by_peer(Duration::from_secs(5)));
    assert!(drained.elapsed() < Duration::from_secs(5));
}

#[test]
fn a_keep_alive_client_loses_no_request_across_reloads() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let url = px.url("edge", "/bytes/1k");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let client = {
        let stop = stop.clone();
        std::thread::spawn(move || {
            // One client with its pool: keep-alive connections, reused.
            let client = HyperClient::http1();
            let (mut ok, mut failed) = (0u32, Vec::new());
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                match client.try_send(http::Method::GET, &url, &[], bytes::Bytes::new()) {
                    Ok(r) if r.status.as_u16() == 200 && r.body.len() == 1024 => ok += 1,
                    Ok(r) => failed.push(format!("status {}", r.status)),
                    Err(e) => failed.push(e),
                }
            }
            (ok, failed)
        })
    };
    for successes in 1..=5 {
        std::thread::sleep(Duration::from_millis(300));
        reload(&px, f64::from(successes));
    }
    std::thread::sleep(Duration::from_millis(300));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let (ok, failed) = client.join().expect("client");
    assert!(failed.is_empty(), "{failed:?} ({ok} ok)");
    assert!(ok > 50, "only {ok} requests");
}

//! Shutdown: after SIGTERM the listeners stop accepting and `/ready` says
//! so, while a download in flight finishes; then the process exits cleanly.
//! What outlives the drain time (`--drain-time-s`) is closed then and
//! counted: after a reload, a TCP relay and a WebSocket on the replaced
//! configuration; at shutdown, a download slower than the drain.
mod common;

use common::configs::{admin_block, listen_addr, proxy};
use common::websocket::{WsEchoServer, WsHolder};
use common::{eventually, Curl, EchoServer, Nginx, Periscope, RawConn};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

const DRAIN_CLOSED: &str = "periscope_downstream_connections_drain_closed_total";

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

fn relays(echo: SocketAddr, ws: SocketAddr) -> String {
    format!(
        r#"{admin}listeners:
  - {{ name: tcp, address: {tcp}, protocol: tcp, cluster: echo }}
  - {{ name: steady, address: {steady}, protocol: tcp, cluster: echo }}
  - name: ws
    address: {ws_listen}
    protocol: http
    cluster: ws
    upgrade_configs: [ {{ upgrade_type: websocket }} ]
clusters:
  - {{ name: echo, endpoints: ["{echo}"] }}
  - {{ name: ws, protocol: http1, endpoints: ["{ws}"] }}
"#,
        admin = admin_block(),
        tcp = listen_addr(),
        steady = listen_addr(),
        ws_listen = listen_addr(),
    )
}

/// The reload changes the `tcp` and `ws` listeners and leaves `steady`
/// as it was: as in Envoy, only the changed listeners' connections are
/// closed at the drain time.
#[test]
fn after_a_reload_relays_of_changed_listeners_are_closed_at_the_drain_time() {
    let echo = EchoServer::start();
    let ws = WsEchoServer::start();
    let yaml = relays(echo.addr, ws.addr);
    let mut px = Periscope::start_with_flags(&yaml, &["--drain-time-s", "1"]);
    let mut tcp = RawConn::connect(px.addr("tcp"));
    tcp.send(b"before");
    assert_eq!(tcp.read_at_least(6, Duration::from_secs(2)), b"before");
    let mut steady = RawConn::connect(px.addr("steady"));
    steady.send(b"before");
    assert_eq!(steady.read_at_least(6, Duration::from_secs(2)), b"before");
    let held = WsHolder::start(&format!("ws://{}/", px.addr("ws")), 20);
    px.wait_metric("periscope_http_upgrades_active", &[("listener", "ws")], 1.0);

    let changed = yaml
        .replace(
            "protocol: tcp, cluster: echo }\n  - { name: steady",
            "protocol: tcp, cluster: echo, tcp_idle_timeout: 2h }\n  - { name: steady",
        )
        .replace(
            "    cluster: ws\n",
            "    cluster: ws\n    stream_idle_timeout: 6m\n",
        );
    assert!(
        changed.contains("tcp_idle_timeout: 2h") && changed.contains("stream_idle_timeout: 6m")
    );
    px.rewrite_config(&changed);
    let reloaded = Instant::now();
    assert_eq!(px.admin_post("/reload").0, 200);
    // Within the drain time the relay goes on, on the old configuration.
    tcp.send(b"during");
    assert_eq!(tcp.read_at_least(6, Duration::from_secs(2)), b"during");
    assert!(
        tcp.is_closed_by_peer(Duration::from_secs(5)),
        "TCP relay left open"
    );
    let closed_after = reloaded.elapsed();
    assert!(
        closed_after >= Duration::from_millis(900),
        "closed {closed_after:?} after the reload, before the drain time"
    );
    let held = held.finish();
    assert!(held.closed, "the WebSocket was not closed by the drain");
    assert!(
        held.after_seconds < 10.0,
        "closed after {}s",
        held.after_seconds
    );
    px.wait_metric(DRAIN_CLOSED, &[("listener", "tcp")], 1.0);
    px.wait_metric(DRAIN_CLOSED, &[("listener", "ws")], 1.0);
    px.wait_metric("periscope_http_upgrades_active", &[("listener", "ws")], 0.0);

    // The unchanged listener's relay outlived the drain time.
    steady.send(b"after");
    assert_eq!(steady.read_at_least(5, Duration::from_secs(2)), b"after");
    assert_eq!(px.metric(DRAIN_CLOSED, &[("listener", "steady")]), 0.0);
    // The new configuration serves.
    let mut after = RawConn::connect(px.addr("tcp"));
    after.send(b"after");
    assert_eq!(after.read_at_least(5, Duration::from_secs(2)), b"after");
}

#[test]
fn sigterm_closes_a_download_slower_than_the_drain_time_and_exits() {
    let nginx = Nginx::start();
    let mut px =
        Periscope::start_with_flags(&proxy("http", "http1", nginx.h1), &["--drain-time-s", "1"]);
    let url = px.url("edge", "/bytes/20m");
    // 20 MiB at 2 MiB/s: ten seconds, far past the drain time.
    let download = std::thread::spawn(move || {
        Curl::get(&url)
            .arg("--limit-rate")
            .arg("2M")
            .discard_body()
            .run()
    });
    px.wait_metric_at_least(
        "periscope_downstream_bytes_sent_total",
        &[("listener", "edge")],
        64.0 * 1024.0,
    );
    let signaled = Instant::now();
    px.sigterm();
    let status = px.wait_exit(Duration::from_secs(6));
    assert!(
        status.is_some_and(|s| s.success()),
        "exit status {status:?} after the drain time"
    );
    let exited_after = signaled.elapsed();
    assert!(
        exited_after >= Duration::from_millis(900),
        "exited {exited_after:?} after SIGTERM, before the drain time"
    );
    let r = download.join().expect("download thread");
    assert!(
        r.bytes_downloaded < BODY,
        "the download was not cut: {} bytes, curl exit {}",
        r.bytes_downloaded,
        r.exit_code
    );
    assert!(px.log().contains("drain deadline"), "{}", px.log());
}

//! WebSocket and TLS, with the real `websockets` client and echo server:
//! `wss://` to a listener that terminates TLS (hyper's server hands the
//! upgraded connection over; the relay runs in the connection's task), and
//! `ws://` to a plaintext listener whose cluster speaks TLS (nginx
//! terminating TLS in front of the echo server). Messages up to 256 KiB
//! come back intact, and the handshakes are counted as upgraded.
mod common;

use common::configs::{admin_block, listen_addr};
use common::test_pki::TestPki;
use common::tls_nginx::TlsNginx;
use common::websocket::{run_client_trusting, WsEchoServer, WsHolder};
use common::Periscope;

const UPGRADES: &str = "periscope_http_upgrades_total";

fn upgraded(px: &Periscope, listener: &str, expected: f64) {
    let labels = [
        ("listener", listener),
        ("upgrade_type", "websocket"),
        ("result", "upgraded"),
    ];
    px.wait_metric(UPGRADES, &labels, expected);
}

fn tls_listener(pki: &TestPki, echo: std::net::SocketAddr) -> String {
    format!(
        "{}listeners:\n  - name: edge\n    address: {}\n    protocol: auto\n    cluster: ws\n    \
         upgrade_configs: [ {{ upgrade_type: websocket }} ]\n    \
         tls: {{ certificate_chain: \"{}\", private_key: \"{}\" }}\n\
         clusters:\n  - {{ name: ws, protocol: http1, endpoints: [\"{}\"] }}\n",
        admin_block(),
        listen_addr(),
        pki.server_cert.display(),
        pki.server_key.display(),
        echo,
    )
}

#[test]
fn wss_to_a_tls_listener_is_relayed_to_a_plain_echo_server() {
    let (pki, echo) = (TestPki::new(), WsEchoServer::start());
    let px = Periscope::start(|| tls_listener(&pki, echo.addr));
    let url = format!("wss://{}/chat", px.addr("edge"));
    let session = run_client_trusting(&url, 2, 6, Some(&pki.ca));
    assert_eq!((session.status, session.echoed), (101, 12), "{session:?}");
    upgraded(&px, "edge", 2.0);
    let edge = [("listener", "edge")];
    px.wait_metric("periscope_http_upgrades_active", &edge, 0.0);
    // Each byte counted once: the client sent two 256 KiB messages and a
    // few short ones (plus handshakes and framing), not twice that.
    let received = px.metric("periscope_downstream_bytes_received_total", &edge);
    let sent = 2.0 * 256.0 * 1024.0;
    assert!(
        (sent..sent * 1.2).contains(&received),
        "{received} bytes received"
    );
}

/// A reload that changes the listener closes its wss connections at the
/// drain time, as it does plaintext ones.
#[test]
fn a_reload_closes_a_wss_connection_of_a_changed_listener_at_the_drain_time() {
    let (pki, echo) = (TestPki::new(), WsEchoServer::start());
    let yaml = tls_listener(&pki, echo.addr);
    let mut px = Periscope::start_with_flags(&yaml, &["--drain-time-s", "1"]);
    let url = format!("wss://{}/chat", px.addr("edge"));
    let held = WsHolder::start_trusting(&url, 20, Some(&pki.ca));
    let edge = [("listener", "edge")];
    px.wait_metric("periscope_http_upgrades_active", &edge, 1.0);
    let changed = yaml.replace(
        "    cluster: ws\n",
        "    cluster: ws\n    stream_idle_timeout: 6m\n",
    );
    assert_ne!(changed, yaml);
    px.rewrite_config(&changed);
    assert_eq!(px.admin_post("/reload").0, 200);
    let held = held.finish();
    assert!(held.closed, "the wss connection outlived the drain");
    assert!(
        held.after_seconds < 10.0,
        "closed after {}s",
        held.after_seconds
    );
    px.wait_metric(
        "periscope_downstream_connections_drain_closed_total",
        &edge,
        1.0,
    );
}

#[test]
fn ws_to_a_plain_listener_is_relayed_over_a_tls_cluster() {
    let echo = WsEchoServer::start();
    let nginx = TlsNginx::terminating(echo.addr);
    let upstream = nginx.tls_relay.expect("TLS relay address");
    let px = Periscope::start(|| {
        format!(
            "{}listeners:\n  - name: edge\n    address: {}\n    protocol: http\n    cluster: ws\n    \
             upgrade_configs: [ {{ upgrade_type: websocket }} ]\n\
             clusters:\n  - {{ name: ws, protocol: http1, endpoints: [\"{upstream}\"], \
             tls: {{ trusted_ca: \"{}\" }} }}\n",
            admin_block(),
            listen_addr(),
            nginx.ca.display(),
        )
    });
    let url = format!("ws://{}/chat", px.addr("edge"));
    let session = run_client_trusting(&url, 2, 6, None);
    assert_eq!((session.status, session.echoed), (101, 12), "{session:?}");
    upgraded(&px, "edge", 2.0);
}

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
use common::websocket::{run_client_trusting, WsEchoServer};
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

#[test]
fn wss_to_a_tls_listener_is_relayed_to_a_plain_echo_server() {
    let (pki, echo) = (TestPki::new(), WsEchoServer::start());
    let px = Periscope::start(|| {
        format!(
            "{}listeners:\n  - name: edge\n    address: {}\n    protocol: auto\n    cluster: ws\n    \
             upgrade_configs: [ {{ upgrade_type: websocket }} ]\n    \
             tls: {{ certificate_chain: \"{}\", private_key: \"{}\" }}\n\
             clusters:\n  - {{ name: ws, protocol: http1, endpoints: [\"{}\"] }}\n",
            admin_block(),
            listen_addr(),
            pki.server_cert.display(),
            pki.server_key.display(),
            echo.addr,
        )
    });
    let url = format!("wss://{}/chat", px.addr("edge"));
    let session = run_client_trusting(&url, 2, 6, Some(&pki.ca));
    assert_eq!((session.status, session.echoed), (101, 12), "{session:?}");
    upgraded(&px, "edge", 2.0);
    px.wait_metric(
        "periscope_http_upgrades_active",
        &[("listener", "edge")],
        0.0,
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

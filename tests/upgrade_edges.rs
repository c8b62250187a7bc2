//! The edges of HTTP/1.1 upgrades, against an upstream that answers as
//! scripted (tests/common/scripted_http.rs) and raw client sockets: bytes
//! either side sends in the same write as its head are carried over, in
//! order and counted exactly; a `101` nobody asked for, or to another
//! protocol, is a 502 and never a relay; an upgrade request with a body is
//! refused; a declined upgrade's connection is not reused; `h2c` upgrades
//! and HTTP/1.0 requests go on as plain HTTP, without `Upgrade`.
mod common;

use common::configs::{admin_block, listen_addr};
use common::scripted_http::ScriptedHttp;
use common::{Periscope, RawConn};
use std::net::SocketAddr;
use std::time::Duration;

const SWITCH: &[u8] = b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
Connection: Upgrade\r\n\r\nSERVER-EARLY";
const UPGRADE: &str =
    "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n";
const WAIT: Duration = Duration::from_secs(5);

fn config(upstream: SocketAddr) -> String {
    format!(
        r#"{admin}listeners:
  - name: edge
    address: {edge}
    protocol: http
    upgrade_configs: [ {{ upgrade_type: websocket }} ]
    virtual_hosts:
      - name: all
        routes:
          - name: added
            match: {{ prefix: /added }}
            request_headers_to_add: [ {{ name: upgrade, value: websocket }} ]
            route: {{ cluster: up }}
          - name: all
            match: {{ prefix: / }}
            route: {{ cluster: up }}
clusters:
  - {{ name: up, protocol: http1, connect_timeout: 2s, endpoints: ["{upstream}"] }}
"#,
        admin = admin_block(),
        edge = listen_addr(),
    )
}

fn metric(px: &Periscope, name: &str, labels: &[(&str, &str)]) -> f64 {
    px.metric(name, labels)
}

#[test]
fn early_bytes_both_ways_are_carried_over_in_order_and_counted_exactly() {
    let up = ScriptedHttp::answering(SWITCH);
    let px = Periscope::start(|| config(up.addr));
    let mut client = RawConn::connect(px.addr("edge"));
    let sent = format!("{UPGRADE}CLIENT-EARLY");
    client.send(sent.as_bytes());
    let got = client.read_at_least(1, WAIT);
    let mut got = got;
    while !String::from_utf8_lossy(&got).ends_with("CLIENT-EARLY") {
        let more = client.read_at_least(1, WAIT);
        assert!(!more.is_empty(), "{}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&more);
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    let (head, relayed) = text.split_once("\r\n\r\n").expect("a head");
    assert!(
        head.starts_with("HTTP/1.1 101 Switching Protocols\r\n"),
        "{text}"
    );
    let head = head.to_ascii_lowercase();
    assert!(
        head.contains("\r\nupgrade: websocket") && head.contains("\r\nconnection: upgrade"),
        "{text}"
    );
    // The upstream's early bytes first, then the echo of the client's.
    assert_eq!(relayed, "SERVER-EARLY".to_owned() + "CLIENT-EARLY");
    assert!(
        up.received().ends_with("\r\n\r\nCLIENT-EARLY"),
        "{}",
        up.received()
    );
    client.shutdown_write();
    assert!(
        client.is_closed_by_peer(WAIT),
        "the half-close went through"
    );
    let edge = [("listener", "edge")];
    px.wait_metric("periscope_http_upgrades_active", &edge, 0.0);
    px.wait_metric(
        "periscope_downstream_bytes_received_total",
        &edge,
        sent.len() as f64,
    );
    px.wait_metric(
        "periscope_downstream_bytes_sent_total",
        &edge,
        got.len() as f64,
    );
    let upgraded = [("listener", "edge"), ("result", "upgraded")];
    assert_eq!(metric(&px, "periscope_http_upgrades_total", &upgraded), 1.0);
}

#[test]
fn a_101_nobody_asked_for_or_to_another_protocol_is_a_502() {
    let up = ScriptedHttp::answering(SWITCH);
    let px = Periscope::start(|| config(up.addr));
    // A header edit adds `upgrade`, a plain request: no relay, 502.
    for version in ["1.1", "1.0"] {
        let mut client = RawConn::connect(px.addr("edge"));
        client.send(format!("GET /added HTTP/{version}\r\nHost: x\r\n\r\n").as_bytes());
        let answers = client.read_responses(1, WAIT);
        assert_eq!(
            answers.first().map(|r| r.status),
            Some(502),
            "HTTP/{version}"
        );
    }
    let h2c = ScriptedHttp::answering(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
    );
    let other = Periscope::start(|| config(h2c.addr));
    let mut client = RawConn::connect(other.addr("edge"));
    client.send(UPGRADE.as_bytes());
    let answers = client.read_responses(1, WAIT);
    assert_eq!(answers.first().map(|r| r.status), Some(502));
    for px in [&px, &other] {
        let upgraded = [("result", "upgraded")];
        assert_eq!(metric(px, "periscope_http_upgrades_total", &upgraded), 0.0);
        assert_eq!(metric(px, "periscope_http_upgrades_active", &[]), 0.0);
    }
    let declined = [("listener", "edge"), ("result", "declined")];
    other.wait_metric("periscope_http_upgrades_total", &declined, 1.0);
}

#[test]
fn an_upgrade_request_with_a_body_is_refused_before_the_upstream() {
    let up = ScriptedHttp::answering(SWITCH);
    let px = Periscope::start(|| config(up.addr));
    let mut client = RawConn::connect(px.addr("edge"));
    client.send(
        b"POST /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\
          Content-Length: 5\r\n\r\nhello",
    );
    let answers = client.read_responses(1, WAIT);
    assert_eq!(answers.first().map(|r| r.status), Some(400));
    let refused = [
        ("listener", "edge"),
        ("upgrade_type", "websocket"),
        ("result", "refused"),
    ];
    px.wait_metric("periscope_http_upgrades_total", &refused, 1.0);
    assert_eq!(up.connections(), 0, "{}", up.received());
}

#[test]
fn a_declined_upgrade_does_not_leave_its_connection_for_reuse() {
    let up = ScriptedHttp::answering(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let px = Periscope::start(|| config(up.addr));
    for request in [UPGRADE, "GET /plain HTTP/1.1\r\nHost: x\r\n\r\n"] {
        let mut client = RawConn::connect(px.addr("edge"));
        client.send(request.as_bytes());
        let answers = client.read_responses(1, WAIT);
        assert_eq!(answers.first().map(|r| r.status), Some(200), "{request}");
    }
    assert_eq!(up.connections(), 2, "{}", up.received());
    let declined = [("listener", "edge"), ("result", "declined")];
    px.wait_metric("periscope_http_upgrades_total", &declined, 1.0);
}

#[test]
fn h2c_upgrades_and_http_1_0_go_on_as_plain_http() {
    let up = ScriptedHttp::answering(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    let px = Periscope::start(|| config(up.addr));
    for request in [
        "GET /h2c HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\n\
         HTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n",
        "GET /old HTTP/1.0\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    ] {
        let mut client = RawConn::connect(px.addr("edge"));
        client.send(request.as_bytes());
        let answers = client.read_responses(1, WAIT);
        assert_eq!(answers.first().map(|r| r.status), Some(200), "{request}");
    }
    let seen = up.received().to_ascii_lowercase();
    assert!(
        seen.contains("get /h2c") && seen.contains("get /old"),
        "{seen}"
    );
    assert!(
        !seen.contains("upgrade"),
        "no upgrade field goes upstream: {seen}"
    );
    assert_eq!(metric(&px, "periscope_http_upgrades_total", &[]), 0.0);
}

//! A listener's `max_connection_duration` (Envoy's
//! `common_http_protocol_options.max_connection_duration` and tcp_proxy's
//! `max_downstream_connection_duration`): an HTTP/1.1 keep-alive connection
//! that reaches it is drained (the next answer says `Connection: close`;
//! an idle one is closed), an h2 one gets GOAWAY and closes, a TCP relay
//! is closed. Each is counted once. Real nginx and a TCP echo server.
mod common;

use common::clients::parse_h2load;
use common::configs::{admin_block, listen_addr};
use common::{eventually, require_tool, EchoServer, HyperClient, Nginx, Periscope, RawConn};
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const REACHED: &str = "periscope_downstream_connections_max_duration_reached_total";
const GET: &[u8] = b"GET / HTTP/1.1\r\nHost: test\r\n\r\n";

fn config(nginx: SocketAddr, echo: SocketAddr) -> String {
    format!(
        r#"{admin}listeners:
  - {{ name: web, address: {web}, protocol: http, cluster: nginx, max_connection_duration: 1s }}
  - {{ name: relay, address: {relay}, protocol: tcp, cluster: echo, max_connection_duration: 1s }}
  - {{ name: forever, address: {forever}, protocol: http, cluster: nginx }}
clusters:
  - {{ name: nginx, protocol: http1, endpoints: ["{nginx}"] }}
  - {{ name: echo, endpoints: ["{echo}"] }}
"#,
        admin = admin_block(),
        web = listen_addr(),
        relay = listen_addr(),
        forever = listen_addr(),
    )
}

#[test]
fn http1_connections_are_drained_at_their_maximum_age() {
    let (nginx, echo) = (Nginx::start(), EchoServer::start());
    let px = Periscope::start(|| config(nginx.h1, echo.addr));
    // Busy: each request sent as soon as the last answer came (the
    // connection never waits idle); past 1 s an answer says close.
    let mut busy = RawConn::connect(px.addr("web"));
    let opened = Instant::now();
    let mut answers = 0;
    let closing = loop {
        busy.send(GET);
        let response = busy.read_responses(1, Duration::from_secs(5)).remove(0);
        assert_eq!(response.status, 200);
        answers += 1;
        if response.header("connection") == Some("close") {
            break opened.elapsed();
        }
        assert!(
            opened.elapsed() < Duration::from_secs(5),
            "never told to close"
        );
    };
    assert!(
        closing >= Duration::from_millis(900),
        "closed after {closing:?}"
    );
    assert!(answers >= 5, "{answers} answers");
    assert!(busy.is_closed_by_peer(Duration::from_secs(2)));
    px.wait_metric(REACHED, &[("listener", "web")], 1.0);

    // Pipelined: the next request is always there before the answer goes
    // out, so the connection never waits for one; it ages all the same.
    let mut pipelined = RawConn::connect(px.addr("web"));
    let opened = Instant::now();
    let told = loop {
        pipelined.send(&[GET, GET].concat());
        let answers = pipelined.read_responses(2, Duration::from_secs(5));
        assert!(answers.iter().all(|a| a.status == 200));
        if answers
            .iter()
            .any(|a| a.header("connection") == Some("close"))
        {
            break opened.elapsed();
        }
        assert!(
            opened.elapsed() < Duration::from_secs(5),
            "pipelined: never told to close"
        );
    };
    assert!(
        told >= Duration::from_millis(900),
        "pipelined: told after {told:?}"
    );
    px.wait_metric(REACHED, &[("listener", "web")], 2.0);

    // Idle: closed soon after its maximum age.
    let mut idle = RawConn::connect(px.addr("web"));
    idle.send(GET);
    assert_eq!(
        idle.read_responses(1, Duration::from_secs(5))[0].status,
        200
    );
    assert!(idle.is_closed_by_peer(Duration::from_secs(4)));
    px.wait_metric(REACHED, &[("listener", "web")], 3.0);

    // Without the setting a connection lives on.
    let mut kept = RawConn::connect(px.addr("forever"));
    kept.send(GET);
    std::thread::sleep(Duration::from_millis(1500));
    kept.send(GET);
    let answers = kept.read_responses(2, Duration::from_secs(5));
    assert_eq!(answers.len(), 2);
    assert_eq!(answers[1].header("connection"), None);
    assert_eq!(px.metric(REACHED, &[("listener", "forever")]), 0.0);
}

/// h2load on one connection, a request every 100 ms for 2 s: the
/// connection gets GOAWAY after 1 s (h2load does not reconnect, so the
/// requests after it fail) and closes.
#[test]
fn h2_connections_get_goaway_at_their_maximum_age() {
    let (nginx, echo) = (Nginx::start(), EchoServer::start());
    let px = Periscope::start(|| config(nginx.h1, echo.addr));
    let url = px.url("web", "/");
    let bin = require_tool("h2load", "nghttp2-client");
    let out = Command::new(bin)
        .args(["-n", "20", "-c", "1", "-m", "1", "--rps", "10", &url])
        .stdin(Stdio::null())
        .output()
        .expect("run h2load");
    let report = parse_h2load(&format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    ));
    assert!(
        (5..20).contains(&report.succeeded),
        "the connection did not end midway: {}",
        report.output
    );
    assert_eq!(report.succeeded, report.status_2xx, "{}", report.output);
    px.wait_metric(REACHED, &[("listener", "web")], 1.0);
    let web_h2 = [("listener", "web"), ("protocol", "http2")];
    px.wait_metric("periscope_downstream_connections_active", &web_h2, 0.0);
    assert_eq!(
        px.metric("periscope_downstream_connections_total", &web_h2),
        1.0
    );
}

/// A client that never answers the GOAWAY's PING (this one's runtime only
/// runs while it sends) cannot hold an aged connection open: it is closed
/// after the 5 s drain period.
#[test]
fn an_aged_h2_connection_is_closed_after_the_drain_period() {
    let (nginx, echo) = (Nginx::start(), EchoServer::start());
    let px = Periscope::start(|| config(nginx.h1, echo.addr));
    let client = HyperClient::h2c();
    assert_eq!(client.get(&px.url("web", "/")).status, 200);
    px.wait_metric(REACHED, &[("listener", "web")], 1.0);
    let web_h2 = [("listener", "web"), ("protocol", "http2")];
    eventually(
        "the aged connection closed",
        Duration::from_secs(10),
        || (px.metric("periscope_downstream_connections_active", &web_h2) == 0.0).then_some(()),
    );
}

#[test]
fn tcp_relays_are_closed_at_their_maximum_age() {
    let (nginx, echo) = (Nginx::start(), EchoServer::start());
    let px = Periscope::start(|| config(nginx.h1, echo.addr));
    let mut conn = RawConn::connect(px.addr("relay"));
    let opened = Instant::now();
    conn.send(b"ping");
    assert_eq!(conn.read_at_least(4, Duration::from_secs(2)), b"ping");
    assert!(conn.is_closed_by_peer(Duration::from_secs(4)));
    let lived = opened.elapsed();
    assert!(
        lived >= Duration::from_millis(900),
        "closed after {lived:?}"
    );
    px.wait_metric(REACHED, &[("listener", "relay")], 1.0);
}

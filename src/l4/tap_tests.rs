//! The tap exports what a parser tolerated, exactly once each.
use super::tap::Tap;
use crate::config;
use crate::pipeline::{http_budget, Families, ListenerMetrics};
use periscope_parsers::{Direction, ParserOptions, Protocol};
use std::sync::Arc;

fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = len.to_be_bytes()[1..].to_vec();
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn listener() -> (Arc<Families>, Arc<ListenerMetrics>) {
    let config = config::load_str(
        "t.yaml",
        "listeners: [ { name: edge, address: 127.0.0.1:1, protocol: tcp, cluster: c } ]\n\
         clusters: [ { name: c, endpoints: [\"h:1\"] } ]\n",
    )
    .expect("valid config");
    let families = Arc::new(Families::new());
    let metrics = Arc::new(ListenerMetrics::new(
        &families,
        http_budget(&families),
        &config.listeners[0],
    ));
    (families, metrics)
}

fn requests(families: &Families, status: &str) -> u64 {
    families
        .http_duration
        .with_label_values(&["edge", "", "c", "GET", status, "2", ""])
        .get_sample_count()
}

/// An h2c server (grpcio does) may send SETTINGS before the client's
/// preface reaches us: detection must still see HTTP/2 and parse both ways.
#[test]
fn server_bytes_before_the_client_preface_do_not_stop_sniffing() {
    let (families, metrics) = listener();
    let mut tap = Tap::detecting(metrics, Arc::new(ParserOptions::default()));
    let mut client = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    client.extend(frame(4, 0, 0, &[]));
    client.extend(frame(1, 0x5, 1, &[0x82, 0x86, 0x84]));
    tap.feed(Direction::ServerToClient, &frame(4, 0, 0, &[]));
    tap.feed(Direction::ClientToServer, &client);
    tap.feed(Direction::ServerToClient, &frame(1, 0x5, 1, &[0x88]));
    tap.close();
    let detected = families
        .detections
        .with_label_values(&["edge", "http2"])
        .get();
    assert_eq!(detected, 1);
    assert_eq!(requests(&families, "200"), 1);
}

#[test]
fn unresolved_hpack_indexes_and_server_pushes_are_counted() {
    let (families, metrics) = listener();
    let mut tap = Tap::for_protocol(Protocol::Http2, metrics, Arc::new(ParserOptions::default()));
    let (settings, end_headers, end_stream) = (4u8, 0x4u8, 0x1u8);
    let mut client = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    client.extend(frame(settings, 0, 0, &[]));
    // GET / http, then index 62: a dynamic entry nothing ever defined.
    let block = [0x82, 0x86, 0x84, 0xbe];
    client.extend(frame(1, end_headers | end_stream, 1, &block));
    let mut server = frame(settings, 0, 0, &[]);
    // PUSH_PROMISE for stream 2 on stream 1, then the response to stream 1.
    server.extend(frame(5, end_headers, 1, &[0, 0, 0, 2, 0x82, 0x86, 0x84]));
    server.extend(frame(1, end_headers | end_stream, 1, &[0x88]));
    tap.feed(Direction::ClientToServer, &client);
    tap.feed(Direction::ServerToClient, &server);
    tap.close();
    let event = |name: &str| {
        families
            .parser_events
            .with_label_values(&["edge", "http2", name])
            .get()
    };
    assert_eq!(event("hpack_unresolved"), 1);
    assert_eq!(event("server_push"), 1);
    assert_eq!(event("evicted"), 0);
    assert_eq!(requests(&families, "200"), 1, "the push is not a request");
}

//! Real h2c captures (fuzz/seeds/http2/, made with
//! tests/fixtures/http2/capture.py): curl, nghttp and h2load against nginx,
//! and grpcio's client against grpcio's server. Each is fed client bytes
//! then server bytes (the relay keeps the two streams, not their
//! interleaving) and must give exactly these exchanges.

use std::path::Path;

use periscope_parsers::event::{Direction, Exchange, ExchangeDetail, Outcome, Timestamp};
use periscope_parsers::{fuzzing, Http2Parser, ProtocolParser, Status};

fn summary(e: &Exchange) -> String {
    let ExchangeDetail::Http(h) = &e.detail else {
        return format!("not http: {:?}", e.detail);
    };
    let outcome = match e.outcome {
        Outcome::Complete => "complete",
        Outcome::Incomplete => "incomplete",
    };
    let mut line = format!(
        "{} {} -> {} body {}/{} {outcome}",
        h.method.as_str(),
        h.target,
        h.status.map_or("-".to_owned(), |s| s.to_string()),
        h.request_body_bytes,
        h.response_body_bytes,
    );
    if let Some(g) = &h.grpc {
        line.push_str(&format!(
            " grpc {} {} {}/{} compressed {} {:?}",
            g.method.as_deref().unwrap_or("-"),
            g.status.map_or("-", |s| s.as_str()),
            g.request_messages,
            g.response_messages,
            g.compressed_messages,
            g.message.as_deref().unwrap_or(""),
        ));
    }
    line
}

fn replay(name: &str) -> (Vec<String>, Http2Parser) {
    let path = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fuzz/seeds/http2")
        .join(name);
    let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let (client, server) = fuzzing::split_streams(&data);
    let mut p = Http2Parser::new();
    let mut out = Vec::new();
    let c = p.feed(Direction::ClientToServer, client, Timestamp(1), &mut out);
    let s = p.feed(Direction::ServerToClient, server, Timestamp(2), &mut out);
    assert_eq!((c, s), (Status::Ok, Status::Ok), "{name}");
    p.close(Timestamp(3), &mut out);
    (out.iter().map(summary).collect(), p)
}

#[test]
fn nginx_captures() {
    let cases: [(&str, &[&str]); 5] = [
        ("curl-get-0.bin", &["GET / -> 200 body 0/21 complete"]),
        (
            "curl-post-0.bin",
            &["POST /upload -> 201 body 3000/7 complete"],
        ),
        ("nghttp-0.bin", &["GET / -> 200 body 0/21 complete"]),
        (
            "nghttp-multi-0.bin",
            &[
                "GET / -> 200 body 0/21 complete",
                "GET /missing -> 404 body 0/153 complete",
                "GET /big -> 200 body 0/20 complete",
            ],
        ),
        ("h2load-0.bin", &["GET /big -> 200 body 0/50 complete"; 20]),
    ];
    for (name, want) in cases {
        let (got, p) = replay(name);
        assert_eq!(got, want, "{name}");
        assert_eq!(p.hpack_unresolved(), 0, "{name}");
    }
}

#[test]
fn grpcio_captures() {
    let m = "peers.greeter.Greeter";
    let want = [
        format!("POST /{m}/SayHello -> 200 body 12/20 complete grpc {m}/SayHello OK 1/1 compressed 0 \"\""),
        format!("POST /{m}/SayHelloStream -> 200 body 10/61 complete grpc {m}/SayHelloStream OK 1/3 compressed 0 \"\""),
        format!("POST /{m}/CollectHellos -> 200 body 24/24 complete grpc {m}/CollectHellos OK 3/1 compressed 0 \"\""),
        format!("POST /{m}/Chat -> 200 body 18/30 complete grpc {m}/Chat OK 2/2 compressed 0 \"\""),
        // A 40 kB reply: one message across three DATA frames.
        format!("POST /{m}/SayHello -> 200 body 14/40022 complete grpc {m}/SayHello OK 1/1 compressed 0 \"\""),
        // Trailers-only error.
        format!("POST /{m}/SayHello -> 200 body 10/0 complete grpc {m}/SayHello NOT_FOUND 1/0 compressed 0 \"requested failure 5\""),
    ];
    // grpcio's channel compression leaves these small messages plain.
    for name in ["grpc-calls-0.bin", "grpc-gzip-0.bin"] {
        let (got, p) = replay(name);
        assert_eq!(got, want, "{name}");
        assert_eq!(p.hpack_unresolved(), 0, "{name}");
    }
}

/// Frame boundaries of an HTTP/2 byte stream (after `skip` bytes).
fn frame_starts(bytes: &[u8], skip: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut i = skip;
    while let Some(h) = bytes.get(i..i + 9) {
        out.push(i);
        let len = u32::from_be_bytes([0, h[0], h[1], h[2]]) as usize;
        i += 9 + len;
    }
    out
}

/// The lost-HPACK-state case on real traffic: h2load's requests after the
/// first few, fed to a parser that joins mid-connection. h2load's encoder
/// indexed its headers on the first request, so later requests refer to
/// entries we never saw: placeholders, counted; the exchanges still come
/// out with what static and literal fields carried.
#[test]
fn joining_a_real_connection_mid_way() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/http2/h2load-0.bin");
    let data = std::fs::read(path).expect("seed");
    let (client, server) = fuzzing::split_streams(&data);
    // Skip the preface and the first 6 client frames (SETTINGS, ..., the
    // first requests); the server side from its 8th frame on.
    let c_at = frame_starts(client, 24)[6];
    let s_at = frame_starts(server, 0)[8];
    let mut p = Http2Parser::mid_stream();
    let mut out = Vec::new();
    let c = p.feed(
        Direction::ClientToServer,
        &client[c_at..],
        Timestamp(1),
        &mut out,
    );
    let s = p.feed(
        Direction::ServerToClient,
        &server[s_at..],
        Timestamp(2),
        &mut out,
    );
    assert_eq!((c, s), (Status::Ok, Status::Ok));
    p.close(Timestamp(3), &mut out);
    assert!(p.hpack_unresolved() > 0);
    assert!(p.hpack_degraded());
    let complete = out
        .iter()
        .filter(|e| e.outcome == Outcome::Complete)
        .count();
    assert!(complete >= 10, "{complete} complete of {}", out.len());
    for e in &out {
        let ExchangeDetail::Http(h) = &e.detail else {
            panic!()
        };
        assert!(h.status.is_none() || h.status == Some(200));
    }
}

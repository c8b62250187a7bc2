//! Broken, hostile and random input: every path ends in a status, never a
//! panic, and memory stays within the caps.

use super::samples::SAMPLES;
use super::{summary, C, S};
use crate::event::{Direction, Exchange, ExchangeDetail, Timestamp};
use crate::fuzzing::Rng;
use crate::http1::{Http1Parser, MAX_HEAD_BYTES, MAX_PENDING};
use crate::{ErrorReason, ParseError, ProtocolParser, Status};

fn feed_all(parser: &mut Http1Parser, steps: &[(Direction, &[u8])]) -> (Vec<Exchange>, Status) {
    let mut out: Vec<Exchange> = Vec::new();
    let mut status = Status::Ok;
    for &(dir, bytes) in steps {
        status = parser.feed(dir, bytes, Timestamp(1), &mut out);
    }
    (out, status)
}

fn error(reason: ErrorReason) -> Status {
    Status::Error(ParseError { reason })
}

#[test]
fn hostile_lengths_are_errors() {
    let mut p = Http1Parser::new();
    let req = b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999\r\n\r\n";
    assert_eq!(
        feed_all(&mut p, &[(C, req)]).1,
        error(ErrorReason::LengthTooLarge)
    );

    let mut p = Http1Parser::new();
    let req = b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\n";
    assert_eq!(
        feed_all(&mut p, &[(C, req)]).1,
        error(ErrorReason::LengthTooLarge)
    );

    let mut p = Http1Parser::new();
    let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n";
    let steps: [(Direction, &[u8]); 2] = [(C, b"GET / HTTP/1.1\r\n\r\n"), (S, resp)];
    assert_eq!(feed_all(&mut p, &steps).1, error(ErrorReason::Malformed));

    // A request coding that is not chunked cannot be delimited.
    let mut p = Http1Parser::new();
    let req = b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n";
    assert_eq!(
        feed_all(&mut p, &[(C, req)]).1,
        error(ErrorReason::Malformed)
    );
}

#[test]
fn header_flood_is_head_too_large_and_bounded() {
    let mut p = Http1Parser::new();
    let mut out: Vec<Exchange> = Vec::new();
    let mut status = p.feed(C, b"GET / HTTP/1.1\r\n", Timestamp(0), &mut out);
    while status == Status::Ok {
        status = p.feed(
            C,
            b"X-Flood: aaaaaaaaaaaaaaaaaaaa\r\nX-Fl",
            Timestamp(0),
            &mut out,
        );
        assert!(p.buffered_bytes() <= MAX_HEAD_BYTES);
    }
    assert_eq!(status, error(ErrorReason::HeadTooLarge));
}

#[test]
fn too_many_pipelined_requests() {
    let mut p = Http1Parser::new();
    let many = b"GET / HTTP/1.1\r\n\r\n".repeat(MAX_PENDING);
    assert_eq!(feed_all(&mut p, &[(C, &many)]).1, Status::Ok);
    assert_eq!(
        feed_all(&mut p, &[(C, b"GET / HTTP/1.1\r\n\r\n")]).1,
        error(ErrorReason::TooManyPending)
    );
}

#[test]
fn response_without_request_is_unpaired() {
    let mut p = Http1Parser::new();
    let (_, status) = feed_all(&mut p, &[(S, b"HTTP/1.1 408 Request Timeout\r\n\r\n")]);
    assert_eq!(status, error(ErrorReason::UnpairedResponse));
}

#[test]
fn after_error_feeds_are_ignored_and_close_reports_pending() {
    let mut p = Http1Parser::new();
    let steps: [(Direction, &[u8]); 3] = [
        (C, b"GET /a HTTP/1.1\r\n\r\nGET /b HTTP/1.1\r\n\r\n"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n12"),
        (C, b"garbage\r\n\r\n"),
    ];
    let (out, status) = feed_all(&mut p, &steps);
    assert!(out.is_empty());
    assert_eq!(status, error(ErrorReason::Malformed));
    let (out, again) = feed_all(&mut p, &[(S, b"34567890"), (C, b"GET / HTTP/1.1\r\n\r\n")]);
    assert_eq!((out.len(), again), (0, status));
    let mut out: Vec<Exchange> = Vec::new();
    p.close(Timestamp(5), &mut out);
    p.close(Timestamp(6), &mut out);
    let got: Vec<String> = out.iter().map(summary).collect();
    assert_eq!(
        got,
        [
            "GET - /a 1.1 -> 200 body 0/2 incomplete",
            "GET - /b 1.1 -> - body 0/0 incomplete"
        ]
    );
    assert!(out.iter().all(|e| e.finished == Timestamp(5)));
}

#[test]
fn truncated_until_close_response_is_incomplete_without_eos() {
    let sample = SAMPLES
        .iter()
        .find(|s| s.name.starts_with("HTTP/1.0"))
        .unwrap();
    let mut p = Http1Parser::new();
    let (out, _) = feed_all(&mut p, sample.segments);
    assert!(out.is_empty());
    let mut out: Vec<Exchange> = Vec::new();
    p.close(Timestamp(9), &mut out);
    assert_eq!(
        summary(&out[0]),
        "GET - /old 1.0 -> 200 body 0/29 incomplete"
    );
}

#[test]
fn long_target_and_host_are_capped() {
    let mut req = b"GET /".to_vec();
    req.extend(std::iter::repeat_n(b'a', 5000));
    req.extend_from_slice(b" HTTP/1.1\r\nHost: ");
    req.extend(std::iter::repeat_n(b'h', 5000));
    req.extend_from_slice(b"\r\n\r\n");
    let mut p = Http1Parser::new();
    feed_all(&mut p, &[(C, &req)]);
    let mut out: Vec<Exchange> = Vec::new();
    p.close(Timestamp(2), &mut out);
    let ExchangeDetail::Http(h) = &out[0].detail else {
        panic!("expected an HTTP exchange, got {:?}", out[0].detail);
    };
    assert_eq!(h.target.len(), crate::event::MAX_KEPT_TARGET);
    assert_eq!(
        h.host.as_ref().map(String::len),
        Some(crate::event::MAX_KEPT_TARGET)
    );
}

#[test]
fn random_bytes_never_panic_and_stay_bounded() {
    const WORDS: &[&[u8]] = &[
        b"GET ",
        b"HEAD ",
        b"CONNECT ",
        b"/ ",
        b"HTTP/1.1",
        b"HTTP/1.0 ",
        b"\r\n",
        b"\n",
        b"200 ",
        b"101 ",
        b"100 ",
        b"204 ",
        b"Content-Length: ",
        b"Transfer-Encoding: chunked",
        b"Upgrade: x",
        b"5",
        b"0",
        b"ffff",
        b";",
        b":",
        b" ",
        b"\x00",
        b"\xff",
    ];
    let mut rng = Rng::new(42);
    for _ in 0..3000 {
        let mut p = Http1Parser::new();
        let mut out: Vec<Exchange> = Vec::new();
        for _ in 0..rng.below(40) {
            let mut chunk = Vec::new();
            for _ in 0..rng.below(8) {
                if rng.below(4) == 0 {
                    chunk.push(rng.below(256) as u8);
                } else {
                    chunk.extend_from_slice(WORDS[rng.below(WORDS.len())]);
                }
            }
            let dir = if rng.below(2) == 0 { C } else { S };
            p.feed(dir, &chunk, Timestamp(rng.below(10) as u64), &mut out);
            assert!(p.buffered_bytes() <= 2 * MAX_HEAD_BYTES);
        }
        p.close(Timestamp(10), &mut out);
    }
}

#[test]
fn refused_connect_keeps_parsing_http() {
    let steps: [(Direction, &[u8]); 3] = [
        (C, b"CONNECT db:5432 HTTP/1.1\r\nHost: db:5432\r\n\r\nGET /after HTTP/1.1\r\nHost: h\r\n\r\n"),
        (S, b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 4\r\n\r\ndeny"),
        (S, b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n"),
    ];
    let mut p = Http1Parser::new();
    let (out, status) = feed_all(&mut p, &steps);
    assert_eq!(status, Status::Ok);
    let got: Vec<String> = out.iter().map(summary).collect();
    assert_eq!(
        got,
        [
            "CONNECT db:5432 db:5432 1.1 -> 407 body 0/4 complete",
            "GET h /after 1.1 -> 200 body 0/0 complete"
        ]
    );
}

#[test]
fn bytes_held_while_paused_are_capped() {
    let mut p = Http1Parser::new();
    let (_, status) = feed_all(&mut p, &[(C, b"CONNECT a:1 HTTP/1.1\r\n\r\n")]);
    assert_eq!(status, Status::Ok);
    let tls = vec![0x17u8; MAX_HEAD_BYTES + 1];
    assert_eq!(
        feed_all(&mut p, &[(C, &tls)]).1,
        error(ErrorReason::HeadTooLarge)
    );
}

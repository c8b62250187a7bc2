//! Whole-parser tests: expectations per sample, the split invariant,
//! truncation, hostile input and random bytes.

use super::samples::{Sample, SAMPLES};
use super::*;
use crate::event::{Exchange, ExchangeDetail, Outcome};
use crate::fuzzing::Rng;

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

/// One line per exchange, so expectations read like the traffic.
pub fn summary(e: &Exchange) -> String {
    let ExchangeDetail::Http(h) = &e.detail;
    let method = match &h.method_original {
        Some(orig) => format!("{}({orig})", h.method.as_str()),
        None => h.method.as_str().to_owned(),
    };
    let status = h.status.map_or("-".to_owned(), |s| s.to_string());
    let outcome = match e.outcome {
        Outcome::Complete => "complete",
        Outcome::Incomplete => "incomplete",
    };
    format!(
        "{method} {} {} {} -> {status} body {}/{} {outcome}{}",
        h.host.as_deref().unwrap_or("-"),
        h.target,
        h.version.as_str(),
        h.request_body_bytes,
        h.response_body_bytes,
        if h.upgraded { " upgraded" } else { "" },
    )
}

/// Feeds a sample with each segment cut into pieces by `cut`; segment `i`
/// carries timestamp `i`, so a split inside a segment must not move any
/// timestamp either. Returns the events and the last status.
fn run(
    sample: &Sample,
    mut cut: impl FnMut(usize, &[u8]) -> Vec<usize>,
) -> (Vec<Exchange>, Status) {
    let mut parser = Http1Parser::new();
    let mut out: Vec<Exchange> = Vec::new();
    let mut status = Status::Ok;
    for (i, &(dir, bytes)) in sample.segments.iter().enumerate() {
        let mut from = 0;
        let mut ends = cut(i, bytes);
        ends.push(bytes.len());
        for end in ends {
            let end = end.clamp(from, bytes.len());
            status = parser.feed(dir, &bytes[from..end], Timestamp(i as u64), &mut out);
            from = end;
        }
        assert!(parser.buffered_bytes() <= 2 * MAX_HEAD_BYTES);
    }
    let end = Timestamp(sample.segments.len() as u64);
    if sample.server_eos {
        parser.end_of_stream(S, end, &mut out);
    }
    parser.close(end, &mut out);
    (out, status)
}

fn whole(sample: &Sample) -> (Vec<Exchange>, Status) {
    run(sample, |_, _| Vec::new())
}

#[test]
fn every_sample_yields_its_expected_exchanges() {
    for sample in SAMPLES {
        let (events, _) = whole(sample);
        let got: Vec<String> = events.iter().map(summary).collect();
        assert_eq!(got, sample.expect, "{}", sample.name);
    }
}

#[test]
fn split_at_every_offset_changes_nothing() {
    for sample in SAMPLES {
        let reference = whole(sample);
        for (seg, &(_, bytes)) in sample.segments.iter().enumerate() {
            for offset in 0..=bytes.len() {
                let split = run(sample, |i, _| if i == seg { vec![offset] } else { vec![] });
                assert_eq!(
                    split, reference,
                    "{}: segment {seg} split at {offset}",
                    sample.name
                );
            }
        }
    }
}

#[test]
fn byte_by_byte_changes_nothing() {
    for sample in SAMPLES {
        let reference = whole(sample);
        let split = run(sample, |_, bytes| (1..bytes.len()).collect());
        assert_eq!(split, reference, "{}", sample.name);
    }
}

#[test]
fn random_chunking_changes_nothing() {
    let mut rng = Rng::new(7);
    for sample in SAMPLES {
        let reference = whole(sample);
        for _ in 0..50 {
            let split = run(sample, |_, bytes| {
                let mut cuts = Vec::new();
                let mut at = 0;
                while at < bytes.len() {
                    at += 1 + rng.below(16);
                    cuts.push(at);
                }
                cuts
            });
            assert_eq!(split, reference, "{}", sample.name);
        }
    }
}

#[test]
fn timestamps_come_from_the_right_feeds() {
    // 100-continue: request head at t0, 100 at t1, body at t2, answer at t3.
    let sample = SAMPLES
        .iter()
        .find(|s| s.name == "100-continue then 200")
        .unwrap();
    let (events, _) = whole(sample);
    assert_eq!(
        (events[0].started, events[0].finished),
        (Timestamp(0), Timestamp(3))
    );
    // Until close: finished when the server half-closed (t3).
    let sample = SAMPLES
        .iter()
        .find(|s| s.name.starts_with("HTTP/1.0"))
        .unwrap();
    let (events, _) = whole(sample);
    assert_eq!(events[0].finished, Timestamp(3));
}

#[test]
fn byte_counts_add_up_to_the_wire() {
    for sample in SAMPLES {
        if sample.expect.iter().any(|e| e.ends_with("upgraded")) {
            continue;
        }
        let (events, _) = whole(sample);
        let on_wire = |d: Direction| -> u64 {
            let total: usize = sample
                .segments
                .iter()
                .filter(|s| s.0 == d)
                .map(|s| s.1.len())
                .sum();
            // Leading blank lines belong to no message.
            let blank = sample.segments.first().map_or(0, |s| {
                s.1.iter()
                    .take_while(|b| **b == b'\r' || **b == b'\n')
                    .count()
            });
            (total - if d == C { blank } else { 0 }) as u64
        };
        assert_eq!(
            events.iter().map(|e| e.request_bytes).sum::<u64>(),
            on_wire(C),
            "{}",
            sample.name
        );
        assert_eq!(
            events.iter().map(|e| e.response_bytes).sum::<u64>(),
            on_wire(S),
            "{}",
            sample.name
        );
    }
}

#[test]
fn upgrades_stop_the_parser() {
    for name in ["101 websocket upgrade", "connect tunnel"] {
        let sample = SAMPLES.iter().find(|s| s.name == name).unwrap();
        let (events, status) = whole(sample);
        assert_eq!(status, Status::Done, "{name}");
        let (req, resp) = (sample.segments[0].1.len() as u64, events[0].response_bytes);
        assert_eq!(events[0].request_bytes, req, "{name}");
        // The 101 head only: the websocket frame after it is not HTTP.
        assert!(resp < sample.segments[1].1.len() as u64 + 1, "{name}");
    }
}

/// Cutting the conversation anywhere (wire order, then close) never panics
/// and never invents an exchange: every complete one is one of the whole
/// run's.
#[test]
fn truncation_never_invents_exchanges() {
    for sample in SAMPLES {
        let (reference, _) = whole(sample);
        let total: usize = sample.segments.iter().map(|s| s.1.len()).sum();
        for keep in 0..total {
            let mut left = keep;
            let mut parser = Http1Parser::new();
            let mut out: Vec<Exchange> = Vec::new();
            for (i, &(dir, bytes)) in sample.segments.iter().enumerate() {
                let take = left.min(bytes.len());
                parser.feed(dir, &bytes[..take], Timestamp(i as u64), &mut out);
                left -= take;
            }
            parser.close(Timestamp(99), &mut out);
            assert!(
                out.len() <= reference.len().max(1) + 1,
                "{} at {keep}",
                sample.name
            );
            for e in out.iter().filter(|e| e.outcome == Outcome::Complete) {
                assert!(
                    reference.contains(e),
                    "{} at {keep}: {}",
                    sample.name,
                    summary(e)
                );
            }
        }
    }
}

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
    let ExchangeDetail::Http(h) = &out[0].detail;
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

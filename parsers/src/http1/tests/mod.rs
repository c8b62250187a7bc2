//! Whole-parser tests on the sample conversations: expectations, the split
//! invariant, truncation. Hostile and broken input is in `errors.rs`.

mod dynamodb;
mod errors;
mod samples;

use super::*;
use crate::event::{Exchange, ExchangeDetail, Outcome};
use crate::fuzzing::Rng;
use samples::{Sample, SAMPLES};

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

/// One line per exchange, so expectations read like the traffic.
pub fn summary(e: &Exchange) -> String {
    let ExchangeDetail::Http(h) = &e.detail else {
        return format!("not http: {:?}", e.detail);
    };
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

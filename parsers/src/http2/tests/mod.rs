//! Whole-parser tests: sample conversations (expectations, every split,
//! byte by byte), annotated frames, lost HPACK state, hostile input.

mod build;
mod errors;
mod frames;
mod samples;
mod samples_grpc;

use super::*;
use crate::event::{Exchange, ExchangeDetail, Outcome};
use samples::{samples, Sample};

pub const C: Direction = Direction::ClientToServer;
pub const S: Direction = Direction::ServerToClient;

/// One line per exchange, so expectations read like the traffic.
pub fn summary(e: &Exchange) -> String {
    let ExchangeDetail::Http(h) = &e.detail else {
        return format!("not http: {:?}", e.detail);
    };
    let status = h.status.map_or("-".to_owned(), |s| s.to_string());
    let outcome = match e.outcome {
        Outcome::Complete => "complete",
        Outcome::Incomplete => "incomplete",
    };
    let mut line = format!(
        "{} {} {} -> {status} body {}/{} {outcome} t{}..{}",
        h.method.as_str(),
        h.host.as_deref().unwrap_or("-"),
        h.target,
        h.request_body_bytes,
        h.response_body_bytes,
        e.started.0,
        e.finished.0,
    );
    if let Some(g) = &h.grpc {
        line.push_str(&format!(
            " grpc {} {} msgs {}/{} compressed {} timeout {} {:?}",
            g.method.as_deref().unwrap_or("-"),
            g.status.map_or("-", |s| s.as_str()),
            g.request_messages,
            g.response_messages,
            g.compressed_messages,
            g.timeout_ms.map_or("-".to_owned(), |t| format!("{t}ms")),
            g.message.as_deref().unwrap_or(""),
        ));
    }
    line
}

/// Feeds a sample with each segment cut at the offsets `cut` returns;
/// segment `i` carries timestamp `i`. Returns events and final status.
fn run(
    sample: &Sample,
    mut cut: impl FnMut(usize, &[u8]) -> Vec<usize>,
) -> (Vec<Exchange>, Status) {
    let mut parser = if sample.mid_stream {
        Http2Parser::mid_stream()
    } else {
        Http2Parser::new()
    };
    let mut out: Vec<Exchange> = Vec::new();
    let mut status = Status::Ok;
    for (i, (dir, bytes)) in sample.segments.iter().enumerate() {
        let mut from = 0;
        let mut ends = cut(i, bytes);
        ends.push(bytes.len());
        for end in ends {
            let end = end.clamp(from, bytes.len());
            status = parser.feed(*dir, &bytes[from..end], Timestamp(i as u64), &mut out);
            from = end;
        }
        assert!(parser.buffered_bytes() <= 2 * (MAX_HEADER_BLOCK + 15));
    }
    parser.close(Timestamp(sample.segments.len() as u64), &mut out);
    (out, status)
}

fn whole(sample: &Sample) -> (Vec<Exchange>, Status) {
    run(sample, |_, _| Vec::new())
}

#[test]
fn every_sample_yields_its_expected_exchanges() {
    for sample in samples() {
        let (events, status) = whole(&sample);
        assert_eq!(status, Status::Ok, "{}", sample.name);
        let got: Vec<String> = events.iter().map(summary).collect();
        assert_eq!(got, sample.expect, "{}", sample.name);
    }
}

#[test]
fn every_split_of_every_segment_gives_the_same_events() {
    for sample in samples() {
        let want = whole(&sample);
        for (seg, (_, bytes)) in sample.segments.iter().enumerate() {
            for at in 0..=bytes.len() {
                let got = run(&sample, |i, _| if i == seg { vec![at] } else { Vec::new() });
                assert_eq!(got, want, "{}: segment {seg} cut at {at}", sample.name);
            }
        }
    }
}

#[test]
fn byte_by_byte_gives_the_same_events() {
    for sample in samples() {
        let want = whole(&sample);
        let got = run(&sample, |_, b| (1..b.len()).collect());
        assert_eq!(got, want, "{}", sample.name);
    }
}

#[test]
fn truncated_conversations_never_panic_and_end_incomplete() {
    for sample in samples() {
        let total: usize = sample.segments.iter().map(|(_, b)| b.len()).sum();
        for keep in (0..total).step_by(7) {
            let mut left = keep;
            let mut p = Http2Parser::new();
            let mut out: Vec<Exchange> = Vec::new();
            for (dir, bytes) in &sample.segments {
                let n = left.min(bytes.len());
                p.feed(*dir, &bytes[..n], Timestamp(0), &mut out);
                left -= n;
            }
            p.close(Timestamp(9), &mut out);
            assert_eq!(p.open_streams(), 0);
        }
    }
}

/// Writes the samples as `http2` fuzz seeds (client frames, separator,
/// server frames): `PERISCOPE_WRITE_SEEDS=1 cargo test -p
/// periscope-parsers write_http2_sample_seeds -- --ignored`.
#[test]
#[ignore]
fn write_http2_sample_seeds() {
    if std::env::var_os("PERISCOPE_WRITE_SEEDS").is_none() {
        return;
    }
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz/seeds/http2");
    for sample in samples() {
        let side = |d: Direction| -> Vec<u8> {
            sample
                .segments
                .iter()
                .filter(|(dir, _)| *dir == d)
                .flat_map(|(_, b)| b.clone())
                .collect()
        };
        let mut data = side(C);
        data.extend_from_slice(crate::fuzzing::SEPARATOR);
        data.extend(side(S));
        let name = format!(
            "sample-{}.bin",
            sample.name.replace([' ', ','], "-").replace("--", "-")
        );
        std::fs::write(dir.join(name), data).unwrap();
    }
}

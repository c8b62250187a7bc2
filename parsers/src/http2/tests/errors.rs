//! Hostile and broken input: every path ends in a status (or is tolerated
//! as documented), never a panic, with memory bounded; and lost HPACK
//! state, which is tolerated and counted.

use super::build::*;
use super::samples::lost_state;
use super::{summary, C, S};
use crate::event::{Direction, Exchange, Timestamp};
use crate::fuzzing::Rng;
use crate::http2::wire::*;
use crate::http2::{Http2Parser, MAX_HEADER_BLOCK, MAX_STREAMS};
use crate::{ErrorReason, ParseError, ProtocolParser, Status};

fn error(reason: ErrorReason) -> Status {
    Status::Error(ParseError { reason })
}

fn feed(p: &mut Http2Parser, steps: &[(Direction, Vec<u8>)]) -> (Vec<Exchange>, Status) {
    let mut out = Vec::new();
    let mut status = Status::Ok;
    for (dir, bytes) in steps {
        status = p.feed(*dir, bytes, Timestamp(1), &mut out);
    }
    (out, status)
}

fn get(c: &mut Peer, stream: u32) -> Vec<u8> {
    c.headers(
        stream,
        END_STREAM,
        &[(":method", "GET"), (":path", "/"), (":scheme", "http")],
    )
}

#[test]
fn lost_hpack_state_gives_placeholders_and_still_emits() {
    let sample = lost_state();
    let mut p = Http2Parser::mid_stream();
    let (mut out, status) = feed(&mut p, &sample.segments);
    p.close(Timestamp(9), &mut out);
    assert_eq!(status, Status::Ok);
    assert_eq!(out.len(), 2);
    assert_eq!(
        summary(&out[1]),
        "GET - /fresh -> 404 body 0/0 complete t1..1"
    );
    // :path and :authority of stream 7, :authority of 9, server of 7.
    assert_eq!(p.hpack_unresolved(), 4);
    assert!(p.hpack_degraded());
    // A connection seen from the start has nothing unresolved.
    let mut p = Http2Parser::new();
    let mut c = Peer::new();
    feed(&mut p, &[(C, cat(&[preface(), get(&mut c, 1)]))]);
    assert_eq!((p.hpack_unresolved(), p.hpack_degraded()), (0, false));
}

#[test]
fn bad_preface_is_malformed() {
    let mut p = Http2Parser::new();
    let status = feed(&mut p, &[(C, b"PRI * HTTP/2.0\r\n\r\nXX\r\n\r\n".to_vec())]).1;
    assert_eq!(status, error(ErrorReason::Malformed));
    // Feeds after an error are ignored with the same status.
    assert_eq!(
        feed(&mut p, &[(C, preface())]).1,
        error(ErrorReason::Malformed)
    );
}

#[test]
fn frame_over_max_frame_size() {
    let mut p = Http2Parser::new();
    let big = data(1, 0, &vec![0; DEFAULT_MAX_FRAME as usize + 1]);
    let status = feed(&mut p, &[(C, cat(&[preface(), big]))]).1;
    assert_eq!(status, error(ErrorReason::LengthTooLarge));
    // Allowed once the server raised SETTINGS_MAX_FRAME_SIZE.
    let mut p = Http2Parser::new();
    let mut c = Peer::new();
    let steps = [
        (
            C,
            cat(&[
                preface(),
                c.headers(1, 0, &[(":method", "POST"), (":path", "/")]),
            ]),
        ),
        (S, settings(&[(SETTINGS_MAX_FRAME_SIZE, 1 << 20)])),
        (C, data(1, END_STREAM, &vec![0; 100_000])),
    ];
    assert_eq!(feed(&mut p, &steps).1, Status::Ok);
    // An out-of-range setting is a protocol error.
    let mut p = Http2Parser::new();
    let status = feed(
        &mut p,
        &[(S, settings(&[(SETTINGS_MAX_FRAME_SIZE, 1 << 24)]))],
    )
    .1;
    assert_eq!(status, error(ErrorReason::Malformed));
}

#[test]
fn header_block_over_cap_is_head_too_large_and_bounded() {
    let mut p = Http2Parser::new();
    let mut out = Vec::new();
    let mut status = p.feed(C, &preface(), Timestamp(0), &mut out);
    status = match status {
        Status::Ok => p.feed(
            C,
            &encode_frame(HEADERS, 0, 1, &[0x82; 16_000]),
            Timestamp(0),
            &mut out,
        ),
        s => s,
    };
    while status == Status::Ok {
        status = p.feed(
            C,
            &encode_frame(CONTINUATION, 0, 1, &[0x82; 16_000]),
            Timestamp(0),
            &mut out,
        );
        assert!(p.buffered_bytes() <= MAX_HEADER_BLOCK + 9);
    }
    assert_eq!(status, error(ErrorReason::HeadTooLarge));
}

#[test]
fn hpack_failures() {
    let cases: [(&[u8], Status); 4] = [
        // Integer overflow in an index.
        (
            &[0xff, 0xff, 0xff, 0xff, 0xff, 0x7f],
            error(ErrorReason::Malformed),
        ),
        // Index 0.
        (&[0x80], error(ErrorReason::Malformed)),
        // Table size update above SETTINGS_HEADER_TABLE_SIZE (4096).
        (&[0x3f, 0xe2, 0x1f, 0x82], error(ErrorReason::Malformed)),
        // Huffman garbage in a value: that field is lost, nothing else.
        (&[0x82, 0x84, 0x0f, 0x28, 0x81, 0xff], Status::Ok),
    ];
    for (block, want) in cases {
        let mut p = Http2Parser::new();
        let frame = encode_frame(HEADERS, END_HEADERS | END_STREAM, 1, block);
        let (_, status) = feed(&mut p, &[(C, cat(&[preface(), frame]))]);
        assert_eq!(status, want, "{block:02x?}");
    }
    // The Huffman case: the request is still there, one field counted.
    let mut p = Http2Parser::new();
    let frame = encode_frame(
        HEADERS,
        END_HEADERS | END_STREAM,
        1,
        &[0x82, 0x84, 0x0f, 0x28, 0x81, 0xff],
    );
    feed(&mut p, &[(C, cat(&[preface(), frame]))]);
    assert_eq!((p.open_streams(), p.hpack_unresolved()), (1, 1));
}

#[test]
fn table_size_update_over_our_cap_is_clamped_when_settings_allow_it() {
    let mut p = Http2Parser::new();
    // The server allows a 1 MiB table; the client's encoder takes it.
    let update = [0x3f, 0xe1, 0xff, 0x3f, 0x82, 0x84];
    let steps = [
        (C, preface()),
        (S, settings(&[(SETTINGS_HEADER_TABLE_SIZE, 1 << 20)])),
        (
            C,
            encode_frame(HEADERS, END_HEADERS | END_STREAM, 1, &update),
        ),
    ];
    assert_eq!(feed(&mut p, &steps).1, Status::Ok);
    assert!(p.hpack_degraded());
}

#[test]
fn stream_zero_and_protocol_violations() {
    let mut c = Peer::new();
    let bad: Vec<Vec<u8>> = vec![
        get(&mut c, 0),
        data(0, 0, b"x"),
        encode_frame(CONTINUATION, END_HEADERS, 1, &[0x82]),
        // HEADERS without END_HEADERS, then something else.
        cat(&[encode_frame(HEADERS, 0, 1, &[0x82]), ping(false)]),
        // HEADERS without END_HEADERS, CONTINUATION on another stream.
        cat(&[
            encode_frame(HEADERS, 0, 1, &[0x82]),
            encode_frame(CONTINUATION, END_HEADERS, 3, &[0x84]),
        ]),
        // Padding longer than the payload.
        encode_frame(DATA, PADDED, 1, &[9, 0, 0]),
        encode_frame(RST_STREAM, 0, 0, &[0, 0, 0, 8]),
    ];
    for frames in bad {
        let mut p = Http2Parser::new();
        let (_, status) = feed(&mut p, &[(C, cat(&[preface(), frames.clone()]))]);
        assert_eq!(status, error(ErrorReason::Malformed), "{frames:02x?}");
    }
}

#[test]
fn too_many_streams_evicts_the_oldest() {
    let mut p = Http2Parser::new();
    let mut c = Peer::new();
    let mut out = Vec::new();
    p.feed(C, &preface(), Timestamp(0), &mut out);
    for i in 0..(MAX_STREAMS as u32 + 10) {
        let status = p.feed(C, &get(&mut c, 2 * i + 1), Timestamp(0), &mut out);
        assert_eq!(status, Status::Ok);
        assert!(p.open_streams() <= MAX_STREAMS);
    }
    assert_eq!(out.len(), 10);
    assert_eq!(p.evicted_streams(), 10);
    assert!(summary(&out[0]).contains("incomplete"));
}

#[test]
fn push_is_counted_not_a_request() {
    let sample = super::samples::samples()
        .into_iter()
        .find(|s| s.name == "push_promise")
        .unwrap();
    let mut p = Http2Parser::new();
    let (out, _) = feed(&mut p, &sample.segments);
    assert_eq!((out.len(), p.pushes(), p.open_streams()), (1, 1, 0));
}

#[test]
fn random_input_never_panics_and_stays_bounded() {
    let mut rng = Rng::new(2026);
    let mut c = Peer::new();
    let valid = cat(&[preface(), get(&mut c, 1), data(1, 0, b"abc")]);
    for round in 0..3000 {
        let mut bytes = valid.clone();
        for _ in 0..1 + rng.below(8) {
            let i = rng.below(bytes.len());
            bytes[i] = rng.next_u64() as u8;
        }
        if round % 3 == 0 {
            bytes.extend((0..rng.below(200)).map(|_| rng.next_u64() as u8));
        }
        let mut p = if round % 2 == 0 {
            Http2Parser::new()
        } else {
            Http2Parser::mid_stream()
        };
        let mut out = Vec::new();
        let dir = if round % 4 == 1 { S } else { C };
        p.feed(dir, &bytes, Timestamp(0), &mut out);
        p.close(Timestamp(1), &mut out);
        assert!(p.buffered_bytes() <= 2 * (MAX_HEADER_BLOCK + 15));
        assert_eq!(p.open_streams(), 0);
    }
}

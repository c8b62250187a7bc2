//! Broken and hostile input: every case ends in the right `Error` reason
//! (or, for oversize messages, a skip), never a panic, with memory bounded.

use bson::doc;

use super::builder::*;
use super::*;
use crate::ErrorReason;

pub fn feed_all(parser: &mut MongoParser, dir: Direction, bytes: &[u8]) -> Status {
    let mut out: Vec<Exchange> = Vec::new();
    parser.feed(dir, bytes, Timestamp(0), &mut out)
}

pub fn err(reason: ErrorReason) -> Status {
    Status::Error(crate::ParseError { reason })
}

/// The status after feeding `bytes` in `dir`, whole and byte by byte.
fn status_of(dir: Direction, bytes: &[u8]) -> Status {
    let whole = feed_all(&mut MongoParser::new(), dir, bytes);
    let mut p = MongoParser::new();
    let mut last = Status::Ok;
    for b in bytes {
        last = feed_all(&mut p, dir, std::slice::from_ref(b));
    }
    assert_eq!(whole, last, "split changed the status");
    assert!(p.buffered_bytes() <= bytes.len() + 16);
    whole
}

/// Replaces the 4 little-endian bytes at `at`.
fn patch(mut m: Vec<u8>, at: usize, v: i32) -> Vec<u8> {
    m[at..at + 4].copy_from_slice(&v.to_le_bytes());
    m
}

fn ping() -> Vec<u8> {
    op_msg(1, 0, 0, &doc! { "ping": 1, "$db": "admin" }, &[])
}

#[test]
fn header_lengths_out_of_bounds() {
    // messageLength 0x7fffffff: beyond MongoDB's 48 MB, refused on the header.
    assert_eq!(
        status_of(C, &patch(ping(), 0, 0x7fff_ffff)),
        err(ErrorReason::LengthTooLarge)
    );
    assert_eq!(
        status_of(C, &patch(ping(), 0, 48_000_001)),
        err(ErrorReason::LengthTooLarge)
    );
    for len in [0, 15, -1, i32::MIN] {
        assert_eq!(
            status_of(C, &patch(ping(), 0, len)),
            err(ErrorReason::Malformed),
            "{len}"
        );
    }
    // A bare 16-byte message is a valid frame with an empty (malformed) body.
    assert_eq!(
        status_of(C, &message(1, 0, OP_MSG, &[])),
        err(ErrorReason::Malformed)
    );
}

#[test]
fn unknown_opcode_is_unsupported() {
    assert_eq!(
        status_of(C, &message(1, 0, 2010, b"abcd")),
        err(ErrorReason::Unsupported)
    );
    // Not MongoDB at all: "GET " read as a length is over 48 MB.
    assert_eq!(
        status_of(C, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
        err(ErrorReason::LengthTooLarge)
    );
}

#[test]
fn op_msg_structure_errors() {
    let body = bson(&doc! { "ping": 1 });
    let with = |flags: u32, sections: &[u8]| {
        let mut b = flags.to_le_bytes().to_vec();
        b.extend_from_slice(sections);
        message(1, 0, OP_MSG, &b)
    };
    let kind0 = [&[0u8][..], &body].concat();
    assert_eq!(status_of(C, &with(0, &kind0)), Status::Ok);
    // Unknown required flag bit (bit 5), known optional bit 16 is fine.
    assert_eq!(
        status_of(C, &with(1 << 5, &kind0)),
        err(ErrorReason::Malformed)
    );
    assert_eq!(status_of(C, &with(EXHAUST_ALLOWED, &kind0)), Status::Ok);
    assert_eq!(status_of(C, &with(1 << 20, &kind0)), Status::Ok);
    // No body section; two body sections; unknown section kind.
    assert_eq!(status_of(C, &with(0, &[])), err(ErrorReason::Malformed));
    assert_eq!(
        status_of(C, &with(0, &[kind0.clone(), kind0.clone()].concat())),
        err(ErrorReason::Malformed)
    );
    assert_eq!(
        status_of(C, &with(0, &[&kind0[..], &[2u8]].concat())),
        err(ErrorReason::Malformed)
    );
    // Kind-1 section whose size runs past the message.
    let mut seq = vec![1u8];
    seq.extend_from_slice(&1000i32.to_le_bytes());
    seq.extend_from_slice(b"documents\0");
    assert_eq!(
        status_of(C, &with(0, &[&kind0[..], &seq].concat())),
        err(ErrorReason::Malformed)
    );
    // Kind-1 identifier without its NUL.
    let mut seq = vec![1u8];
    seq.extend_from_slice(&13i32.to_le_bytes());
    seq.extend_from_slice(b"documents");
    assert_eq!(
        status_of(C, &with(0, &[&kind0[..], &seq].concat())),
        err(ErrorReason::Malformed)
    );
    // Checksum flag on a message too short to hold one.
    assert_eq!(
        status_of(C, &with(CHECKSUM_PRESENT, &[0, 1])),
        err(ErrorReason::Malformed)
    );
}

#[test]
fn bson_lies_are_malformed() {
    let good = bson(&doc! { "find": "items", "$db": "shop" });
    for (what, doc) in [
        ("length beyond the section", patch(good.clone(), 0, 1000)),
        ("length below the minimum", patch(good.clone(), 0, 3)),
        ("negative length", patch(good.clone(), 0, -7)),
        ("missing trailing NUL", {
            let mut d = good.clone();
            *d.last_mut().unwrap() = 1;
            d
        }),
        (
            "string length past the document",
            patch(good.clone(), 10, 0x4000_0000),
        ),
        ("bad element type", {
            let mut d = good.clone();
            d[4] = 0x77;
            d
        }),
        ("empty command", bson(&doc! {})),
    ] {
        let mut b = 0u32.to_le_bytes().to_vec();
        b.push(0);
        b.extend(doc);
        assert_eq!(
            status_of(C, &message(1, 0, OP_MSG, &b)),
            err(ErrorReason::Malformed),
            "{what}"
        );
    }
}

#[test]
fn legacy_structure_errors() {
    // OP_QUERY namespace without its NUL.
    let mut b = 0i32.to_le_bytes().to_vec();
    b.extend_from_slice(b"admin.$cmd");
    assert_eq!(
        status_of(C, &message(1, 0, OP_QUERY, &b)),
        err(ErrorReason::Malformed)
    );
    // OP_KILL_CURSORS claiming more ids than it carries, or a negative count.
    for n in [2, -1, i32::MAX] {
        let mut b = 0i32.to_le_bytes().to_vec();
        b.extend_from_slice(&n.to_le_bytes());
        b.extend_from_slice(&5i64.to_le_bytes());
        assert_eq!(
            status_of(C, &message(1, 0, OP_KILL_CURSORS, &b)),
            err(ErrorReason::Malformed),
            "{n}"
        );
    }
    // OP_INSERT with trailing garbage after its documents.
    let mut m = op_insert(1, "db.c", &[doc! { "a": 1 }]);
    m.extend_from_slice(&[1, 2, 3]);
    let m = patch(m.clone(), 0, m.len() as i32);
    assert_eq!(status_of(C, &m), err(ErrorReason::Malformed));
}

#[test]
fn messages_in_the_wrong_direction_are_malformed() {
    assert_eq!(
        status_of(C, &op_reply(1, 0, 0, 0, &[doc! { "ok": 1 }])),
        err(ErrorReason::Malformed)
    );
    assert_eq!(
        status_of(S, &op_insert(1, "db.c", &[])),
        err(ErrorReason::Malformed)
    );
}

#[test]
fn compressed_hostile_sizes() {
    let inner = ping();
    let wrap = |size: i32, id: u8, data: &[u8]| {
        let mut b = OP_MSG.to_le_bytes().to_vec();
        b.extend_from_slice(&size.to_le_bytes());
        b.push(id);
        b.extend_from_slice(data);
        message(1, 0, OP_COMPRESSED, &b)
    };
    let body = &inner[16..];
    assert_eq!(status_of(C, &wrap(body.len() as i32, 0, body)), Status::Ok);
    // Declared size beyond the buffering cap: refused before inflating.
    assert_eq!(
        status_of(C, &wrap(i32::MAX, 2, body)),
        err(ErrorReason::LengthTooLarge)
    );
    assert_eq!(
        status_of(C, &wrap(-1, 2, body)),
        err(ErrorReason::Malformed)
    );
    // Size that does not match what the payload inflates to.
    assert_eq!(
        status_of(C, &wrap(body.len() as i32 + 1, 0, body)),
        err(ErrorReason::Malformed)
    );
    let zipped = compress_with(Compressor::Zlib, &vec![0u8; 1 << 20]);
    assert_eq!(
        status_of(C, &wrap(1000, 2, &zipped)),
        err(ErrorReason::Malformed)
    );
    // Unknown compressor, unknown or nested inner opcode.
    assert_eq!(
        status_of(C, &wrap(body.len() as i32, 9, body)),
        err(ErrorReason::Unsupported)
    );
    let mut nested = wrap(body.len() as i32, 0, body);
    nested[16..20].copy_from_slice(&OP_COMPRESSED.to_le_bytes());
    assert_eq!(status_of(C, &nested), err(ErrorReason::Malformed));
    // Garbage for each real compressor.
    for id in 1..=3 {
        assert_eq!(
            status_of(C, &wrap(100, id, b"\x00\xff\x10garbage")),
            err(ErrorReason::Malformed),
            "{id}"
        );
    }
}

#[test]
fn after_an_error_feeds_are_ignored_and_close_reports_pending() {
    let mut p = MongoParser::new();
    let mut out: Vec<Exchange> = Vec::new();
    assert_eq!(p.feed(C, &ping(), Timestamp(1), &mut out), Status::Ok);
    let bad = patch(ping(), 0, 3);
    assert_eq!(
        p.feed(C, &bad, Timestamp(2), &mut out),
        err(ErrorReason::Malformed)
    );
    assert_eq!(
        p.feed(
            S,
            &op_msg(2, 1, 0, &doc! { "ok": 1 }, &[]),
            Timestamp(3),
            &mut out
        ),
        err(ErrorReason::Malformed)
    );
    assert!(out.is_empty());
    p.close(Timestamp(4), &mut out);
    p.close(Timestamp(5), &mut out);
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].outcome, Outcome::Incomplete);
    assert_eq!(
        (out[0].started, out[0].finished),
        (Timestamp(1), Timestamp(4))
    );
}

#[test]
fn checksums_are_verified_and_mismatches_counted() {
    let good = op_msg(
        1,
        0,
        CHECKSUM_PRESENT,
        &doc! { "ping": 1, "$db": "admin" },
        &[],
    );
    let mut p = MongoParser::new();
    assert_eq!(feed_all(&mut p, C, &good), Status::Ok);
    assert_eq!(p.checksum_mismatches(), 0);
    let mut bad = op_msg(
        2,
        0,
        CHECKSUM_PRESENT,
        &doc! { "ping": 1, "$db": "admin" },
        &[],
    );
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    assert_eq!(
        feed_all(&mut p, C, &bad),
        Status::Ok,
        "counted, not refused"
    );
    assert_eq!(p.checksum_mismatches(), 1);
    assert_eq!(p.pending(), 2);
}

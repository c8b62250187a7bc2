//! The caps: pending requests, remembered cursors, oversize messages
//! skipped without buffering, truncated conversations.

use bson::doc;

use super::builder::*;
use super::errors::err;
use super::*;
use crate::ErrorReason;

fn ping() -> Vec<u8> {
    op_msg(1, 0, 0, &doc! { "ping": 1, "$db": "admin" }, &[])
}

fn patch(mut m: Vec<u8>, at: usize, v: i32) -> Vec<u8> {
    m[at..at + 4].copy_from_slice(&v.to_le_bytes());
    m
}

#[test]
fn too_many_pending_requests() {
    let mut p = MongoParser::new();
    let mut out: Vec<Exchange> = Vec::new();
    for i in 0..MAX_PENDING as i32 {
        let m = op_msg(i, 0, 0, &doc! { "ping": 1 }, &[]);
        assert_eq!(p.feed(C, &m, Timestamp(0), &mut out), Status::Ok);
    }
    let m = op_msg(-1, 0, 0, &doc! { "ping": 1 }, &[]);
    assert_eq!(
        p.feed(C, &m, Timestamp(0), &mut out),
        err(ErrorReason::TooManyPending)
    );
    assert_eq!(p.pending(), MAX_PENDING);
}

#[test]
fn oversize_messages_are_skipped_without_buffering() {
    let options = MongoOptions {
        query_text: false,
        max_message_bytes: 1024,
    };
    let mut p = MongoParser::with_options(options);
    let mut out: Vec<Exchange> = Vec::new();
    // A 40 MB message, announced and then fed in 64 KiB pieces: never held.
    let mut head = message(7, 0, OP_MSG, &[]);
    head = patch(head, 0, 40_000_000);
    assert_eq!(p.feed(C, &head, Timestamp(0), &mut out), Status::Ok);
    let chunk = vec![0xabu8; 65536];
    let mut left = 40_000_000 - 16;
    while left > 0 {
        let n = left.min(chunk.len());
        assert_eq!(p.feed(C, &chunk[..n], Timestamp(1), &mut out), Status::Ok);
        assert!(p.buffered_bytes() <= 16);
        left -= n;
    }
    assert_eq!(p.skipped_messages(), 1);
    // Resynchronised: the next message parses.
    assert_eq!(p.feed(C, &ping(), Timestamp(2), &mut out), Status::Ok);
    assert_eq!(
        p.feed(
            S,
            &op_msg(9, 1, 0, &doc! { "ok": 1 }, &[]),
            Timestamp(3),
            &mut out
        ),
        Status::Ok
    );
    assert_eq!(out.len(), 1);
    assert_eq!(mongo_command(&out[0]), "ping");
    assert_eq!(p.pending(), 1, "the skipped request waits for its reply");
}

#[test]
fn cursor_map_stays_bounded() {
    let mut p = MongoParser::new();
    let mut out: Vec<Exchange> = Vec::new();
    for i in 0..(MAX_CURSORS as i32 * 3) {
        let req = op_msg(2 * i, 0, 0, &doc! { "find": "c", "$db": "d" }, &[]);
        let rep = op_msg(
            2 * i + 1,
            2 * i,
            0,
            &doc! { "cursor": { "firstBatch": [], "id": 1000 + i as i64, "ns": "d.c" }, "ok": 1 },
            &[],
        );
        p.feed(C, &req, Timestamp(0), &mut out);
        p.feed(S, &rep, Timestamp(0), &mut out);
    }
    assert_eq!(p.cursors(), MAX_CURSORS);
    assert_eq!(out.len(), MAX_CURSORS * 3);
}

#[test]
fn truncated_conversations_end_incomplete() {
    let req = op_msg(1, 0, 0, &doc! { "find": "c", "$db": "d" }, &[]);
    let rep = op_msg(
        2,
        1,
        0,
        &doc! { "cursor": { "firstBatch": [], "id": 0i64 }, "ok": 1 },
        &[],
    );
    for cut in 0..rep.len() {
        let mut p = MongoParser::new();
        let mut out: Vec<Exchange> = Vec::new();
        assert_eq!(p.feed(C, &req, Timestamp(0), &mut out), Status::Ok);
        assert_eq!(p.feed(S, &rep[..cut], Timestamp(1), &mut out), Status::Ok);
        p.close(Timestamp(2), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].outcome, Outcome::Incomplete, "{cut}");
    }
}

fn mongo_command(e: &Exchange) -> &str {
    match &e.detail {
        ExchangeDetail::Mongo(m) => &m.command,
        _ => "",
    }
}

//! Real pymongo 4.20 traffic against nx-27017 (behind
//! shared/peers/mongo_compress_shim.py for the compressed ones), captured
//! with parsers/tests/fixtures/mongodb/capture.py. The same files are the
//! fuzz seeds.

use super::*;
use crate::fuzzing::split_streams;

fn capture(name: &'static str, data: &'static [u8]) -> Conversation {
    let (client, server) = split_streams(data);
    Conversation {
        name,
        segments: vec![(C, client.to_vec()), (S, server.to_vec())],
        options: MongoOptions::default(),
    }
}

/// The capture as the wire had it: each message in its own segment, in
/// request/reply order (request ids pair them up), so timestamps mean
/// something and the split invariant covers every message boundary.
fn captures() -> Vec<Conversation> {
    vec![
        capture(
            "monitor",
            include_bytes!("../../../../fuzz/seeds/mongodb/pymongo-nx-monitor"),
        ),
        capture(
            "plain",
            include_bytes!("../../../../fuzz/seeds/mongodb/pymongo-nx-plain"),
        ),
        capture(
            "zlib",
            include_bytes!("../../../../fuzz/seeds/mongodb/pymongo-nx-zlib"),
        ),
        capture(
            "snappy",
            include_bytes!("../../../../fuzz/seeds/mongodb/pymongo-nx-snappy"),
        ),
        capture(
            "zstd",
            include_bytes!("../../../../fuzz/seeds/mongodb/pymongo-nx-zstd"),
        ),
    ]
}

/// What pymongo sent on the application connection (capture.py's
/// workload). The unacknowledged insert comes first here because, fed the
/// client stream whole, it completes at once; `endSessions` is last.
const APP_COMMANDS: &[&str] = &[
    "insert",
    "ismaster",
    "drop",
    "insert",
    "insert",
    "find",
    "getMore",
    "getMore",
    "getMore",
    "aggregate",
    "distinct",
    "createIndexes",
    "update",
    "findAndModify",
    "delete",
    "insert",
    "renameCollection",
    "insert",
    "update",
    "commitTransaction",
    "ping",
    "endSessions",
];

fn mongo(e: &Exchange) -> &MongoExchange {
    match &e.detail {
        ExchangeDetail::Mongo(m) => m,
        other => panic!("not mongodb: {other:?}"),
    }
}

#[test]
fn monitor_connection_is_one_handshake() {
    let (events, status) = whole(&captures().remove(0));
    assert_eq!(status, Status::Ok);
    let got: Vec<String> = events.iter().map(summary).collect();
    assert_eq!(
        got,
        ["OP_MSG ismaster(ismaster/hs) admin.- -> OP_MSG x1 ok=1 docs=0 t=0..1 bytes=330/236"]
    );
}

#[test]
fn application_connections_read_as_pymongo_wrote_them() {
    for (conv, compressor) in captures().iter().skip(1).zip([
        None,
        Some(Compressor::Zlib),
        Some(Compressor::Snappy),
        Some(Compressor::Zstd),
    ]) {
        let name = conv.name;
        let (events, status) = whole(conv);
        assert_eq!(status, Status::Ok, "{name}");
        let ms: Vec<&MongoExchange> = events.iter().map(mongo).collect();
        let commands: Vec<&str> = ms.iter().map(|m| m.command.as_str()).collect();
        assert_eq!(commands, APP_COMMANDS, "{name}");
        for m in &ms {
            assert_eq!(m.op_code, OpCode::Msg, "{name}");
            // The handshake itself is never compressed.
            let want = if m.command == "ismaster" {
                None
            } else {
                compressor
            };
            assert_eq!(m.compressor, want, "{name} {}", m.command);
            if let Some(reply) = &m.reply {
                assert_eq!(reply.compressor, want, "{name} {}", m.command);
            }
            if m.command != "ismaster" && m.command != "endSessions" && !m.fire_and_forget {
                assert!(m.session.has_lsid, "{name} {}", m.command);
            }
        }
        assert!(ms[0].fire_and_forget && ms[0].reply.is_none(), "{name}");
        let returned: u64 = ms[5..9]
            .iter()
            .filter_map(|m| m.reply.as_ref())
            .map(|r| r.documents)
            .sum();
        assert_eq!(returned, 7, "{name}: find + getMores");
        assert_eq!(ms[8].reply.as_ref().and_then(|r| r.cursor_id), Some(0));
        let dup = &ms[15];
        assert!(dup.failed(), "{name}");
        assert_eq!(dup.status_code(), Some(11000), "{name}");
        assert!(ms[16].failed(), "{name}: renameCollection");
        assert!(ms[17].session.start_transaction && ms[17].session.txn_number.is_some());
        assert_eq!(ms[19].session.autocommit, Some(false));
        for m in &ms {
            assert_eq!(
                m.collection.is_some(),
                m.database.as_deref() == Some("shop") && m.command != "renameCollection",
                "{name} {}",
                m.command
            );
        }
        assert_eq!(ms[1].kind, CommandKind::Handshake);
        assert_eq!(ms[20].kind, CommandKind::Handshake);
        assert_eq!(ms[9].kind, CommandKind::Operation);
    }
}

#[test]
fn captures_are_split_invariant() {
    let mut all = captures();
    // Every offset on the uncompressed ones (the others decompress each
    // message per run, so they get byte-by-byte and random cuts only).
    assert_split_invariant(&all.remove(0));
    assert_split_invariant(&all.remove(0));
    for conv in all {
        let reference = whole(&conv);
        assert_eq!(
            run(&conv, |_, b| (1..b.len()).collect()),
            reference,
            "{}",
            conv.name
        );
        let mut rng = Rng::new(11);
        for _ in 0..50 {
            let got = run(&conv, |_, b| {
                let mut cuts: Vec<usize> = (0..6).map(|_| rng.below(b.len() + 1)).collect();
                cuts.sort_unstable();
                cuts
            });
            assert_eq!(got, reference, "{}", conv.name);
        }
    }
}

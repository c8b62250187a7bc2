//! What each sample in `samples.rs` must yield, and the tests that hold
//! every sample to it and to the split invariant.

use super::samples_wire::compressed_find;
use super::samples_wire::samples;
use super::*;

/// What each sample must yield, by name (summaries as in `mod.rs`).
const EXPECTED: &[(&str, &[&str])] = &[
    (
        "handshake",
        &[
            r#"OP_QUERY ismaster(ismaster/hs) admin.- -> OP_REPLY x1 ok=1 docs=0 t=0..1 bytes=112/84"#,
            r#"OP_QUERY isMaster(isMaster/hs) admin.- -> OP_REPLY x1 ok=1 docs=0 t=2..3 bytes=111/84"#,
        ],
    ),
    (
        "insert kind-1",
        &[
            r#"OP_MSG insert(insert/op) shop.items sent=3 lsid -> OP_MSG x1 ok=1 n=3 docs=0 t=0..1 bytes=161/45"#,
        ],
    ),
    (
        "find getMore killCursors",
        &[
            r#"OP_MSG find(find/op) shop.items -> OP_MSG x1 ok=1 docs=2 cursor=77 t=0..1 bytes=84/133"#,
            r#"OP_MSG getMore(getMore/op) shop.items -> OP_MSG x1 ok=1 docs=2 cursor=77 t=2..3 bytes=94/132"#,
            r#"OP_MSG killCursors(killCursors/op) shop.items -> OP_MSG x1 ok=1 docs=0 t=4..5 bytes=88/69"#,
            r#"OP_MSG find(find/op) shop.other -> OP_MSG x1 ok=1 docs=1 cursor=88 t=6..7 bytes=71/112"#,
            r#"OP_MSG getMore(getMore/op) shop.other -> OP_MSG x1 ok=1 docs=1 cursor=0 t=8..9 bytes=57/111"#,
            r#"OP_MSG getMore(getMore/op) shop.- -> OP_MSG x1 ok=0 code=43 CursorNotFound docs=0 t=10..11 bytes=57/108"#,
        ],
    ),
    (
        "aggregate count distinct createIndexes",
        &[
            r#"OP_MSG aggregate(aggregate/op) shop.items -> OP_MSG x1 ok=1 docs=1 cursor=0 t=0..1 bytes=110/114"#,
            r#"OP_MSG aggregate(aggregate/op) admin.- -> OP_MSG x1 ok=1 docs=0 cursor=0 t=2..3 bytes=109/109"#,
            r#"OP_MSG count(count/op) shop.items -> OP_MSG x1 ok=1 n=5 docs=0 t=4..5 bytes=69/45"#,
            r#"OP_MSG distinct(distinct/op) shop.items -> OP_MSG x1 ok=1 docs=0 t=6..7 bytes=74/69"#,
            r#"OP_MSG createIndexes(createIndexes/op) shop.items -> OP_MSG x1 ok=1 docs=0 t=8..9 bytes=124/81"#,
        ],
    ),
    (
        "duplicate key, command error, update",
        &[
            r#"OP_MSG insert(insert/op) shop.items sent=1 -> OP_MSG x1 ok=1 writeErrors=1/Some(11000) n=0 docs=0 t=0..1 bytes=91/131"#,
            r#"OP_MSG listIndexes(listIndexes/op) shop.nope -> OP_MSG x1 ok=0 code=26 NamespaceNotFound docs=0 t=2..3 bytes=62/121"#,
            r#"OP_MSG update(update/op) shop.items sent=1 -> OP_MSG x1 ok=1 wce=64 n=1 nModified=0 upserted=1 docs=0 t=4..5 bytes=119/179"#,
        ],
    ),
    (
        "exhaust getMore",
        &[
            r#"OP_MSG getMore(getMore/op) shop.items -> OP_MSG x3 ok=1 docs=5 cursor=0 t=0..3 bytes=79/329"#,
        ],
    ),
    (
        "w:0 insert, out-of-order replies, unpaired reply",
        &[
            r#"OP_MSG insert(insert/op) shop.items sent=1 ff -> none t=0..0 bytes=113/0"#,
            r#"OP_MSG dbStats(dbStats/op) shop.- -> OP_MSG x1 ok=1 docs=0 t=2..4 bytes=53/47"#,
            r#"OP_MSG ping(ping/hs) admin.- -> OP_MSG x1 ok=1 docs=0 t=1..5 bytes=51/34"#,
            r#"OP_MSG frobnicate(_OTHER/op) shop.- -> none t=6..7 bytes=62/0 INCOMPLETE"#,
        ],
    ),
    (
        "compressed noop",
        &[
            r#"OP_MSG+noop find(find/op) shop.items -> OP_MSG+noop x1 ok=1 docs=2 cursor=0 t=0..1 bytes=113/194"#,
        ],
    ),
    (
        "compressed snappy",
        &[
            r#"OP_MSG+snappy find(find/op) shop.items -> OP_MSG+snappy x1 ok=1 docs=2 cursor=0 t=0..1 bytes=94/137"#,
        ],
    ),
    (
        "compressed zlib",
        &[
            r#"OP_MSG+zlib find(find/op) shop.items -> OP_MSG+zlib x1 ok=1 docs=2 cursor=0 t=0..1 bytes=96/128"#,
        ],
    ),
    (
        "compressed zstd",
        &[
            r#"OP_MSG+zstd find(find/op) shop.items -> OP_MSG+zstd x1 ok=1 docs=2 cursor=0 t=0..1 bytes=132/175"#,
        ],
    ),
    (
        "compressed legacy command",
        &[
            r#"OP_QUERY+zlib buildInfo(buildInfo/hs) admin.- -> OP_REPLY+snappy x1 ok=1 docs=0 t=0..1 bytes=68/73"#,
        ],
    ),
    (
        "checksum, transaction",
        &[
            r#"OP_MSG ping(ping/hs) admin.- -> OP_MSG x1 ok=1 docs=0 t=0..1 bytes=55/42"#,
            r#"OP_MSG insert(insert/op) shop.items sent=1 lsid txn=1 start autocommit=false -> OP_MSG x1 ok=1 n=1 docs=0 t=2..3 bytes=178/45"#,
            r#"OP_MSG commitTransaction(commitTransaction/op) admin.- lsid txn=1 autocommit=false -> OP_MSG x1 ok=1 docs=0 t=4..5 bytes=132/38"#,
        ],
    ),
    (
        "legacy opcodes",
        &[
            r#"OP_INSERT insert(insert/op) shop.items sent=2 ff -> none t=0..0 bytes=59/0"#,
            r#"OP_UPDATE update(update/op) shop.items ff -> none t=1..1 bytes=72/0"#,
            r#"OP_DELETE delete(delete/op) shop.items ff -> none t=2..2 bytes=49/0"#,
            r#"OP_QUERY find(find/op) shop.items -> OP_REPLY x1 ok=1 docs=2 cursor=99 t=3..4 bytes=44/64"#,
            r#"OP_GET_MORE getMore(getMore/op) shop.items -> OP_REPLY x1 ok=1 docs=1 cursor=0 t=5..6 bytes=43/50"#,
            r#"OP_QUERY find(find/op) shop.items -> OP_REPLY x1 ok=1 docs=1 cursor=123 t=7..8 bytes=51/50"#,
            r#"OP_KILL_CURSORS killCursors(killCursors/op) shop.items ff -> none t=9..9 bytes=32/0"#,
            r#"OP_QUERY find(find/op) shop.items -> OP_REPLY x1 ok=0 code=2 docs=0 cursor=0 t=10..11 bytes=56/71"#,
        ],
    ),
    (
        "oversize request and reply skipped, then resync",
        &[
            r#"OP_MSG _OTHER(_OTHER/op) -.- -> OP_MSG x1 ok=1 n=1 docs=0 t=0..1 bytes=392/41"#,
            r#"OP_MSG find(find/op) shop.items -> OP_MSG x1 ok=1 docs=0 t=2..3 bytes=56/394"#,
            r#"OP_MSG ping(ping/hs) admin.- -> OP_MSG x1 ok=1 docs=0 t=4..5 bytes=51/34"#,
            r#"OP_INSERT _OTHER(_OTHER/op) -.- ff -> none t=6..6 bytes=346/0"#,
        ],
    ),
    (
        "query text on",
        &[
            r#"OP_MSG find(find/op) shop.items -> OP_MSG x1 ok=1 docs=0 cursor=0 t=0..1 bytes=88/76"#,
            r#"query: {"find":"items","filter":{"qty":{"$gt":2}},"$db":"shop"}"#,
        ],
    ),
];

#[test]
fn every_sample_yields_its_expected_exchanges() {
    let samples = samples();
    assert_eq!(samples.len(), EXPECTED.len());
    for (conv, (name, expected)) in samples.iter().zip(EXPECTED) {
        assert_eq!(conv.name, *name);
        let (events, status) = whole(conv);
        assert_eq!(status, Status::Ok, "{name}");
        let mut got = Vec::new();
        for e in &events {
            got.push(summary(e));
            if let ExchangeDetail::Mongo(m) = &e.detail {
                if let Some(q) = &m.query_text {
                    got.push(format!("query: {q}"));
                }
            }
        }
        assert_eq!(got, *expected, "{name}");
    }
}

#[test]
fn every_sample_is_split_invariant() {
    for conv in samples() {
        assert_split_invariant(&conv);
    }
}

#[test]
fn the_same_conversation_compressed_reads_the_same() {
    let plain = summaries(&compressed_find(Compressor::Noop));
    for c in Compressor::ALL {
        let got = summaries(&compressed_find(c));
        let strip = |s: &str| {
            s.replace(&format!("+{}", c.as_str()), "")
                .split(" t=")
                .next()
                .unwrap_or_default()
                .to_owned()
        };
        let want: Vec<String> = plain
            .iter()
            .map(|s| strip(&s.replace("+noop", "")))
            .collect();
        assert_eq!(
            got.iter().map(|s| strip(s)).collect::<Vec<_>>(),
            want,
            "{c:?}"
        );
    }
}

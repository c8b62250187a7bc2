//! Sample conversations, one per feature, built with `builder.rs`, each
//! with the exchanges it must yield. Every one also goes through the split
//! invariant.

use bson::doc;

use super::builder::*;
use super::*;

fn conv(name: &'static str, segments: Vec<(Direction, Vec<u8>)>) -> Conversation {
    Conversation {
        name,
        segments,
        options: MongoOptions::default(),
    }
}

fn lsid() -> bson::Document {
    doc! { "id": bson::Binary { subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![7; 16] } }
}

fn handshake() -> Conversation {
    let hello =
        doc! { "ismaster": 1, "helloOk": true, "client": { "driver": { "name": "PyMongo" } } };
    let wrapped = doc! { "$query": { "isMaster": 1 }, "$readPreference": { "mode": "primary" } };
    let reply = doc! { "ismaster": true, "maxWireVersion": 21, "ok": 1.0 };
    conv(
        "handshake",
        vec![
            (C, op_query(1, "admin.$cmd", &hello)),
            (S, op_reply(2, 1, 8, 0, std::slice::from_ref(&reply))),
            (C, op_query(3, "admin.$cmd", &wrapped)),
            (S, op_reply(4, 3, 8, 0, &[reply])),
        ],
    )
}

fn insert_kind1() -> Conversation {
    let docs = [doc! { "_id": 1 }, doc! { "_id": 2 }, doc! { "_id": 3 }];
    let cmd = doc! { "insert": "items", "ordered": true, "lsid": lsid(), "$db": "shop" };
    conv(
        "insert kind-1",
        vec![
            (C, op_msg(5, 0, 0, &cmd, &[("documents", &docs)])),
            (S, op_msg(6, 5, 0, &doc! { "n": 3, "ok": 1.0 }, &[])),
        ],
    )
}

fn find_get_more_kill() -> Conversation {
    let batch = |ids: &[i32]| {
        ids.iter()
            .map(|i| bson::Bson::Document(doc! { "_id": *i }))
            .collect::<Vec<_>>()
    };
    conv(
        "find getMore killCursors",
        vec![
            (
                C,
                op_msg(
                    10,
                    0,
                    0,
                    &doc! { "find": "items", "filter": {}, "batchSize": 2, "$db": "shop" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(
                    11,
                    10,
                    0,
                    &doc! { "cursor": { "firstBatch": batch(&[1, 2]), "id": 77i64, "ns": "shop.items" }, "ok": 1.0 },
                    &[],
                ),
            ),
            (
                C,
                op_msg(
                    12,
                    0,
                    0,
                    &doc! { "getMore": 77i64, "collection": "items", "batchSize": 2, "$db": "shop" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(
                    13,
                    12,
                    0,
                    &doc! { "cursor": { "nextBatch": batch(&[3, 4]), "id": 77i64, "ns": "shop.items" }, "ok": 1.0 },
                    &[],
                ),
            ),
            (
                C,
                op_msg(
                    14,
                    0,
                    0,
                    &doc! { "killCursors": "items", "cursors": [77i64], "$db": "shop" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(
                    15,
                    14,
                    0,
                    &doc! { "cursorsKilled": [77i64], "ok": 1.0 },
                    &[],
                ),
            ),
            // A getMore without `collection`: attributed through the cursor.
            (
                C,
                op_msg(
                    16,
                    0,
                    0,
                    &doc! { "find": "other", "batchSize": 1, "$db": "shop" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(
                    17,
                    16,
                    0,
                    &doc! { "cursor": { "firstBatch": batch(&[1]), "id": 88i64, "ns": "shop.other" }, "ok": 1 },
                    &[],
                ),
            ),
            (
                C,
                op_msg(18, 0, 0, &doc! { "getMore": 88i64, "$db": "shop" }, &[]),
            ),
            (
                S,
                op_msg(
                    19,
                    18,
                    0,
                    &doc! { "cursor": { "nextBatch": batch(&[2]), "id": 0i64, "ns": "shop.other" }, "ok": 1 },
                    &[],
                ),
            ),
            // Exhausted: forgotten, so a later getMore on it is unattributed.
            (
                C,
                op_msg(20, 0, 0, &doc! { "getMore": 88i64, "$db": "shop" }, &[]),
            ),
            (
                S,
                op_msg(
                    21,
                    20,
                    0,
                    &doc! { "ok": 0, "code": 43, "codeName": "CursorNotFound", "errmsg": "cursor id 88 not found" },
                    &[],
                ),
            ),
        ],
    )
}

fn aggregate_count_distinct_indexes() -> Conversation {
    conv(
        "aggregate count distinct createIndexes",
        vec![
            (
                C,
                op_msg(
                    30,
                    0,
                    0,
                    &doc! { "aggregate": "items", "pipeline": [{ "$match": {} }], "cursor": {}, "$db": "shop" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(
                    31,
                    30,
                    0,
                    &doc! { "cursor": { "firstBatch": [{ "n": 5 }], "id": 0i64, "ns": "shop.items" }, "ok": 1.0 },
                    &[],
                ),
            ),
            (
                C,
                op_msg(
                    32,
                    0,
                    0,
                    &doc! { "aggregate": 1, "pipeline": [{ "$currentOp": {} }], "cursor": {}, "$db": "admin" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(
                    33,
                    32,
                    0,
                    &doc! { "cursor": { "firstBatch": [], "id": 0i64, "ns": "admin.$cmd.aggregate" }, "ok": 1.0 },
                    &[],
                ),
            ),
            (
                C,
                op_msg(
                    34,
                    0,
                    0,
                    &doc! { "count": "items", "query": {}, "$db": "shop" },
                    &[],
                ),
            ),
            (S, op_msg(35, 34, 0, &doc! { "n": 5, "ok": 1.0 }, &[])),
            (
                C,
                op_msg(
                    36,
                    0,
                    0,
                    &doc! { "distinct": "items", "key": "name", "$db": "shop" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(37, 36, 0, &doc! { "values": ["a", "b"], "ok": 1.0 }, &[]),
            ),
            (
                C,
                op_msg(
                    38,
                    0,
                    0,
                    &doc! { "createIndexes": "items", "indexes": [{ "key": { "name": 1 }, "name": "name_1" }], "$db": "shop" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(
                    39,
                    38,
                    0,
                    &doc! { "numIndexesBefore": 1, "numIndexesAfter": 2, "ok": 1.0 },
                    &[],
                ),
            ),
        ],
    )
}

fn errors_and_writes() -> Conversation {
    conv(
        "duplicate key, command error, update",
        vec![
            (
                C,
                op_msg(
                    40,
                    0,
                    0,
                    &doc! { "insert": "items", "documents": [{ "_id": 1 }], "$db": "shop" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(
                    41,
                    40,
                    0,
                    &doc! { "n": 0, "writeErrors": [{ "index": 0, "code": 11000, "errmsg": "E11000 duplicate key error" }], "ok": 1.0 },
                    &[],
                ),
            ),
            (
                C,
                op_msg(
                    42,
                    0,
                    0,
                    &doc! { "listIndexes": "nope", "$db": "shop" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(
                    43,
                    42,
                    0,
                    &doc! { "ok": 0.0, "errmsg": "ns does not exist: shop.nope", "code": 26, "codeName": "NamespaceNotFound" },
                    &[],
                ),
            ),
            (
                C,
                op_msg(
                    44,
                    0,
                    0,
                    &doc! { "update": "items", "$db": "shop" },
                    &[(
                        "updates",
                        &[doc! { "q": {}, "u": { "$set": { "a": 1 } }, "upsert": true }],
                    )],
                ),
            ),
            (
                S,
                op_msg(
                    45,
                    44,
                    0,
                    &doc! { "n": 1, "nModified": 0, "upserted": [{ "index": 0, "_id": 9 }], "writeConcernError": { "code": 64, "errmsg": "waiting for replication timed out" }, "ok": 1 },
                    &[],
                ),
            ),
        ],
    )
}

fn exhaust() -> Conversation {
    let next = |ids: &[i32], id: i64| doc! { "cursor": { "nextBatch": ids.iter().map(|i| bson::Bson::Int32(*i)).collect::<Vec<_>>(), "id": id, "ns": "shop.items" }, "ok": 1.0 };
    conv(
        "exhaust getMore",
        vec![
            (
                C,
                op_msg(
                    50,
                    0,
                    EXHAUST_ALLOWED,
                    &doc! { "getMore": 5i64, "collection": "items", "$db": "shop" },
                    &[],
                ),
            ),
            (S, op_msg(100, 50, MORE_TO_COME, &next(&[1, 2], 5), &[])),
            (S, op_msg(101, 100, MORE_TO_COME, &next(&[3, 4], 5), &[])),
            (S, op_msg(102, 101, 0, &next(&[5], 0), &[])),
        ],
    )
}

fn fire_and_forget_and_out_of_order() -> Conversation {
    conv(
        "w:0 insert, out-of-order replies, unpaired reply",
        vec![
            (
                C,
                op_msg(
                    60,
                    0,
                    MORE_TO_COME,
                    &doc! { "insert": "items", "writeConcern": { "w": 0 }, "$db": "shop" },
                    &[("documents", &[doc! { "_id": 1 }])],
                ),
            ),
            (
                C,
                op_msg(61, 0, 0, &doc! { "ping": 1, "$db": "admin" }, &[]),
            ),
            (
                C,
                op_msg(62, 0, 0, &doc! { "dbStats": 1, "$db": "shop" }, &[]),
            ),
            (S, op_msg(63, 999, 0, &doc! { "ok": 1 }, &[])),
            (S, op_msg(64, 62, 0, &doc! { "db": "shop", "ok": 1 }, &[])),
            (S, op_msg(65, 61, 0, &doc! { "ok": 1 }, &[])),
            (
                C,
                op_msg(
                    66,
                    0,
                    0,
                    &doc! { "frobnicate": "items", "$db": "shop" },
                    &[],
                ),
            ),
        ],
    )
}

fn compressed_find(c: Compressor) -> Conversation {
    let name = match c {
        Compressor::Noop => "compressed noop",
        Compressor::Snappy => "compressed snappy",
        Compressor::Zlib => "compressed zlib",
        Compressor::Zstd => "compressed zstd",
    };
    let req = op_msg(
        70,
        0,
        0,
        &doc! { "find": "items", "filter": { "name": "aaaaaaaaaaaaaaaaaaaaaaaa" }, "$db": "shop" },
        &[],
    );
    let rep = op_msg(
        71,
        70,
        0,
        &doc! { "cursor": { "firstBatch": [{ "name": "aaaaaaaaaaaaaaaaaaaaaaaa" }, { "name": "aaaaaaaaaaaaaaaaaaaaaaaa" }], "id": 0i64, "ns": "shop.items" }, "ok": 1.0 },
        &[],
    );
    conv(
        name,
        vec![(C, compressed(c, &req)), (S, compressed(c, &rep))],
    )
}

fn compressed_legacy() -> Conversation {
    let q = op_query(130, "admin.$cmd", &doc! { "buildInfo": 1 });
    let r = op_reply(131, 130, 8, 0, &[doc! { "version": "7.0.0", "ok": 1.0 }]);
    conv(
        "compressed legacy command",
        vec![
            (C, compressed(Compressor::Zlib, &q)),
            (S, compressed(Compressor::Snappy, &r)),
        ],
    )
}

fn checksum_and_transaction() -> Conversation {
    let txn = doc! { "insert": "items", "documents": [{ "_id": 1 }], "lsid": lsid(), "txnNumber": 1i64, "startTransaction": true, "autocommit": false, "$db": "shop" };
    let commit = doc! { "commitTransaction": 1, "lsid": lsid(), "txnNumber": 1i64, "autocommit": false, "$db": "admin" };
    conv(
        "checksum, transaction",
        vec![
            (
                C,
                op_msg(
                    80,
                    0,
                    CHECKSUM_PRESENT,
                    &doc! { "ping": 1, "$db": "admin" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(81, 80, CHECKSUM_PRESENT, &doc! { "ok": 1.0 }, &[]),
            ),
            (C, op_msg(82, 0, 0, &txn, &[])),
            (S, op_msg(83, 82, 0, &doc! { "n": 1, "ok": 1.0 }, &[])),
            (C, op_msg(84, 0, 0, &commit, &[])),
            (S, op_msg(85, 84, 0, &doc! { "ok": 1.0 }, &[])),
        ],
    )
}

fn legacy() -> Conversation {
    conv(
        "legacy opcodes",
        vec![
            (
                C,
                op_insert(90, "shop.items", &[doc! { "_id": 1 }, doc! { "_id": 2 }]),
            ),
            (
                C,
                op_update(
                    91,
                    "shop.items",
                    &doc! { "_id": 1 },
                    &doc! { "$set": { "a": 1 } },
                ),
            ),
            (C, op_delete(92, "shop.items", &doc! { "_id": 2 })),
            (C, op_query(93, "shop.items", &doc! {})),
            (
                S,
                op_reply(94, 93, 0, 99, &[doc! { "_id": 1 }, doc! { "_id": 3 }]),
            ),
            (C, op_get_more(95, "shop.items", 99)),
            (S, op_reply(96, 95, 0, 0, &[doc! { "_id": 4 }])),
            (C, op_query(97, "shop.items", &doc! { "a": 1 })),
            (S, op_reply(98, 97, 0, 123, &[doc! { "_id": 1 }])),
            (C, op_kill_cursors(99, &[123])),
            (C, op_query(100, "shop.items", &doc! { "$where": 1 })),
            (
                S,
                op_reply(101, 100, 2, 0, &[doc! { "$err": "bad query", "code": 2 }]),
            ),
        ],
    )
}

fn oversize_resync() -> Conversation {
    let big = doc! { "insert": "items", "documents": [{ "pad": "x".repeat(300) }], "$db": "shop" };
    Conversation {
        name: "oversize request and reply skipped, then resync",
        segments: vec![
            (C, op_msg(110, 0, 0, &big, &[])),
            (S, op_msg(111, 110, 0, &doc! { "n": 1, "ok": 1 }, &[])),
            (
                C,
                op_msg(112, 0, 0, &doc! { "find": "items", "$db": "shop" }, &[]),
            ),
            (
                S,
                op_msg(
                    113,
                    112,
                    0,
                    &doc! { "cursor": { "firstBatch": [{ "pad": "y".repeat(300) }], "id": 0i64 }, "ok": 1 },
                    &[],
                ),
            ),
            (
                C,
                op_msg(114, 0, 0, &doc! { "ping": 1, "$db": "admin" }, &[]),
            ),
            (S, op_msg(115, 114, 0, &doc! { "ok": 1 }, &[])),
            (
                C,
                op_insert(116, "shop.items", &[doc! { "pad": "z".repeat(300) }]),
            ),
        ],
        options: MongoOptions {
            query_text: false,
            max_message_bytes: 200,
        },
    }
}

fn query_text() -> Conversation {
    Conversation {
        name: "query text on",
        segments: vec![
            (
                C,
                op_msg(
                    120,
                    0,
                    0,
                    &doc! { "find": "items", "filter": { "qty": { "$gt": 2 } }, "$db": "shop" },
                    &[],
                ),
            ),
            (
                S,
                op_msg(
                    121,
                    120,
                    0,
                    &doc! { "cursor": { "firstBatch": [], "id": 0i64 }, "ok": 1 },
                    &[],
                ),
            ),
        ],
        options: MongoOptions {
            query_text: true,
            max_message_bytes: 1 << 20,
        },
    }
}

pub fn samples() -> Vec<Conversation> {
    let mut all = vec![
        handshake(),
        insert_kind1(),
        find_get_more_kill(),
        aggregate_count_distinct_indexes(),
        errors_and_writes(),
        exhaust(),
        fire_and_forget_and_out_of_order(),
    ];
    all.extend(Compressor::ALL.map(compressed_find));
    all.push(compressed_legacy());
    all.extend([
        checksum_and_transaction(),
        legacy(),
        oversize_resync(),
        query_text(),
    ]);
    all
}

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

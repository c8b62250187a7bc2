//! Sample conversations of OP_MSG and `$cmd` traffic, one per feature,
//! built with `builder.rs`; `samples_wire.rs` has the rest and the list,
//! `expected.rs` what each must yield.

use bson::doc;

use super::builder::*;
use super::*;

pub fn conv(name: &'static str, segments: Vec<(Direction, Vec<u8>)>) -> Conversation {
    Conversation {
        name,
        segments,
        options: MongoOptions::default(),
    }
}

pub fn lsid() -> bson::Document {
    doc! { "id": bson::Binary { subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![7; 16] } }
}

pub fn handshake() -> Conversation {
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

pub fn insert_kind1() -> Conversation {
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

pub fn find_get_more_kill() -> Conversation {
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

pub fn aggregate_count_distinct_indexes() -> Conversation {
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

pub fn errors_and_writes() -> Conversation {
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

pub fn exhaust() -> Conversation {
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

pub fn fire_and_forget_and_out_of_order() -> Conversation {
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

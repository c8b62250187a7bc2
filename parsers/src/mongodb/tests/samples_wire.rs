//! Samples of the wire's variants: each compressor, compressed legacy
//! messages, checksums, legacy opcodes, oversize skipping, query text; and
//! the list of all samples.

use bson::doc;

use super::builder::*;
use super::samples::*;
use super::*;

pub fn compressed_find(c: Compressor) -> Conversation {
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

pub fn compressed_legacy() -> Conversation {
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

pub fn checksum_and_transaction() -> Conversation {
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

pub fn legacy() -> Conversation {
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

pub fn oversize_resync() -> Conversation {
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

pub fn query_text() -> Conversation {
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

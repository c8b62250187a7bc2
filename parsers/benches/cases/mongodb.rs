//! pymongo-shaped MongoDB traffic: an `insert_many` of 50 documents (a
//! kind-1 sequence) with its reply, a `find` whose reply carries a first
//! batch of 101 documents, and a one-document `find` (per-message cost).
use super::{exchange_case, Case};
use bson::{doc, Bson, Document};
use periscope_parsers::MongoParser;

fn bson_bytes(d: &Document) -> Vec<u8> {
    let mut v = Vec::new();
    d.to_writer(&mut v).expect("serialisable");
    v
}

fn message(request_id: i32, response_to: i32, body: &[u8]) -> Vec<u8> {
    let mut m = ((16 + body.len()) as i32).to_le_bytes().to_vec();
    m.extend_from_slice(&request_id.to_le_bytes());
    m.extend_from_slice(&response_to.to_le_bytes());
    m.extend_from_slice(&2013i32.to_le_bytes());
    m.extend_from_slice(body);
    m
}

/// An OP_MSG body: flags 0, then the command as a kind-0 section.
fn command(d: &Document) -> Vec<u8> {
    let mut body = 0u32.to_le_bytes().to_vec();
    body.push(0);
    body.extend(bson_bytes(d));
    body
}

/// A shop-like document of about 200 bytes (fixed ids, so every run and
/// every machine parses the same bytes).
fn item(i: i32) -> Document {
    let mut id = [0u8; 12];
    id[8..].copy_from_slice(&i.to_be_bytes());
    doc! {
        "_id": bson::oid::ObjectId::from_bytes(id), "sku": format!("SKU-{i:06}"), "name": "Stainless steel water bottle 750ml",
        "qty": i, "price": 19.99, "tags": ["kitchen", "outdoor", "gift"],
        "dims": { "h": 26.5, "w": 7.2, "unit": "cm" }, "active": true,
    }
}

pub fn cases() -> Vec<Case> {
    let lsid = doc! { "id": bson::Binary { subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![7; 16] } };
    let mut insert =
        command(&doc! { "insert": "items", "ordered": true, "lsid": lsid.clone(), "$db": "shop" });
    let mut seq = b"documents\0".to_vec();
    for i in 0..50 {
        seq.extend(bson_bytes(&item(i)));
    }
    insert.push(1);
    insert.extend_from_slice(&((4 + seq.len()) as i32).to_le_bytes());
    insert.extend(seq);
    let insert = message(1, 0, &insert);
    let insert_reply = message(2, 1, &command(&doc! { "n": 50, "ok": 1.0 }));

    let find = message(
        3,
        0,
        &command(
            &doc! { "find": "items", "filter": { "qty": { "$gt": 10 } }, "lsid": lsid, "$db": "shop" },
        ),
    );
    let batch: Vec<Bson> = (0..101).map(|i| Bson::Document(item(i))).collect();
    let find_reply = message(
        4,
        3,
        &command(
            &doc! { "cursor": { "firstBatch": batch, "id": 8_123_456_789i64, "ns": "shop.items" }, "ok": 1.0 },
        ),
    );

    let small_find = message(
        5,
        0,
        &command(&doc! { "find": "items", "filter": { "_id": 5 }, "limit": 1, "$db": "shop" }),
    );
    let small_reply = message(
        6,
        5,
        &command(
            &doc! { "cursor": { "firstBatch": [item(5)], "id": 0i64, "ns": "shop.items" }, "ok": 1.0 },
        ),
    );

    [
        ("find_one", small_find, small_reply),
        ("insert_many_50", insert, insert_reply),
        ("find_reply_101", find, find_reply),
    ]
    .into_iter()
    .map(|(name, request, reply)| {
        exchange_case(
            "mongodb",
            name,
            Box::new(MongoParser::new()),
            request,
            reply,
        )
    })
    .collect()
}

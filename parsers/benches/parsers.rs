//! Parser throughput in bytes per second, next to this machine's memcpy rate
//! as the ceiling. Run with `cargo bench -p periscope-parsers`.
//!
//! Inputs are realistic captures: a browser-like request with a dozen
//! headers and an nginx-like response, and a pipelined batch of small
//! requests on one keep-alive connection; for MongoDB, pymongo-shaped
//! OP_MSG inserts and find replies; for HTTP/2 and HPACK, real h2load,
//! nginx and grpcio traffic (see `http2/mod.rs`).
mod http2;

use bson::{doc, Bson, Document};
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use periscope_parsers::{
    detect, Direction, Exchange, Http1Parser, MongoParser, ProtocolParser, Timestamp,
};

const REQUEST: &[u8] = b"GET /api/v1/items?page=2&limit=50 HTTP/1.1\r\n\
Host: api.example.com\r\n\
User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36\r\n\
Accept: application/json, text/plain, */*\r\n\
Accept-Language: en-US,en;q=0.9\r\n\
Accept-Encoding: gzip, deflate, br\r\n\
Cookie: session=0123456789abcdef0123456789abcdef; theme=dark; consent=yes\r\n\
Referer: https://app.example.com/dashboard\r\n\
Connection: keep-alive\r\n\r\n";

const RESPONSE: &[u8] = b"HTTP/1.1 200 OK\r\n\
Server: nginx/1.22.1\r\n\
Date: Tue, 24 Nov 2026 04:08:11 GMT\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Content-Length: 2\r\n\
Connection: keep-alive\r\n\
Cache-Control: no-store\r\n\
X-Request-Id: 5f1c2a9e-0d3b-4c8e-9a7f-2b6d1e0c3a4f\r\n\r\n{}";

fn http1_exchange(c: &mut Criterion) {
    let mut group = c.benchmark_group("http1");
    group.throughput(Throughput::Bytes((REQUEST.len() + RESPONSE.len()) as u64));
    group.bench_function("request_response_heads", |b| {
        let mut parser = Http1Parser::new();
        let mut out: Vec<Exchange> = Vec::with_capacity(1);
        b.iter(|| {
            parser.feed(
                Direction::ClientToServer,
                black_box(REQUEST),
                Timestamp(0),
                &mut out,
            );
            parser.feed(
                Direction::ServerToClient,
                black_box(RESPONSE),
                Timestamp(1),
                &mut out,
            );
            out.clear();
        });
    });
    let pipelined: Vec<u8> = REQUEST.repeat(16);
    let responses: Vec<u8> = RESPONSE.repeat(16);
    group.throughput(Throughput::Bytes(
        (pipelined.len() + responses.len()) as u64,
    ));
    group.bench_function("pipelined_16", |b| {
        let mut parser = Http1Parser::new();
        let mut out: Vec<Exchange> = Vec::with_capacity(16);
        b.iter(|| {
            parser.feed(
                Direction::ClientToServer,
                black_box(&pipelined),
                Timestamp(0),
                &mut out,
            );
            parser.feed(
                Direction::ServerToClient,
                black_box(&responses),
                Timestamp(1),
                &mut out,
            );
            out.clear();
        });
    });
    group.finish();
}

fn detection(c: &mut Criterion) {
    let mut group = c.benchmark_group("detect");
    group.throughput(Throughput::Elements(1));
    group.bench_function("http1_request_line", |b| {
        b.iter(|| detect(Direction::ClientToServer, black_box(REQUEST)))
    });
    group.finish();
}

fn bson_bytes(d: &Document) -> Vec<u8> {
    let mut v = Vec::new();
    d.to_writer(&mut v).expect("serialisable");
    v
}

fn mongo_message(request_id: i32, response_to: i32, body: &[u8]) -> Vec<u8> {
    let mut m = ((16 + body.len()) as i32).to_le_bytes().to_vec();
    m.extend_from_slice(&request_id.to_le_bytes());
    m.extend_from_slice(&response_to.to_le_bytes());
    m.extend_from_slice(&2013i32.to_le_bytes());
    m.extend_from_slice(body);
    m
}

/// A shop-like document of about 200 bytes.
fn item(i: i32) -> Document {
    doc! {
        "_id": bson::oid::ObjectId::new(), "sku": format!("SKU-{i:06}"), "name": "Stainless steel water bottle 750ml",
        "qty": i, "price": 19.99, "tags": ["kitchen", "outdoor", "gift"],
        "dims": { "h": 26.5, "w": 7.2, "unit": "cm" }, "active": true,
    }
}

/// pymongo-shaped traffic: an `insert_many` of 50 documents (kind-1
/// sequence) with its reply, and a `find` whose reply carries a first batch
/// of 101 documents.
fn mongodb_op_msg(c: &mut Criterion) {
    let lsid = doc! { "id": bson::Binary { subtype: bson::spec::BinarySubtype::Uuid, bytes: vec![7; 16] } };
    let mut insert = 0u32.to_le_bytes().to_vec();
    insert.push(0);
    insert.extend(bson_bytes(
        &doc! { "insert": "items", "ordered": true, "lsid": lsid.clone(), "$db": "shop" },
    ));
    let mut seq = b"documents\0".to_vec();
    for i in 0..50 {
        seq.extend(bson_bytes(&item(i)));
    }
    insert.push(1);
    insert.extend_from_slice(&((4 + seq.len()) as i32).to_le_bytes());
    insert.extend(seq);
    let insert = mongo_message(1, 0, &insert);
    let mut ok = 0u32.to_le_bytes().to_vec();
    ok.push(0);
    ok.extend(bson_bytes(&doc! { "n": 50, "ok": 1.0 }));
    let insert_reply = mongo_message(2, 1, &ok);

    let mut find = 0u32.to_le_bytes().to_vec();
    find.push(0);
    find.extend(bson_bytes(
        &doc! { "find": "items", "filter": { "qty": { "$gt": 10 } }, "lsid": lsid, "$db": "shop" },
    ));
    let find = mongo_message(3, 0, &find);
    let batch: Vec<Bson> = (0..101).map(|i| Bson::Document(item(i))).collect();
    let mut reply = 0u32.to_le_bytes().to_vec();
    reply.push(0);
    reply.extend(bson_bytes(&doc! { "cursor": { "firstBatch": batch, "id": 8_123_456_789i64, "ns": "shop.items" }, "ok": 1.0 }));
    let find_reply = mongo_message(4, 3, &reply);

    let mut ping = 0u32.to_le_bytes().to_vec();
    ping.push(0);
    ping.extend(bson_bytes(
        &doc! { "find": "items", "filter": { "_id": 5 }, "limit": 1, "$db": "shop" },
    ));
    let small_find = mongo_message(5, 0, &ping);
    let mut pong = 0u32.to_le_bytes().to_vec();
    pong.push(0);
    pong.extend(bson_bytes(
        &doc! { "cursor": { "firstBatch": [item(5)], "id": 0i64, "ns": "shop.items" }, "ok": 1.0 },
    ));
    let small_reply = mongo_message(6, 5, &pong);

    let mut group = c.benchmark_group("mongodb");
    for (name, req, rep) in [
        ("find_one", &small_find, &small_reply),
        ("insert_many_50", &insert, &insert_reply),
        ("find_reply_101", &find, &find_reply),
    ] {
        group.throughput(Throughput::Bytes((req.len() + rep.len()) as u64));
        group.bench_function(name, |b| {
            let mut parser = MongoParser::new();
            let mut out: Vec<Exchange> = Vec::with_capacity(1);
            b.iter(|| {
                parser.feed(
                    Direction::ClientToServer,
                    black_box(req),
                    Timestamp(0),
                    &mut out,
                );
                parser.feed(
                    Direction::ServerToClient,
                    black_box(rep),
                    Timestamp(1),
                    &mut out,
                );
                out.clear();
            });
        });
    }
    group.finish();
}

/// The ceiling: copying the same bytes, which any parser must at least read.
fn memcpy_ceiling(c: &mut Criterion) {
    let source = vec![0x5au8; 64 * 1024];
    let mut target = vec![0u8; source.len()];
    let mut group = c.benchmark_group("ceiling");
    group.throughput(Throughput::Bytes(source.len() as u64));
    group.bench_function("memcpy_64k", |b| {
        b.iter(|| target.copy_from_slice(black_box(&source)))
    });
    group.finish();
}

criterion_group!(
    benches,
    http1_exchange,
    mongodb_op_msg,
    detection,
    http2::hpack_decoding,
    http2::http2_frames,
    dynamodb_refine,
    memcpy_ceiling
);
criterion_main!(benches);

/// DynamoDB refiner over realistic bodies: a full 25-item BatchWriteItem
/// request, and a 1 MiB-capped Scan response cut mid-item (values are
/// skipped in place, so this is the scanner's skip rate).
fn dynamodb_refine(c: &mut Criterion) {
    use periscope_parsers::dynamodb::DynamoRefiner;
    let item = |i: usize| {
        format!(
            r#"{{"pk":{{"S":"user-{i}"}},"sk":{{"N":"{i}"}},"name":{{"S":"Name \"{i}\""}},"tags":{{"L":[{{"S":"a"}},{{"S":"b"}}]}},"score":{{"N":"12.5"}},"active":{{"BOOL":true}}}}"#
        )
    };
    let puts: Vec<String> = (0..25)
        .map(|i| format!(r#"{{"PutRequest":{{"Item":{}}}}}"#, item(i)))
        .collect();
    let request = format!(
        r#"{{"RequestItems":{{"Users":[{}]}},"ReturnConsumedCapacity":"TOTAL"}}"#,
        puts.join(",")
    );
    let items: Vec<String> = (0..8000).map(item).collect();
    let scan = format!(
        r#"{{"ConsumedCapacity":{{"TableName":"Users","CapacityUnits":128.5}},"Count":8000,"Items":[{}],"ScannedCount":8000}}"#,
        items.join(",")
    );
    let scan = &scan.as_bytes()[..scan.len().min(1 << 20)];
    let headers: [(&[u8], &[u8]); 1] = [(b"x-amzn-RequestId", b"R9J5ABCDEF")];

    let mut group = c.benchmark_group("dynamodb");
    group.throughput(Throughput::Bytes(request.len() as u64));
    group.bench_function("batch_write_25_request", |b| {
        b.iter(|| {
            DynamoRefiner::request(
                b"DynamoDB_20120810.BatchWriteItem",
                black_box(request.as_bytes()),
                false,
            )
            .without_response()
        })
    });
    group.throughput(Throughput::Bytes(scan.len() as u64));
    group.bench_function("scan_response_1mib_prefix", |b| {
        b.iter(|| {
            DynamoRefiner::request(
                b"DynamoDB_20120810.Scan",
                br#"{"TableName":"Users"}"#,
                false,
            )
            .response(200, headers, black_box(scan), true)
        })
    });
    group.finish();
}

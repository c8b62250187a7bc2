//! The DynamoDB refiner fed by the HTTP/1 wire parser: recorded boto3
//! conversations (moto and dynalite) rebuilt as HTTP/1.1 on one keep-alive
//! connection must give, at every cut, the calls the refiner gives on the
//! whole bodies.

use super::*;
use crate::dynamodb::tests::{recorded, refine, Recorded, DYNALITE, MOTO};
use crate::dynamodb::{DynamoCall, JsonIssue};

fn request_bytes(r: &Recorded<'_>) -> Vec<u8> {
    let mut out = format!(
        "POST / HTTP/1.1\r\nHost: localhost:8000\r\nX-Amz-Target: {}\r\n\
         Content-Type: application/x-amz-json-1.0\r\nContent-Length: {}\r\n\r\n",
        String::from_utf8_lossy(r.target),
        r.request.len()
    )
    .into_bytes();
    out.extend_from_slice(r.request);
    out
}

/// Responses alternate between `Content-Length` and chunked framing, so the
/// de-chunking path is covered by the same conversation.
fn response_bytes(r: &Recorded<'_>, chunked: bool) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {} X\r\n", r.status).into_bytes();
    for (name, value) in &r.headers {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    }
    if chunked {
        out.extend_from_slice(b"Transfer-Encoding: chunked\r\n\r\n");
        for piece in r.response.chunks(100) {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        out.extend_from_slice(format!("Content-Length: {}\r\n\r\n", r.response.len()).as_bytes());
        out.extend_from_slice(r.response);
    }
    out
}

fn calls(out: &[Exchange]) -> Vec<DynamoCall> {
    out.iter()
        .map(|e| match &e.detail {
            ExchangeDetail::Http(h) => *h.dynamodb.clone().expect("a DynamoDB exchange"),
            other => panic!("not http: {other:?}"),
        })
        .collect()
}

fn check_conversation(text: &'static str) {
    let pairs = recorded(text);
    let expected: Vec<DynamoCall> = pairs
        .iter()
        .map(|r| refine(r, usize::MAX, usize::MAX))
        .collect();
    let segments: Vec<(Direction, Vec<u8>)> = pairs
        .iter()
        .enumerate()
        .flat_map(|(i, r)| [(C, request_bytes(r)), (S, response_bytes(r, i % 2 == 1))])
        .collect();
    let mut rng = Rng::new(0xD1A0);
    for piece in [usize::MAX, 1, 3, 17, 100, 0] {
        let mut parser = Http1Parser::new();
        let mut out: Vec<Exchange> = Vec::new();
        for (dir, bytes) in &segments {
            let size = if piece == 0 { 1 + rng.below(40) } else { piece };
            for part in bytes.chunks(size.min(bytes.len()).max(1)) {
                assert_eq!(parser.feed(*dir, part, Timestamp(0), &mut out), Status::Ok);
            }
        }
        assert_eq!(calls(&out), expected, "pieces of {piece}");
    }
}

#[test]
fn moto_conversation_at_every_split_size() {
    check_conversation(MOTO);
}

#[test]
fn dynalite_conversation_at_every_split_size() {
    check_conversation(DYNALITE);
}

#[test]
fn bodies_past_the_cap_are_reported_truncated_and_bounded() {
    let pairs = recorded(MOTO);
    let r = pairs
        .iter()
        .find(|r| r.target.ends_with(b".BatchWriteItem"))
        .expect("a BatchWriteItem");
    let mut parser = Http1Parser::with_dynamodb(DynamoOptions { body_prefix: 40 });
    let mut out: Vec<Exchange> = Vec::new();
    parser.feed(C, &request_bytes(r), Timestamp(1), &mut out);
    parser.feed(S, &response_bytes(r, true), Timestamp(2), &mut out);
    let call = &calls(&out)[0];
    assert!(call.request_truncated && call.response_truncated);
    assert_eq!(call.operation_label, "BatchWriteItem");
    assert_eq!(call.request_json, Some(JsonIssue::EndedEarly));
    // The CRC covers the whole body even though only 40 bytes were kept.
    assert!(call.crc32_checked && !call.crc32_mismatch);
}

#[test]
fn off_when_the_prefix_is_zero_or_the_target_is_not_dynamodb() {
    let pairs = recorded(MOTO);
    let mut parser = Http1Parser::with_dynamodb(DynamoOptions { body_prefix: 0 });
    let mut out: Vec<Exchange> = Vec::new();
    parser.feed(C, &request_bytes(&pairs[0]), Timestamp(1), &mut out);
    parser.feed(S, &response_bytes(&pairs[0], false), Timestamp(2), &mut out);
    let sqs = b"POST / HTTP/1.1\r\nX-Amz-Target: AmazonSQS.SendMessage\r\n\
        Content-Type: application/x-amz-json-1.0\r\nContent-Length: 2\r\n\r\n{}";
    let mut parser2 = Http1Parser::new();
    parser2.feed(C, sqs, Timestamp(1), &mut out);
    parser2.feed(
        S,
        b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",
        Timestamp(2),
        &mut out,
    );
    assert_eq!(out.len(), 2);
    for e in &out {
        let ExchangeDetail::Http(h) = &e.detail else {
            panic!()
        };
        assert!(h.dynamodb.is_none());
    }
}

#[test]
fn a_request_without_answer_still_names_its_operation_and_table() {
    let pairs = recorded(MOTO);
    let mut parser = Http1Parser::new();
    let mut out: Vec<Exchange> = Vec::new();
    let request = request_bytes(&pairs[4]);
    parser.feed(C, &request, Timestamp(1), &mut out);
    parser.close(Timestamp(3), &mut out);
    let call = &calls(&out)[0];
    assert_eq!(out[0].outcome, Outcome::Incomplete);
    assert_eq!(call.operation_label, "PutItem");
    assert_eq!(call.tables[0].name, "Music");
    assert_eq!(call.status, 0);
}

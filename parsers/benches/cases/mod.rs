//! The parser workloads both bench drivers run: `parsers.rs` (criterion,
//! bytes per second) and `instructions.rs` (a fixed number of runs, for
//! callgrind's instruction counts in `tests/parser_instructions.sh`).
//!
//! Inputs are realistic captures: a browser-like request with a dozen
//! headers and an nginx-like response, and a pipelined batch of small
//! requests on one keep-alive connection; for MongoDB, pymongo-shaped
//! OP_MSG inserts and find replies; for HTTP/2 and HPACK, real h2load,
//! nginx and grpcio traffic (`http2.rs`); for DynamoDB, a full batch write
//! and a capped Scan response.
mod dynamodb;
mod http2;
mod mongodb;

use periscope_parsers::{detect, Direction, Exchange, Http1Parser, ProtocolParser, Timestamp};
use std::hint::black_box;

/// One workload: a closure that does one unit of parsing work each call.
pub struct Case {
    /// Criterion's group, e.g. `hpack`.
    pub group: &'static str,
    /// Name within the group, e.g. `nginx_20_responses/fresh`.
    pub name: String,
    /// Encoded bytes one run reads; `None` for per-call cases (throughput
    /// in calls).
    pub bytes: Option<u64>,
    pub run: Box<dyn FnMut() -> usize>,
}

/// Every case, in report order.
pub fn all() -> Vec<Case> {
    let mut cases = http1();
    cases.push(detection());
    cases.extend(mongodb::cases());
    cases.extend(http2::hpack_cases());
    cases.extend(http2::frame_cases());
    cases.extend(dynamodb::cases());
    cases
}

pub const REQUEST: &[u8] = b"GET /api/v1/items?page=2&limit=50 HTTP/1.1\r\n\
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

/// A parser fed one client and one server chunk per run, kept across runs
/// (a keep-alive connection).
pub fn exchange_case(
    group: &'static str,
    name: &str,
    mut parser: Box<dyn ProtocolParser>,
    client: Vec<u8>,
    server: Vec<u8>,
) -> Case {
    let mut out: Vec<Exchange> = Vec::with_capacity(16);
    Case {
        group,
        name: name.to_owned(),
        bytes: Some((client.len() + server.len()) as u64),
        run: Box::new(move || {
            parser.feed(
                Direction::ClientToServer,
                black_box(&client),
                Timestamp(0),
                &mut out,
            );
            parser.feed(
                Direction::ServerToClient,
                black_box(&server),
                Timestamp(1),
                &mut out,
            );
            let n = out.len();
            out.clear();
            n
        }),
    }
}

fn http1() -> Vec<Case> {
    vec![
        exchange_case(
            "http1",
            "request_response_heads",
            Box::new(Http1Parser::new()),
            REQUEST.to_vec(),
            RESPONSE.to_vec(),
        ),
        exchange_case(
            "http1",
            "pipelined_16",
            Box::new(Http1Parser::new()),
            REQUEST.repeat(16),
            RESPONSE.repeat(16),
        ),
    ]
}

fn detection() -> Case {
    Case {
        group: "detect",
        name: "http1_request_line".to_owned(),
        bytes: None,
        run: Box::new(|| {
            let verdict = detect(Direction::ClientToServer, black_box(REQUEST));
            usize::from(matches!(verdict, periscope_parsers::Detection::Protocol(_)))
        }),
    }
}

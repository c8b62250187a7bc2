//! Rough HTTP/1 parsing throughput, for spotting regressions by hand:
//! `cargo test --release -p periscope-parsers --test throughput -- --ignored --nocapture`.
//! Ignored by default: a timing in a debug build on a shared CI core means
//! nothing.

use std::time::Instant;

use periscope_parsers::event::{Direction, Exchange, Timestamp};
use periscope_parsers::{Http1Parser, ProtocolParser, Status};

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
Server: nginx/1.24.0\r\n\
Date: Mon, 24 Nov 2025 04:08:11 GMT\r\n\
Content-Type: application/json; charset=utf-8\r\n\
Content-Length: 2\r\n\
Connection: keep-alive\r\n\
Cache-Control: no-store\r\n\
X-Request-Id: 5f1c2a9e-0d3b-4c8e-9a7f-2b6d1e0c3a4f\r\n\r\n{}";

#[test]
#[ignore]
fn http1_head_throughput() {
    let rounds = 200_000;
    let mut parser = Http1Parser::new();
    let mut out: Vec<Exchange> = Vec::with_capacity(1);
    let start = Instant::now();
    for _ in 0..rounds {
        let a = parser.feed(Direction::ClientToServer, REQUEST, Timestamp(0), &mut out);
        let b = parser.feed(Direction::ServerToClient, RESPONSE, Timestamp(1), &mut out);
        assert_eq!((a, b), (Status::Ok, Status::Ok));
        out.clear();
    }
    let secs = start.elapsed().as_secs_f64();
    let bytes = (REQUEST.len() + RESPONSE.len()) * rounds;
    println!(
        "{:.0} MB/s, {:.0} exchanges/s",
        bytes as f64 / secs / 1e6,
        rounds as f64 / secs
    );
}

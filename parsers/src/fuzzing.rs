//! Drives the parsers from arbitrary bytes, checking their invariants.
//!
//! The cargo-fuzz targets in `fuzz/` and the seed-replay test in
//! `tests/fuzz_seeds.rs` both call these functions, so a seed that passes
//! under `cargo test` exercises exactly what the fuzzer exercises. Every
//! check is an `assert!`: a violated invariant is a crash the fuzzer keeps.
//!
//! Input format for [`http1_input`]: client bytes, then [`SEPARATOR`], then server
//! bytes (no separator: everything is client bytes). That keeps seeds
//! readable captures; how the two streams are cut into feeds and interleaved
//! is drawn from a generator seeded by a hash of the input, so each mutation
//! also tries a different split.

use crate::detect::{detect, Detection};
use crate::event::{Direction, Exchange, Protocol, Timestamp};
use crate::hpack::{Decoder, MAX_HEADER_LIST, MAX_STRING, MAX_TABLE_SIZE};
use crate::http1::{Http1Parser, MAX_HEAD_BYTES};
use crate::http2::{Http2Parser, MAX_HEADER_BLOCK, MAX_STREAMS};
use crate::mongodb::{MongoOptions, MongoParser, MAX_CURSORS, MAX_PENDING};
use crate::{ProtocolParser, Status};

/// Splits a fuzz input into the client and server streams.
pub const SEPARATOR: &[u8] = b"\n~~~~\n";

/// Small deterministic generator (SplitMix64): tests and fuzz targets need
/// reproducible "randomness" without a dependency.
#[derive(Debug, Clone)]
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    /// Seeded from the bytes themselves (FNV-1a).
    pub fn from_bytes(data: &[u8]) -> Rng {
        Rng(data.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        }))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform-ish in `0..n`; 0 when `n` is 0.
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            return 0;
        }
        (self.next_u64() % n as u64) as usize
    }
}

/// Detection on every prefix (both directions) must move from `NeedMore`
/// to one answer and stay there: more bytes never change a verdict.
pub fn detect_input(data: &[u8]) {
    const PREFIXES: usize = 512;
    for dir in [Direction::ClientToServer, Direction::ServerToClient] {
        let mut verdict: Option<Detection> = None;
        let lens = (0..=data.len().min(PREFIXES)).chain(std::iter::once(data.len()));
        for len in lens {
            let d = detect(dir, data.get(..len).unwrap_or(data));
            assert_ne!(d, Detection::Protocol(Protocol::Unknown));
            if dir == Direction::ServerToClient {
                assert_eq!(d, Detection::Unknown);
            }
            match verdict {
                Some(v) => assert_eq!(d, v, "verdict changed at {len} bytes"),
                None if d != Detection::NeedMore => verdict = Some(d),
                None => {}
            }
        }
    }
}

/// One feed: direction, bytes, and the timestamp of the segment it is from.
type Feed<'a> = (Direction, &'a [u8], Timestamp);

/// Feeds the conversation in `data` twice — each wire segment whole, then
/// each segment cut again into smaller feeds — and asserts both runs give
/// the same exchanges and status, with memory bounded throughout.
pub fn http1_input(data: &[u8]) {
    let (client, server) = split_streams(data);
    let mut rng = Rng::from_bytes(data);
    let segments = interleave(client, server, &mut rng);
    let server_eos = rng.below(2) == 0;

    let pieces = recut(&segments, &mut rng);
    let whole = segments;
    let end = Timestamp(u64::MAX);
    let a = run_http1(&whole, server_eos, end);
    let b = run_http1(&pieces, server_eos, end);
    assert_eq!(a, b, "splitting feeds changed the events");
}

/// The MongoDB parser on a conversation, same format and checks as
/// [`http1_input`]. The input's hash also picks the options: a small
/// buffering cap half of the time (so oversize skipping and resync get
/// exercised by small inputs) and query text on or off.
pub fn mongodb_input(data: &[u8]) {
    let (client, server) = split_streams(data);
    let mut rng = Rng::from_bytes(data);
    let options = MongoOptions {
        query_text: rng.below(2) == 0,
        max_message_bytes: if rng.below(2) == 0 {
            64 + rng.below(512)
        } else {
            MongoOptions::default().max_message_bytes
        },
    };
    let segments = interleave(client, server, &mut rng);
    let pieces = recut(&segments, &mut rng);
    let whole = segments;
    let end = Timestamp(u64::MAX);
    let a = run_mongodb(&whole, options, end);
    let b = run_mongodb(&pieces, options, end);
    assert_eq!(a, b, "splitting feeds changed the events");
}

fn run_mongodb(
    feeds: &[Feed<'_>],
    options: MongoOptions,
    end: Timestamp,
) -> (Vec<Exchange>, Status) {
    let mut parser = MongoParser::with_options(options);
    let mut out: Vec<Exchange> = Vec::new();
    let mut status = Status::Ok;
    for &(dir, bytes, at) in feeds {
        status = parser.feed(dir, bytes, at, &mut out);
        assert!(
            parser.buffered_bytes() <= 2 * (options.max_message_bytes + 16),
            "buffer grew past the caps"
        );
        assert!(parser.pending() <= MAX_PENDING);
        assert!(parser.cursors() <= MAX_CURSORS);
    }
    parser.close(end, &mut out);
    for e in &out {
        assert!(e.finished >= e.started || e.finished == end);
        let crate::ExchangeDetail::Mongo(m) = &e.detail else {
            panic!("a MongoDB parser emitted {:?}", e.detail);
        };
        assert!(m.command.len() <= crate::mongodb::MAX_NAME);
        assert!(m
            .database
            .as_ref()
            .is_none_or(|d| d.len() <= crate::mongodb::MAX_NAME));
        assert!(m
            .collection
            .as_ref()
            .is_none_or(|c| c.len() <= crate::mongodb::MAX_NAME));
        assert!(m
            .query_text
            .as_ref()
            .is_none_or(|q| q.len() <= crate::mongodb::MAX_MESSAGE));
    }
    (out, status)
}

/// The HTTP/2 parser on a conversation, same format and checks as
/// [`http1_input`]. A client stream that starts like the preface gets a
/// parser that expects it; anything else a parser joined mid-connection
/// (no preface, unknown SETTINGS and HPACK state), so both modes are
/// fuzzed from any input.
pub fn http2_input(data: &[u8]) {
    let (client, server) = split_streams(data);
    let mut rng = Rng::from_bytes(data);
    let segments = interleave(client, server, &mut rng);
    let pieces = recut(&segments, &mut rng);
    let whole = segments;
    let mid_stream = !client.starts_with(b"PRI ");
    let end = Timestamp(u64::MAX);
    let a = run_http2(&whole, mid_stream, end);
    let b = run_http2(&pieces, mid_stream, end);
    assert_eq!(a, b, "splitting feeds changed the events");
}

fn run_http2(feeds: &[Feed<'_>], mid_stream: bool, end: Timestamp) -> (Vec<Exchange>, Status, u64) {
    let mut parser = if mid_stream {
        Http2Parser::mid_stream()
    } else {
        Http2Parser::new()
    };
    let mut out: Vec<Exchange> = Vec::new();
    let mut status = Status::Ok;
    for &(dir, bytes, at) in feeds {
        status = parser.feed(dir, bytes, at, &mut out);
        assert!(
            parser.buffered_bytes() <= 2 * (MAX_HEADER_BLOCK + 15),
            "buffer grew past the caps"
        );
        assert!(parser.open_streams() <= MAX_STREAMS);
        assert!(parser.hpack_table_bytes() <= 2 * MAX_TABLE_SIZE);
    }
    parser.close(end, &mut out);
    assert_eq!(parser.open_streams(), 0);
    for e in &out {
        assert!(e.finished >= e.started || e.finished == end);
        let crate::ExchangeDetail::Http(h) = &e.detail else {
            panic!("an HTTP/2 parser emitted {:?}", e.detail);
        };
        assert!(h.target.len() <= crate::event::MAX_KEPT_TARGET);
        assert!(h
            .host
            .as_ref()
            .is_none_or(|x| x.len() <= crate::event::MAX_KEPT_TARGET));
        if let Some(g) = &h.grpc {
            assert!(g
                .message
                .as_ref()
                .is_none_or(|m| m.len() <= crate::grpc::MAX_GRPC_MESSAGE));
            assert!(g
                .method
                .as_ref()
                .is_none_or(|m| m.len() <= crate::grpc::MAX_METHOD));
        }
    }
    (out, status, parser.hpack_unresolved())
}

/// The HPACK decoder on arbitrary blocks: the first byte picks the
/// decoder (from the start or mid-connection) and a SETTINGS limit; the
/// rest is cut into blocks at [`SEPARATOR`]. Decoding must not panic,
/// keep the table and every field within the caps, and be deterministic.
pub fn hpack_input(data: &[u8]) {
    let (&first, rest) = data.split_first().unwrap_or((&0, &[]));
    let mut decoders = [Decoder::new(), Decoder::mid_stream()];
    let limit = [0u32, 256, 4096, 65_536, 1 << 20, u32::MAX][usize::from(first % 6)];
    let mut results: Vec<Vec<Result<usize, crate::hpack::DecodeError>>> =
        vec![Vec::new(), Vec::new()];
    for (d, res) in decoders.iter_mut().zip(results.iter_mut()) {
        if first & 0x80 != 0 {
            d.set_settings_limit(limit);
        }
        for block in blocks(rest) {
            let mut size = 0usize;
            let r = d.decode(block, |f| {
                assert!(f.name.len() <= MAX_STRING && f.value.len() <= MAX_STRING);
                size += f.name.len() + f.value.len();
            });
            assert!(size <= MAX_HEADER_LIST);
            assert!(d.table_size() <= d.table_max_size());
            assert!(d.table_max_size() <= MAX_TABLE_SIZE);
            res.push(r.map(|info| info.fields));
        }
    }
    // The same blocks through a fresh decoder give the same answers.
    let mut again = Decoder::new();
    if first & 0x80 != 0 {
        again.set_settings_limit(limit);
    }
    for (block, want) in blocks(rest).into_iter().zip(&results[0]) {
        assert_eq!(&again.decode(block, |_| {}).map(|i| i.fields), want);
    }
}

/// `data` cut at every [`SEPARATOR`].
fn blocks(data: &[u8]) -> Vec<&[u8]> {
    let mut out = Vec::new();
    let mut rest = data;
    while let Some(at) = memchr::memmem::find(rest, SEPARATOR) {
        out.push(rest.get(..at).unwrap_or_default());
        rest = rest.get(at + SEPARATOR.len()..).unwrap_or_default();
    }
    out.push(rest);
    out
}

/// The client and server streams of an [`http1_input`] input.
pub fn split_streams(data: &[u8]) -> (&[u8], &[u8]) {
    match memchr::memmem::find(data, SEPARATOR) {
        Some(at) => (
            data.get(..at).unwrap_or_default(),
            data.get(at + SEPARATOR.len()..).unwrap_or_default(),
        ),
        None => (data, &[]),
    }
}

/// Cuts the two streams into segments and orders them as a wire might:
/// the client speaks first, then turns alternate at random lengths.
/// The same feeds cut again into pieces of 1 to 32 bytes, so a parser fed
/// both ways must give the same events.
fn recut<'a>(segments: &[Feed<'a>], rng: &mut Rng) -> Vec<Feed<'a>> {
    let mut pieces = Vec::new();
    for &(dir, bytes, at) in segments {
        let mut rest = bytes;
        while !rest.is_empty() {
            let (a, b) = rest.split_at(1 + rng.below(rest.len().min(32)));
            pieces.push((dir, a, at));
            rest = b;
        }
    }
    pieces
}

fn interleave<'a>(mut client: &'a [u8], mut server: &'a [u8], rng: &mut Rng) -> Vec<Feed<'a>> {
    let mut out = Vec::new();
    let mut dir = Direction::ClientToServer;
    while !client.is_empty() || !server.is_empty() {
        let stream = match dir {
            Direction::ClientToServer => &mut client,
            Direction::ServerToClient => &mut server,
        };
        if !stream.is_empty() {
            let cap = if rng.below(4) == 0 {
                stream.len()
            } else {
                stream.len().min(128)
            };
            let (seg, rest) = stream.split_at(1 + rng.below(cap));
            out.push((dir, seg, Timestamp(out.len() as u64)));
            *stream = rest;
        }
        dir = dir.reverse();
    }
    out
}

fn run_http1(feeds: &[Feed<'_>], server_eos: bool, end: Timestamp) -> (Vec<Exchange>, Status) {
    let mut parser = Http1Parser::new();
    let mut out: Vec<Exchange> = Vec::new();
    let mut status = Status::Ok;
    for &(dir, bytes, at) in feeds {
        status = parser.feed(dir, bytes, at, &mut out);
        assert!(
            parser.buffered_bytes() <= 2 * MAX_HEAD_BYTES,
            "buffer grew past the caps"
        );
        assert!(parser.pending() <= crate::http1::MAX_PENDING);
    }
    if server_eos {
        parser.end_of_stream(Direction::ServerToClient, end, &mut out);
    }
    parser.close(end, &mut out);
    (out, status)
}

/// The DynamoDB refiner on a request body, [`SEPARATOR`], a response body.
/// The input's hash picks the operation, the status and the prefix cap; the
/// checks: nothing panics, a body streamed through a [`BodyPrefix`] in
/// random pieces gives the same call as the same prefix read at once, the
/// kept prefix never exceeds its cap, and the call renders (attributes,
/// labels) whatever the bytes were.
///
/// [`BodyPrefix`]: crate::dynamodb::BodyPrefix
pub fn dynamodb_input(data: &[u8]) {
    use crate::dynamodb::{BodyPrefix, DynamoRefiner, ERRORS, OPERATIONS};
    let (request, response) = split_streams(data);
    let mut rng = Rng::from_bytes(data);
    let operation = OPERATIONS[rng.below(OPERATIONS.len())];
    let target = format!("DynamoDB_20120810.{operation}");
    let status = [200, 400, 500][rng.below(3)];
    let cap = match rng.below(3) {
        0 => usize::MAX,
        _ => rng.below(data.len() + 1),
    };
    let stream = |body: &[u8], rng: &mut Rng| {
        let mut prefix = BodyPrefix::new(cap);
        let mut rest = body;
        while !rest.is_empty() {
            let n = 1 + rng.below(rest.len());
            prefix.push(&rest[..n]);
            rest = &rest[n..];
        }
        assert!(prefix.bytes().len() <= cap);
        assert_eq!(prefix.total_len(), body.len() as u64);
        prefix
    };
    let request_prefix = stream(request, &mut rng);
    let response_prefix = stream(response, &mut rng);
    let crc = crate::dynamodb::crc32(response).to_string();
    let headers = [
        (&b"x-amzn-requestid"[..], &b"fuzz"[..]),
        (b"x-amz-crc32", crc.as_bytes()),
    ];
    let streamed = DynamoRefiner::request(
        target.as_bytes(),
        request_prefix.bytes(),
        request_prefix.truncated(),
    )
    .response_streamed(status, headers, &response_prefix);
    let kept = |body: &[u8]| body.get(..cap).unwrap_or(body).to_vec();
    let req = kept(request);
    let at_once = DynamoRefiner::request(target.as_bytes(), &req, req.len() < request.len())
        .response_streamed(status, headers, &stream(response, &mut rng));
    assert_eq!(streamed, at_once, "streaming the bodies changed the call");
    assert_eq!(streamed.operation_label, operation);
    assert!(
        !streamed.crc32_mismatch,
        "the running CRC covers the whole body"
    );
    if let Some(error) = &streamed.error {
        assert!(error.type_label == "_OTHER" || ERRORS.contains(&error.type_label));
    }
    let _ = (streamed.attributes(), streamed.error_type());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rng_is_deterministic_and_bounded() {
        let mut a = Rng::new(1);
        let mut b = Rng::new(1);
        for n in 1..100 {
            let x = a.below(n);
            assert_eq!(x, b.below(n));
            assert!(x < n);
        }
        assert_eq!(a.below(0), 0);
    }

    #[test]
    fn streams_split_on_the_separator() {
        assert_eq!(split_streams(b"abc\n~~~~\ndef"), (&b"abc"[..], &b"def"[..]));
        assert_eq!(split_streams(b"abc"), (&b"abc"[..], &b""[..]));
    }

    #[test]
    fn drivers_accept_odd_inputs() {
        for input in [
            &b""[..],
            b"\n~~~~\n",
            b"\xff\x00",
            b"GET / HTTP/1.1\r\n\r\n\n~~~~\nHTTP/1.1 200 OK\r\n\r\n",
        ] {
            detect_input(input);
            http1_input(input);
            http2_input(input);
            hpack_input(input);
            mongodb_input(input);
        }
    }
}

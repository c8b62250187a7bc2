//! HPACK decoding and HTTP/2 frame parsing on real traffic: the header
//! blocks and conversations recorded from nghttp2's h2load against nginx
//! and from grpcio (fuzz/seeds/), plus a browser-like first request whose
//! every string is a Huffman literal added to the table (the expensive
//! case). Throughput is in encoded bytes.
use super::Case;
use periscope_parsers::hpack::{huffman, Decoder};
use periscope_parsers::{fuzzing, Exchange, Http2Parser, ProtocolParser, Timestamp};
use std::hint::black_box;

const C: periscope_parsers::Direction = periscope_parsers::Direction::ClientToServer;
const S: periscope_parsers::Direction = periscope_parsers::Direction::ServerToClient;

const H2LOAD_REQUESTS: &[u8] = include_bytes!("../../../fuzz/seeds/hpack/h2load-client.bin");
const NGINX_RESPONSES: &[u8] = include_bytes!("../../../fuzz/seeds/hpack/h2load-server.bin");
const GRPC_REQUESTS: &[u8] = include_bytes!("../../../fuzz/seeds/hpack/grpc-calls-client.bin");
const GRPC_RESPONSES: &[u8] = include_bytes!("../../../fuzz/seeds/hpack/grpc-calls-server.bin");
const H2LOAD_CONVERSATION: &[u8] = include_bytes!("../../../fuzz/seeds/http2/h2load-0.bin");
const GRPC_CONVERSATION: &[u8] = include_bytes!("../../../fuzz/seeds/http2/grpc-calls-0.bin");

/// The blocks of an `hpack` seed (first byte: options; then blocks).
fn blocks(seed: &'static [u8]) -> Vec<&'static [u8]> {
    let mut out = Vec::new();
    let mut rest = seed.get(1..).unwrap_or_default();
    loop {
        let (block, next) = fuzzing::split_streams(rest);
        out.push(block);
        if block.len() == rest.len() {
            return out;
        }
        rest = next;
    }
}

/// A first request from a browser: every field a Huffman literal with
/// incremental indexing (name from the static table where there is one).
fn browser_first_request() -> Vec<u8> {
    let fields: [(u8, &str, &str); 10] = [
        (2, ":method", "GET"),
        (7, ":scheme", "https"),
        (1, ":authority", "api.example.com"),
        (4, ":path", "/api/v1/items?page=2&limit=50"),
        (58, "user-agent", "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"),
        (19, "accept", "application/json, text/plain, */*"),
        (17, "accept-language", "en-US,en;q=0.9"),
        (16, "accept-encoding", "gzip, deflate, br"),
        (32, "cookie", "session=0123456789abcdef0123456789abcdef; theme=dark; consent=yes"),
        (51, "referer", "https://app.example.com/dashboard"),
    ];
    let mut out = Vec::new();
    for (index, _, value) in fields {
        out.push(0x40 | index);
        let coded = huffman::encode(value.as_bytes());
        assert!(coded.len() < 127);
        out.push(0x80 | coded.len() as u8);
        out.extend(coded);
    }
    out
}

fn decode_all(decoder: &mut Decoder, blocks: &[Vec<u8>]) -> usize {
    let mut n = 0usize;
    for block in blocks {
        let _ = decoder.decode(black_box(block), |f| n += f.value.len());
    }
    n
}

/// Per series, `fresh` (connection start: a new decoder, its table filling
/// up) and `steady` (one long-lived decoder; each series starts with
/// literals that re-insert what its later blocks refer to, so replaying it
/// on a warm table decodes the same fields).
pub fn hpack_cases() -> Vec<Case> {
    let series: [(&str, Vec<Vec<u8>>); 5] = [
        (
            "browser_first_request_huffman",
            vec![browser_first_request()],
        ),
        ("h2load_20_requests", owned(blocks(H2LOAD_REQUESTS))),
        ("nginx_20_responses", owned(blocks(NGINX_RESPONSES))),
        ("grpcio_6_requests", owned(blocks(GRPC_REQUESTS))),
        (
            "grpcio_responses_and_trailers",
            owned(blocks(GRPC_RESPONSES)),
        ),
    ];
    let mut cases = Vec::new();
    for (name, blocks) in series {
        let bytes = Some(blocks.iter().map(|b| b.len() as u64).sum());
        let fresh = blocks.clone();
        cases.push(Case {
            group: "hpack",
            name: format!("{name}/fresh"),
            bytes,
            run: Box::new(move || decode_all(&mut Decoder::new(), &fresh)),
        });
        let mut decoder = Decoder::new();
        cases.push(Case {
            group: "hpack",
            name: format!("{name}/steady"),
            bytes,
            run: Box::new(move || decode_all(&mut decoder, &blocks)),
        });
    }
    cases
}

fn owned(blocks: Vec<&[u8]>) -> Vec<Vec<u8>> {
    blocks.into_iter().map(<[u8]>::to_vec).collect()
}

/// Whole conversations, through a new parser each run: each starts with
/// the connection preface.
pub fn frame_cases() -> Vec<Case> {
    [
        ("h2load_20_requests_nginx", H2LOAD_CONVERSATION),
        ("grpcio_6_calls_40k_reply", GRPC_CONVERSATION),
    ]
    .into_iter()
    .map(|(name, conversation)| {
        let (client, server) = fuzzing::split_streams(conversation);
        let mut out: Vec<Exchange> = Vec::with_capacity(32);
        Case {
            group: "http2",
            name: name.to_owned(),
            bytes: Some((client.len() + server.len()) as u64),
            run: Box::new(move || {
                let mut p = Http2Parser::new();
                p.feed(C, black_box(client), Timestamp(0), &mut out);
                p.feed(S, black_box(server), Timestamp(1), &mut out);
                let n = out.len();
                out.clear();
                n
            }),
        }
    })
    .collect()
}

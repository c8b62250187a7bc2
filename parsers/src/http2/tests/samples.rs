//! Sample conversations, built frame by frame, with the exchanges each
//! must yield (see [`super::summary`]). Segment `i` is fed at time `i`.

use super::build::*;
use super::{C, S};
use crate::event::Direction;
use crate::http2::wire::*;

pub struct Sample {
    pub name: &'static str,
    pub segments: Vec<(Direction, Vec<u8>)>,
    /// Fed to `Http2Parser::mid_stream()`.
    pub mid_stream: bool,
    pub expect: Vec<&'static str>,
}

pub fn sample(
    name: &'static str,
    segments: Vec<(Direction, Vec<u8>)>,
    expect: &[&'static str],
) -> Sample {
    Sample {
        name,
        segments,
        mid_stream: false,
        expect: expect.to_vec(),
    }
}

pub const GRPC_PATH: &str = "/helloworld.Greeter/SayHello";

pub fn get(path: &str) -> Vec<(&'static str, String)> {
    vec![
        (":method", "GET".to_owned()),
        (":scheme", "http".to_owned()),
        (":path", path.to_owned()),
        (":authority", "example.com".to_owned()),
        ("user-agent", "curl/8.5.0".to_owned()),
        ("accept", "*/*".to_owned()),
    ]
}

pub fn fields<'a>(v: &'a [(&'static str, String)]) -> Vec<(&'static str, &'a str)> {
    v.iter().map(|(n, s)| (*n, s.as_str())).collect()
}

pub fn samples() -> Vec<Sample> {
    let mut out = Vec::new();

    let (mut c, mut s) = (Peer::new(), Peer::new());
    out.push(sample(
        "get",
        vec![
            (
                C,
                cat(&[
                    preface(),
                    c.headers(1, END_STREAM, &fields(&get("/index.html"))),
                ]),
            ),
            (
                S,
                cat(&[
                    settings(&[(0x3, 128)]),
                    settings_ack(),
                    s.headers(1, 0, &[(":status", "200"), ("content-type", "text/html")]),
                    data(1, END_STREAM, b"hello"),
                ]),
            ),
            (C, settings_ack()),
        ],
        &["GET example.com /index.html -> 200 body 0/5 complete t0..1"],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    let mut post = get("/upload");
    post[0].1 = "POST".to_owned();
    out.push(sample(
        "post with body",
        vec![
            (C, cat(&[preface(), c.headers(1, 0, &fields(&post))])),
            (C, cat(&[data(1, 0, b"abc"), data(1, END_STREAM, b"defg")])),
            (
                S,
                cat(&[
                    settings(&[]),
                    s.headers(1, 0, &[(":status", "201")]),
                    window_update(0, 7),
                    data(1, END_STREAM, b"ok"),
                ]),
            ),
        ],
        &["POST example.com /upload -> 201 body 7/2 complete t0..2"],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    let mut post = get("/c");
    post[0].1 = "POST".to_owned();
    out.push(sample(
        "concurrent interleaved streams",
        vec![
            (
                C,
                cat(&[
                    preface(),
                    c.headers(1, END_STREAM, &fields(&get("/a"))),
                    c.headers(3, END_STREAM, &fields(&get("/b"))),
                    c.headers(5, 0, &fields(&post)),
                ]),
            ),
            (
                S,
                cat(&[s.headers(3, 0, &[(":status", "200")]), data(3, 0, b"bb")]),
            ),
            (S, s.headers(1, 0, &[(":status", "404")])),
            (C, data(5, END_STREAM, b"cc")),
            (
                S,
                cat(&[
                    data(1, END_STREAM, b"n"),
                    data(3, END_STREAM, b""),
                    s.headers(5, END_STREAM, &[(":status", "204")]),
                ]),
            ),
        ],
        &[
            "GET example.com /a -> 404 body 0/1 complete t0..4",
            "GET example.com /b -> 200 body 0/2 complete t0..4",
            "POST example.com /c -> 204 body 2/0 complete t0..4",
        ],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    let mut big = get("/continued");
    big.push(("cookie", "a".repeat(300)));
    big.push(("x-trace", "t".repeat(100)));
    let block = c.block(&fields(&big));
    let (a, rest) = block.split_at(100);
    let (b, d) = rest.split_at(200);
    out.push(sample(
        "continuation",
        vec![
            (
                C,
                cat(&[
                    preface(),
                    encode_frame(HEADERS, END_STREAM, 1, a),
                    encode_frame(CONTINUATION, 0, 1, b),
                ]),
            ),
            (C, encode_frame(CONTINUATION, END_HEADERS, 1, d)),
            (S, s.headers(1, END_STREAM, &[(":status", "304")])),
        ],
        &["GET example.com /continued -> 304 body 0/0 complete t0..2"],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    let block = c.block(&fields(&get("/padded")));
    let mut payload = vec![3, 0x80, 0, 0, 0, 15]; // pad 3, exclusive on 0, weight 16
    payload.extend(block);
    payload.extend([0, 0, 0]);
    let mut padded_data = vec![5];
    padded_data.extend(b"hello\0\0\0\0\0");
    out.push(sample(
        "padding, priority and connection frames",
        vec![
            (
                C,
                cat(&[
                    preface(),
                    encode_frame(
                        HEADERS,
                        PADDED | PRIORITY_FLAG | END_HEADERS | END_STREAM,
                        1,
                        &payload,
                    ),
                    encode_frame(PRIORITY, 0, 3, &[0, 0, 0, 1, 200]),
                    ping(false),
                ]),
            ),
            (
                S,
                cat(&[
                    ping(true),
                    encode_frame(0xfa, 0xff, 0, b"unknown frame type"),
                    s.headers(1, 0, &[(":status", "200")]),
                    encode_frame(DATA, PADDED | END_STREAM, 1, &padded_data),
                ]),
            ),
        ],
        &["GET example.com /padded -> 200 body 0/5 complete t0..1"],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    let mut expect = get("/continue");
    expect[0].1 = "POST".to_owned();
    expect.push(("expect", "100-continue".to_owned()));
    out.push(sample(
        "interim 100 then final response with trailers",
        vec![
            (C, cat(&[preface(), c.headers(1, 0, &fields(&expect))])),
            (S, s.headers(1, 0, &[(":status", "100")])),
            (C, data(1, END_STREAM, b"body")),
            (
                S,
                cat(&[
                    s.headers(1, 0, &[(":status", "200")]),
                    data(1, 0, b"ok"),
                    s.headers(1, END_STREAM, &[("x-checksum", "abc")]),
                ]),
            ),
        ],
        &["POST example.com /continue -> 200 body 4/2 complete t0..3"],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    let mut upload = get("/upload");
    upload[0].1 = "PUT".to_owned();
    out.push(sample(
        "rst_stream",
        vec![
            (
                C,
                cat(&[
                    preface(),
                    c.headers(1, END_STREAM, &fields(&get("/slow"))),
                    c.headers(3, 0, &fields(&upload)),
                    data(3, 0, b"xx"),
                ]),
            ),
            (
                S,
                cat(&[
                    s.headers(1, 0, &[(":status", "200")]),
                    data(1, 0, b"partial"),
                    s.headers(3, END_STREAM, &[(":status", "413")]),
                    rst(3, 0),
                ]),
            ),
            (C, rst(1, 8)),
        ],
        &[
            "PUT example.com /upload -> 413 body 2/0 complete t0..1",
            "GET example.com /slow -> 200 body 0/7 incomplete t0..2",
        ],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    out.push(sample(
        "goaway",
        vec![
            (
                C,
                cat(&[
                    preface(),
                    c.headers(1, END_STREAM, &fields(&get("/1"))),
                    c.headers(3, END_STREAM, &fields(&get("/3"))),
                    c.headers(5, END_STREAM, &fields(&get("/5"))),
                ]),
            ),
            (
                S,
                cat(&[
                    goaway(3, 0),
                    s.headers(1, END_STREAM, &[(":status", "200")]),
                ]),
            ),
            (S, s.headers(3, END_STREAM, &[(":status", "200")])),
        ],
        &[
            "GET example.com /5 -> - body 0/0 incomplete t0..1",
            "GET example.com /1 -> 200 body 0/0 complete t0..1",
            "GET example.com /3 -> 200 body 0/0 complete t0..2",
        ],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    let mut promise = vec![0, 0, 0, 2];
    promise.extend(s.block(&fields(&get("/style.css"))));
    out.push(sample(
        "push_promise",
        vec![
            (
                C,
                cat(&[preface(), c.headers(1, END_STREAM, &fields(&get("/")))]),
            ),
            (
                S,
                cat(&[
                    encode_frame(PUSH_PROMISE, END_HEADERS, 1, &promise),
                    s.headers(1, 0, &[(":status", "200")]),
                    s.headers(2, 0, &[(":status", "200"), ("content-type", "text/css")]),
                    data(2, END_STREAM, b"css"),
                    data(1, END_STREAM, b"html"),
                ]),
            ),
        ],
        &["GET example.com / -> 200 body 0/4 complete t0..1"],
    ));

    let (mut c, mut s) = (Peer::new(), Peer::new());
    let first = c.headers(1, END_STREAM, &fields(&get("/before")));
    c.resize(256);
    let mut many = get("/after");
    for i in 0..6 {
        many.push(("x-filler", format!("{i}-{}", "f".repeat(40))));
    }
    out.push(sample(
        "settings header table size change",
        vec![
            (C, cat(&[preface(), first])),
            (
                S,
                cat(&[
                    settings(&[(SETTINGS_HEADER_TABLE_SIZE, 256)]),
                    s.headers(1, END_STREAM, &[(":status", "200")]),
                ]),
            ),
            (
                C,
                cat(&[
                    settings_ack(),
                    c.headers(3, END_STREAM, &fields(&many)),
                    c.headers(5, END_STREAM, &fields(&many)),
                ]),
            ),
            (
                S,
                cat(&[
                    s.headers(3, END_STREAM, &[(":status", "200")]),
                    s.headers(5, END_STREAM, &[(":status", "200")]),
                ]),
            ),
        ],
        &[
            "GET example.com /before -> 200 body 0/0 complete t0..1",
            "GET example.com /after -> 200 body 0/0 complete t2..3",
            "GET example.com /after -> 200 body 0/0 complete t2..3",
        ],
    ));

    out.extend(super::samples_grpc::grpc_samples());
    out
}

/// A connection joined after both encoders filled their tables: fields
/// that refer to entries we never saw become placeholders, everything
/// else still decodes. Blocks written by hand so that the unseen entries
/// are exactly the ones we choose. Before we started watching, the client
/// sent `41 0b "example.com"` and `44 0c "/seen-before"` (:authority and
/// :path with incremental indexing), the server `76 05 "envoy"` (server).
pub fn lost_state() -> Sample {
    let mut b7 = vec![
        0x82, // :method GET (static 2)
        0x86, // :scheme http (static 6)
        0xbe, // index 62: :path /seen-before, never seen -> placeholder
        0xbf, // index 63: :authority example.com, never seen -> placeholder
        0x40, 0x08, // literal, incremental, new name of 8 bytes
    ];
    b7.extend(b"x-tenant");
    b7.extend([0x04]);
    b7.extend(b"blue"); // inserted: now index 62 for both tables
    let mut b9 = vec![
        0x82, 0x86, // GET http
        0x04, 0x06, // literal :path (static 4) without indexing, 6 bytes
    ];
    b9.extend(b"/fresh");
    b9.extend([
        0xc0, // index 64: the peer's :authority, shifted by x-tenant -> placeholder
        0xbe, // index 62: x-tenant: blue, which we did see
    ]);
    let r7 = [
        0x88, // :status 200
        0xbe, // index 62: server envoy, never seen -> placeholder
    ];
    let r9 = [0x8d]; // :status 404
    let flags = END_STREAM | END_HEADERS;
    Sample {
        name: "lost hpack state",
        segments: vec![
            (
                C,
                cat(&[
                    encode_frame(HEADERS, flags, 7, &b7),
                    encode_frame(HEADERS, flags, 9, &b9),
                ]),
            ),
            (
                S,
                cat(&[
                    encode_frame(HEADERS, flags, 7, &r7),
                    encode_frame(HEADERS, flags, 9, &r9),
                ]),
            ),
        ],
        mid_stream: true,
        expect: vec![
            "GET -  -> 200 body 0/0 complete t0..1",
            "GET - /fresh -> 404 body 0/0 complete t0..1",
        ],
    }
}

//! Sample conversations, as segments in the order they cross the wire, with
//! the exchanges each must yield. Shared by the split-invariance, truncation
//! and expectation tests.

use crate::event::Direction;

const C: Direction = Direction::ClientToServer;
const S: Direction = Direction::ServerToClient;

pub struct Sample {
    pub name: &'static str,
    pub segments: &'static [(Direction, &'static [u8])],
    /// The server half-closes after the last segment.
    pub server_eos: bool,
    /// The exchanges, summarised by [`super::summary`].
    pub expect: &'static [&'static str],
}

pub const SAMPLES: &[Sample] = &[
    Sample {
        name: "get keep-alive",
        segments: &[
            (C, b"GET /index.html HTTP/1.1\r\nHost: example.com\r\nUser-Agent: curl/8.5.0\r\nAccept: */*\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nServer: nginx/1.24.0\r\nContent-Type: text/html\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello"),
            (C, b"GET /favicon.ico HTTP/1.1\r\nHost: example.com\r\n\r\n"),
            (S, b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n"),
        ],
        server_eos: false,
        expect: &[
            "GET example.com /index.html 1.1 -> 200 body 0/5 complete",
            "GET example.com /favicon.ico 1.1 -> 404 body 0/0 complete",
        ],
    },
    Sample {
        name: "pipelined three",
        segments: &[
            (C, b"GET /a HTTP/1.1\r\nHost: h\r\n\r\nGET /b?q=1 HTTP/1.1\r\nHost: h\r\n\r\nGET /c HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\naaa"),
            (S, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nbb\r\n0\r\n\r\n"),
            (S, b"HTTP/1.1 304 Not Modified\r\nETag: \"x\"\r\n\r\n"),
        ],
        server_eos: false,
        expect: &[
            "GET h /a 1.1 -> 200 body 0/3 complete",
            "GET h /b?q=1 1.1 -> 200 body 0/12 complete",
            "GET h /c 1.1 -> 304 body 0/0 complete",
        ],
    },
    Sample {
        name: "post content-length",
        segments: &[
            (C, b"POST /api/items HTTP/1.1\r\nHost: api\r\nContent-Type: application/json\r\nContent-Length: 13\r\n\r\n{\"a\":\"hello\"}"),
            (S, b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}"),
        ],
        server_eos: false,
        expect: &["POST api /api/items 1.1 -> 201 body 13/2 complete"],
    },
    Sample {
        name: "chunked upload with extensions and trailers",
        segments: &[
            (C, b"PUT /up HTTP/1.1\r\nHost: u\r\nTransfer-Encoding: chunked\r\nTrailer: Checksum\r\n\r\n5;name=val\r\nhello\r\n6\r\n world\r\n0\r\nChecksum: abc\r\n\r\n"),
            (S, b"HTTP/1.1 204 No Content\r\n\r\n"),
        ],
        server_eos: false,
        expect: &["PUT u /up 1.1 -> 204 body 50/0 complete"],
    },
    Sample {
        name: "chunked response",
        segments: &[
            (C, b"GET /stream HTTP/1.1\r\nHost: s\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n7\r\nMozilla\r\n9\r\nDeveloper\r\n0\r\n\r\n"),
        ],
        server_eos: false,
        expect: &["GET s /stream 1.1 -> 200 body 0/31 complete"],
    },
    Sample {
        name: "head with content-length",
        segments: &[
            (C, b"HEAD /big HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1234\r\n\r\n"),
            (C, b"GET /small HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ],
        server_eos: false,
        expect: &[
            "HEAD h /big 1.1 -> 200 body 0/0 complete",
            "GET h /small 1.1 -> 200 body 0/2 complete",
        ],
    },
    Sample {
        name: "204 then keep-alive",
        segments: &[
            (C, b"DELETE /items/7 HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 204 No Content\r\nServer: x\r\n\r\n"),
            (C, b"GET /items HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n[]"),
        ],
        server_eos: false,
        expect: &[
            "DELETE h /items/7 1.1 -> 204 body 0/0 complete",
            "GET h /items 1.1 -> 200 body 0/2 complete",
        ],
    },
    Sample {
        name: "304 with a content-length it must not read",
        segments: &[
            (C, b"GET /logo.png HTTP/1.1\r\nHost: h\r\nIf-None-Match: \"abc\"\r\n\r\n"),
            (S, b"HTTP/1.1 304 Not Modified\r\nETag: \"abc\"\r\nContent-Length: 9000\r\n\r\n"),
            (C, b"GET / HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nx"),
        ],
        server_eos: false,
        expect: &[
            "GET h /logo.png 1.1 -> 304 body 0/0 complete",
            "GET h / 1.1 -> 200 body 0/1 complete",
        ],
    },
    Sample {
        name: "100-continue then 200",
        segments: &[
            (C, b"POST /upload HTTP/1.1\r\nHost: h\r\nContent-Length: 10\r\nExpect: 100-continue\r\n\r\n"),
            (S, b"HTTP/1.1 100 Continue\r\n\r\n"),
            (C, b"0123456789"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"),
        ],
        server_eos: false,
        expect: &["POST h /upload 1.1 -> 200 body 10/2 complete"],
    },
    Sample {
        name: "101 websocket upgrade",
        segments: &[
            (C, b"GET /chat HTTP/1.1\r\nHost: ws\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"),
            (S, b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n\x81\x05hello"),
            (C, b"\x81\x85\x37\xfa\x21\x3d\x7f\x9f\x4d\x51\x58"),
        ],
        server_eos: false,
        expect: &["GET ws /chat 1.1 -> 101 body 0/0 complete upgraded"],
    },
    Sample {
        name: "connect tunnel",
        segments: &[
            (C, b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\nProxy-Connection: keep-alive\r\n\r\n"),
            (S, b"HTTP/1.1 200 Connection Established\r\n\r\n"),
            (C, b"\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00"),
            (S, b"\x16\x03\x03\x00\x02\x02\x00"),
        ],
        server_eos: false,
        expect: &["CONNECT example.com:443 example.com:443 1.1 -> 200 body 0/0 complete upgraded"],
    },
    Sample {
        name: "upgrade refused, held request resumes",
        segments: &[
            (C, b"GET /a HTTP/1.1\r\nHost: h\r\nUpgrade: h2c\r\nConnection: Upgrade, HTTP2-Settings\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n"),
            (C, b"GET /b HTTP/1.1\r\nHost: h\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nA"),
            (S, b"HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nB"),
        ],
        server_eos: false,
        expect: &["GET h /a 1.1 -> 200 body 0/1 complete", "GET h /b 1.1 -> 200 body 0/1 complete"],
    },
    Sample {
        name: "HTTP/1.0 response until close",
        segments: &[
            (C, b"GET /old HTTP/1.0\r\nUser-Agent: Wget/1.21\r\n\r\n"),
            (S, b"HTTP/1.0 200 OK\r\nServer: SimpleHTTP/0.6\r\nContent-type: text/html\r\n\r\n"),
            (S, b"<html><body>hi</body></html>\n"),
        ],
        server_eos: true,
        expect: &["GET - /old 1.0 -> 200 body 0/29 complete"],
    },
    Sample {
        name: "nginx-style response with many headers, gzip chunked",
        segments: &[
            (C, b"GET /assets/app.js?v=3 HTTP/1.1\r\nHost: www.example.org\r\nAccept-Encoding: gzip, br\r\nAccept: */*\r\nConnection: keep-alive\r\n\r\n"),
            (S, b"HTTP/1.1 200 OK\r\nServer: nginx\r\nDate: Mon, 24 Nov 2025 04:08:00 GMT\r\nContent-Type: application/javascript\r\nTransfer-Encoding: chunked\r\nConnection: keep-alive\r\nVary: Accept-Encoding\r\nLast-Modified: Sun, 23 Nov 2025 10:00:00 GMT\r\nETag: W/\"6561-abc\"\r\nCache-Control: max-age=3600\r\nContent-Encoding: gzip\r\n\r\na\r\n\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\x03\r\n0\r\n\r\n"),
        ],
        server_eos: false,
        expect: &["GET www.example.org /assets/app.js?v=3 1.1 -> 200 body 0/20 complete"],
    },
    Sample {
        name: "extension method and leading blank line",
        segments: &[
            (C, b"\r\nPROPFIND /dav/ HTTP/1.1\r\nHost: dav\r\nDepth: 1\r\nContent-Length: 0\r\n\r\n"),
            (S, b"HTTP/1.1 207 Multi-Status\r\nContent-Length: 4\r\n\r\n<x/>"),
        ],
        server_eos: false,
        expect: &["_OTHER(PROPFIND) dav /dav/ 1.1 -> 207 body 0/4 complete"],
    },
];

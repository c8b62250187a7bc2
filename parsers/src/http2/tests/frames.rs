//! Every frame type as annotated bytes, through the whole parser.

use super::{summary, C, S};
use crate::event::{Exchange, Timestamp};
use crate::http2::Http2Parser;
use crate::{ProtocolParser, Status};

const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

#[test]
fn annotated_conversation_with_every_frame_type() {
    let client: &[u8] = &[
        // SETTINGS: length 6, type 4, flags 0, stream 0;
        // SETTINGS_HEADER_TABLE_SIZE (1) = 4096.
        0, 0, 6, 0x04, 0x00, 0, 0, 0, 0, /**/ 0x00, 0x01, 0, 0, 0x10, 0x00,
        // WINDOW_UPDATE: length 4, type 8, stream 0, increment 65535.
        0, 0, 4, 0x08, 0x00, 0, 0, 0, 0, /**/ 0, 0, 0xff, 0xff,
        // HEADERS: length 17, type 1, flags PRIORITY|END_HEADERS (0x24),
        // stream 1; exclusive dependency on 0, weight 16 (15 + 1);
        0, 0, 17, 0x01, 0x24, 0, 0, 0, 1, /**/ 0x80, 0, 0, 0, 15,
        //   82 GET, 86 http, 84 /, 41 :authority literal "h2.test" (7).
        0x82, 0x86, 0x84, 0x41, 0x07, b'h', b'2', b'.', b't', b'e', b's', b't',
        // PRIORITY: length 5, type 2, stream 3; depends on 1, weight 1.
        0, 0, 5, 0x02, 0x00, 0, 0, 0, 3, /**/ 0, 0, 0, 1, 0,
        // DATA: length 6, type 0, flags PADDED|END_STREAM (0x09), stream 1;
        // pad length 2, "abc", 2 bytes of padding.
        0, 0, 6, 0x00, 0x09, 0, 0, 0, 1, /**/ 2, b'a', b'b', b'c', 0, 0,
        // PING: length 8, type 6, stream 0, opaque data.
        0, 0, 8, 0x06, 0x00, 0, 0, 0, 0, /**/ 1, 2, 3, 4, 5, 6, 7, 8,
        // An unknown type 0x0b with 3 bytes: skipped.
        0, 0, 3, 0x0b, 0x00, 0, 0, 0, 0, /**/ 9, 9, 9,
    ];
    let server: &[u8] = &[
        // SETTINGS (empty), then SETTINGS with ACK (0x01).
        0, 0, 0, 0x04, 0x00, 0, 0, 0, 0, //
        0, 0, 0, 0x04, 0x01, 0, 0, 0, 0, //
        // PING ACK.
        0, 0, 8, 0x06, 0x01, 0, 0, 0, 0, /**/ 1, 2, 3, 4, 5, 6, 7, 8,
        // PUSH_PROMISE: length 6, type 5, END_HEADERS, stream 1; promised
        // stream 2; block 82 GET, 84 / .
        0, 0, 6, 0x05, 0x04, 0, 0, 0, 1, /**/ 0, 0, 0, 2, 0x82, 0x84,
        // HEADERS: length 1, no END_HEADERS (0x00), stream 1: 88 :status 200
        0, 0, 1, 0x01, 0x00, 0, 0, 0, 1, /**/ 0x88,
        // CONTINUATION: length 1, END_HEADERS, stream 1: 5c 01 "5"
        // content-length (static 28) literal with indexing... split over
        // two CONTINUATIONs: first 2 bytes, then 1.
        0, 0, 2, 0x09, 0x00, 0, 0, 0, 1, /**/ 0x5c, 0x01, //
        0, 0, 1, 0x09, 0x04, 0, 0, 0, 1, /**/ b'5',
        // RST_STREAM on the pushed stream 2: CANCEL (8).
        0, 0, 4, 0x03, 0x00, 0, 0, 0, 2, /**/ 0, 0, 0, 8,
        // DATA: length 5, END_STREAM, stream 1: "hello".
        0, 0, 5, 0x00, 0x01, 0, 0, 0, 1, /**/ b'h', b'e', b'l', b'l', b'o',
        // GOAWAY: length 8, last stream 1, NO_ERROR.
        0, 0, 8, 0x07, 0x00, 0, 0, 0, 0, /**/ 0, 0, 0, 1, 0, 0, 0, 0,
    ];
    let mut p = Http2Parser::new();
    let mut out: Vec<Exchange> = Vec::new();
    assert_eq!(p.feed(C, PREFACE, Timestamp(0), &mut out), Status::Ok);
    assert_eq!(p.feed(C, client, Timestamp(0), &mut out), Status::Ok);
    assert_eq!(p.feed(S, server, Timestamp(1), &mut out), Status::Ok);
    p.close(Timestamp(2), &mut out);
    let got: Vec<String> = out.iter().map(summary).collect();
    assert_eq!(got, ["GET h2.test / -> 200 body 3/5 complete t0..1"]);
    assert_eq!(out[0].request_bytes, 26 + 15);
    assert_eq!(out[0].response_bytes, 10 + 11 + 10 + 14);
    assert_eq!(p.pushes(), 1);
}

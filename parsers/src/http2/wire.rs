//! HTTP/2 framing (RFC 9113 §4, §6) with nom: the 9-byte frame header,
//! and for each frame type the layout the reader needs — how many leading
//! bytes to keep (pad length, priority, promised stream, fixed fields) and
//! what the rest is (DATA, a header-block fragment, SETTINGS entries, or
//! bytes to skip). Lengths are checked here, before anything is buffered.

use nom::number::streaming::{be_u24, be_u32, be_u8};
use nom::IResult;

use crate::ErrorReason;

/// What a client sends first (RFC 9113 §3.4).
pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
pub const HEADER_LEN: usize = 9;
/// SETTINGS_MAX_FRAME_SIZE before any SETTINGS (§6.5.2).
pub const DEFAULT_MAX_FRAME: u32 = 16_384;
/// The largest SETTINGS_MAX_FRAME_SIZE allowed (2^24 - 1): our absolute cap.
pub const MAX_FRAME_CAP: u32 = (1 << 24) - 1;

pub const DATA: u8 = 0x0;
pub const HEADERS: u8 = 0x1;
pub const PRIORITY: u8 = 0x2;
pub const RST_STREAM: u8 = 0x3;
pub const SETTINGS: u8 = 0x4;
pub const PUSH_PROMISE: u8 = 0x5;
pub const PING: u8 = 0x6;
pub const GOAWAY: u8 = 0x7;
pub const WINDOW_UPDATE: u8 = 0x8;
pub const CONTINUATION: u8 = 0x9;

pub const END_STREAM: u8 = 0x1;
pub const ACK: u8 = 0x1;
pub const END_HEADERS: u8 = 0x4;
pub const PADDED: u8 = 0x8;
pub const PRIORITY_FLAG: u8 = 0x20;

pub const SETTINGS_HEADER_TABLE_SIZE: u16 = 0x1;
pub const SETTINGS_MAX_FRAME_SIZE: u16 = 0x5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    pub len: u32,
    pub kind: u8,
    pub flags: u8,
    /// With the reserved bit cleared.
    pub stream: u32,
}

impl FrameHeader {
    pub fn has(&self, flag: u8) -> bool {
        self.flags & flag != 0
    }
}

/// The 9-byte frame header (§4.1).
pub fn frame_header(input: &[u8]) -> IResult<&[u8], FrameHeader> {
    let (input, len) = be_u24(input)?;
    let (input, kind) = be_u8(input)?;
    let (input, flags) = be_u8(input)?;
    let (input, stream) = be_u32(input)?;
    Ok((
        input,
        FrameHeader {
            len,
            kind,
            flags,
            stream: stream & 0x7fff_ffff,
        },
    ))
}

/// What the bytes after a frame's fixed prefix (and before its padding)
/// are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body {
    Data,
    /// A header-block fragment (HEADERS, PUSH_PROMISE, CONTINUATION).
    Block,
    /// SETTINGS entries, 6 bytes each.
    Settings,
    Skip,
}

/// How to read one frame's payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layout {
    /// Leading bytes kept in a small buffer (≤ 8).
    pub prefix: u8,
    /// The first prefix byte is the pad length.
    pub padded: bool,
    pub body: Body,
}

/// Checks a frame header against §6 (stream id, exact lengths, flags) and
/// the peer's SETTINGS_MAX_FRAME_SIZE, and says how to read its payload.
pub fn layout(h: &FrameHeader, max_frame: u32) -> Result<Layout, ErrorReason> {
    if h.len > max_frame {
        return Err(ErrorReason::LengthTooLarge);
    }
    let malformed = Err(ErrorReason::Malformed);
    let on_stream = h.stream != 0;
    let padded = h.has(PADDED) && matches!(h.kind, DATA | HEADERS | PUSH_PROMISE);
    let pad = u8::from(padded);
    let (prefix, body) = match h.kind {
        DATA if on_stream => (pad, Body::Data),
        HEADERS if on_stream => {
            let priority = if h.has(PRIORITY_FLAG) { 5 } else { 0 };
            (pad + priority, Body::Block)
        }
        PRIORITY if on_stream && h.len == 5 => (5, Body::Skip),
        RST_STREAM if on_stream && h.len == 4 => (4, Body::Skip),
        SETTINGS if !on_stream && h.len % 6 == 0 && !(h.has(ACK) && h.len > 0) => {
            (0, Body::Settings)
        }
        PUSH_PROMISE if on_stream => (pad + 4, Body::Block),
        PING if !on_stream && h.len == 8 => (8, Body::Skip),
        GOAWAY if !on_stream && h.len >= 8 => (8, Body::Skip),
        WINDOW_UPDATE if h.len == 4 => (4, Body::Skip),
        CONTINUATION if on_stream => (0, Body::Block),
        DATA | HEADERS | PRIORITY | RST_STREAM | SETTINGS | PUSH_PROMISE | PING | GOAWAY
        | WINDOW_UPDATE | CONTINUATION => return malformed,
        // Unknown types are skipped (§4.1, §5.5).
        _ => (0, Body::Skip),
    };
    if h.len < u32::from(prefix) {
        return malformed;
    }
    Ok(Layout {
        prefix,
        padded,
        body,
    })
}

/// One SETTINGS entry (§6.5.1).
pub fn setting(entry: [u8; 6]) -> (u16, u32) {
    let [a, b, c, d, e, f] = entry;
    (u16::from_be_bytes([a, b]), u32::from_be_bytes([c, d, e, f]))
}

/// A big-endian u32 at `at` in a prefix buffer, reserved bit cleared.
pub fn stream_id_at(prefix: &[u8], at: usize) -> u32 {
    match prefix.get(at..at + 4) {
        Some(&[a, b, c, d]) => u32::from_be_bytes([a, b, c, d]) & 0x7fff_ffff,
        _ => 0,
    }
}

/// Encodes a frame (tests, samples and benches build traffic with it).
pub fn encode_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = payload.len() as u32;
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(&len.to_be_bytes()[1..]);
    out.push(kind);
    out.push(flags);
    out.extend_from_slice(&stream.to_be_bytes());
    out.extend_from_slice(payload);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_header_annotated() {
        let bytes = [
            0x00, 0x00, 0x0c, // length 12
            0x01, // type HEADERS
            0x25, // flags END_STREAM | END_HEADERS | PRIORITY
            0x80, 0x00, 0x00, 0x03, // reserved bit set, stream 3
            0xaa, // first payload byte, left alone
        ];
        let (rest, h) = frame_header(&bytes).unwrap();
        assert_eq!(rest, [0xaa]);
        assert_eq!(
            h,
            FrameHeader {
                len: 12,
                kind: HEADERS,
                flags: 0x25,
                stream: 3
            }
        );
        assert!(h.has(END_STREAM) && h.has(END_HEADERS) && h.has(PRIORITY_FLAG));
        assert!(matches!(
            frame_header(&bytes[..8]),
            Err(nom::Err::Incomplete(_))
        ));
        let encoded = encode_frame(HEADERS, 0x25, 3, &[0; 12]);
        assert_eq!(encoded[..9], [0, 0, 12, 1, 0x25, 0, 0, 0, 3]);
    }

    fn lay(kind: u8, flags: u8, stream: u32, len: u32) -> Result<Layout, ErrorReason> {
        layout(
            &FrameHeader {
                len,
                kind,
                flags,
                stream,
            },
            DEFAULT_MAX_FRAME,
        )
    }

    #[test]
    fn layouts_per_frame_type() {
        let l = |prefix, padded, body| {
            Ok(Layout {
                prefix,
                padded,
                body,
            })
        };
        assert_eq!(lay(DATA, PADDED, 1, 10), l(1, true, Body::Data));
        assert_eq!(
            lay(HEADERS, PADDED | PRIORITY_FLAG, 1, 10),
            l(6, true, Body::Block)
        );
        assert_eq!(lay(HEADERS, PRIORITY_FLAG, 1, 10), l(5, false, Body::Block));
        assert_eq!(lay(PRIORITY, 0, 1, 5), l(5, false, Body::Skip));
        assert_eq!(lay(RST_STREAM, 0, 1, 4), l(4, false, Body::Skip));
        assert_eq!(lay(SETTINGS, 0, 0, 12), l(0, false, Body::Settings));
        assert_eq!(lay(SETTINGS, ACK, 0, 0), l(0, false, Body::Settings));
        assert_eq!(lay(PUSH_PROMISE, PADDED, 1, 10), l(5, true, Body::Block));
        assert_eq!(lay(PING, ACK, 0, 8), l(8, false, Body::Skip));
        assert_eq!(lay(GOAWAY, 0, 0, 20), l(8, false, Body::Skip));
        assert_eq!(lay(WINDOW_UPDATE, 0, 0, 4), l(4, false, Body::Skip));
        assert_eq!(
            lay(CONTINUATION, END_HEADERS, 1, 3),
            l(0, false, Body::Block)
        );
        assert_eq!(lay(0xfa, 0xff, 9, 100), l(0, false, Body::Skip));
        // PADDED means nothing on other types.
        assert_eq!(lay(CONTINUATION, PADDED, 1, 0), l(0, false, Body::Block));
    }

    #[test]
    fn layout_violations() {
        let m = Err(ErrorReason::Malformed);
        assert_eq!(lay(HEADERS, END_HEADERS, 0, 3), m, "stream 0");
        assert_eq!(lay(DATA, 0, 0, 3), m);
        assert_eq!(lay(SETTINGS, 0, 1, 6), m, "settings on a stream");
        assert_eq!(lay(SETTINGS, 0, 0, 7), m, "not a multiple of 6");
        assert_eq!(lay(SETTINGS, ACK, 0, 6), m, "ack with payload");
        assert_eq!(lay(PING, 0, 0, 7), m);
        assert_eq!(lay(GOAWAY, 0, 0, 7), m);
        assert_eq!(lay(RST_STREAM, 0, 1, 5), m);
        assert_eq!(lay(PRIORITY, 0, 1, 4), m);
        assert_eq!(lay(WINDOW_UPDATE, 0, 1, 3), m);
        assert_eq!(
            lay(HEADERS, PADDED | PRIORITY_FLAG, 1, 5),
            m,
            "shorter than its prefix"
        );
        assert_eq!(
            lay(DATA, 0, 1, DEFAULT_MAX_FRAME + 1),
            Err(ErrorReason::LengthTooLarge)
        );
    }

    #[test]
    fn settings_and_ids() {
        assert_eq!(
            setting([0, 1, 0, 0, 0x10, 0]),
            (SETTINGS_HEADER_TABLE_SIZE, 4096)
        );
        assert_eq!(stream_id_at(&[0, 0x80, 0, 0, 2], 1), 2);
        assert_eq!(stream_id_at(&[0, 0], 1), 0);
    }
}

//! Builds HTTP/2 traffic for the tests: frames, and header blocks from an
//! HPACK encoder per direction (the independent `fluke-hpack` one, so the
//! tests also check our decoder against it).

use crate::grpc::encode_message;
use crate::http2::wire::*;

pub struct Peer {
    enc: fluke_hpack::Encoder<'static>,
    /// A table size update to put in front of the next block.
    resize: Option<u32>,
}

impl Peer {
    pub fn new() -> Peer {
        Peer {
            enc: fluke_hpack::Encoder::new(),
            resize: None,
        }
    }

    /// The encoder switches to a `size`-byte table (after the peer's
    /// SETTINGS allowed it) and says so in its next block.
    pub fn resize(&mut self, size: u32) {
        self.enc.set_max_table_size(size as usize);
        self.resize = Some(size);
    }

    pub fn block(&mut self, fields: &[(&str, &str)]) -> Vec<u8> {
        let mut out = Vec::new();
        if let Some(size) = self.resize.take() {
            // §6.3: 001xxxxx with a 5-bit prefix integer.
            if size < 31 {
                out.push(0x20 | size as u8);
            } else {
                out.push(0x3f);
                let mut rest = size - 31;
                while rest >= 128 {
                    out.push((rest % 128) as u8 | 0x80);
                    rest /= 128;
                }
                out.push(rest as u8);
            }
        }
        out.extend(
            self.enc
                .encode(fields.iter().map(|(n, v)| (n.as_bytes(), v.as_bytes()))),
        );
        out
    }

    pub fn headers(&mut self, stream: u32, flags: u8, fields: &[(&str, &str)]) -> Vec<u8> {
        let block = self.block(fields);
        encode_frame(HEADERS, flags | END_HEADERS, stream, &block)
    }
}

pub fn preface() -> Vec<u8> {
    let mut out = PREFACE.to_vec();
    out.extend(settings(&[(0x3, 100), (0x4, 65_535)]));
    out
}

pub fn settings(entries: &[(u16, u32)]) -> Vec<u8> {
    let mut payload = Vec::new();
    for (id, value) in entries {
        payload.extend_from_slice(&id.to_be_bytes());
        payload.extend_from_slice(&value.to_be_bytes());
    }
    encode_frame(SETTINGS, 0, 0, &payload)
}

pub fn settings_ack() -> Vec<u8> {
    encode_frame(SETTINGS, ACK, 0, &[])
}

pub fn data(stream: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
    encode_frame(DATA, flags, stream, payload)
}

pub fn window_update(stream: u32, increment: u32) -> Vec<u8> {
    encode_frame(WINDOW_UPDATE, 0, stream, &increment.to_be_bytes())
}

pub fn ping(ack: bool) -> Vec<u8> {
    encode_frame(PING, if ack { ACK } else { 0 }, 0, b"12345678")
}

pub fn rst(stream: u32, code: u32) -> Vec<u8> {
    encode_frame(RST_STREAM, 0, stream, &code.to_be_bytes())
}

pub fn goaway(last: u32, code: u32) -> Vec<u8> {
    let mut payload = last.to_be_bytes().to_vec();
    payload.extend_from_slice(&code.to_be_bytes());
    payload.extend_from_slice(b"debug data");
    encode_frame(GOAWAY, 0, 0, &payload)
}

pub fn grpc_data(stream: u32, flags: u8, messages: &[(bool, &[u8])]) -> Vec<u8> {
    let mut payload = Vec::new();
    for (compressed, body) in messages {
        payload.extend(encode_message(*compressed, body));
    }
    data(stream, flags, &payload)
}

pub fn cat(parts: &[Vec<u8>]) -> Vec<u8> {
    parts.concat()
}

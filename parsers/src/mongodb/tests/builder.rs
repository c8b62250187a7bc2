//! A test-only MongoDB message builder: BSON from the `bson` crate, framing
//! and compression by hand, so samples say what they send.

use bson::Document;
use std::io::Write;

use crate::mongodb::Compressor;

pub const OP_REPLY: i32 = 1;
pub const OP_UPDATE: i32 = 2001;
pub const OP_INSERT: i32 = 2002;
pub const OP_QUERY: i32 = 2004;
pub const OP_GET_MORE: i32 = 2005;
pub const OP_DELETE: i32 = 2006;
pub const OP_KILL_CURSORS: i32 = 2007;
pub const OP_COMPRESSED: i32 = 2012;
pub const OP_MSG: i32 = 2013;

pub const CHECKSUM_PRESENT: u32 = 1;
pub const MORE_TO_COME: u32 = 1 << 1;
pub const EXHAUST_ALLOWED: u32 = 1 << 16;

pub fn bson(doc: &Document) -> Vec<u8> {
    let mut v = Vec::new();
    doc.to_writer(&mut v).expect("serialisable");
    v
}

/// Header + body, with the length filled in.
pub fn message(request_id: i32, response_to: i32, op: i32, body: &[u8]) -> Vec<u8> {
    let mut m = Vec::with_capacity(16 + body.len());
    m.extend_from_slice(&((16 + body.len()) as i32).to_le_bytes());
    m.extend_from_slice(&request_id.to_le_bytes());
    m.extend_from_slice(&response_to.to_le_bytes());
    m.extend_from_slice(&op.to_le_bytes());
    m.extend_from_slice(body);
    m
}

/// An OP_MSG with a kind-0 body and kind-1 sequences. With
/// `CHECKSUM_PRESENT` the CRC-32C of the message trails the sections.
pub fn op_msg(
    request_id: i32,
    response_to: i32,
    flags: u32,
    body: &Document,
    sequences: &[(&str, &[Document])],
) -> Vec<u8> {
    let mut b = flags.to_le_bytes().to_vec();
    b.push(0);
    b.extend(bson(body));
    for (id, docs) in sequences {
        let mut payload = id.as_bytes().to_vec();
        payload.push(0);
        for d in *docs {
            payload.extend(bson(d));
        }
        b.push(1);
        b.extend_from_slice(&((4 + payload.len()) as i32).to_le_bytes());
        b.extend(payload);
    }
    if flags & CHECKSUM_PRESENT != 0 {
        b.extend_from_slice(&[0; 4]);
        let mut m = message(request_id, response_to, OP_MSG, &b);
        let end = m.len() - 4;
        let crc = crate::mongodb::crc::update(0, &m[..end]);
        m[end..].copy_from_slice(&crc.to_le_bytes());
        return m;
    }
    message(request_id, response_to, OP_MSG, &b)
}

pub fn cstring(s: &str) -> Vec<u8> {
    let mut v = s.as_bytes().to_vec();
    v.push(0);
    v
}

pub fn op_query(request_id: i32, ns: &str, query: &Document) -> Vec<u8> {
    let mut b = 0i32.to_le_bytes().to_vec();
    b.extend(cstring(ns));
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend_from_slice(&(-1i32).to_le_bytes());
    b.extend(bson(query));
    message(request_id, 0, OP_QUERY, &b)
}

pub fn op_reply(
    request_id: i32,
    response_to: i32,
    flags: i32,
    cursor_id: i64,
    docs: &[Document],
) -> Vec<u8> {
    let mut b = flags.to_le_bytes().to_vec();
    b.extend_from_slice(&cursor_id.to_le_bytes());
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend_from_slice(&(docs.len() as i32).to_le_bytes());
    for d in docs {
        b.extend(bson(d));
    }
    message(request_id, response_to, OP_REPLY, &b)
}

pub fn op_get_more(request_id: i32, ns: &str, cursor_id: i64) -> Vec<u8> {
    let mut b = 0i32.to_le_bytes().to_vec();
    b.extend(cstring(ns));
    b.extend_from_slice(&2i32.to_le_bytes());
    b.extend_from_slice(&cursor_id.to_le_bytes());
    message(request_id, 0, OP_GET_MORE, &b)
}

pub fn op_kill_cursors(request_id: i32, ids: &[i64]) -> Vec<u8> {
    let mut b = 0i32.to_le_bytes().to_vec();
    b.extend_from_slice(&(ids.len() as i32).to_le_bytes());
    for id in ids {
        b.extend_from_slice(&id.to_le_bytes());
    }
    message(request_id, 0, OP_KILL_CURSORS, &b)
}

pub fn op_insert(request_id: i32, ns: &str, docs: &[Document]) -> Vec<u8> {
    let mut b = 0i32.to_le_bytes().to_vec();
    b.extend(cstring(ns));
    for d in docs {
        b.extend(bson(d));
    }
    message(request_id, 0, OP_INSERT, &b)
}

pub fn op_update(request_id: i32, ns: &str, selector: &Document, update: &Document) -> Vec<u8> {
    let mut b = 0i32.to_le_bytes().to_vec();
    b.extend(cstring(ns));
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend(bson(selector));
    b.extend(bson(update));
    message(request_id, 0, OP_UPDATE, &b)
}

pub fn op_delete(request_id: i32, ns: &str, selector: &Document) -> Vec<u8> {
    let mut b = 0i32.to_le_bytes().to_vec();
    b.extend(cstring(ns));
    b.extend_from_slice(&0i32.to_le_bytes());
    b.extend(bson(selector));
    message(request_id, 0, OP_DELETE, &b)
}

pub fn compress_with(c: Compressor, data: &[u8]) -> Vec<u8> {
    match c {
        Compressor::Noop => data.to_vec(),
        Compressor::Snappy => snap::raw::Encoder::new()
            .compress_vec(data)
            .expect("snappy"),
        Compressor::Zlib => {
            let mut e = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::default());
            e.write_all(data).expect("zlib");
            e.finish().expect("zlib")
        }
        Compressor::Zstd => {
            ruzstd::encoding::compress_to_vec(data, ruzstd::encoding::CompressionLevel::Fastest)
        }
    }
}

/// Wraps a whole message in OP_COMPRESSED, keeping its ids.
pub fn compressed(c: Compressor, whole: &[u8]) -> Vec<u8> {
    let (head, body) = whole.split_at(16);
    let request_id = i32::from_le_bytes(head[4..8].try_into().unwrap());
    let response_to = i32::from_le_bytes(head[8..12].try_into().unwrap());
    let mut b = head[12..16].to_vec();
    b.extend_from_slice(&(body.len() as i32).to_le_bytes());
    b.push(match c {
        Compressor::Noop => 0,
        Compressor::Snappy => 1,
        Compressor::Zlib => 2,
        Compressor::Zstd => 3,
    });
    b.extend(compress_with(c, body));
    message(request_id, response_to, OP_COMPRESSED, &b)
}

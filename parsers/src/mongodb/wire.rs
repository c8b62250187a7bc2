//! Pure parsers for MongoDB wire messages: the 16-byte header and the body
//! of each opcode, over a message that is already whole in memory.
//!
//! Bodies are fully buffered before they get here (or skipped when too
//! large), so the nom parsers are the `complete` flavour: running out of
//! bytes inside a message is a malformed message, not "need more".
//! Everything borrows from the message bytes: documents come back as
//! `&RawDocument` over the same slice, never decoded.

use bson::RawDocument;
use nom::bytes::complete::{take, take_until};
use nom::number::complete::{le_i32, le_i64, le_u32, le_u8};
use nom::IResult;

use super::event::OpCode;
use super::sequence::count_documents;
use crate::ErrorReason;

/// Bytes in a message header.
pub const HEADER_LEN: usize = 16;
/// MongoDB's own ceiling on a wire message (`maxMessageSizeBytes`).
pub const MAX_WIRE_MESSAGE: usize = 48_000_000;

/// OP_MSG flag bits (MongoDB wire protocol, OP_MSG).
pub const CHECKSUM_PRESENT: u32 = 1;
pub const MORE_TO_COME: u32 = 1 << 1;
/// (exhaustAllowed is bit 16: optional, nothing to do for a reader.)
/// Bits 0-15 are "required": a reader must reject ones it does not know.
const REQUIRED_MASK: u32 = 0xffff;
const KNOWN_REQUIRED: u32 = CHECKSUM_PRESENT | MORE_TO_COME;

/// OP_REPLY `responseFlags` bit 1: the query failed, the one document is
/// `{$err, code}`.
pub const QUERY_FAILURE: i32 = 1 << 1;

/// The standard message header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// Whole message length, header included; checked `16..=48 MB`.
    pub length: usize,
    pub request_id: i32,
    pub response_to: i32,
    pub op_code: OpCode,
}

/// Reads and checks a header: length within the protocol's bounds and a
/// known opcode, before a single byte of the body is buffered.
pub fn header(bytes: &[u8; HEADER_LEN]) -> Result<Header, ErrorReason> {
    let field = |i: usize| {
        let mut quad = [0u8; 4];
        quad.copy_from_slice(bytes.get(i..i + 4).unwrap_or(&[0; 4]));
        i32::from_le_bytes(quad)
    };
    let length = field(0);
    if length < HEADER_LEN as i32 {
        return Err(ErrorReason::Malformed);
    }
    let length = length as usize;
    if length > MAX_WIRE_MESSAGE {
        return Err(ErrorReason::LengthTooLarge);
    }
    let op_code = OpCode::from_i32(field(12)).ok_or(ErrorReason::Unsupported)?;
    Ok(Header {
        length,
        request_id: field(4),
        response_to: field(8),
        op_code,
    })
}

/// The header's 16 bytes as they were on the wire (every field was read
/// from them and the length fits an `i32`), for checksumming.
pub fn header_bytes(h: &Header) -> [u8; HEADER_LEN] {
    let op: i32 = match h.op_code {
        OpCode::Reply => 1,
        OpCode::Update => 2001,
        OpCode::Insert => 2002,
        OpCode::Query => 2004,
        OpCode::GetMore => 2005,
        OpCode::Delete => 2006,
        OpCode::KillCursors => 2007,
        OpCode::Compressed => 2012,
        OpCode::Msg => 2013,
    };
    let mut out = [0u8; HEADER_LEN];
    let fields = [
        i32::try_from(h.length).unwrap_or(i32::MAX),
        h.request_id,
        h.response_to,
        op,
    ];
    for (chunk, v) in out.chunks_exact_mut(4).zip(fields) {
        chunk.copy_from_slice(&v.to_le_bytes());
    }
    out
}

/// An OP_MSG: flags, the kind-0 body and what the kind-1 sequences held.
#[derive(Debug, Clone, Copy)]
pub struct Msg<'a> {
    pub flags: u32,
    pub body: &'a RawDocument,
    /// Entries of the kind-1 sections a write sends (`documents`,
    /// `updates`, `deletes`, bulkWrite's `ops`; see [`counts_as_sent`]).
    pub sequence_documents: u64,
    /// The trailing CRC-32C when `checksumPresent` is set.
    pub checksum: Option<u32>,
}

/// The body of a message, by opcode; `ns` is a legacy namespace `db.coll`.
#[derive(Debug, Clone, Copy)]
pub enum Body<'a> {
    Msg(Msg<'a>),
    Compressed {
        original: OpCode,
        uncompressed_size: usize,
        compressor_id: u8,
        data: &'a [u8],
    },
    Query {
        ns: &'a [u8],
        query: &'a RawDocument,
    },
    Reply {
        flags: i32,
        cursor_id: i64,
        number_returned: i32,
        first: Option<&'a RawDocument>,
    },
    GetMore {
        ns: &'a [u8],
        cursor_id: i64,
    },
    KillCursors {
        first_cursor: Option<i64>,
    },
    Insert {
        ns: &'a [u8],
        documents: u64,
    },
    Update {
        ns: &'a [u8],
    },
    Delete {
        ns: &'a [u8],
    },
}

type Res<'a, T> = IResult<&'a [u8], T>;

/// Parses the body (the message minus its header) of an `op` message.
pub fn body(op: OpCode, input: &[u8]) -> Result<Body<'_>, ErrorReason> {
    let parsed = match op {
        OpCode::Msg => msg(input).map(Body::Msg),
        OpCode::Compressed => compressed(input),
        OpCode::Query => query(input),
        OpCode::Reply => reply(input),
        OpCode::GetMore => get_more(input),
        OpCode::KillCursors => kill_cursors(input),
        OpCode::Insert => insert(input),
        OpCode::Update => update(input),
        OpCode::Delete => delete(input),
    };
    parsed.map_err(|_| ErrorReason::Malformed)
}

/// A BSON document at the front of `input`: its declared length is
/// checked against what is there before the slice is taken.
pub fn document(input: &[u8]) -> Res<'_, &RawDocument> {
    let (_, len) = le_i32(input)?;
    if len < 5 {
        return Err(fail(input));
    }
    let (rest, bytes) = take(len as usize)(input)?;
    let doc = RawDocument::from_bytes(bytes).map_err(|_| fail(input))?;
    Ok((rest, doc))
}

/// A NUL-terminated string (without its NUL).
fn cstring(input: &[u8]) -> Res<'_, &[u8]> {
    let (rest, s) = take_until(&b"\0"[..])(input)?;
    let (rest, _) = take(1usize)(rest)?;
    Ok((rest, s))
}

/// The sequences whose entries a write sends: documents to insert, update
/// and delete statements, `bulkWrite` operations (not its `nsInfo`, the
/// namespaces they name).
pub(super) fn counts_as_sent(name: &[u8]) -> bool {
    matches!(name, b"documents" | b"updates" | b"deletes" | b"ops")
}

pub(super) fn fail(input: &[u8]) -> nom::Err<nom::error::Error<&[u8]>> {
    nom::Err::Error(nom::error::Error::new(input, nom::error::ErrorKind::Verify))
}

fn msg(input: &[u8]) -> Result<Msg<'_>, nom::Err<nom::error::Error<&[u8]>>> {
    let (mut rest, flags) = le_u32(input)?;
    if flags & REQUIRED_MASK & !KNOWN_REQUIRED != 0 {
        return Err(fail(input));
    }
    let mut checksum = None;
    if flags & CHECKSUM_PRESENT != 0 {
        // The CRC-32C trails the sections: read apart, checked by the
        // caller (which has the header it also covers).
        let end = rest.len().checked_sub(4).ok_or_else(|| fail(input))?;
        let (_, crc) = le_u32(rest.get(end..).unwrap_or_default())?;
        checksum = Some(crc);
        rest = rest.get(..end).ok_or_else(|| fail(input))?;
    }
    let mut body = None;
    let mut sequence_documents = 0u64;
    while !rest.is_empty() {
        let (after_kind, kind) = le_u8(rest)?;
        match kind {
            0 => {
                let (after, doc) = document(after_kind)?;
                if body.replace(doc).is_some() {
                    return Err(fail(rest));
                }
                rest = after;
            }
            1 => {
                let (_, size) = le_i32(after_kind)?;
                if size < 4 {
                    return Err(fail(rest));
                }
                let (after, section) = take(size as usize)(after_kind)?;
                let (docs, identifier) = cstring(section.get(4..).unwrap_or_default())?;
                let (_, n) = count_documents(docs)?;
                if counts_as_sent(identifier) {
                    sequence_documents = sequence_documents.saturating_add(n);
                }
                rest = after;
            }
            _ => return Err(fail(rest)),
        }
    }
    let body = body.ok_or_else(|| fail(input))?;
    Ok(Msg {
        flags,
        body,
        sequence_documents,
        checksum,
    })
}

fn compressed(input: &[u8]) -> Result<Body<'_>, nom::Err<nom::error::Error<&[u8]>>> {
    let (rest, original) = le_i32(input)?;
    let (rest, size) = le_i32(rest)?;
    let (data, compressor_id) = le_u8(rest)?;
    // Nested compression is not a thing; an unknown inner opcode is not
    // MongoDB. Both are malformed here (the caller maps them).
    let original = OpCode::from_i32(original)
        .filter(|op| *op != OpCode::Compressed)
        .ok_or_else(|| fail(input))?;
    let uncompressed_size = usize::try_from(size).map_err(|_| fail(input))?;
    Ok(Body::Compressed {
        original,
        uncompressed_size,
        compressor_id,
        data,
    })
}

fn query(input: &[u8]) -> Result<Body<'_>, nom::Err<nom::error::Error<&[u8]>>> {
    let (rest, _flags) = le_i32(input)?;
    let (rest, ns) = cstring(rest)?;
    let (rest, _skip) = le_i32(rest)?;
    let (rest, _return) = le_i32(rest)?;
    let (rest, query) = document(rest)?;
    if !rest.is_empty() {
        // returnFieldsSelector: must be one whole document.
        let (rest, _) = document(rest)?;
        if !rest.is_empty() {
            return Err(fail(rest));
        }
    }
    Ok(Body::Query { ns, query })
}

fn reply(input: &[u8]) -> Result<Body<'_>, nom::Err<nom::error::Error<&[u8]>>> {
    let (rest, flags) = le_i32(input)?;
    let (rest, cursor_id) = le_i64(rest)?;
    let (rest, _starting_from) = le_i32(rest)?;
    let (docs, number_returned) = le_i32(rest)?;
    let first = if docs.is_empty() {
        None
    } else {
        let (_, first) = document(docs)?;
        count_documents(docs)?;
        Some(first)
    };
    Ok(Body::Reply {
        flags,
        cursor_id,
        number_returned,
        first,
    })
}

fn get_more(input: &[u8]) -> Result<Body<'_>, nom::Err<nom::error::Error<&[u8]>>> {
    let (rest, _zero) = le_i32(input)?;
    let (rest, ns) = cstring(rest)?;
    let (rest, _return) = le_i32(rest)?;
    let (_, cursor_id) = le_i64(rest)?;
    Ok(Body::GetMore { ns, cursor_id })
}

fn kill_cursors(input: &[u8]) -> Result<Body<'_>, nom::Err<nom::error::Error<&[u8]>>> {
    let (rest, _zero) = le_i32(input)?;
    let (ids, n) = le_i32(rest)?;
    let n = usize::try_from(n).map_err(|_| fail(input))?;
    if n.checked_mul(8) != Some(ids.len()) {
        return Err(fail(input));
    }
    let first_cursor = if n == 0 { None } else { Some(le_i64(ids)?.1) };
    Ok(Body::KillCursors { first_cursor })
}

fn insert(input: &[u8]) -> Result<Body<'_>, nom::Err<nom::error::Error<&[u8]>>> {
    let (rest, _flags) = le_i32(input)?;
    let (docs, ns) = cstring(rest)?;
    let (_, documents) = count_documents(docs)?;
    Ok(Body::Insert { ns, documents })
}

fn update(input: &[u8]) -> Result<Body<'_>, nom::Err<nom::error::Error<&[u8]>>> {
    let (rest, _zero) = le_i32(input)?;
    let (rest, ns) = cstring(rest)?;
    let (rest, _flags) = le_i32(rest)?;
    let (rest, _selector) = document(rest)?;
    let (rest, _update) = document(rest)?;
    if !rest.is_empty() {
        return Err(fail(rest));
    }
    Ok(Body::Update { ns })
}

fn delete(input: &[u8]) -> Result<Body<'_>, nom::Err<nom::error::Error<&[u8]>>> {
    let (rest, _zero) = le_i32(input)?;
    let (rest, ns) = cstring(rest)?;
    let (rest, _flags) = le_i32(rest)?;
    let (rest, _selector) = document(rest)?;
    if !rest.is_empty() {
        return Err(fail(rest));
    }
    Ok(Body::Delete { ns })
}

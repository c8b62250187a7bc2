//! Our own HPACK decoder (RFC 7541), tolerant of state it never saw.
//!
//! A passive observer can lose HPACK state: it may start watching after
//! the peers filled their dynamic tables, or drop a block it could not
//! read. Decoders elsewhere then give up on the whole block (or the whole
//! connection). This one keeps going: an index it cannot resolve yields a
//! placeholder [`Field`] (`unresolved`), static and literal fields around
//! it decode as usual, entries are still inserted (marked unknown) so that
//! later indices stay aligned, and the decoder counts the loss
//! ([`Decoder::unresolved`]) and remembers that its dynamic entries can no
//! longer be fully trusted ([`Decoder::degraded`]).
//!
//! One decoder per direction: each peer's encoder owns its own table.
//! Memory is bounded whatever the peer asks for: the dynamic table is
//! capped at [`MAX_TABLE_SIZE`], a block's decoded header list at
//! [`MAX_HEADER_LIST`], and a string at [`MAX_STRING`] before anything is
//! reserved for it.

pub mod huffman;
mod table;
mod wire;

#[cfg(test)]
mod tests;

use crate::ErrorReason;
use table::{DynamicTable, Lookup};
use wire::{representation, Indexing, Name, Repr, Str};

pub use table::{ENTRY_OVERHEAD, STATIC};

/// The table size both peers start with (RFC 9113 §6.5.2).
pub const DEFAULT_TABLE_SIZE: usize = 4096;
/// Largest dynamic table we keep, whatever SETTINGS allowed. A peer using
/// a larger table makes us evict early: its references to entries we
/// dropped become placeholders, never wrong values.
pub const MAX_TABLE_SIZE: usize = 64 * 1024;
/// Largest decoded header list of one block (§4.1 accounting: name +
/// value + 32 per field). Beyond it the block is an error.
pub const MAX_HEADER_LIST: usize = 64 * 1024;
/// Longest string literal, checked before Huffman output is reserved.
pub const MAX_STRING: usize = 64 * 1024;

/// A decoded header field, borrowed from the block, the tables or the
/// decoder's scratch space for the duration of the callback.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Field<'a> {
    /// Empty when `unresolved` and the name was not known.
    pub name: &'a [u8],
    /// Empty when `unresolved` and the value was not known.
    pub value: &'a [u8],
    /// A placeholder: (part of) the field referred to state we do not
    /// have. Callers should ignore it rather than trust either part.
    pub unresolved: bool,
    /// Sent as never-indexed (§6.2.3), e.g. a credential.
    pub never_indexed: bool,
}

/// Why a block could not be decoded. After an error the table may be out
/// of step with the peer's: the connection should be treated as broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DecodeError {
    /// Truncated representation, index 0, integer overflow, or a table
    /// size update above what the peer's SETTINGS allowed.
    Malformed,
    /// The decoded header list or one string exceeded our caps.
    TooLarge,
}

impl DecodeError {
    pub fn reason(self) -> ErrorReason {
        match self {
            DecodeError::Malformed => ErrorReason::Malformed,
            DecodeError::TooLarge => ErrorReason::HeadTooLarge,
        }
    }
}

/// What one block held.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct BlockInfo {
    /// Fields passed to the callback, placeholders included.
    pub fields: usize,
    /// Decoded size by the §4.1 accounting.
    pub list_size: usize,
    /// Placeholders and undecodable strings in this block.
    pub unresolved: usize,
}

/// HPACK decoder for one direction of one connection.
#[derive(Debug, Clone)]
pub struct Decoder {
    table: DynamicTable,
    /// Largest size the decoding peer's SETTINGS allowed so far; `None`
    /// when we joined mid-connection and cannot know it.
    limit: Option<usize>,
    name_buf: Vec<u8>,
    value_buf: Vec<u8>,
    unresolved: u64,
    degraded: bool,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    /// A decoder that saw the connection from its start.
    pub fn new() -> Decoder {
        Decoder {
            table: DynamicTable::new(DEFAULT_TABLE_SIZE),
            limit: Some(DEFAULT_TABLE_SIZE),
            // Typical names and values fit without growing.
            name_buf: Vec::with_capacity(64),
            value_buf: Vec::with_capacity(256),
            unresolved: 0,
            degraded: false,
        }
    }

    /// A decoder that joins a connection already under way: the table
    /// size limit is unknown, so only our own cap applies.
    pub fn mid_stream() -> Decoder {
        Decoder {
            limit: None,
            ..Decoder::new()
        }
    }

    /// The decoding peer sent `SETTINGS_HEADER_TABLE_SIZE`. Size updates
    /// up to the largest value seen are accepted: the encoder may still
    /// be using an older, larger value until the settings are acknowledged.
    pub fn set_settings_limit(&mut self, size: u32) {
        let size = size as usize;
        self.limit = Some(self.limit.map_or(size, |l| l.max(size)));
    }

    /// Fields we could not resolve or decode, over the decoder's life.
    pub fn unresolved(&self) -> u64 {
        self.unresolved
    }

    /// Dynamic-table state was lost at least once: later placeholders are
    /// possible, wrong values are not.
    pub fn degraded(&self) -> bool {
        self.degraded
    }

    /// Entries in the dynamic table.
    pub fn table_len(&self) -> usize {
        self.table.len()
    }

    /// Current dynamic table size limit (after size updates and our cap).
    pub fn table_max_size(&self) -> usize {
        self.table.max_size()
    }

    /// Dynamic table size by the §4.1 accounting (≤ [`MAX_TABLE_SIZE`]).
    pub fn table_size(&self) -> usize {
        self.table.size()
    }

    /// Decodes one complete header block, calling `emit` for every field
    /// in order. Stops at the first error.
    pub fn decode(
        &mut self,
        block: &[u8],
        mut emit: impl FnMut(Field<'_>),
    ) -> Result<BlockInfo, DecodeError> {
        let mut info = BlockInfo::default();
        let mut rest = block;
        while let Some((&first, after)) = rest.split_first() {
            // An indexed field whose index fits the first byte: most of a
            // block once the table is warm. Read here, it skips a call and
            // the nom result in memory; `representation` agrees on it.
            if first & 0x80 != 0 && first != 0xff {
                rest = after;
                self.indexed(u32::from(first & 0x7f), &mut info, &mut emit)?;
                continue;
            }
            let (next, repr) = representation(rest).map_err(|_| DecodeError::Malformed)?;
            rest = next;
            match repr {
                Repr::SizeUpdate(size) => self.size_update(size)?,
                Repr::Indexed(index) => self.indexed(index, &mut info, &mut emit)?,
                Repr::Literal {
                    indexing,
                    name,
                    value,
                } => self.literal(indexing, name, value, &mut info, &mut emit)?,
            }
        }
        if info.unresolved > 0 {
            self.unresolved = self.unresolved.saturating_add(info.unresolved as u64);
            self.degraded = true;
        }
        Ok(info)
    }

    fn indexed(
        &self,
        index: u32,
        info: &mut BlockInfo,
        emit: &mut impl FnMut(Field<'_>),
    ) -> Result<(), DecodeError> {
        let field = match self.table.get(index) {
            Lookup::Invalid => return Err(DecodeError::Malformed),
            Lookup::Found(Some(name), Some(value)) => Field {
                name,
                value,
                unresolved: false,
                never_indexed: false,
            },
            Lookup::Found(..) | Lookup::Missing => PLACEHOLDER,
        };
        account(info, &field)?;
        emit(field);
        Ok(())
    }

    fn size_update(&mut self, size: u32) -> Result<(), DecodeError> {
        let size = size as usize;
        if self.limit.is_some_and(|limit| size > limit) {
            return Err(DecodeError::Malformed);
        }
        if size > MAX_TABLE_SIZE {
            self.degraded = true;
        }
        self.table.set_max_size(size.min(MAX_TABLE_SIZE));
        Ok(())
    }

    fn literal(
        &mut self,
        indexing: Indexing,
        name: Name<'_>,
        value: Str<'_>,
        info: &mut BlockInfo,
        emit: &mut impl FnMut(Field<'_>),
    ) -> Result<(), DecodeError> {
        let Decoder {
            table,
            name_buf,
            value_buf,
            ..
        } = self;
        let never_indexed = indexing == Indexing::Never;
        if indexing != Indexing::Incremental {
            // Nothing is inserted: the name may stay borrowed from the table.
            let name = match name {
                Name::Index(index) => table_name(table, index)?,
                Name::Literal(s) => string(s, name_buf)?,
            };
            let value = string(value, value_buf)?;
            return field(name, value, never_indexed, info, emit);
        }
        // The insert below may evict the entry a dynamic name came from:
        // such a name is copied first. Static names and literals are not.
        let name = match name {
            Name::Index(index) => match table::static_name(index) {
                Some(name) => Some(name),
                None => table_name(table, index)?.map(|n| {
                    name_buf.clear();
                    name_buf.extend_from_slice(n);
                    name_buf.as_slice()
                }),
            },
            Name::Literal(s) => string(s, name_buf)?,
        };
        let value = string(value, value_buf)?;
        field(name, value, never_indexed, info, emit)?;
        table.insert(name, value);
        Ok(())
    }
}

/// The name of a literal with an indexed name; `None` when we do not know it.
fn table_name(table: &DynamicTable, index: u32) -> Result<Option<&[u8]>, DecodeError> {
    match table.get(index) {
        Lookup::Found(name, _) => Ok(name),
        Lookup::Missing => Ok(None),
        Lookup::Invalid => Err(DecodeError::Malformed),
    }
}

/// Accounts for and emits a literal field (a placeholder when either part
/// is unknown).
fn field(
    name: Option<&[u8]>,
    value: Option<&[u8]>,
    never_indexed: bool,
    info: &mut BlockInfo,
    emit: &mut impl FnMut(Field<'_>),
) -> Result<(), DecodeError> {
    let field = match (name, value) {
        (Some(name), Some(value)) => Field {
            name,
            value,
            unresolved: false,
            never_indexed,
        },
        _ => PLACEHOLDER,
    };
    account(info, &field)?;
    emit(field);
    Ok(())
}

const PLACEHOLDER: Field<'static> = Field {
    name: b"",
    value: b"",
    unresolved: true,
    never_indexed: false,
};

/// Counts a field against the header-list cap.
fn account(info: &mut BlockInfo, field: &Field<'_>) -> Result<(), DecodeError> {
    info.fields += 1;
    if field.unresolved {
        info.unresolved += 1;
    }
    info.list_size = info
        .list_size
        .saturating_add(field.name.len() + field.value.len() + ENTRY_OVERHEAD);
    if info.list_size > MAX_HEADER_LIST {
        return Err(DecodeError::TooLarge);
    }
    Ok(())
}

/// A string literal's bytes: raw from the block, or Huffman-decoded into
/// `buf`. `None` when the Huffman code is invalid: that field only is lost.
fn string<'a>(s: Str<'a>, buf: &'a mut Vec<u8>) -> Result<Option<&'a [u8]>, DecodeError> {
    if s.bytes.len() > MAX_STRING {
        return Err(DecodeError::TooLarge);
    }
    if !s.huffman {
        return Ok(Some(s.bytes));
    }
    buf.clear();
    match huffman::decode(s.bytes, buf) {
        Ok(()) => Ok(Some(buf.as_slice())),
        Err(huffman::HuffmanError) => Ok(None),
    }
}

//! A lean walk over a BSON document's elements, for the few fields the
//! parser reads out of every command and reply.
//!
//! The `bson` crate's raw iterator costs a few hundred instructions per
//! element (error values built with formatted messages, the key looked up
//! through closures); on a small `find` and its one-document reply that
//! was most of the per-message cost. This walker accepts and rejects
//! exactly what `RawDocument::iter_elements` (and `RawElement::value`)
//! do, so results and `Malformed` errors are unchanged; the value types
//! the parser looks at are decoded here, and any other type is handed to
//! the `bson` crate as before (rare, so its cost does not matter).

use bson::{RawBsonRef, RawDocument};

/// Something the `bson` crate would have reported as an error.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Invalid;

/// An element's value, as far as the parser cares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Double(f64),
    String(&'a str),
    Document(&'a RawDocument),
    /// An array, as the document it is on the wire.
    Array(&'a RawDocument),
    Boolean(bool),
    Int32(i32),
    Int64(i64),
    /// Any other type, decoded by the `bson` crate.
    Other(RawBsonRef<'a>),
}

/// One element: its key and where its value sits.
#[derive(Debug, Clone, Copy)]
pub struct Element<'a> {
    /// Checked to be UTF-8 (as `bson` requires), kept as bytes: matching
    /// it against field names needs no `&str`, and making one costs a
    /// second validation.
    pub key: &'a [u8],
    tag: u8,
    /// Exactly the value's bytes.
    bytes: &'a [u8],
    doc: &'a RawDocument,
    /// Position in the document, for the fallback to the `bson` crate.
    index: usize,
}

/// The elements of `doc`, in order; stops after the first error.
pub fn elements(doc: &RawDocument) -> Elements<'_> {
    Elements {
        doc,
        offset: 4,
        index: 0,
        valid: true,
    }
}

pub struct Elements<'a> {
    doc: &'a RawDocument,
    offset: usize,
    index: usize,
    valid: bool,
}

impl<'a> Iterator for Elements<'a> {
    type Item = Result<Element<'a>, Invalid>;

    fn next(&mut self) -> Option<Self::Item> {
        if !self.valid {
            return None;
        }
        let bytes = self.doc.as_bytes();
        // A `RawDocument` ends with its NUL: reaching it is the end.
        if self.offset + 1 == bytes.len() && bytes.last() == Some(&0) {
            return None;
        }
        let element = self.element(bytes);
        if element.is_err() {
            self.valid = false;
        }
        Some(element)
    }
}

impl<'a> Elements<'a> {
    fn element(&mut self, bytes: &'a [u8]) -> Result<Element<'a>, Invalid> {
        let tag = *bytes.get(self.offset).ok_or(Invalid)?;
        let after_tag = bytes.get(self.offset + 1..).ok_or(Invalid)?;
        let key = key(after_tag)?;
        let start = self.offset + 1 + key.len() + 1;
        let rest = bytes.get(start..).unwrap_or_default();
        let size = match tag {
            0x08 => 1,
            0x10 => 4,
            0x01 | 0x09 | 0x11 | 0x12 => 8,
            0x07 => 12,
            0x13 => 16,
            0x06 | 0x0a | 0x7f | 0xff => 0,
            0x02 | 0x0d | 0x0e => string_len(rest)?,
            0x0c => string_len(rest)? + 12,
            0x03 | 0x04 => document_len(rest)?,
            0x05 => length(rest)? + 4 + 1,
            0x0f => length(rest)?,
            0x0b => {
                let pattern = cstring(rest)?;
                let options = cstring(rest.get(pattern.len() + 1..).unwrap_or_default())?;
                pattern.len() + 1 + options.len() + 1
            }
            _ => return Err(Invalid),
        };
        let value = rest.get(..size).ok_or(Invalid)?;
        self.offset = start + size;
        let index = self.index;
        self.index += 1;
        Ok(Element {
            key,
            tag,
            bytes: value,
            doc: self.doc,
            index,
        })
    }
}

impl<'a> Element<'a> {
    /// The value, or the error `RawElement::value` would give.
    pub fn value(&self) -> Result<Value<'a>, Invalid> {
        let b = self.bytes;
        Ok(match self.tag {
            0x01 => Value::Double(f64::from_le_bytes(fixed(b)?)),
            0x02 => {
                let text = b.get(4..b.len().saturating_sub(1)).ok_or(Invalid)?;
                Value::String(std::str::from_utf8(text).map_err(|_| Invalid)?)
            }
            0x03 => Value::Document(RawDocument::from_bytes(b).map_err(|_| Invalid)?),
            0x04 => Value::Array(RawDocument::from_bytes(b).map_err(|_| Invalid)?),
            0x08 => match b {
                [0] => Value::Boolean(false),
                [1] => Value::Boolean(true),
                _ => return Err(Invalid),
            },
            0x10 => Value::Int32(i32::from_le_bytes(fixed(b)?)),
            0x12 => Value::Int64(i64::from_le_bytes(fixed(b)?)),
            _ => {
                let element = self.doc.iter_elements().nth(self.index);
                let element = element.ok_or(Invalid)?.map_err(|_| Invalid)?;
                Value::Other(element.value().map_err(|_| Invalid)?)
            }
        })
    }
}

/// The value of the first element named `key` (every element before it
/// must be well-formed); `None` when there is none.
pub fn get<'a>(doc: &'a RawDocument, key: &str) -> Result<Option<Value<'a>>, Invalid> {
    for element in elements(doc) {
        let element = element?;
        if element.key == key.as_bytes() {
            return element.value().map(Some);
        }
    }
    Ok(None)
}

fn fixed<const N: usize>(b: &[u8]) -> Result<[u8; N], Invalid> {
    b.try_into().map_err(|_| Invalid)
}

/// An element's key: like [`cstring`], with one pass over the short ASCII
/// keys every command and reply is made of (the general scan and
/// validation have a fixed cost that dominates on a few bytes).
fn key(b: &[u8]) -> Result<&[u8], Invalid> {
    let mut ascii = true;
    for (i, &c) in b.iter().enumerate() {
        if c == 0 {
            let key = b.get(..i).unwrap_or_default();
            if !ascii && std::str::from_utf8(key).is_err() {
                return Err(Invalid);
            }
            return Ok(key);
        }
        ascii &= c < 0x80;
    }
    Err(Invalid)
}

/// A NUL-terminated UTF-8 string at the front of `b` (without its NUL).
fn cstring(b: &[u8]) -> Result<&str, Invalid> {
    let nul = memchr::memchr(0, b).ok_or(Invalid)?;
    let text = b.get(..nul).ok_or(Invalid)?;
    std::str::from_utf8(text).map_err(|_| Invalid)
}

/// A little-endian `i32` length at the front of `b`, not negative.
fn length(b: &[u8]) -> Result<usize, Invalid> {
    let len = i32::from_le_bytes(fixed(b.get(..4).ok_or(Invalid)?)?);
    usize::try_from(len).map_err(|_| Invalid)
}

/// A string's size on the wire (length prefix, bytes, NUL).
fn string_len(b: &[u8]) -> Result<usize, Invalid> {
    let end = length(b)?.checked_add(4).ok_or(Invalid)?;
    if end < 5 || b.get(end - 1) != Some(&0) {
        return Err(Invalid);
    }
    Ok(end)
}

/// An embedded document's size: at least 5, within `b`, NUL-terminated.
fn document_len(b: &[u8]) -> Result<usize, Invalid> {
    let len = i32::from_le_bytes(fixed(b.get(..4).ok_or(Invalid)?)?);
    // A negative length wraps to a huge one, as in `bson`: out of bounds.
    let size = len as usize;
    if size < 5 || b.get(size - 1) != Some(&0) {
        return Err(Invalid);
    }
    Ok(size)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bson::{doc, spec::BinarySubtype, Binary, Bson};

    fn bytes(d: bson::Document) -> Vec<u8> {
        let mut v = Vec::new();
        d.to_writer(&mut v).unwrap();
        v
    }

    /// What the `bson` crate makes of a document: keys and values, or
    /// where it first failed.
    fn reference(doc: &RawDocument) -> Vec<Result<(String, Option<Bson>), ()>> {
        let mut out = Vec::new();
        for element in doc.iter_elements() {
            let Ok(element) = element else {
                out.push(Err(()));
                break;
            };
            let value = element.value().ok().and_then(|v| Bson::try_from(v).ok());
            out.push(Ok((element.key().to_owned(), value)));
        }
        out
    }

    fn ours(doc: &RawDocument) -> Vec<Result<(String, Option<Bson>), ()>> {
        let mut out = Vec::new();
        for element in elements(doc) {
            let Ok(element) = element else {
                out.push(Err(()));
                break;
            };
            let value = element.value().ok().and_then(|v| match v {
                Value::Double(v) => Some(Bson::Double(v)),
                Value::String(s) => Some(Bson::String(s.to_owned())),
                Value::Document(d) => Bson::try_from(RawBsonRef::Document(d)).ok(),
                Value::Array(a) => {
                    let items: Option<Vec<Bson>> =
                        a.iter().map(|e| Bson::try_from(e.ok()?.1).ok()).collect();
                    items.map(Bson::Array)
                }
                Value::Boolean(b) => Some(Bson::Boolean(b)),
                Value::Int32(i) => Some(Bson::Int32(i)),
                Value::Int64(i) => Some(Bson::Int64(i)),
                Value::Other(v) => Bson::try_from(v).ok(),
            });
            let key = std::str::from_utf8(element.key).unwrap();
            out.push(Ok((key.to_owned(), value)));
        }
        out
    }

    #[test]
    fn agrees_with_the_bson_crate_on_every_type() {
        let d = doc! {
            "d": 1.5, "s": "héllo", "doc": { "a": 1 }, "arr": [1, "x", { "b": 2 }],
            "bin": Binary { subtype: BinarySubtype::Uuid, bytes: vec![7; 16] },
            "oid": bson::oid::ObjectId::from_bytes([1; 12]), "t": true, "f": false,
            "dt": bson::DateTime::from_millis(5), "null": Bson::Null,
            "re": bson::Regex { pattern: "a.*".into(), options: "i".into() },
            "js": Bson::JavaScriptCode("x()".into()), "i": 7, "ts": bson::Timestamp { time: 1, increment: 2 },
            "l": 9i64, "max": Bson::MaxKey, "min": Bson::MinKey,
        };
        let raw = bytes(d);
        let doc = RawDocument::from_bytes(&raw).unwrap();
        assert_eq!(ours(doc), reference(doc));
        assert_eq!(ours(doc).len(), 17);
    }

    #[test]
    fn agrees_with_the_bson_crate_on_corrupted_documents() {
        let d = doc! {
            "find": "items", "filter": { "qty": { "$gt": 10 } }, "ok": true, "s": "abc",
            "arr": ["a", "b"], "bin": Binary { subtype: BinarySubtype::Generic, bytes: vec![1, 2] },
            "n": 5i64, "x": 1.0,
        };
        let raw = bytes(d);
        // Every byte (but the outer length and final NUL, which
        // `RawDocument::from_bytes` checks) set to a few telling values.
        for at in 4..raw.len() - 1 {
            for v in [0u8, 1, 2, 3, 4, 5, 0x0b, 0x7f, 0x80, 0xff, 0xc3] {
                let mut bad = raw.clone();
                bad[at] = v;
                let Ok(doc) = RawDocument::from_bytes(&bad) else {
                    continue;
                };
                assert_eq!(ours(doc), reference(doc), "byte {at} set to {v:#x}");
            }
        }
    }

    #[test]
    fn get_finds_the_first_match() {
        let raw = bytes(doc! { "a": { "code": 2 }, "code": 11000, "z": "x" });
        let doc = RawDocument::from_bytes(&raw).unwrap();
        assert_eq!(get(doc, "code"), Ok(Some(Value::Int32(11000))));
        assert_eq!(get(doc, "none"), Ok(None));
    }
}

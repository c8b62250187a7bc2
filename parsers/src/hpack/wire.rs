//! HPACK representations (RFC 7541 §5–6) with nom: bytes in, one
//! representation out. A header block is always complete when it reaches
//! the decoder (the frame layer gathers HEADERS + CONTINUATION first), so
//! `Incomplete` here means the block itself is truncated.

use nom::bytes::streaming::take;
use nom::error::{Error, ErrorKind};
use nom::number::streaming::u8 as byte;
use nom::{IResult, Parser};

/// Largest integer we accept: table indices, string lengths and table
/// sizes all fit in far less, and a 32-bit ceiling keeps the arithmetic
/// checked and simple.
pub const MAX_INTEGER: u64 = u32::MAX as u64;

/// A string literal as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Str<'a> {
    pub huffman: bool,
    pub bytes: &'a [u8],
}

/// How a literal field interacts with the dynamic table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Indexing {
    /// §6.2.1: added to the dynamic table.
    Incremental,
    /// §6.2.2.
    Without,
    /// §6.2.3: never indexed by intermediaries either.
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Name<'a> {
    /// An index into the tables (never 0).
    Index(u32),
    Literal(Str<'a>),
}

/// One representation from a header block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repr<'a> {
    /// §6.1; the index may be 0, which the decoder rejects.
    Indexed(u32),
    Literal {
        indexing: Indexing,
        name: Name<'a>,
        value: Str<'a>,
    },
    /// §6.3.
    SizeUpdate(u32),
}

fn overflow(input: &[u8]) -> nom::Err<Error<&[u8]>> {
    nom::Err::Failure(Error::new(input, ErrorKind::TooLarge))
}

/// An integer with an N-bit prefix (§5.1) whose first byte is `first`.
/// More than 5 continuation bytes, or a value over [`MAX_INTEGER`], is a
/// failure with `ErrorKind::TooLarge`.
pub fn integer(first: u8, prefix_bits: u8, input: &[u8]) -> IResult<&[u8], u32> {
    let mask = (1u16 << prefix_bits) - 1;
    let mut value = u64::from(first) & u64::from(mask);
    if value < u64::from(mask) {
        return Ok((input, value as u32));
    }
    let mut rest = input;
    for shift in (0..35).step_by(7) {
        let (r, b) = byte(rest)?;
        rest = r;
        value += u64::from(b & 0x7f) << shift;
        if value > MAX_INTEGER {
            return Err(overflow(input));
        }
        if b & 0x80 == 0 {
            return Ok((rest, value as u32));
        }
    }
    Err(overflow(input))
}

/// A string literal (§5.2).
pub fn string(input: &[u8]) -> IResult<&[u8], Str<'_>> {
    let (rest, first) = byte(input)?;
    let (rest, len) = integer(first, 7, rest)?;
    let (rest, bytes) = take(len as usize).parse(rest)?;
    Ok((
        rest,
        Str {
            huffman: first & 0x80 != 0,
            bytes,
        },
    ))
}

fn literal(
    first: u8,
    prefix_bits: u8,
    indexing: Indexing,
    input: &[u8],
) -> IResult<&[u8], Repr<'_>> {
    let (rest, index) = integer(first, prefix_bits, input)?;
    let (rest, name) = if index == 0 {
        let (rest, s) = string(rest)?;
        (rest, Name::Literal(s))
    } else {
        (rest, Name::Index(index))
    };
    let (rest, value) = string(rest)?;
    Ok((
        rest,
        Repr::Literal {
            indexing,
            name,
            value,
        },
    ))
}

/// One representation, dispatched on the pattern of its first byte.
pub fn representation(input: &[u8]) -> IResult<&[u8], Repr<'_>> {
    let (rest, first) = byte(input)?;
    if first & 0x80 != 0 {
        let (rest, index) = integer(first, 7, rest)?;
        Ok((rest, Repr::Indexed(index)))
    } else if first & 0x40 != 0 {
        literal(first, 6, Indexing::Incremental, rest)
    } else if first & 0x20 != 0 {
        let (rest, size) = integer(first, 5, rest)?;
        Ok((rest, Repr::SizeUpdate(size)))
    } else if first & 0x10 != 0 {
        literal(first, 4, Indexing::Never, rest)
    } else {
        literal(first, 4, Indexing::Without, rest)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn int(bytes: &[u8], prefix: u8) -> Option<u32> {
        let (&first, rest) = bytes.split_first()?;
        integer(first, prefix, rest).ok().map(|(_, v)| v)
    }

    #[test]
    fn rfc_7541_c1_integers() {
        // C.1.1: 10 in a 5-bit prefix.
        assert_eq!(int(&[0b0000_1010], 5), Some(10));
        // C.1.2: 1337 in a 5-bit prefix: 31, then 154 (1337-31 = 1306 =
        // 0x1a + 10<<7), then 10.
        assert_eq!(int(&[0b0001_1111, 0b1001_1010, 0b0000_1010], 5), Some(1337));
        // C.1.3: 42 starting at an octet boundary.
        assert_eq!(int(&[0b0010_1010], 8), Some(42));
    }

    #[test]
    fn integer_overflow_and_truncation() {
        // 2^32 and beyond: over the ceiling.
        let big = [0x1f, 0xff, 0xff, 0xff, 0xff, 0x0f];
        assert!(matches!(
            integer(big[0], 5, &big[1..]),
            Err(nom::Err::Failure(_))
        ));
        // Endless continuation bytes stop after five.
        let long = [0x1f, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00];
        assert!(matches!(
            integer(long[0], 5, &long[1..]),
            Err(nom::Err::Failure(_))
        ));
        // A continuation that never ends within the block.
        assert!(matches!(
            integer(0x1f, 5, &[0x80]),
            Err(nom::Err::Incomplete(_))
        ));
    }

    #[test]
    fn representations_by_first_byte() {
        assert_eq!(representation(&[0x82]).unwrap().1, Repr::Indexed(2));
        assert_eq!(
            representation(&[0x3f, 0xe1, 0x1f]).unwrap().1,
            Repr::SizeUpdate(4096)
        );
        // C.2.2: literal without indexing, indexed name 4 (:path).
        let b = b"\x04\x0c/sample/path";
        assert_eq!(
            representation(b).unwrap().1,
            Repr::Literal {
                indexing: Indexing::Without,
                name: Name::Index(4),
                value: Str {
                    huffman: false,
                    bytes: b"/sample/path"
                },
            }
        );
        // C.2.3: never indexed, literal name.
        let b = b"\x10\x08password\x06secret";
        let (rest, r) = representation(b).unwrap();
        assert!(rest.is_empty());
        assert!(matches!(
            r,
            Repr::Literal {
                indexing: Indexing::Never,
                name: Name::Literal(_),
                ..
            }
        ));
        // A string longer than what follows is truncated.
        assert!(matches!(
            representation(b"\x40\x05ab"),
            Err(nom::Err::Incomplete(_))
        ));
    }
}

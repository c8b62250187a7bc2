//! Pure nom 8 streaming parsers for the line-shaped pieces of HTTP/1.x:
//! request line, status line, header field line, chunk-size line.
//!
//! They are streaming so that a short input is `Incomplete`, never a false
//! error. In practice the state machine only calls them once `memchr` has
//! found the line's `\n`, so a byte-by-byte feed never re-parses a long line
//! over and over (that would be quadratic in the head cap).
//!
//! Bare `\n` is accepted as a line ending (RFC 9112 §2.2 allows a recipient
//! to), because a sniffer that is stricter than the server it watches loses
//! sight of traffic the server happily serves.

use nom::branch::alt;
use nom::bytes::streaming::{tag, take_while1, take_while_m_n};
use nom::character::streaming::{char, satisfy};
use nom::combinator::{map, opt, value};
use nom::error::{Error, ErrorKind};
use nom::sequence::preceded;
use nom::{IResult, Parser};

use crate::event::HttpVersion;
use crate::ErrorReason;

type Res<'a, O> = IResult<&'a [u8], O>;

/// `token` characters (RFC 9110 §5.6.2): what methods and field names are
/// made of. A table, because this runs once per byte of every field name.
pub fn is_tchar(b: u8) -> bool {
    TCHAR[usize::from(b)]
}

const TCHAR: [bool; 256] = {
    let mut table = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        table[i] = b.is_ascii_alphanumeric()
            || matches!(
                b,
                b'!' | b'#'
                    | b'$'
                    | b'%'
                    | b'&'
                    | b'\''
                    | b'*'
                    | b'+'
                    | b'-'
                    | b'.'
                    | b'^'
                    | b'_'
                    | b'`'
                    | b'|'
                    | b'~'
            );
        i += 1;
    }
    table
};

/// Everything up to the line end, found with `memchr` rather than a byte
/// loop: field values are most of a head's bytes. With no line end in
/// sight the input is incomplete.
fn till_line_end(i: &[u8]) -> Res<'_, &[u8]> {
    match memchr::memchr2(b'\r', b'\n', i) {
        Some(at) => Ok((
            i.get(at..).unwrap_or_default(),
            i.get(..at).unwrap_or_default(),
        )),
        None => Err(nom::Err::Incomplete(nom::Needed::new(1))),
    }
}

/// Bytes allowed in a request target. Looser than the URI grammar on
/// purpose: servers accept raw UTF-8 and odd punctuation, and a sniffer must
/// follow what the server accepts, not what the RFC wishes.
fn is_target_byte(b: u8) -> bool {
    b > b' ' && b != 0x7f
}

/// `CRLF` or a bare `LF`.
fn eol(i: &[u8]) -> Res<'_, ()> {
    value((), alt((tag(&b"\r\n"[..]), tag(&b"\n"[..])))).parse(i)
}

/// `HTTP/1.` followed by the minor digit. Any minor other than 0 is read as
/// 1.1, as RFC 9112 §2.6 tells a recipient of a higher minor to do.
fn http1_version(i: &[u8]) -> Res<'_, HttpVersion> {
    map(
        preceded(tag(&b"HTTP/1."[..]), satisfy(|c| c.is_ascii_digit())),
        |minor| {
            if minor == '0' {
                HttpVersion::Http10
            } else {
                HttpVersion::Http11
            }
        },
    )
    .parse(i)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestLine<'a> {
    pub method: &'a [u8],
    pub target: &'a [u8],
    pub version: HttpVersion,
}

/// `method SP request-target SP HTTP-version CRLF`.
pub fn request_line(i: &[u8]) -> Res<'_, RequestLine<'_>> {
    let (i, (method, _, target, _, version, _)) = (
        take_while1(is_tchar),
        char(' '),
        take_while1(is_target_byte),
        char(' '),
        http1_version,
        eol,
    )
        .parse(i)?;
    Ok((
        i,
        RequestLine {
            method,
            target,
            version,
        },
    ))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StatusLine {
    pub version: HttpVersion,
    pub code: u16,
}

/// `HTTP-version SP 3DIGIT [SP reason] CRLF`. The reason phrase is skipped;
/// a missing one (`HTTP/1.1 200\r\n`) is tolerated because real servers send
/// it.
pub fn status_line(i: &[u8]) -> Res<'_, StatusLine> {
    let (i, (version, _, code, _, _)) = (
        http1_version,
        char(' '),
        take_while_m_n(3, 3, |c: u8| c.is_ascii_digit()),
        opt(preceded(char(' '), till_line_end)),
        eol,
    )
        .parse(i)?;
    let code = code
        .iter()
        .fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    Ok((i, StatusLine { version, code }))
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderLine<'a> {
    /// A field with its value stripped of surrounding whitespace.
    Field { name: &'a [u8], value: &'a [u8] },
    /// The empty line that ends the head (or the trailer section).
    End,
}

/// `field-name ":" OWS field-value OWS CRLF`, or the empty line. Whitespace
/// before the colon and obs-fold continuation lines are rejected, as RFC
/// 9112 §5.1 and §5.2 require of servers (they are request-smuggling tools).
pub fn header_line(i: &[u8]) -> Res<'_, HeaderLine<'_>> {
    match eol(i) {
        Ok((rest, ())) => return Ok((rest, HeaderLine::End)),
        Err(nom::Err::Incomplete(n)) => return Err(nom::Err::Incomplete(n)),
        Err(_) => {}
    }
    let (i, (name, _, value, _)) =
        (take_while1(is_tchar), char(':'), till_line_end, eol).parse(i)?;
    Ok((
        i,
        HeaderLine::Field {
            name,
            value: trim_ows(value),
        },
    ))
}

fn trim_ows(mut v: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = v {
        v = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = v {
        v = rest;
    }
    v
}

/// Longest chunk size we accept: 16 hex digits fill a u64; more significant
/// digits can only be an attack or garbage.
const MAX_HEX_DIGITS: usize = 16;

/// `chunk-size [chunk-ext] CRLF`. Extensions are skipped unread: nothing
/// we report depends on them. A size that does not fit in a u64 is a
/// `Failure` with `ErrorKind::TooLarge`, so the caller can tell "hostile
/// length" from "garbage".
pub fn chunk_size_line(i: &[u8]) -> Res<'_, u64> {
    let (rest, digits) = take_while1(|c: u8| c.is_ascii_hexdigit()).parse(i)?;
    let significant = match digits.iter().position(|&d| d != b'0') {
        Some(first) => digits.get(first..).unwrap_or_default(),
        None => &[],
    };
    if significant.len() > MAX_HEX_DIGITS {
        return Err(nom::Err::Failure(Error::new(i, ErrorKind::TooLarge)));
    }
    let size = significant
        .iter()
        .fold(0u64, |acc, &d| (acc << 4) | hex_value(d));
    let (rest, ext) = till_line_end(rest)?;
    if !matches!(ext.first(), None | Some(b';' | b' ' | b'\t')) {
        return Err(nom::Err::Error(Error::new(rest, ErrorKind::HexDigit)));
    }
    let (rest, ()) = eol(rest)?;
    Ok((rest, size))
}

fn hex_value(d: u8) -> u64 {
    match d {
        b'0'..=b'9' => u64::from(d - b'0'),
        b'a'..=b'f' => u64::from(d - b'a' + 10),
        b'A'..=b'F' => u64::from(d - b'A' + 10),
        _ => 0,
    }
}

/// Maps a nom failure on a complete line to the reason we report. An
/// `Incomplete` here means the line itself was cut short, which the callers
/// never let happen, so it is treated as malformed rather than trusted.
pub fn reason_of<E>(err: &nom::Err<Error<E>>) -> ErrorReason {
    match err {
        nom::Err::Failure(e) if e.code == ErrorKind::TooLarge => ErrorReason::LengthTooLarge,
        _ => ErrorReason::Malformed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn incomplete<T: std::fmt::Debug>(r: Res<'_, T>) -> bool {
        matches!(r, Err(nom::Err::Incomplete(_)))
    }

    #[test]
    fn request_line_fields() {
        // "GET" SP "/a?b=1" SP "HTTP/1.1" CRLF, then the next line untouched.
        let input = b"GET /a?b=1 HTTP/1.1\r\nHost";
        let (rest, line) = request_line(input).unwrap();
        assert_eq!(rest, b"Host");
        assert_eq!(line.method, b"GET");
        assert_eq!(line.target, b"/a?b=1");
        assert_eq!(line.version, HttpVersion::Http11);
    }

    #[test]
    fn request_line_versions_and_lf() {
        // HTTP/1.0 with a bare LF ending.
        let (_, l) = request_line(b"PROPFIND * HTTP/1.0\n").unwrap();
        assert_eq!(
            (l.method, l.target, l.version),
            (&b"PROPFIND"[..], &b"*"[..], HttpVersion::Http10)
        );
        // A higher minor reads as 1.1.
        let (_, l) = request_line(b"GET / HTTP/1.2\r\n").unwrap();
        assert_eq!(l.version, HttpVersion::Http11);
    }

    #[test]
    fn request_line_prefixes_are_incomplete() {
        let full = b"POST /upload HTTP/1.1\r\n";
        for cut in 0..full.len() {
            assert!(incomplete(request_line(&full[..cut])), "cut {cut}");
        }
    }

    #[test]
    fn request_line_rejects() {
        for bad in [
            &b"GET  / HTTP/1.1\r\n"[..], // double space: empty target
            b"GET / HTTP/2.0\r\n",       // not HTTP/1
            b"GET /\r\n",                // HTTP/0.9
            b"G(T / HTTP/1.1\r\n",       // '(' is not a tchar
            b"GET / HTTP/1.1\rX",        // CR not followed by LF
            b"GET /\x7f HTTP/1.1\r\n",   // DEL in the target
        ] {
            assert!(
                matches!(request_line(bad), Err(nom::Err::Error(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn status_line_fields() {
        // "HTTP/1.1" SP "404" SP "Not Found" CRLF
        let (rest, s) = status_line(b"HTTP/1.1 404 Not Found\r\nX").unwrap();
        assert_eq!(rest, b"X");
        assert_eq!(
            s,
            StatusLine {
                version: HttpVersion::Http11,
                code: 404
            }
        );
        // No reason phrase at all.
        let (_, s) = status_line(b"HTTP/1.0 200\r\n").unwrap();
        assert_eq!(s.code, 200);
        // Empty reason phrase after the space.
        let (_, s) = status_line(b"HTTP/1.1 204 \r\n").unwrap();
        assert_eq!(s.code, 204);
    }

    #[test]
    fn status_line_rejects() {
        for bad in [
            &b"HTTP/1.1 20 OK\r\n"[..], // two digits
            b"HTTP/1.1 2000 OK\r\n",    // four digits
            b"HTTP/2 200 OK\r\n",
            b"http/1.1 200 OK\r\n", // the version is case-sensitive
        ] {
            assert!(
                matches!(status_line(bad), Err(nom::Err::Error(_))),
                "{bad:?}"
            );
        }
        assert!(incomplete(status_line(b"HTTP/1.1 200 O")));
    }

    #[test]
    fn header_lines() {
        // name ":" OWS value OWS CRLF: surrounding spaces and tabs go.
        let (rest, h) = header_line(b"Content-Length: \t42 \r\n\r\n").unwrap();
        assert_eq!(
            h,
            HeaderLine::Field {
                name: b"Content-Length",
                value: b"42"
            }
        );
        assert_eq!(rest, b"\r\n");
        assert_eq!(header_line(b"\r\n").unwrap().1, HeaderLine::End);
        assert_eq!(header_line(b"\n").unwrap().1, HeaderLine::End);
        // Empty value.
        let (_, h) = header_line(b"X-Empty:\r\n").unwrap();
        assert_eq!(
            h,
            HeaderLine::Field {
                name: b"X-Empty",
                value: b""
            }
        );
        assert!(incomplete(header_line(b"Host: exa")));
        assert!(incomplete(header_line(b"\r")));
    }

    #[test]
    fn header_line_rejects_smuggling_shapes() {
        for bad in [
            &b"Content-Length : 5\r\n"[..], // space before colon
            b" folded\r\n",                 // obs-fold
            b"\tfolded\r\n",
            b"NoColon\r\n",
            b": empty-name\r\n",
        ] {
            assert!(
                matches!(header_line(bad), Err(nom::Err::Error(_))),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn chunk_size_lines() {
        // "1a" CRLF -> 26
        assert_eq!(chunk_size_line(b"1a\r\n").unwrap().1, 26);
        // Extensions are skipped: "5" ";name=value" CRLF
        assert_eq!(chunk_size_line(b"5;name=value\r\n").unwrap().1, 5);
        assert_eq!(chunk_size_line(b"5 ;ext\r\n").unwrap().1, 5);
        assert_eq!(chunk_size_line(b"0\r\n").unwrap().1, 0);
        // Leading zeros are not significant.
        assert_eq!(
            chunk_size_line(b"0000000000000000000010\r\n").unwrap().1,
            16
        );
        assert_eq!(
            chunk_size_line(b"ffffffffffffffff\r\n").unwrap().1,
            u64::MAX
        );
        assert!(incomplete(chunk_size_line(b"1a")));
        assert!(incomplete(chunk_size_line(b"1a;x")));
    }

    #[test]
    fn chunk_size_hostile_and_garbage() {
        let err = chunk_size_line(b"ffffffffffffffffff\r\n").unwrap_err();
        assert_eq!(reason_of(&err), ErrorReason::LengthTooLarge);
        for bad in [&b"\r\n"[..], b"xyz\r\n", b"5x\r\n", b"-1\r\n"] {
            let err = chunk_size_line(bad).unwrap_err();
            assert_eq!(reason_of(&err), ErrorReason::Malformed, "{bad:?}");
        }
    }
}

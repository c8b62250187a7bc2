//! The chunked transfer coding (RFC 9112 §7.1) of request and response
//! bodies: size lines written, and bodies decoded in place (chunk data
//! leaves the read buffer as `Bytes` slices, never copied). Strict where
//! leniency smuggles: a size line is hex digits, optional whitespace and
//! extensions, ended by CRLF; no bare LF or CR anywhere. Works on whatever part of the body has arrived, so the
//! frames are the same whatever the read boundaries.
use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue};

/// A chunk-size line (with extensions) longer than this is an error.
const MAX_LINE: usize = 4096;
/// Trailer section cap.
const MAX_TRAILERS: usize = 16 * 1024;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// At a chunk-size line.
    Size,
    /// Inside chunk data, this many bytes left.
    Data(u64),
    /// After chunk data: its CRLF.
    DataEnd,
    /// After the last chunk: trailer fields until an empty line.
    Trailers,
    Done,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Decoded {
    Data(Bytes),
    Trailers(HeaderMap),
    /// The body ended; bytes after it stay in the buffer.
    Done,
    /// Read more, then call again.
    NeedMore,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("malformed chunked body: {0}")]
pub struct ChunkError(&'static str);

#[derive(Debug)]
pub struct ChunkedDecoder {
    state: State,
}

impl Default for ChunkedDecoder {
    fn default() -> Self {
        ChunkedDecoder { state: State::Size }
    }
}

impl ChunkedDecoder {
    /// The next frame from `buf`, consuming what it used.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Decoded, ChunkError> {
        loop {
            match self.state {
                State::Size => {
                    let Some(line) = take_line(buf, MAX_LINE)? else {
                        return Ok(Decoded::NeedMore);
                    };
                    let size = chunk_size(&line)?;
                    self.state = if size == 0 {
                        State::Trailers
                    } else {
                        State::Data(size)
                    };
                }
                State::Data(left) => {
                    if buf.is_empty() {
                        return Ok(Decoded::NeedMore);
                    }
                    let n = (buf.len() as u64).min(left) as usize;
                    let data = buf.split_to(n).freeze();
                    let left = left - n as u64;
                    self.state = if left == 0 {
                        State::DataEnd
                    } else {
                        State::Data(left)
                    };
                    return Ok(Decoded::Data(data));
                }
                State::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(Decoded::NeedMore);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(ChunkError("chunk data not followed by CRLF"));
                    }
                    buf.advance(2);
                    self.state = State::Size;
                }
                State::Trailers => return self.trailers(buf),
                State::Done => return Ok(Decoded::Done),
            }
        }
    }

    fn trailers(&mut self, buf: &mut BytesMut) -> Result<Decoded, ChunkError> {
        if buf.len() < 2 {
            return Ok(Decoded::NeedMore);
        }
        if buf.starts_with(b"\r\n") {
            buf.advance(2);
            self.state = State::Done;
            return Ok(Decoded::Done);
        }
        let mut fields = [httparse::EMPTY_HEADER; 32];
        let (consumed, fields) = match httparse::parse_headers(buf, &mut fields) {
            Ok(httparse::Status::Complete(parsed)) => parsed,
            Ok(httparse::Status::Partial) if buf.len() > MAX_TRAILERS => {
                return Err(ChunkError("trailer section too long"))
            }
            Ok(httparse::Status::Partial) => return Ok(Decoded::NeedMore),
            Err(_) => return Err(ChunkError("trailer fields")),
        };
        // httparse also ends a section at a bare LF: only CRLF CRLF here,
        // or bytes after the body would be taken for its end.
        if consumed < 4 || &buf[consumed - 4..consumed] != b"\r\n\r\n" {
            return Err(ChunkError("trailer section not ended by CRLF"));
        }
        let mut trailers = HeaderMap::with_capacity(fields.len());
        for field in fields.iter() {
            let name = HeaderName::from_bytes(field.name.as_bytes())
                .map_err(|_| ChunkError("trailer name"))?;
            let value =
                HeaderValue::from_bytes(field.value).map_err(|_| ChunkError("trailer value"))?;
            trailers.append(name, value);
        }
        buf.advance(consumed);
        self.state = State::Done;
        Ok(Decoded::Trailers(trailers))
    }
}

/// `{size:x}\r\n`, the line before a chunk.
pub fn size_line(size: usize, out: &mut Vec<u8>) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut n = size;
    loop {
        at -= 1;
        digits[at] = HEX[n & 0xf];
        n >>= 4;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[at..]);
    out.extend_from_slice(b"\r\n");
}

/// A CRLF-terminated line off the front of `buf`, without its CRLF.
fn take_line(buf: &mut BytesMut, max: usize) -> Result<Option<BytesMut>, ChunkError> {
    match find(buf, b"\r\n") {
        Some(end) if end > max => Err(ChunkError("chunk-size line too long")),
        Some(end) => {
            let line = buf.split_to(end);
            buf.advance(2);
            Ok(Some(line))
        }
        None if buf.len() > max => Err(ChunkError("chunk-size line too long")),
        None => Ok(None),
    }
}

/// The hex size: digits, then optional SP/HTAB, then `;extensions` made
/// of visible characters and whitespace only (no CR, LF or controls).
fn chunk_size(line: &[u8]) -> Result<u64, ChunkError> {
    let end = line
        .iter()
        .position(|b| !b.is_ascii_hexdigit())
        .unwrap_or(line.len());
    let (digits, rest) = line.split_at(end);
    if digits.is_empty() || digits.len() > 15 {
        return Err(ChunkError("chunk size"));
    }
    let blank = rest
        .iter()
        .take_while(|&&b| b == b' ' || b == b'\t')
        .count();
    let extensions = &rest[blank..];
    let visible = |b: &u8| *b == b'\t' || (b' '..=b'~').contains(b);
    if !(extensions.is_empty() || (extensions[0] == b';' && extensions.iter().all(visible))) {
        return Err(ChunkError("chunk size"));
    }
    let mut size = 0u64;
    for &b in digits {
        let digit = (b as char).to_digit(16).ok_or(ChunkError("chunk size"))?;
        size = size * 16 + u64::from(digit);
    }
    Ok(size)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The body, the trailers, and the bytes after the body.
    type Decoding = (Vec<u8>, Option<HeaderMap>, Vec<u8>);

    /// Every frame, feeding `wire` in pieces of `step` bytes.
    fn decode_in_steps(wire: &[u8], step: usize) -> Result<Decoding, ChunkError> {
        let mut decoder = ChunkedDecoder::default();
        let mut buf = BytesMut::new();
        let (mut body, mut trailers) = (Vec::new(), None);
        let mut chunks = wire.chunks(step);
        loop {
            match decoder.decode(&mut buf)? {
                Decoded::Data(data) => body.extend_from_slice(&data),
                Decoded::Trailers(t) => trailers = Some(t),
                Decoded::Done => {
                    // What follows the body: left in the buffer or not fed yet.
                    let rest = buf.iter().chain(chunks.flatten()).copied().collect();
                    return Ok((body, trailers, rest));
                }
                Decoded::NeedMore => match chunks.next() {
                    Some(piece) => buf.extend_from_slice(piece),
                    None => return Err(ChunkError("ended early")),
                },
            }
        }
    }

    #[test]
    fn chunk_lines_are_lowercase_hex() {
        for (size, line) in [
            (0, &b"0\r\n"[..]),
            (10, b"a\r\n"),
            (16 * 1024, b"4000\r\n"),
            (0x1f_ffff, b"1fffff\r\n"),
        ] {
            let mut out = Vec::new();
            size_line(size, &mut out);
            assert_eq!(out, line);
        }
    }

    #[test]
    fn the_same_body_and_trailers_at_every_split() {
        let wire = b"5;ext=1\r\nhello\r\n1A\r\nabcdefghijklmnopqrstuvwxyz\r\n0\r\ngrpc-status: 0\r\nx-b: 2\r\n\r\nNEXT";
        for step in 1..wire.len() {
            let (body, trailers, rest) = decode_in_steps(wire, step).expect("valid");
            assert_eq!(body, b"helloabcdefghijklmnopqrstuvwxyz", "step {step}");
            let trailers = trailers.expect("trailers");
            assert_eq!(trailers["grpc-status"], "0");
            assert_eq!(trailers["x-b"], "2");
            assert_eq!(rest, b"NEXT", "bytes after the body stay, step {step}");
        }
    }

    #[test]
    fn extensions_and_whitespace_before_them_are_accepted() {
        let (body, _, _) =
            decode_in_steps(b"3 ;name=value;x\r\nabc\r\n0\r\n\r\n", 64).expect("valid");
        assert_eq!(body, b"abc");
    }

    #[test]
    fn a_body_without_trailers_ends_at_the_empty_line() {
        for step in 1..12 {
            let (body, trailers, rest) =
                decode_in_steps(b"3\r\nabc\r\n0\r\n\r\n", step).expect("valid");
            assert_eq!(
                (body.as_slice(), trailers, rest.len()),
                (&b"abc"[..], None, 0)
            );
        }
    }

    #[test]
    fn malformed_codings_are_errors() {
        for wire in [
            &b"zz\r\nabc\r\n0\r\n\r\n"[..],
            b"3\r\nabcX\r\n0\r\n\r\n",
            b"\r\n",
            b"ffffffffffffffff\r\n",
            b"5;\nx\r\nhello\r\n0\r\n\r\n",
            b"1\n\r\nx\r\n0\r\n\r\n",
            b"1 x\r\nx\r\n0\r\n\r\n",
            b"0\r\n\nGET /b HTTP/1.1\r\nHost: x\r\n\r\n",
            b"0\r\nX: a\n\nGET /b HTTP/1.1\r\n\r\n",
        ] {
            assert!(decode_in_steps(wire, wire.len()).is_err(), "{wire:?}");
        }
        let mut long_line = vec![b'1'; 1];
        long_line.extend_from_slice(b";");
        long_line.extend(std::iter::repeat_n(b'e', MAX_LINE + 8));
        long_line.extend_from_slice(b"\r\nx\r\n0\r\n\r\n");
        assert_eq!(
            decode_in_steps(&long_line, long_line.len()).unwrap_err(),
            ChunkError("chunk-size line too long"),
            "checked when its CRLF arrives in the same read too"
        );
        let endless_line = vec![b'1'; MAX_LINE + 2];
        assert_eq!(
            decode_in_steps(&endless_line, 64).unwrap_err(),
            ChunkError("chunk-size line too long")
        );
    }
}

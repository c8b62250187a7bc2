//! The heads of one upstream HTTP/1.1 exchange: the request head we write
//! and the response head we read, and how each message's body is framed
//! (RFC 9112 §6).
//!
//! Response heads are parsed by `httparse` (hyper's parser) and their header
//! values are slices of one shared buffer, so a response head costs one
//! allocation however many fields it has.
use crate::l7::h1::framing;
use bytes::{Bytes, BytesMut};
use http::header::{CONTENT_LENGTH, TRANSFER_ENCODING, UPGRADE};
use http::{HeaderMap, HeaderValue, Method, StatusCode, Version};
use http_body::SizeHint;

/// A response head longer than this is a protocol error.
pub const MAX_HEAD_BYTES: usize = 64 * 1024;

/// How a request body is delimited on the wire. We always write the
/// framing field ourselves (a client's own `Content-Length` and
/// `Transfer-Encoding` are never copied), so the upstream sees exactly one
/// framing, the one we send by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFraming {
    /// No body at all.
    None,
    /// `Content-Length: n` (the client's, validated, or the body's size,
    /// or 0 for an empty POST).
    Length(u64),
    /// `Transfer-Encoding: chunked` (size unknown).
    Chunked,
}

/// How a response body is delimited on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming {
    Empty,
    Length(u64),
    Chunked,
    /// Until the server closes: the connection cannot be reused.
    UntilClose,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum HeadError {
    #[error("malformed response head: {0}")]
    Malformed(&'static str),
    #[error("response head over {MAX_HEAD_BYTES} bytes")]
    TooLong,
}

/// A complete response head, taken out of the read buffer.
#[derive(Debug)]
pub struct ResponseHead {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub framing: ResponseFraming,
    /// The server lets the connection carry another request afterwards.
    pub keep_alive: bool,
}

/// What the start of the read buffer holds.
#[derive(Debug)]
pub enum Parsed {
    /// Not a whole head yet.
    Partial,
    /// A 1xx interim response (100 Continue, 103 Early Hints): skipped, as
    /// hyper's client does; its bytes were removed from the buffer.
    Interim,
    Head(ResponseHead),
}

/// The framing of a request body from its headers and the body itself.
pub fn request_framing(
    method: &Method,
    headers: &HeaderMap,
    hint: &SizeHint,
    ended: bool,
) -> RequestFraming {
    if let Ok(Some(length)) = framing::content_length(headers) {
        return RequestFraming::Length(length);
    }
    if ended {
        // A body-carrying method says "empty" explicitly (RFC 9110 §8.6).
        let expects_body = matches!(*method, Method::POST | Method::PUT | Method::PATCH);
        return if expects_body {
            RequestFraming::Length(0)
        } else {
            RequestFraming::None
        };
    }
    hint.exact()
        .map_or(RequestFraming::Chunked, RequestFraming::Length)
}

/// Writes the request head into `dst`: origin-form target, our framing.
pub fn encode_request(
    method: &Method,
    target: &str,
    headers: &HeaderMap,
    framing: RequestFraming,
    dst: &mut Vec<u8>,
) {
    dst.extend_from_slice(method.as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(target.as_bytes());
    dst.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in headers {
        if name == CONTENT_LENGTH || name == TRANSFER_ENCODING {
            continue;
        }
        framing::write_field(dst, name.as_str().as_bytes(), value.as_bytes());
    }
    let mut digits = [0u8; 20];
    match framing {
        RequestFraming::Length(n) => {
            framing::write_field(dst, b"content-length", framing::format_u64(n, &mut digits))
        }
        RequestFraming::Chunked => framing::write_field(dst, b"transfer-encoding", b"chunked"),
        RequestFraming::None => {}
    }
    dst.extend_from_slice(b"\r\n");
}

/// Parses the response head at the start of `buf`. A complete head is
/// split off `buf`; what follows (body bytes) stays.
///
/// `101` is a final answer when the request asked to switch to the
/// protocol it names (`upgrade`): its head ends the HTTP exchange and the
/// bytes after it are the new protocol's. Unasked, or naming another
/// protocol, it is malformed.
pub fn parse_response(
    buf: &mut BytesMut,
    request_method: &Method,
    upgrade: Option<&HeaderValue>,
) -> Result<Parsed, HeadError> {
    let mut fields = framing::fields();
    let mut response = httparse::Response::new(&mut []);
    let parsed = httparse::ParserConfig::default().parse_response_with_uninit_headers(
        &mut response,
        buf,
        &mut fields,
    );
    let len = match parsed {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err(HeadError::TooLong)
        }
        Ok(httparse::Status::Partial) => return Ok(Parsed::Partial),
        Err(httparse::Error::TooManyHeaders) => {
            return Err(HeadError::Malformed("too many header fields"))
        }
        Err(_) => return Err(HeadError::Malformed("not an HTTP/1.x response head")),
    };
    if len > MAX_HEAD_BYTES {
        return Err(HeadError::TooLong);
    }
    let code = response.code.unwrap_or(0);
    let status = StatusCode::from_u16(code).map_err(|_| HeadError::Malformed("status code"))?;
    let switching = status == StatusCode::SWITCHING_PROTOCOLS;
    if switching && upgrade.is_none() {
        return Err(HeadError::Malformed("101 without an upgrade request"));
    }
    if status.is_informational() && !switching {
        let _ = buf.split_to(len);
        return Ok(Parsed::Interim);
    }
    let version = if response.version == Some(0) {
        Version::HTTP_10
    } else {
        Version::HTTP_11
    };
    let spans = framing::FieldSpans::of(response.headers, buf.as_ptr());
    let head: Bytes = buf.split_to(len).freeze();
    let framing::Mapped {
        mut headers,
        connection,
        lengths,
    } = spans.header_map(&head, 0).map_err(HeadError::Malformed)?;
    if let (true, Some(asked)) = (switching, upgrade) {
        let named = headers.get(UPGRADE).map(HeaderValue::as_bytes);
        if !named.is_some_and(|named| named.eq_ignore_ascii_case(asked.as_bytes())) {
            return Err(HeadError::Malformed("101 to another protocol than asked"));
        }
    }
    let (framing, framing_allows_reuse) = match switching {
        // Never reused: the connection now carries the new protocol.
        true => (ResponseFraming::Empty, false),
        false => response_framing(status, request_method, &headers, lengths)?,
    };
    if framing == ResponseFraming::Chunked && lengths.has_content_length() {
        // The decoded length is not what a `Content-Length` beside the
        // chunks says (RFC 9112 §6.3): it must not reach the client.
        headers.remove(CONTENT_LENGTH);
    }
    let keep_alive = framing_allows_reuse && framing::persists(version, connection);
    Ok(Parsed::Head(ResponseHead {
        status,
        version,
        headers,
        framing,
        keep_alive,
    }))
}

/// RFC 9112 §6.3, in its order. The flag is false where the message's end
/// cannot be trusted for reuse (close-delimited, or both length fields).
fn response_framing(
    status: StatusCode,
    method: &Method,
    headers: &HeaderMap,
    lengths: framing::Lengths,
) -> Result<(ResponseFraming, bool), HeadError> {
    if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
    {
        return Ok((ResponseFraming::Empty, true));
    }
    if lengths.transfer_encoding {
        let chunked_last = headers
            .get_all(TRANSFER_ENCODING)
            .iter()
            .next_back()
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.rsplit(',').next())
            .is_some_and(|coding| coding.trim().eq_ignore_ascii_case("chunked"));
        if !chunked_last {
            return Ok((ResponseFraming::UntilClose, false));
        }
        // Both length fields: chunked wins, and the connection is closed
        // after (a smuggling guard, §6.3 item 3).
        return Ok((ResponseFraming::Chunked, !lengths.has_content_length()));
    }
    let length = lengths
        .content_length
        .map_err(|()| HeadError::Malformed("content-length"))?;
    Ok(match length {
        Some(0) => (ResponseFraming::Empty, true),
        Some(n) => (ResponseFraming::Length(n), true),
        None => (ResponseFraming::UntilClose, false),
    })
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;

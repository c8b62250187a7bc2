//! The heads of one downstream HTTP/1.x exchange: the request head we read
//! (`httparse`; the target and field values are slices of one buffer) and
//! the response head we write, with each body's framing (RFC 9112 §6).
use crate::l7::h1::framing::{
    self as framing, content_length, format_u64, persists, write_field as field, FieldSpans,
    Lengths, MAX_HEADERS,
};
use bytes::{Bytes, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, DATE, EXPECT, TRANSFER_ENCODING};
use http::{HeaderMap, Method, StatusCode, Uri, Version};
use std::cell::RefCell;
use std::time::{SystemTime, UNIX_EPOCH};

/// A request head longer than this is 431 (Envoy's default is 60 KiB).
pub const MAX_HEAD_BYTES: usize = 60 * 1024;

/// How a request body is delimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestFraming {
    Empty,
    Length(u64),
    Chunked,
}

/// Why a request head was refused: answered 400 or 431, then closed.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RequestError {
    #[error("malformed request head: {0}")]
    Malformed(&'static str),
    #[error("request head over {MAX_HEAD_BYTES} bytes or {MAX_HEADERS} fields")]
    TooLarge,
}

impl RequestError {
    pub fn status(&self) -> StatusCode {
        match self {
            RequestError::Malformed(_) => StatusCode::BAD_REQUEST,
            RequestError::TooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        }
    }
}

pub struct RequestHead {
    pub parts: http::request::Parts,
    pub framing: RequestFraming,
    /// The client lets the connection carry another request afterwards.
    pub keep_alive: bool,
    /// `Expect: 100-continue` was sent (and removed, as Envoy does: we
    /// answer it ourselves).
    pub expects_continue: bool,
}

/// Parses the request head at the start of `buf`: `None` until it is
/// whole; a whole head is split off `buf` and body bytes stay.
pub fn parse_request(buf: &mut BytesMut) -> Result<Option<RequestHead>, RequestError> {
    let mut fields = framing::fields();
    let mut request = httparse::Request::new(&mut []);
    let len = match request.parse_with_uninit_headers(buf, &mut fields) {
        Ok(httparse::Status::Complete(len)) if len <= MAX_HEAD_BYTES => len,
        Ok(httparse::Status::Complete(_)) => return Err(RequestError::TooLarge),
        Ok(httparse::Status::Partial) if buf.len() > MAX_HEAD_BYTES => {
            return Err(RequestError::TooLarge)
        }
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(RequestError::TooLarge),
        Err(_) => return Err(RequestError::Malformed("not an HTTP/1.x request head")),
    };
    let method = Method::from_bytes(request.method.unwrap_or_default().as_bytes())
        .map_err(|_| RequestError::Malformed("method"))?;
    let version = match request.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let path = request.path.unwrap_or_default();
    let target = (path.as_ptr() as usize - buf.as_ptr() as usize, path.len());
    let spans = FieldSpans::of(request.headers, buf.as_ptr());
    let head: Bytes = buf.split_to(len).freeze();
    let uri = Uri::from_maybe_shared(head.slice(target.0..target.0 + target.1))
        .map_err(|_| RequestError::Malformed("request target"))?;
    let framing::Mapped {
        mut headers,
        connection,
        lengths,
    } = spans
        .header_map(&head, framing::REQUEST_ADDS)
        .map_err(RequestError::Malformed)?;
    let framing = request_framing(&headers, lengths)?;
    if version == Version::HTTP_10 && framing == RequestFraming::Chunked {
        // HTTP/1.0 has no transfer codings (RFC 9112 §6.1): faulty framing.
        return Err(RequestError::Malformed("transfer-encoding on HTTP/1.0"));
    }
    let keep_alive = persists(version, connection);
    let expects_continue = version == Version::HTTP_11
        && headers
            .get(EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if expects_continue {
        headers.remove(EXPECT);
    }
    let (mut parts, ()) = http::Request::new(()).into_parts();
    parts.method = method;
    parts.uri = uri;
    parts.version = version;
    parts.headers = headers;
    Ok(Some(RequestHead {
        parts,
        framing,
        keep_alive,
        expects_continue,
    }))
}

/// RFC 9112 §6.3 for requests. Both length fields, or a transfer coding
/// other than `chunked` alone, are refused: the classic request-smuggling
/// shapes (Envoy refuses them too).
fn request_framing(headers: &HeaderMap, lengths: Lengths) -> Result<RequestFraming, RequestError> {
    if lengths.transfer_encoding {
        if lengths.has_content_length() {
            return Err(RequestError::Malformed(
                "both content-length and transfer-encoding",
            ));
        }
        // Only `chunked` itself, in one field: a coding under it would reach
        // the upstream unannounced once we decode the chunks (Envoy answers
        // 501 there).
        let mut fields = headers.get_all(TRANSFER_ENCODING).iter();
        return match (fields.next(), fields.next()) {
            (Some(coding), None)
                if coding
                    .as_bytes()
                    .trim_ascii()
                    .eq_ignore_ascii_case(b"chunked") =>
            {
                Ok(RequestFraming::Chunked)
            }
            _ => Err(RequestError::Malformed(
                "transfer-encoding other than chunked",
            )),
        };
    }
    match lengths.content_length {
        Err(()) => Err(RequestError::Malformed("content-length")),
        Ok(None | Some(0)) => Ok(RequestFraming::Empty),
        Ok(Some(n)) => Ok(RequestFraming::Length(n)),
    }
}

/// How a response body goes on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResponseFraming {
    /// No body bytes at all (HEAD, 1xx, 204, 304): whatever the body
    /// says, nothing is written.
    NoBody,
    /// Exactly this many bytes (from `Content-Length` or the body's size).
    Length(u64),
    Chunked,
    /// An HTTP/1.0 client and a body of unknown size: ends with the close.
    UntilClose,
}

/// Writes the status line and fields of a response; adds the framing
/// field the body needs, `Date` when absent, and `Connection` as decided.
/// Returns the framing.
pub fn encode_response(
    status: StatusCode,
    headers: &HeaderMap,
    request: (&Method, Version),
    body_size: Option<u64>,
    close: bool,
    dst: &mut Vec<u8>,
) -> ResponseFraming {
    let (method, version) = request;
    let bodiless = *method == Method::HEAD
        || status.is_informational()
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    let declared = content_length(headers).ok().flatten();
    let framing = match (bodiless, declared, body_size) {
        (true, _, _) => ResponseFraming::NoBody,
        (false, Some(n), _) | (false, None, Some(n)) => ResponseFraming::Length(n),
        (false, None, None) if version == Version::HTTP_11 => ResponseFraming::Chunked,
        (false, None, None) => ResponseFraming::UntilClose,
    };
    dst.extend_from_slice(b"HTTP/1.1 ");
    dst.extend_from_slice(status.as_str().as_bytes());
    dst.push(b' ');
    dst.extend_from_slice(status.canonical_reason().unwrap_or("Unknown").as_bytes());
    dst.extend_from_slice(b"\r\n");
    for (name, value) in headers {
        // Ours to decide (the handler strips hop-by-hop fields anyway); a
        // length is written once, validated, below.
        if name == CONNECTION || name == TRANSFER_ENCODING || name == CONTENT_LENGTH {
            continue;
        }
        field(dst, name.as_str().as_bytes(), value.as_bytes());
    }
    let mut digits = [0u8; 20];
    match framing {
        ResponseFraming::Length(n) => field(dst, b"content-length", format_u64(n, &mut digits)),
        // HEAD keeps the length a GET would have had.
        ResponseFraming::NoBody if *method == Method::HEAD => {
            if let Some(n) = declared {
                field(dst, b"content-length", format_u64(n, &mut digits));
            }
        }
        ResponseFraming::Chunked => field(dst, b"transfer-encoding", b"chunked"),
        ResponseFraming::NoBody | ResponseFraming::UntilClose => {}
    }
    if !headers.contains_key(DATE) {
        with_date(|date| field(dst, b"date", date));
    }
    if status == StatusCode::SWITCHING_PROTOCOLS {
        // The connection goes on in the protocol named by `Upgrade`.
        field(dst, b"connection", b"upgrade");
    } else if close || framing == ResponseFraming::UntilClose {
        field(dst, b"connection", b"close");
    } else if version == Version::HTTP_10 {
        field(dst, b"connection", b"keep-alive");
    }
    dst.extend_from_slice(b"\r\n");
    framing
}

/// A `400`/`431` answer to a refused head, closing the connection.
pub fn encode_refusal(error: &RequestError, dst: &mut Vec<u8>) {
    let (method, version) = (&Method::GET, Version::HTTP_11);
    let framing = encode_response(
        error.status(),
        &HeaderMap::new(),
        (method, version),
        Some(0),
        true,
        dst,
    );
    debug_assert_eq!(framing, ResponseFraming::Length(0));
}

thread_local! {
    /// The `Date` value, formatted once per second per thread.
    static DATE_CACHE: RefCell<(u64, [u8; 29])> = const { RefCell::new((u64::MAX, [0; 29])) };
}

fn with_date(write: impl FnOnce(&[u8])) {
    let now = SystemTime::now();
    let second = now.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE_CACHE.with(|cache| {
        let mut cache = cache.borrow_mut();
        if cache.0 != second {
            let formatted = httpdate::fmt_http_date(now);
            if formatted.len() == 29 {
                cache.1.copy_from_slice(formatted.as_bytes());
                cache.0 = second;
            }
        }
        write(&cache.1);
    });
}

#[cfg(test)]
#[path = "head_tests.rs"]
mod tests;

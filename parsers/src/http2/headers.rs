//! What the exchange keeps from a decoded header block. The HPACK decoder
//! lends each field for the duration of a callback; only the few fields
//! an exchange reports are copied, bounded.

use crate::event::{bounded_text, HttpMethod, MAX_KEPT_TARGET};
use crate::grpc::{decode_message, is_grpc_content_type, parse_timeout, GrpcStatus};
use crate::hpack::Field;

/// Longest non-standard method kept, as for HTTP/1.
const MAX_KEPT_METHOD: usize = 64;

/// Request pseudo-headers and the fields gRPC needs.
#[derive(Debug, Default)]
pub struct RequestHead {
    pub method: Option<HttpMethod>,
    pub method_original: Option<String>,
    pub path: Option<String>,
    pub authority: Option<String>,
    pub host: Option<String>,
    pub grpc: bool,
    pub timeout_ms: Option<u64>,
}

impl RequestHead {
    pub fn field(&mut self, f: Field<'_>) {
        if f.unresolved {
            return;
        }
        match f.name {
            b":method" => {
                let m = HttpMethod::from_bytes(f.value);
                self.method = Some(m);
                self.method_original =
                    (m == HttpMethod::Other).then(|| bounded_text(f.value, MAX_KEPT_METHOD));
            }
            b":path" => self.path = Some(bounded_text(f.value, MAX_KEPT_TARGET)),
            b":authority" => self.authority = Some(bounded_text(f.value, MAX_KEPT_TARGET)),
            b"host" => self.host = Some(bounded_text(f.value, MAX_KEPT_TARGET)),
            b"content-type" => self.grpc = is_grpc_content_type(f.value),
            b"grpc-timeout" => self.timeout_ms = parse_timeout(f.value),
            _ => {}
        }
    }
}

/// Response headers or trailers.
#[derive(Debug, Default)]
pub struct ResponseHead {
    pub status: Option<u16>,
    /// `Some(None)`: a `grpc-status` that was not a number.
    pub grpc_status: Option<Option<GrpcStatus>>,
    pub grpc_message: Option<String>,
}

impl ResponseHead {
    pub fn field(&mut self, f: Field<'_>) {
        if f.unresolved {
            return;
        }
        match f.name {
            b":status" => self.status = parse_status(f.value),
            b"grpc-status" => self.grpc_status = Some(GrpcStatus::from_header(f.value)),
            b"grpc-message" => self.grpc_message = Some(decode_message(f.value)),
            _ => {}
        }
    }
}

/// Three digits, 100..=999 (RFC 9110 §15).
fn parse_status(value: &[u8]) -> Option<u16> {
    match value {
        &[a @ b'1'..=b'9', b @ b'0'..=b'9', c @ b'0'..=b'9'] => {
            Some(u16::from(a - b'0') * 100 + u16::from(b - b'0') * 10 + u16::from(c - b'0'))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f<'a>(name: &'a [u8], value: &'a [u8]) -> Field<'a> {
        Field {
            name,
            value,
            unresolved: false,
            never_indexed: false,
        }
    }

    #[test]
    fn request_fields() {
        let mut r = RequestHead::default();
        r.field(f(b":method", b"PROPFIND"));
        r.field(f(b":path", b"/a?b"));
        r.field(f(b":authority", b"h:1"));
        r.field(f(b"content-type", b"application/grpc+proto"));
        r.field(f(b"grpc-timeout", b"10S"));
        r.field(Field {
            unresolved: true,
            ..f(b"", b"")
        });
        assert_eq!(r.method, Some(HttpMethod::Other));
        assert_eq!(r.method_original.as_deref(), Some("PROPFIND"));
        assert_eq!(
            (r.path.as_deref(), r.authority.as_deref()),
            (Some("/a?b"), Some("h:1"))
        );
        assert!(r.grpc);
        assert_eq!(r.timeout_ms, Some(10_000));
    }

    #[test]
    fn response_fields() {
        let mut r = ResponseHead::default();
        r.field(f(b":status", b"204"));
        r.field(f(b"grpc-status", b"x"));
        assert_eq!(r.status, Some(204));
        assert_eq!(r.grpc_status, Some(None));
        for bad in [&b"20"[..], b"2000", b"099", b"abc"] {
            assert_eq!(parse_status(bad), None);
        }
    }
}

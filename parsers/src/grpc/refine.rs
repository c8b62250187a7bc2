//! From HTTP/2 headers and DATA to a [`GrpcCall`]: the pieces both paths
//! share. The L4 parser drives a [`CallBuilder`] from frames; the L7 proxy
//! can drive the same builder from hyper's request, body frames and
//! trailers, so the two paths cannot disagree on what a call was.

use super::framing::MessageCounter;
use super::{GrpcCall, GrpcStatus, MAX_GRPC_MESSAGE};
use crate::event::bounded_text;

/// Longest `:path` accepted as a gRPC method (longer never becomes a label).
pub const MAX_METHOD: usize = 256;

/// `content-type: application/grpc`, `application/grpc+proto`, ... (not
/// `application/grpc-web`, a different wire format).
pub fn is_grpc_content_type(value: &[u8]) -> bool {
    let Some(rest) = value.strip_prefix(b"application/grpc") else {
        return false;
    };
    matches!(rest.first(), None | Some(b'+' | b';'))
}

/// `package.Service/Method` from a `:path` of the gRPC shape
/// `/package.Service/Method`; `None` for anything else (a query, extra
/// segments, odd characters), so arbitrary paths never become labels.
/// A service without a package (`/Service/Method`) is accepted: protobuf
/// allows it.
pub fn method_from_path(path: &str) -> Option<&str> {
    let full = path.strip_prefix('/')?;
    if full.len() > MAX_METHOD {
        return None;
    }
    let (service, method) = full.split_once('/')?;
    let ident =
        |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    let service_ok = !service.is_empty() && service.split('.').all(ident);
    (service_ok && ident(method)).then_some(full)
}

/// `grpc-timeout` (`1*8DIGIT unit`, units H M S m u n) in milliseconds;
/// sub-millisecond remainders round down.
pub fn parse_timeout(value: &[u8]) -> Option<u64> {
    let (&unit, digits) = value.split_last()?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n = digits
        .iter()
        .fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
    Some(match unit {
        b'H' => n * 3_600_000,
        b'M' => n * 60_000,
        b'S' => n * 1000,
        b'm' => n,
        b'u' => n / 1000,
        b'n' => n / 1_000_000,
        _ => return None,
    })
}

/// `grpc-message` is percent-encoded (PROTOCOL-HTTP2.md); malformed
/// escapes are kept as sent. The result is bounded.
pub fn decode_message(value: &[u8]) -> String {
    let cap = MAX_GRPC_MESSAGE.saturating_mul(3).min(value.len());
    let mut out = Vec::with_capacity(cap);
    let mut i = 0;
    while let Some(&b) = value.get(i) {
        if out.len() >= MAX_GRPC_MESSAGE * 2 {
            break;
        }
        let hex = |j: usize| value.get(j).and_then(|c| (*c as char).to_digit(16));
        match (b, hex(i + 1), hex(i + 2)) {
            (b'%', Some(hi), Some(lo)) => {
                out.push((hi * 16 + lo) as u8);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    bounded_text(&out, MAX_GRPC_MESSAGE)
}

/// Accumulates one call: request headers, DATA both ways, response
/// headers and trailers.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CallBuilder {
    call: GrpcCall,
    requests: MessageCounter,
    responses: MessageCounter,
}

impl CallBuilder {
    /// A call whose request had a gRPC content type and this `:path`.
    pub fn new(path: &str) -> CallBuilder {
        CallBuilder {
            call: GrpcCall {
                method: method_from_path(path).map(str::to_owned),
                ..GrpcCall::default()
            },
            ..CallBuilder::default()
        }
    }

    /// A request header (only `grpc-timeout` matters).
    pub fn request_header(&mut self, name: &[u8], value: &[u8]) {
        if name == b"grpc-timeout" {
            self.call.timeout_ms = parse_timeout(value);
        }
    }

    /// A response header or trailer: `grpc-status` and `grpc-message`
    /// come in trailers, or in the headers of a trailers-only response.
    pub fn response_header(&mut self, name: &[u8], value: &[u8]) {
        match name {
            b"grpc-status" => self.call.status = GrpcStatus::from_header(value),
            b"grpc-message" => self.call.message = Some(decode_message(value)),
            _ => {}
        }
    }

    pub fn set_timeout_ms(&mut self, timeout_ms: Option<u64>) {
        self.call.timeout_ms = timeout_ms;
    }

    /// A `grpc-status` already parsed (`None`: present but not a number).
    pub fn set_status(&mut self, status: Option<GrpcStatus>) {
        self.call.status = status;
    }

    /// A `grpc-message` already decoded and bounded.
    pub fn set_message(&mut self, message: String) {
        self.call.message = Some(message);
    }

    pub fn request_data(&mut self, data: &[u8]) {
        self.requests.feed(data);
    }

    pub fn response_data(&mut self, data: &[u8]) {
        self.responses.feed(data);
    }

    /// The call as seen so far.
    pub fn call(&self) -> GrpcCall {
        GrpcCall {
            request_messages: self.requests.messages(),
            response_messages: self.responses.messages(),
            compressed_messages: self.requests.compressed() + self.responses.compressed(),
            request_message_bytes: self.requests.message_bytes(),
            response_message_bytes: self.responses.message_bytes(),
            ..self.call.clone()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::framing::encode_message;
    use super::*;

    #[test]
    fn method_only_from_grpc_shaped_paths() {
        let m = method_from_path;
        assert_eq!(
            m("/helloworld.Greeter/SayHello"),
            Some("helloworld.Greeter/SayHello")
        );
        assert_eq!(
            m("/grpc.health.v1.Health/Check"),
            Some("grpc.health.v1.Health/Check")
        );
        assert_eq!(m("/Greeter/SayHello"), Some("Greeter/SayHello"));
        for bad in [
            "/",
            "/a",
            "/a/b/c",
            "/a.b/",
            "//m",
            "/a..b/m",
            "/a.b/m?x=1",
            "a.b/m",
            "/a b/m",
            "/.a/m",
        ] {
            assert_eq!(m(bad), None, "{bad}");
        }
        assert_eq!(m(&format!("/a.{}/m", "s".repeat(300))), None);
    }

    #[test]
    fn timeouts_in_every_unit() {
        let t = |s: &str| parse_timeout(s.as_bytes());
        assert_eq!(t("1H"), Some(3_600_000));
        assert_eq!(t("2M"), Some(120_000));
        assert_eq!(t("5S"), Some(5000));
        assert_eq!(t("250m"), Some(250));
        assert_eq!(t("1500u"), Some(1));
        assert_eq!(t("99999999n"), Some(99));
        assert_eq!(t("99999999H"), Some(99_999_999 * 3_600_000));
        for bad in ["", "S", "123456789S", "10x", "1.5S", "-1S"] {
            assert_eq!(t(bad), None, "{bad}");
        }
    }

    #[test]
    fn messages_are_percent_decoded_and_bounded() {
        assert_eq!(decode_message(b"not%20found%3A x"), "not found: x");
        assert_eq!(decode_message(b"100%"), "100%");
        assert_eq!(decode_message(b"%zz%e2%82%ac"), "%zz€");
        assert!(decode_message(&[b'a'; 10_000]).len() <= MAX_GRPC_MESSAGE);
        assert!(decode_message(&b"%ff".repeat(5000)).len() <= MAX_GRPC_MESSAGE);
    }

    #[test]
    fn content_types() {
        assert!(is_grpc_content_type(b"application/grpc"));
        assert!(is_grpc_content_type(b"application/grpc+proto"));
        assert!(is_grpc_content_type(b"application/grpc;charset=utf-8"));
        assert!(!is_grpc_content_type(b"application/grpc-web"));
        assert!(!is_grpc_content_type(b"application/json"));
    }

    #[test]
    fn builder_assembles_a_call() {
        let mut b = CallBuilder::new("/pkg.Svc/Do");
        b.request_header(b"grpc-timeout", b"3S");
        b.request_data(&encode_message(false, b"req"));
        b.response_data(&encode_message(true, b"r1"));
        b.response_data(&encode_message(false, b"r2"));
        b.response_header(b"grpc-status", b"5");
        b.response_header(b"grpc-message", b"no%20such");
        let call = b.call();
        assert_eq!(call.method.as_deref(), Some("pkg.Svc/Do"));
        assert_eq!(call.status, Some(GrpcStatus::NotFound));
        assert_eq!(call.message.as_deref(), Some("no such"));
        assert_eq!((call.request_messages, call.response_messages), (1, 2));
        assert_eq!(call.compressed_messages, 1);
        assert_eq!(
            (call.request_message_bytes, call.response_message_bytes),
            (3, 4)
        );
        assert_eq!(call.timeout_ms, Some(3000));
        assert_eq!(call.kind(), crate::grpc::CallKind::ServerStreaming);
    }
}

//! gRPC on the L7 path: recognising calls, reading their status, and
//! answering failures the way gRPC clients understand.
//!
//! A gRPC client that gets an HTTP 502 page sees only "unexpected HTTP
//! status"; a trailers-only response (HTTP 200, `grpc-status` in the
//! headers) tells it UNAVAILABLE or DEADLINE_EXCEEDED, so its retry and
//! deadline logic work, as with Envoy.
use crate::pipeline::UpstreamFailure;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use periscope_parsers::event::bounded_text;
use periscope_parsers::grpc::{GrpcCall, GrpcStatus, MAX_GRPC_MESSAGE};

pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/grpc"))
}

/// `package.Service/Method` from a gRPC path `/package.Service/Method`.
pub fn method_from_path(path: &str) -> Option<&str> {
    let method = path.strip_prefix('/')?;
    let (service, name) = method.split_once('/')?;
    let token = |s: &str| {
        !s.is_empty()
            && s.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
    };
    (token(service) && token(name)).then_some(method)
}

/// A call as seen at request time; status and counts fill in later.
pub fn call_for(path: &str) -> GrpcCall {
    GrpcCall {
        method: method_from_path(path).map(|m| bounded_text(m.as_bytes(), 255)),
        ..GrpcCall::default()
    }
}

/// Take `grpc-status` / `grpc-message` from trailers, or from the headers
/// of a trailers-only response.
pub fn read_status(call: &mut GrpcCall, headers: &HeaderMap) {
    if let Some(status) = headers
        .get("grpc-status")
        .and_then(|v| GrpcStatus::from_header(v.as_bytes()))
    {
        call.status = Some(status);
        call.message = headers
            .get("grpc-message")
            .map(|v| bounded_text(v.as_bytes(), MAX_GRPC_MESSAGE));
    }
}

/// The gRPC status Periscope answers with for an upstream failure.
pub fn failure_status(failure: UpstreamFailure) -> (GrpcStatus, &'static str) {
    match failure {
        UpstreamFailure::ConnectFailure => (GrpcStatus::Unavailable, "upstream connect error"),
        UpstreamFailure::Timeout => (GrpcStatus::DeadlineExceeded, "upstream request timeout"),
        UpstreamFailure::Reset => (GrpcStatus::Unavailable, "upstream reset"),
        UpstreamFailure::Protocol => (GrpcStatus::Internal, "upstream protocol error"),
    }
}

/// Headers of a trailers-only response carrying `status`.
pub fn trailers_only_headers(status: GrpcStatus, message: &str) -> HeaderMap {
    let mut headers = HeaderMap::new();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/grpc"));
    let code = GrpcStatus::ALL
        .iter()
        .position(|s| *s == status)
        .unwrap_or(2);
    if let Ok(value) = HeaderValue::from_str(&code.to_string()) {
        headers.insert("grpc-status", value);
    }
    if let Ok(value) = HeaderValue::from_str(message) {
        headers.insert("grpc-message", value);
    }
    headers
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_grpc_shaped_paths_name_a_method() {
        assert_eq!(
            method_from_path("/helloworld.Greeter/SayHello"),
            Some("helloworld.Greeter/SayHello")
        );
        assert_eq!(method_from_path("/"), None);
        assert_eq!(method_from_path("/a/b/c"), None);
        assert_eq!(method_from_path("/svc/"), None);
        assert_eq!(method_from_path("/svc/m?x=1"), None);
    }

    #[test]
    fn failures_map_to_the_statuses_clients_expect() {
        let headers = trailers_only_headers(failure_status(UpstreamFailure::Timeout).0, "t");
        assert_eq!(headers["grpc-status"], "4");
        let headers = trailers_only_headers(failure_status(UpstreamFailure::ConnectFailure).0, "c");
        assert_eq!(headers["grpc-status"], "14");
        assert_eq!(headers[CONTENT_TYPE], "application/grpc");
    }

    #[test]
    fn status_comes_from_trailers() {
        let mut call = call_for("/pkg.Svc/M");
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("5"));
        trailers.insert("grpc-message", HeaderValue::from_static("no such thing"));
        read_status(&mut call, &trailers);
        assert_eq!(call.status, Some(GrpcStatus::NotFound));
        assert_eq!(call.message.as_deref(), Some("no such thing"));
    }
}

//! gRPC on the L7 path: recognising calls, reading their status, and
//! answering failures the way gRPC clients understand.
//!
//! A gRPC client that gets an HTTP 502 page sees only "unexpected HTTP
//! status"; a trailers-only response (HTTP 200, `grpc-status` in the
//! headers) tells it UNAVAILABLE or DEADLINE_EXCEEDED, so its retry and
//! deadline logic work, as with Envoy.
use crate::pipeline::UpstreamFailure;
use http::header::{HeaderMap, HeaderValue, CONTENT_TYPE};
use periscope_parsers::grpc::{is_grpc_content_type, CallBuilder, GrpcStatus};

pub fn is_grpc(headers: &HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| is_grpc_content_type(v.as_bytes()))
}

/// The call as seen at request time: method from `:path`, `grpc-timeout`.
pub fn call_for(parts: &http::request::Parts) -> CallBuilder {
    let mut call = CallBuilder::new(parts.uri.path());
    if let Some(timeout) = parts.headers.get("grpc-timeout") {
        call.request_header(b"grpc-timeout", timeout.as_bytes());
    }
    call
}

/// Response headers (a trailers-only response) or trailers: the status.
pub fn read_status(call: &mut CallBuilder, headers: &HeaderMap) {
    for name in ["grpc-status", "grpc-message"] {
        if let Some(value) = headers.get(name) {
            call.response_header(name.as_bytes(), value.as_bytes());
        }
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
    fn failures_map_to_the_statuses_clients_expect() {
        let headers = trailers_only_headers(failure_status(UpstreamFailure::Timeout).0, "t");
        assert_eq!(headers["grpc-status"], "4");
        let headers = trailers_only_headers(failure_status(UpstreamFailure::ConnectFailure).0, "c");
        assert_eq!(headers["grpc-status"], "14");
        assert_eq!(headers[CONTENT_TYPE], "application/grpc");
    }

    #[test]
    fn status_comes_from_trailers_and_timeout_from_the_request() {
        let request = http::Request::post("/pkg.Svc/M")
            .header("grpc-timeout", "250m")
            .body(())
            .expect("request");
        let (parts, ()) = request.into_parts();
        let mut call = call_for(&parts);
        let mut trailers = HeaderMap::new();
        trailers.insert("grpc-status", HeaderValue::from_static("5"));
        trailers.insert(
            "grpc-message",
            HeaderValue::from_static("no%20such%20thing"),
        );
        read_status(&mut call, &trailers);
        let call = call.call();
        assert_eq!(call.method.as_deref(), Some("pkg.Svc/M"));
        assert_eq!(call.timeout_ms, Some(250));
        assert_eq!(call.status, Some(GrpcStatus::NotFound));
        assert_eq!(call.message.as_deref(), Some("no such thing"));
    }
}

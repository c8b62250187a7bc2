//! gRPC over HTTP/2: the refinement of an HTTP exchange into an RPC call.
//!
//! Contract shared by both paths: the L4 HTTP/2 parser fills a `GrpcCall`
//! from the frames it reads, the L7 proxy from hyper's request, body frames
//! and trailers. Message framing (5-byte length prefix, split across DATA
//! frames arbitrarily) is counted without buffering messages.
use crate::event::AttrValue;

mod framing;
mod refine;

pub use framing::{encode_message, MessageCounter};
pub use refine::{
    decode_message, is_grpc_content_type, method_from_path, parse_timeout, CallBuilder, MAX_METHOD,
};

/// Longest `grpc-message` kept.
pub const MAX_GRPC_MESSAGE: usize = 512;

/// gRPC status codes (grpc/doc/statuscodes.md); anything else is `Other`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum GrpcStatus {
    Ok,
    Cancelled,
    Unknown,
    InvalidArgument,
    DeadlineExceeded,
    NotFound,
    AlreadyExists,
    PermissionDenied,
    ResourceExhausted,
    FailedPrecondition,
    Aborted,
    OutOfRange,
    Unimplemented,
    Internal,
    Unavailable,
    DataLoss,
    Unauthenticated,
    Other,
}

impl GrpcStatus {
    pub const ALL: [GrpcStatus; 18] = [
        GrpcStatus::Ok,
        GrpcStatus::Cancelled,
        GrpcStatus::Unknown,
        GrpcStatus::InvalidArgument,
        GrpcStatus::DeadlineExceeded,
        GrpcStatus::NotFound,
        GrpcStatus::AlreadyExists,
        GrpcStatus::PermissionDenied,
        GrpcStatus::ResourceExhausted,
        GrpcStatus::FailedPrecondition,
        GrpcStatus::Aborted,
        GrpcStatus::OutOfRange,
        GrpcStatus::Unimplemented,
        GrpcStatus::Internal,
        GrpcStatus::Unavailable,
        GrpcStatus::DataLoss,
        GrpcStatus::Unauthenticated,
        GrpcStatus::Other,
    ];

    pub fn from_code(code: u32) -> GrpcStatus {
        GrpcStatus::ALL
            .get(code as usize)
            .copied()
            .filter(|s| *s != GrpcStatus::Other)
            .unwrap_or(GrpcStatus::Other)
    }

    /// Parses a `grpc-status` header value ("0".."16").
    pub fn from_header(value: &[u8]) -> Option<GrpcStatus> {
        let text = std::str::from_utf8(value).ok()?;
        text.trim().parse::<u32>().ok().map(GrpcStatus::from_code)
    }

    /// The `rpc_response_status_code` label: the code's name.
    pub fn as_str(self) -> &'static str {
        match self {
            GrpcStatus::Ok => "OK",
            GrpcStatus::Cancelled => "CANCELLED",
            GrpcStatus::Unknown => "UNKNOWN",
            GrpcStatus::InvalidArgument => "INVALID_ARGUMENT",
            GrpcStatus::DeadlineExceeded => "DEADLINE_EXCEEDED",
            GrpcStatus::NotFound => "NOT_FOUND",
            GrpcStatus::AlreadyExists => "ALREADY_EXISTS",
            GrpcStatus::PermissionDenied => "PERMISSION_DENIED",
            GrpcStatus::ResourceExhausted => "RESOURCE_EXHAUSTED",
            GrpcStatus::FailedPrecondition => "FAILED_PRECONDITION",
            GrpcStatus::Aborted => "ABORTED",
            GrpcStatus::OutOfRange => "OUT_OF_RANGE",
            GrpcStatus::Unimplemented => "UNIMPLEMENTED",
            GrpcStatus::Internal => "INTERNAL",
            GrpcStatus::Unavailable => "UNAVAILABLE",
            GrpcStatus::DataLoss => "DATA_LOSS",
            GrpcStatus::Unauthenticated => "UNAUTHENTICATED",
            GrpcStatus::Other => "_OTHER",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Call shape, from the messages each way.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CallKind {
    Unary,
    ClientStreaming,
    ServerStreaming,
    BidiStreaming,
}

impl CallKind {
    /// One message each way is unary; more than one on a side streams it.
    pub fn from_counts(requests: u64, responses: u64) -> CallKind {
        match (requests > 1, responses > 1) {
            (false, false) => CallKind::Unary,
            (true, false) => CallKind::ClientStreaming,
            (false, true) => CallKind::ServerStreaming,
            (true, true) => CallKind::BidiStreaming,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            CallKind::Unary => "unary",
            CallKind::ClientStreaming => "client_streaming",
            CallKind::ServerStreaming => "server_streaming",
            CallKind::BidiStreaming => "bidi_streaming",
        }
    }
}

/// One gRPC call, refined from an HTTP/2 exchange whose request had
/// `content-type: application/grpc*`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct GrpcCall {
    /// `package.Service/Method` when `:path` has the gRPC shape
    /// `/package.Service/Method`; `None` otherwise (never a label then).
    pub method: Option<String>,
    /// From trailers, or from the headers of a trailers-only response;
    /// `None` when the call ended without one (reset, connection lost).
    pub status: Option<GrpcStatus>,
    /// `grpc-message`, bounded.
    pub message: Option<String>,
    pub request_messages: u64,
    pub response_messages: u64,
    /// Messages with the compressed flag set, both ways.
    pub compressed_messages: u64,
    /// Sum of the request messages' declared lengths (5-byte prefixes
    /// excluded; compressed sizes for compressed messages).
    pub request_message_bytes: u64,
    /// Same for the response messages.
    pub response_message_bytes: u64,
    /// `grpc-timeout`, in milliseconds.
    pub timeout_ms: Option<u64>,
}

impl GrpcCall {
    pub fn kind(&self) -> CallKind {
        CallKind::from_counts(self.request_messages, self.response_messages)
    }

    pub fn attributes(&self) -> Vec<(&'static str, AttrValue)> {
        let mut attrs = vec![("rpc.system.name", AttrValue::Str("grpc".to_owned()))];
        if let Some(method) = &self.method {
            attrs.push(("rpc.method", AttrValue::Str(method.clone())));
        }
        if let Some(status) = self.status {
            attrs.push((
                "rpc.response.status_code",
                AttrValue::Str(status.as_str().to_owned()),
            ));
        }
        if let Some(message) = &self.message {
            attrs.push(("rpc.grpc.status_message", AttrValue::Str(message.clone())));
        }
        attrs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_codes_map_to_names_and_unknown_codes_to_other() {
        assert_eq!(GrpcStatus::from_code(0).as_str(), "OK");
        assert_eq!(GrpcStatus::from_code(14).as_str(), "UNAVAILABLE");
        assert_eq!(GrpcStatus::from_code(16).as_str(), "UNAUTHENTICATED");
        assert_eq!(GrpcStatus::from_code(17), GrpcStatus::Other);
        assert_eq!(
            GrpcStatus::from_header(b"4"),
            Some(GrpcStatus::DeadlineExceeded)
        );
        assert_eq!(GrpcStatus::from_header(b"x"), None);
        for (i, s) in GrpcStatus::ALL.iter().enumerate() {
            assert_eq!(s.index(), i);
        }
    }

    #[test]
    fn call_kind_follows_message_counts() {
        assert_eq!(CallKind::from_counts(1, 1), CallKind::Unary);
        assert_eq!(CallKind::from_counts(3, 1), CallKind::ClientStreaming);
        assert_eq!(CallKind::from_counts(1, 5), CallKind::ServerStreaming);
        assert_eq!(CallKind::from_counts(2, 2), CallKind::BidiStreaming);
    }
}

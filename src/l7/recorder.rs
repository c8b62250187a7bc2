//! Turns one proxied request into an `Exchange` — the same event the L4
//! sniffer emits — and records it exactly once.
//!
//! Exactly once includes the paths where nobody calls `finish`: hyper drops
//! the request future when the client goes away before response headers
//! (HTTP/1 close, h2 stream reset), and the recorder's `Drop` then records
//! the request as incomplete.
use super::body::RequestBodyState;
use crate::pipeline::export::L7Export;
use crate::pipeline::{self, clock, Scope};
use periscope_parsers::event::{bounded_text, MAX_KEPT_TARGET};
use periscope_parsers::grpc::CallBuilder;
use periscope_parsers::{
    Exchange, ExchangeDetail, HttpExchange, HttpMethod, HttpVersion, Outcome, Protocol, Timestamp,
};
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub struct Recorder {
    scope: Arc<Scope>,
    started: Timestamp,
    method: HttpMethod,
    method_original: Option<String>,
    version: HttpVersion,
    target: String,
    host: Option<String>,
    pub status: Option<u16>,
    request_body: Arc<RequestBodyState>,
    pub response_body_bytes: u64,
    /// Set for gRPC requests; status and message counts fill in as the
    /// response streams.
    pub grpc: Option<CallBuilder>,
    recorded: bool,
    /// Span and access-log export (`None` when the listener exports
    /// neither); holds this request's span ids for `traceparent`.
    pub export: Option<Box<L7Export>>,
}

impl Recorder {
    pub fn start(
        scope: Arc<Scope>,
        started: Timestamp,
        parts: &http::request::Parts,
        request_body: Arc<RequestBodyState>,
    ) -> Recorder {
        let method = HttpMethod::from_bytes(parts.method.as_str().as_bytes());
        let target = parts
            .uri
            .path_and_query()
            .map_or("/", |pq| pq.as_str())
            .as_bytes();
        Recorder {
            scope,
            started,
            method,
            method_original: (method == HttpMethod::Other)
                .then(|| bounded_text(parts.method.as_str().as_bytes(), 32)),
            version: version_of(parts.version),
            target: bounded_text(target, MAX_KEPT_TARGET),
            host: Some(super::router::host_of(parts))
                .filter(|h| !h.is_empty())
                .map(|h| bounded_text(h.as_bytes(), MAX_KEPT_TARGET)),
            status: None,
            request_body,
            response_body_bytes: 0,
            grpc: super::grpc::is_grpc(&parts.headers).then(|| super::grpc::call_for(parts)),
            recorded: false,
            export: None,
        }
    }

    /// Record against another scope (the route is known only after routing).
    pub fn rescope(&mut self, scope: Arc<Scope>) {
        self.scope = scope;
    }

    pub fn finish(mut self, outcome: Outcome) {
        self.record(outcome);
    }

    fn record(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.recorded, true) {
            return;
        }
        let request_body_bytes = self.request_body.bytes.load(Ordering::Relaxed);
        let exchange = Exchange {
            protocol: match self.version {
                HttpVersion::Http2 => Protocol::Http2,
                _ => Protocol::Http1,
            },
            started: self.started,
            finished: clock::now(),
            request_bytes: request_body_bytes,
            response_bytes: self.response_body_bytes,
            outcome,
            detail: ExchangeDetail::Http(HttpExchange {
                method: self.method,
                method_original: self.method_original.take(),
                target: std::mem::take(&mut self.target),
                host: self.host.take(),
                version: self.version,
                status: self.status,
                request_body_bytes,
                response_body_bytes: self.response_body_bytes,
                upgraded: false,
                grpc: self.grpc.take().map(|builder| {
                    // Request messages were counted by the request body.
                    let mut call = builder.call();
                    call.request_messages = self.request_body.grpc_messages.load(Ordering::Relaxed);
                    call.compressed_messages +=
                        self.request_body.grpc_compressed.load(Ordering::Relaxed);
                    call
                }),
                dynamodb: None,
            }),
        };
        pipeline::record_http(&self.scope, &exchange);
        if let Some(export) = self.export.take() {
            export.finish(exchange);
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.record(Outcome::Incomplete);
    }
}

pub fn version_of(version: http::Version) -> HttpVersion {
    match version {
        http::Version::HTTP_10 | http::Version::HTTP_09 => HttpVersion::Http10,
        http::Version::HTTP_2 | http::Version::HTTP_3 => HttpVersion::Http2,
        _ => HttpVersion::Http11,
    }
}

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
use periscope_parsers::dynamodb::{BodyPrefix, DynamoCall};
use periscope_parsers::event::{bounded_text, MAX_KEPT_TARGET};
use periscope_parsers::grpc::CallBuilder;
use periscope_parsers::{
    Exchange, ExchangeDetail, HttpExchange, HttpMethod, HttpVersion, Outcome, Protocol, Timestamp,
};
use std::sync::atomic::Ordering;
use std::sync::Arc;

/// The response side of a DynamoDB call: the headers the refiner reads and
/// a bounded prefix of the body.
pub struct DynamoResponse {
    headers: Vec<(http::HeaderName, http::HeaderValue)>,
    pub body: BodyPrefix,
}

/// Response headers the DynamoDB refiner reads.
const DYNAMO_RESPONSE_HEADERS: [&str; 4] = [
    "x-amzn-requestid",
    "x-amz-request-id",
    "x-amz-crc32",
    "content-encoding",
];

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
    /// Boxed, as `dynamo` is: most requests are neither, and the recorder
    /// is moved with every request's state (inline, 392 bytes instead of
    /// 144, and the request handler's future past glibc's per-thread cache).
    pub grpc: Option<Box<CallBuilder>>,
    /// Set for DynamoDB requests once the upstream's response head came:
    /// the body's prefix fills in as it streams to the client.
    pub dynamo: Option<Box<DynamoResponse>>,
    recorded: bool,
    /// Counts this request on its downstream connection until recorded.
    pub in_flight: Option<super::idle::InFlight>,
    /// Span and access-log export (`None` when the listener exports
    /// neither); holds this request's span ids for `traceparent`.
    pub export: Option<Box<L7Export>>,
}

impl Recorder {
    /// `export`: the span and access-log entry, when the listener exports
    /// either. The request's target and host are copied only then: the
    /// metrics never read them, and two allocations a request were the
    /// price of keeping them for nobody.
    pub fn start(
        scope: Arc<Scope>,
        started: Timestamp,
        parts: &http::request::Parts,
        request_body: Arc<RequestBodyState>,
        export: Option<Box<L7Export>>,
    ) -> Recorder {
        let method = HttpMethod::from_bytes(parts.method.as_str().as_bytes());
        let (target, host) = match export {
            Some(_) => {
                let target = parts.uri.path_and_query().map_or("/", |pq| pq.as_str());
                let host = Some(super::router::host_of(parts)).filter(|h| !h.is_empty());
                (
                    bounded_text(target.as_bytes(), MAX_KEPT_TARGET),
                    host.map(|h| bounded_text(h.as_bytes(), MAX_KEPT_TARGET)),
                )
            }
            None => (String::new(), None),
        };
        Recorder {
            scope,
            started,
            method,
            method_original: (method == HttpMethod::Other)
                .then(|| bounded_text(parts.method.as_str().as_bytes(), 32)),
            version: version_of(parts.version),
            target,
            host,
            status: None,
            request_body,
            response_body_bytes: 0,
            grpc: super::grpc::is_grpc(&parts.headers)
                .then(|| Box::new(super::grpc::call_for(parts))),
            dynamo: None,
            recorded: false,
            in_flight: None,
            export,
        }
    }

    /// Record against another scope (the route is known only after routing).
    pub fn rescope(&mut self, scope: Arc<Scope>) {
        self.scope = scope;
    }

    /// The listener's stream idle timeout.
    pub fn stream_idle(&self) -> Option<std::time::Duration> {
        self.request_body.stream_idle
    }

    /// The upstream's response head arrived.
    pub fn response_head(&mut self, parts: &http::response::Parts) {
        self.status = Some(parts.status.as_u16());
        if let Some(call) = self.grpc.as_mut() {
            // A trailers-only response carries the status in its headers.
            super::grpc::read_status(call, &parts.headers);
        }
        if let Some(request) = &self.request_body.dynamo {
            let headers = DYNAMO_RESPONSE_HEADERS
                .iter()
                .filter_map(|name| {
                    let value = parts.headers.get(*name)?;
                    Some((http::HeaderName::from_static(name), value.clone()))
                })
                .collect();
            self.dynamo = Some(Box::new(DynamoResponse {
                headers,
                body: BodyPrefix::new(request.cap()),
            }));
        }
    }

    /// The DynamoDB call, from what the request body and the response said.
    fn dynamo_call(&mut self) -> Option<Box<DynamoCall>> {
        let refiner = self.request_body.dynamo_refiner()?;
        let call = match (self.dynamo.take(), self.status) {
            (Some(response), Some(status)) => {
                let headers = response
                    .headers
                    .iter()
                    .map(|(name, value)| (name.as_str().as_bytes(), value.as_bytes()));
                refiner.response_streamed(status, headers, &response.body)
            }
            // A local answer (no route, upstream failure): the status is
            // Periscope's, there is no body to read.
            (None, Some(status)) => refiner.response(status, std::iter::empty(), b"", false),
            (_, None) => refiner.without_response(),
        };
        Some(Box::new(call))
    }

    pub fn finish(mut self, outcome: Outcome) {
        self.record(outcome);
    }

    fn record(&mut self, outcome: Outcome) {
        if std::mem::replace(&mut self.recorded, true) {
            return;
        }
        let request_body_bytes = self.request_body.bytes.load(Ordering::Relaxed);
        let dynamodb = self.dynamo_call();
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
                upgraded: self.status == Some(101),
                grpc: self.grpc.take().map(|builder| {
                    // Request messages were counted by the request body.
                    let mut call = builder.call();
                    call.request_messages = self.request_body.grpc_messages.load(Ordering::Relaxed);
                    call.compressed_messages +=
                        self.request_body.grpc_compressed.load(Ordering::Relaxed);
                    call
                }),
                dynamodb,
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

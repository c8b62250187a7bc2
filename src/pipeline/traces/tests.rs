//! Span building and the hot path's queue: names, kinds, statuses and
//! attributes per protocol, and drops counted when the queue is full.
use super::span::build;
use super::{SpanIds, SpanJob, Tracer};
use crate::pipeline::export::{ExchangeContext, ListenerExport, WallClock};
use opentelemetry::trace::{SpanKind, Status};
use opentelemetry::InstrumentationScope;
use periscope_parsers::grpc::{GrpcCall, GrpcStatus};
use periscope_parsers::mongodb::{CommandKind, MongoExchange, MongoReply, OpCode, SessionInfo};
use periscope_parsers::{
    Exchange, ExchangeDetail, HttpExchange, HttpMethod, HttpVersion, Outcome, Protocol, Timestamp,
};
use std::time::Duration;

fn http(method: HttpMethod, status: Option<u16>, grpc: Option<GrpcCall>) -> Exchange {
    Exchange {
        protocol: Protocol::Http2,
        started: Timestamp(1_000),
        finished: Timestamp(3_001_000),
        request_bytes: 10,
        response_bytes: 20,
        outcome: if status.is_some() {
            Outcome::Complete
        } else {
            Outcome::Incomplete
        },
        detail: ExchangeDetail::Http(HttpExchange {
            method,
            method_original: None,
            target: "/a?b=c".to_owned(),
            host: Some("example.com".to_owned()),
            version: HttpVersion::Http2,
            status,
            request_body_bytes: 10,
            response_body_bytes: 20,
            upgraded: false,
            grpc,
            dynamodb: None,
        }),
    }
}

fn mongo(kind: CommandKind, reply: MongoReply) -> Exchange {
    Exchange {
        protocol: Protocol::Mongodb,
        started: Timestamp(0),
        finished: Timestamp(1_000_000),
        request_bytes: 100,
        response_bytes: 200,
        outcome: Outcome::Complete,
        detail: ExchangeDetail::Mongo(MongoExchange {
            op_code: OpCode::Msg,
            compressor: None,
            request_id: 7,
            command: "insert".to_owned(),
            command_label: "insert",
            kind,
            database: Some("shop".to_owned()),
            collection: Some("orders".to_owned()),
            session: SessionInfo::default(),
            fire_and_forget: false,
            reply: Some(reply),
            query_text: None,
            request_documents: 1,
        }),
    }
}

fn job(exchange: Exchange, route: Option<&str>, upstream: Option<&str>) -> SpanJob {
    SpanJob {
        listener: "edge".into(),
        port: 10000,
        context: ExchangeContext {
            peer: "10.0.0.9:5555".parse().ok(),
            route: route.map(str::to_owned),
            cluster: Some("web".to_owned()),
            upstream: upstream.map(str::to_owned),
            request_id: None,
            span: Some(SpanIds::start(None, 1.0)),
        },
        exchange,
    }
}

fn span(job: SpanJob) -> opentelemetry_sdk::trace::SpanData {
    let scope = InstrumentationScope::builder("periscope").build();
    build(job, &WallClock::now(), &scope).expect("a span")
}

fn attr(span: &opentelemetry_sdk::trace::SpanData, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key.as_str() == key)
        .map(|kv| kv.value.to_string())
}

#[test]
fn http_server_spans_are_named_by_method_and_route() {
    let s = span(job(
        http(HttpMethod::Get, Some(200), None),
        Some("api"),
        None,
    ));
    assert_eq!(s.name, "GET api");
    assert_eq!(s.span_kind, SpanKind::Server);
    assert_eq!(s.status, Status::Unset);
    assert_eq!(
        s.end_time.duration_since(s.start_time).ok(),
        Some(Duration::from_millis(3))
    );
    assert_eq!(attr(&s, "server.address").as_deref(), Some("example.com"));
    assert_eq!(attr(&s, "server.port").as_deref(), Some("10000"));
    assert_eq!(
        attr(&s, "network.peer.address").as_deref(),
        Some("10.0.0.9")
    );
    assert_eq!(attr(&s, "url.query").as_deref(), Some("b=c"));

    let sniffed = span(job(http(HttpMethod::Other, Some(503), None), None, None));
    assert_eq!(sniffed.name, "HTTP", "unknown methods name the span HTTP");
    assert_eq!(sniffed.status, Status::error("503"));
    assert_eq!(attr(&sniffed, "error.type").as_deref(), Some("503"));

    let broken = span(job(http(HttpMethod::Post, None, None), Some("api"), None));
    assert_eq!(broken.status, Status::error("incomplete"));
}

#[test]
fn grpc_spans_are_named_by_rpc_method_and_fail_on_non_ok() {
    let call = |status| GrpcCall {
        method: Some("shop.Cart/Add".to_owned()),
        status,
        ..GrpcCall::default()
    };
    let ok = span(job(
        http(
            HttpMethod::Post,
            Some(200),
            Some(call(Some(GrpcStatus::Ok))),
        ),
        Some("rpc"),
        None,
    ));
    assert_eq!(ok.name, "shop.Cart/Add");
    assert_eq!(ok.span_kind, SpanKind::Server);
    assert_eq!(ok.status, Status::Unset);
    assert_eq!(attr(&ok, "rpc.method").as_deref(), Some("shop.Cart/Add"));
    let failed = span(job(
        http(
            HttpMethod::Post,
            Some(200),
            Some(call(Some(GrpcStatus::Unavailable))),
        ),
        Some("rpc"),
        None,
    ));
    assert_eq!(failed.status, Status::error("UNAVAILABLE"));
}

#[test]
fn mongodb_operations_are_client_spans_against_the_upstream() {
    let ok = MongoReply {
        ok: true,
        messages: 1,
        ..MongoReply::default()
    };
    let s = span(job(
        mongo(CommandKind::Operation, ok),
        None,
        Some("db.internal:27017"),
    ));
    assert_eq!(s.name, "insert orders");
    assert_eq!(s.span_kind, SpanKind::Client);
    assert_eq!(s.status, Status::Unset);
    assert_eq!(attr(&s, "server.address").as_deref(), Some("db.internal"));
    assert_eq!(attr(&s, "server.port").as_deref(), Some("27017"));
    assert_eq!(attr(&s, "db.system.name").as_deref(), Some("mongodb"));

    let failed = MongoReply {
        ok: false,
        code: Some(13),
        errmsg: Some("not authorized".to_owned()),
        messages: 1,
        ..MongoReply::default()
    };
    let s = span(job(mongo(CommandKind::Operation, failed), None, None));
    assert_eq!(s.status, Status::error("not authorized"));
    assert_eq!(attr(&s, "db.response.status_code").as_deref(), Some("13"));
}

#[tokio::test]
async fn a_full_queue_drops_and_counts_never_waits() {
    let (queue, _jobs) = tokio::sync::mpsc::channel(2);
    let dropped = prometheus::IntCounter::new("d", "d").expect("counter");
    let tracer = Tracer {
        queue,
        dropped: dropped.clone(),
        sampling_ratio: 1.0,
    };
    let to = ListenerExport {
        tracer: Some(tracer.clone()),
        ..ListenerExport::off("edge", 1)
    };
    for _ in 0..5 {
        to.exchange(
            ExchangeContext::default(),
            http(HttpMethod::Get, Some(200), None),
        );
    }
    assert_eq!(dropped.get(), 3);
    // Handshakes and unsampled spans never take a queue slot.
    let unsampled = ExchangeContext {
        span: Some(SpanIds::start(None, 0.0)),
        ..ExchangeContext::default()
    };
    tracer.submit(&to, unsampled, http(HttpMethod::Get, Some(200), None));
    let hello = MongoReply::default();
    to.exchange(
        ExchangeContext::default(),
        mongo(CommandKind::Handshake, hello),
    );
    assert_eq!(dropped.get(), 3);
}

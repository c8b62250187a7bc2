//! One exchange → one OpenTelemetry span: kind, name, attributes and status
//! per the semantic conventions, times from the exchange's timestamps.
use super::SpanJob;
use crate::pipeline::export::WallClock;
use opentelemetry::trace::{SpanContext, SpanId, SpanKind, Status, TraceFlags, TraceState};
use opentelemetry::{InstrumentationScope, KeyValue, Value};
use opentelemetry_sdk::trace::{SpanData, SpanEvents, SpanLinks};
use periscope_parsers::grpc::GrpcStatus;
use periscope_parsers::mongodb::CommandKind;
use periscope_parsers::{AttrValue, ExchangeDetail, HttpMethod, Outcome};
use std::borrow::Cow;

/// Whether an exchange becomes a span at all: MongoDB handshakes and
/// heartbeats (`hello`, `ping`, auth) are driver housekeeping that would
/// drown the operations, as they are kept out of operation metrics too.
pub fn exported(exchange: &periscope_parsers::Exchange) -> bool {
    match &exchange.detail {
        ExchangeDetail::Mongo(mongo) => mongo.kind == CommandKind::Operation,
        ExchangeDetail::Http(_) => true,
    }
}

pub fn build(job: SpanJob, clock: &WallClock, scope: &InstrumentationScope) -> Option<SpanData> {
    let ids = job.context.span?;
    let exchange = &job.exchange;
    let mut attributes: Vec<KeyValue> = exchange
        .attributes()
        .into_iter()
        .map(|(key, value)| KeyValue::new(key, otel_value(value)))
        .collect();
    let (kind, name, status) = match &exchange.detail {
        ExchangeDetail::Http(periscope_parsers::HttpExchange {
            dynamodb: Some(call),
            ..
        }) => dynamodb_span(call, exchange.outcome, &job, &mut attributes),
        ExchangeDetail::Http(http) => {
            let name = match (&http.grpc, job.context.route.as_deref()) {
                (Some(call), _) if call.method.is_some() => {
                    Cow::Owned(call.method.clone().unwrap_or_default())
                }
                (_, Some(route)) if !route.is_empty() => {
                    Cow::Owned(format!("{} {route}", method_for_name(http.method)))
                }
                _ => Cow::Borrowed(method_for_name(http.method)),
            };
            if !attributes.iter().any(|kv| kv.key.as_str() == "server.port") {
                attributes.push(KeyValue::new("server.port", i64::from(job.port)));
            }
            let status = match (&http.grpc, http.status) {
                (Some(call), _) => match call.status {
                    Some(GrpcStatus::Ok) => Status::Unset,
                    Some(other) => Status::error(other.as_str()),
                    None => Status::error("no grpc-status"),
                },
                (None, Some(code)) if code >= 500 => {
                    attributes.push(KeyValue::new("error.type", code.to_string()));
                    Status::error(code.to_string())
                }
                (None, Some(_)) => Status::Unset,
                (None, None) => Status::error("incomplete"),
            };
            (SpanKind::Server, name, status)
        }
        ExchangeDetail::Mongo(mongo) => {
            let target = mongo.collection.as_ref().or(mongo.database.as_ref());
            let name = match target {
                Some(target) => format!("{} {target}", mongo.command),
                None => mongo.command.clone(),
            };
            if let Some((host, port)) = job.context.upstream.as_deref().and_then(split_host_port) {
                attributes.push(KeyValue::new("server.address", host.to_owned()));
                attributes.push(KeyValue::new("server.port", i64::from(port)));
            }
            let status = if mongo.failed() {
                let reason = mongo
                    .reply
                    .as_ref()
                    .and_then(|r| r.errmsg.clone())
                    .unwrap_or_else(|| "operation failed".to_owned());
                Status::error(reason)
            } else if exchange.outcome == Outcome::Incomplete && !mongo.fire_and_forget {
                Status::error("incomplete")
            } else {
                Status::Unset
            };
            (SpanKind::Client, Cow::Owned(name), status)
        }
    };
    if let Some(peer) = job.context.peer {
        attributes.push(KeyValue::new("network.peer.address", peer.ip().to_string()));
        attributes.push(KeyValue::new("network.peer.port", i64::from(peer.port())));
    }
    attributes.push(KeyValue::new(
        "periscope.listener",
        job.listener.to_string(),
    ));
    for (key, value) in [
        ("periscope.route", &job.context.route),
        ("periscope.cluster", &job.context.cluster),
        ("periscope.upstream.address", &job.context.upstream),
        ("http.request.header.x-request-id", &job.context.request_id),
    ] {
        if let Some(value) = value.as_ref().filter(|v| !v.is_empty()) {
            attributes.push(KeyValue::new(key, value.clone()));
        }
    }
    let flags = if ids.sampled {
        TraceFlags::SAMPLED
    } else {
        TraceFlags::default()
    };
    Some(SpanData {
        span_context: SpanContext::new(
            ids.trace_id,
            ids.span_id,
            flags,
            false,
            TraceState::default(),
        ),
        parent_span_id: ids.parent.unwrap_or(SpanId::INVALID),
        parent_span_is_remote: ids.parent.is_some(),
        span_kind: kind,
        name,
        start_time: clock.wall(exchange.started),
        end_time: clock.wall(exchange.finished.max(exchange.started)),
        attributes,
        dropped_attributes_count: 0,
        events: SpanEvents::default(),
        links: SpanLinks::default(),
        status,
        instrumentation_scope: scope.clone(),
    })
}

/// A DynamoDB call is the client's database operation, seen in flight: a
/// CLIENT span named `{operation} {table}` (database span naming), with the
/// AWS SDK DynamoDB attributes beside the HTTP ones.
fn dynamodb_span(
    call: &periscope_parsers::dynamodb::DynamoCall,
    outcome: Outcome,
    job: &SpanJob,
    attributes: &mut Vec<KeyValue>,
) -> (SpanKind, Cow<'static, str>, Status) {
    use periscope_parsers::dynamodb::DynamoAttrValue;
    for (key, value) in call.attributes() {
        attributes.retain(|kv| kv.key.as_str() != key);
        let value = match value {
            DynamoAttrValue::Str(s) => Value::from(s),
            DynamoAttrValue::Int(i) => Value::I64(i),
            DynamoAttrValue::Bool(b) => Value::Bool(b),
            DynamoAttrValue::StrArray(v) => Value::Array(opentelemetry::Array::String(
                v.into_iter().map(Into::into).collect(),
            )),
        };
        attributes.push(KeyValue::new(key, value));
    }
    if let Some((host, port)) = job.context.upstream.as_deref().and_then(split_host_port) {
        attributes.retain(|kv| !matches!(kv.key.as_str(), "server.address" | "server.port"));
        attributes.push(KeyValue::new("server.address", host.to_owned()));
        attributes.push(KeyValue::new("server.port", i64::from(port)));
    }
    let name = match call.collection_name() {
        Some(table) => format!("{} {table}", call.operation_label),
        None => call.operation_label.to_owned(),
    };
    let status = match call.error_type() {
        Some(error) => Status::error(
            call.error
                .as_ref()
                .and_then(|e| e.message.clone())
                .unwrap_or(error),
        ),
        None if outcome == Outcome::Incomplete || call.status == 0 => Status::error("incomplete"),
        None => Status::Unset,
    };
    (SpanKind::Client, Cow::Owned(name), status)
}

/// OpenTelemetry: an unknown method names the span `HTTP`.
fn method_for_name(method: HttpMethod) -> &'static str {
    match method {
        HttpMethod::Other => "HTTP",
        known => known.as_str(),
    }
}

fn otel_value(value: AttrValue) -> Value {
    match value {
        AttrValue::Str(s) => Value::from(s),
        AttrValue::Int(i) => Value::I64(i),
        AttrValue::Bool(b) => Value::Bool(b),
    }
}

/// `host:port` or `[v6]:port`.
pub fn split_host_port(address: &str) -> Option<(&str, u16)> {
    let (host, port) = address.rsplit_once(':')?;
    let host = host.trim_start_matches('[').trim_end_matches(']');
    Some((host, port.parse().ok()?))
}

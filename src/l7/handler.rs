//! One request through the L7 path: route, then answer locally or forward
//! to the route's cluster, streaming both bodies.
use super::body::{CountedBody, RequestBodyState, ResponseBody};
use super::grpc;
use super::h1::DownstreamBody;
use super::h1::Switched;
use super::recorder::Recorder;
use super::route::Action;
use super::upgrade;
use super::HttpListener;
use crate::pipeline::clock;
use crate::pipeline::export::L7Export;
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode};
use periscope_parsers::grpc::GrpcStatus;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;

pub async fn handle(
    listener: Arc<HttpListener>,
    peer: SocketAddr,
    in_flight: super::idle::InFlight,
    request: Request<DownstreamBody>,
) -> Result<Response<ResponseBody>, Infallible> {
    let started = clock::now();
    let (mut parts, body) = request.into_parts();
    let request_body = Arc::new(RequestBodyState::for_request(
        &parts.headers,
        listener.dynamodb_body_bytes,
        listener.stream_idle_timeout,
    ));
    // Telemetry export: continue the caller's `traceparent`, if any.
    let export = L7Export::begin(&listener.metrics.export, peer, &parts.headers);
    let mut recorder = Recorder::start(
        listener.no_route_scope.clone(),
        started,
        &parts,
        request_body.clone(),
        export,
    );
    recorder.in_flight = Some(in_flight);
    let Some(route) = listener.router.route(&parts) else {
        if recorder.grpc.is_some() {
            return Ok(grpc_reply(recorder, GrpcStatus::Unimplemented, "no route"));
        }
        return Ok(local_reply(recorder, StatusCode::NOT_FOUND, "no route\n"));
    };
    recorder.rescope(route.scope.clone());
    let cluster_name = match &route.action {
        Action::Forward(cluster) => Some(cluster.cluster.name.as_str()),
        _ => None,
    };
    L7Export::routed(&mut recorder.export, &route.name, cluster_name);
    // An upgrade request: refused here unless the route relays its type
    // to an HTTP/1.1 upstream; then only the type's index is kept, to
    // count how the upstream answered.
    let mut upgrade = None;
    if let Some(value) = upgrade::requested(parts.version, &parts.headers) {
        let relayable = match &route.action {
            Action::Forward(cluster) => {
                cluster.upstream_version(parts.version) == http::Version::HTTP_11
            }
            _ => false,
        };
        match route.upgrades.position(value) {
            // A body before the switch would leave both sides unsure where
            // the new protocol starts (WebSocket handshakes have none).
            Some(_) if !http_body::Body::is_end_stream(&body) => {
                listener.upgrades.count_refused(value);
                let text = "an upgrade request cannot have a body\n";
                return Ok(local_reply(recorder, StatusCode::BAD_REQUEST, text));
            }
            Some(index) if relayable => upgrade = Some(index),
            _ => {
                listener.upgrades.count_refused(value);
                return Ok(local_reply(recorder, StatusCode::FORBIDDEN, Bytes::new()));
            }
        }
    }
    let mut response = match &route.action {
        Action::Direct { status, body } => local_reply(recorder, *status, body.clone()),
        Action::Redirect {
            scheme,
            host,
            path,
            status,
        } => {
            let scheme = scheme.as_deref().unwrap_or(listener.scheme());
            let location = redirect_location(&parts, scheme, host, path);
            let mut response = local_reply(recorder, *status, Bytes::new());
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(http::header::LOCATION, value);
            }
            response
        }
        Action::Forward(cluster) => {
            if listener.secure {
                super::headers::set_forwarded_proto_https(&mut parts.headers);
            }
            let body = CountedBody::new(body, request_body.clone(), recorder.grpc.is_some());
            // Boxed: the forwarding future is most of a request's state;
            // boxed, the request future hyper moves around (into an h2
            // stream's task, into its box on HTTP/1) stays small and those
            // moves stop copying it. Boxed in a statement of its own: a
            // temporary lives to the end of its statement, so in the
            // awaiting one the unboxed future kept a slot in this future
            // (9.3 KiB instead of about 1), copied at every move.
            let forwarding = Box::pin(super::forward::forward(
                route,
                cluster,
                peer,
                parts,
                body,
                &request_body,
                recorder,
            ));
            forwarding.await
        }
    };
    if let Some(index) = upgrade {
        // Switched: counted once the relay starts; otherwise declined now.
        match response.extensions_mut().remove::<Switched>() {
            Some(switched) => {
                let switch = route.upgrades.switch(index, switched);
                response.extensions_mut().insert(switch);
            }
            None => route.upgrades.count_declined(index),
        }
    }
    route.response_edits.apply(response.headers_mut());
    Ok(response)
}

fn redirect_location(
    parts: &http::request::Parts,
    scheme: &str,
    host: &Option<String>,
    path: &Option<String>,
) -> String {
    let host = host.as_deref().unwrap_or_else(|| {
        parts
            .uri
            .authority()
            .map(|a| a.as_str())
            .or_else(|| parts.headers.get(http::header::HOST)?.to_str().ok())
            .unwrap_or("localhost")
    });
    // A replaced path keeps the request's query string, as Envoy does.
    let path_and_query = match (path.as_deref(), parts.uri.query()) {
        (Some(path), Some(query)) => format!("{path}?{query}"),
        (Some(path), None) => path.to_owned(),
        (None, _) => parts
            .uri
            .path_and_query()
            .map_or_else(|| "/".to_owned(), |pq| pq.as_str().to_owned()),
    };
    format!("{scheme}://{host}{path_and_query}")
}

/// A response Periscope writes itself: plain text, recorded like any other.
pub(super) fn local_reply(
    mut recorder: Recorder,
    status: StatusCode,
    body: impl Into<Bytes>,
) -> Response<ResponseBody> {
    recorder.status = Some(status.as_u16());
    let body = body.into();
    let mut response = Response::new(ResponseBody::local(body, Some(recorder)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain"),
    );
    response
}

/// A gRPC answer Periscope writes itself: trailers-only (HTTP 200, the
/// status in the headers), which every gRPC client understands.
pub(super) fn grpc_reply(
    mut recorder: Recorder,
    status: GrpcStatus,
    message: &str,
) -> Response<ResponseBody> {
    recorder.status = Some(StatusCode::OK.as_u16());
    if let Some(call) = recorder.grpc.as_mut() {
        call.set_status(Some(status));
        call.set_message(message.to_owned());
    }
    let mut response = Response::new(ResponseBody::local(Bytes::new(), Some(recorder)));
    *response.headers_mut() = grpc::trailers_only_headers(status, message);
    response
}

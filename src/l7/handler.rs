//! One request through the L7 path: route, then answer locally or forward
//! to the route's cluster, streaming both bodies.
use super::body::{CountedBody, RequestBodyState, ResponseBody};
use super::grpc;
use super::headers;
use super::recorder::Recorder;
use super::route::{Action, Route};
use super::upstream::HttpCluster;
use super::HttpListener;
use crate::cluster::Observed;
use crate::pipeline::export::L7Export;
use crate::pipeline::{clock, UpstreamFailure};
use bytes::Bytes;
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use hyper::body::Incoming;
use periscope_parsers::grpc::GrpcStatus;
use periscope_parsers::Outcome;
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;

pub async fn handle(
    listener: Arc<HttpListener>,
    peer: SocketAddr,
    request: Request<Incoming>,
) -> Result<Response<ResponseBody>, Infallible> {
    let started = clock::now();
    let (parts, body) = request.into_parts();
    let request_body = Arc::new(RequestBodyState::for_request(
        &parts.headers,
        listener.dynamodb_body_bytes,
    ));
    let mut recorder = Recorder::start(
        listener.no_route_scope.clone(),
        started,
        &parts,
        request_body.clone(),
    );
    // Telemetry export: continue the caller's `traceparent`, if any.
    recorder.export = L7Export::begin(&listener.metrics.export, peer, &parts.headers);
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
    let mut response = match &route.action {
        Action::Direct { status, body } => local_reply(recorder, *status, body.clone()),
        Action::Redirect {
            scheme,
            host,
            path,
            status,
        } => {
            let location = redirect_location(&parts, scheme, host, path);
            let mut response = local_reply(recorder, *status, Bytes::new());
            if let Ok(value) = HeaderValue::from_str(&location) {
                response.headers_mut().insert(http::header::LOCATION, value);
            }
            response
        }
        Action::Forward(cluster) => {
            let body = CountedBody::new(body, request_body.clone(), recorder.grpc.is_some());
            forward(route, cluster, peer, parts, body, &request_body, recorder).await
        }
    };
    route.response_edits.apply(response.headers_mut());
    Ok(response)
}

async fn forward(
    route: &Route,
    cluster: &HttpCluster,
    peer: SocketAddr,
    mut parts: http::request::Parts,
    body: CountedBody,
    request_body: &RequestBodyState,
    mut recorder: Recorder,
) -> Response<ResponseBody> {
    let source = crate::cluster::HashSource::Http {
        headers: &parts.headers,
        peer: peer.ip(),
    };
    // Held to the end of `forward`: the endpoint's active request.
    let Some(picked) = cluster.cluster.pick(source) else {
        cluster
            .cluster
            .metrics
            .failed(UpstreamFailure::ConnectFailure);
        return local_reply(
            recorder,
            StatusCode::SERVICE_UNAVAILABLE,
            "no healthy upstream\n",
        );
    };
    let endpoint = picked.endpoint;
    let version = cluster.upstream_version(parts.version);
    let downstream_authority = downstream_authority(&parts);
    parts.version = version;
    headers::strip_hop_by_hop(&mut parts.headers, version == http::Version::HTTP_2);
    if version == http::Version::HTTP_2 {
        // HTTP/2 carries the host in `:authority` (RFC 9113 §8.3.1), which
        // our h2 connections take from the URI: the client's authority, not
        // the endpoint's, as Envoy forwards it.
        parts.headers.remove(http::header::HOST);
        let authority = downstream_authority.as_ref().unwrap_or(&endpoint.authority);
        parts.uri = upstream_uri(&parts.uri, authority);
    } else {
        // The pooled HTTP/1.1 client connects to the URI's authority: the
        // endpoint. The client's host travels in `Host`.
        headers::ensure_host(&mut parts.headers, downstream_authority.as_ref());
        parts.uri = upstream_uri(&parts.uri, &endpoint.authority);
    }
    headers::append_forwarded_for(&mut parts.headers, peer.ip());
    headers::ensure_forwarded_proto(&mut parts.headers);
    headers::ensure_request_id(&mut parts.headers);
    route.request_edits.apply(&mut parts.headers);
    // Telemetry export: Periscope's span becomes the upstream's parent.
    L7Export::forwarding(&mut recorder.export, &mut parts.headers, &endpoint.address);
    endpoint.stats.requests.fetch_add(1, Ordering::Relaxed);

    let sent = cluster.send(endpoint, Request::from_parts(parts, body));
    let result = match route.timeout {
        Some(limit) => tokio::time::timeout(limit, sent).await.map_err(|_| ()),
        None => Ok(sent.await),
    };
    let failure = match result {
        Ok(Ok(response)) => {
            let observed = Observed::Status(response.status().as_u16());
            cluster.cluster.observe(endpoint, observed);
            let (mut parts, body) = response.into_parts();
            headers::strip_hop_by_hop(&mut parts.headers, false);
            recorder.response_head(&parts);
            return Response::from_parts(parts, ResponseBody::upstream(body, recorder));
        }
        Err(()) => UpstreamFailure::Timeout,
        Ok(Err(_)) if request_body.downstream_failed.load(Ordering::Relaxed) => {
            // The client broke off its upload: nobody is left to answer and
            // the upstream did nothing wrong.
            recorder.finish(Outcome::Incomplete);
            let mut response = Response::new(ResponseBody::local(Bytes::new(), None));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
        Ok(Err((failure, detail))) => {
            tracing::debug!(route = %route.name, endpoint = %endpoint.address, "upstream request failed: {detail}");
            failure
        }
    };
    endpoint.stats.failures.fetch_add(1, Ordering::Relaxed);
    if failure == UpstreamFailure::ConnectFailure {
        endpoint
            .stats
            .connect_failures
            .fetch_add(1, Ordering::Relaxed);
    }
    cluster.cluster.metrics.failed(failure);
    cluster.cluster.observe(endpoint, Observed::from(failure));
    if recorder.grpc.is_some() {
        let (status, message) = grpc::failure_status(failure);
        return grpc_reply(recorder, status, message);
    }
    let (status, text) = match failure {
        UpstreamFailure::ConnectFailure => {
            (StatusCode::SERVICE_UNAVAILABLE, "upstream connect error\n")
        }
        UpstreamFailure::Timeout => (StatusCode::GATEWAY_TIMEOUT, "upstream request timeout\n"),
        UpstreamFailure::Reset => (StatusCode::BAD_GATEWAY, "upstream reset\n"),
        UpstreamFailure::Protocol => (StatusCode::BAD_GATEWAY, "upstream protocol error\n"),
    };
    local_reply(recorder, status, text)
}

/// The host the client asked for: `:authority` (h2) or `Host` (HTTP/1).
fn downstream_authority(parts: &http::request::Parts) -> Option<http::uri::Authority> {
    parts.uri.authority().cloned().or_else(|| {
        let host = parts.headers.get(http::header::HOST)?;
        http::uri::Authority::try_from(host.as_bytes()).ok()
    })
}

fn upstream_uri(original: &Uri, authority: &http::uri::Authority) -> Uri {
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(http::uri::Scheme::HTTP);
    parts.authority = Some(authority.clone());
    parts.path_and_query = Some(
        original
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
    );
    Uri::from_parts(parts).unwrap_or_else(|_| original.clone())
}

fn redirect_location(
    parts: &http::request::Parts,
    scheme: &Option<String>,
    host: &Option<String>,
    path: &Option<String>,
) -> String {
    let scheme = scheme.as_deref().unwrap_or("http");
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
pub fn local_reply(
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
fn grpc_reply(mut recorder: Recorder, status: GrpcStatus, message: &str) -> Response<ResponseBody> {
    recorder.status = Some(StatusCode::OK.as_u16());
    if let Some(call) = recorder.grpc.as_mut() {
        call.set_status(Some(status));
        call.set_message(message.to_owned());
    }
    let mut response = Response::new(ResponseBody::local(Bytes::new(), Some(recorder)));
    *response.headers_mut() = grpc::trailers_only_headers(status, message);
    response
}

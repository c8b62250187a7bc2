//! Forwarding one request to its route's cluster: circuit breakers, the
//! attempts of the retry policy (each to a freshly picked endpoint, with a
//! per-try timeout and jittered back-off), all within the route timeout.
use super::body::{CountedBody, RequestBodyState, ResponseBody};
use super::h1::UpgradeRequested;
use super::handler::{grpc_reply, local_reply};
use super::headers;
use super::recorder::Recorder;
use super::retry::{self, Attempt};
use super::route::Route;
use super::upstream::{HttpCluster, SendError};
use super::upstream_body::RequestBody;
use crate::cluster::{HashSource, Observed, Picked};
use crate::pipeline::export::L7Export;
use crate::pipeline::UpstreamFailure;
use bytes::Bytes;
use http::header::UPGRADE;
use http::{HeaderValue, Request, Response, StatusCode, Uri};
use periscope_parsers::grpc::GrpcStatus;
use periscope_parsers::Outcome;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use tokio::time::Instant;

pub async fn forward(
    route: &Route,
    cluster: &HttpCluster,
    peer: SocketAddr,
    mut parts: http::request::Parts,
    body: CountedBody,
    request_body: &RequestBodyState,
    mut recorder: Recorder,
) -> Response<ResponseBody> {
    let breakers = &cluster.cluster.breakers;
    let Some(_request_slot) = breakers.request() else {
        return overloaded(recorder);
    };
    let deadline = route.timeout.map(|limit| Instant::now() + limit);
    let cap = route.retry.as_ref().map(|policy| policy.max_body_bytes);
    let mut body = match RequestBody::prepare(body, &parts.headers, cap).await {
        Ok(body) => body,
        Err(_) => return client_gone(recorder),
    };
    let downstream_version = parts.version;
    let version = cluster.upstream_version(downstream_version);
    // Needed for h2's `:authority`, or as `Host` when an h2 client sent
    // none; an HTTP/1.1 request's own `Host` is forwarded as it is.
    let downstream_authority =
        match version == http::Version::HTTP_2 || !parts.headers.contains_key(http::header::HOST) {
            true => downstream_authority(&parts),
            false => None,
        };
    parts.version = version;
    // The handler refused upgrades the route does not allow: one still
    // here goes on (HTTP/1.1 both sides) with its two hop-by-hop fields.
    // In a block: a local in scope across the awaits below would make
    // every request's boxed future larger.
    let upgrading = {
        let upgrade = match route.upgrades.is_empty() {
            true => None,
            false => super::upgrade::requested(downstream_version, &parts.headers).cloned(),
        };
        headers::strip_hop_by_hop(&mut parts.headers, version == http::Version::HTTP_2);
        upgrade
            .map(|value| headers::keep_upgrade(&mut parts.headers, value))
            .is_some()
    };
    if version == http::Version::HTTP_2 {
        // HTTP/2 carries the host in `:authority` (RFC 9113 §8.3.1), which
        // our h2 connections take from the URI.
        parts.headers.remove(http::header::HOST);
    } else {
        headers::ensure_host(&mut parts.headers, downstream_authority.as_ref());
    }
    headers::append_forwarded_for(&mut parts.headers, peer.ip());
    headers::ensure_forwarded_proto(&mut parts.headers);
    headers::ensure_request_id(&mut parts.headers);
    route.request_edits.apply(&mut parts.headers);

    let mut tried: Vec<usize> = Vec::new();
    let mut retries = 0u32;
    // What the last failed attempt said, for the answer's body.
    let mut why: Option<String> = None;
    // Held while a retry is in flight: the cluster's retry breaker/budget.
    let mut _retry_slot = None;
    loop {
        let Some(picked) = pick_untried(cluster, &parts, peer, &tried) else {
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
        // Without a retry policy there is one attempt: nothing to remember
        // and nothing to keep for a replay (no per-request allocation).
        let may_replay = route.retry.is_some();
        if may_replay {
            tried.push(endpoint.index);
        }
        let Some(upstream_body) = body.next() else {
            return failure_reply(recorder, UpstreamFailure::Reset, None);
        };
        let mut request = Request::new(upstream_body);
        *request.method_mut() = parts.method.clone();
        *request.version_mut() = version;
        *request.headers_mut() = if may_replay {
            parts.headers.clone()
        } else {
            std::mem::take(&mut parts.headers)
        };
        // h2: the client's authority (as Envoy forwards it); HTTP/1.1 sends
        // only the path, the client's host travels in `Host`.
        let authority = match version {
            http::Version::HTTP_2 => downstream_authority.as_ref().unwrap_or(&endpoint.authority),
            _ => &endpoint.authority,
        };
        let secure = cluster.cluster.tls.is_some();
        *request.uri_mut() = upstream_uri(&parts.uri, authority, secure);
        if upgrading {
            if let Some(value) = request.headers().get(UPGRADE).cloned() {
                request.extensions_mut().insert(UpgradeRequested(value));
            }
        }
        // Telemetry export: Periscope's span becomes the upstream's parent.
        L7Export::forwarding(
            &mut recorder.export,
            request.headers_mut(),
            &endpoint.address,
        );
        endpoint.stats.requests.fetch_add(1, Ordering::Relaxed);

        let per_try = route.retry.as_ref().and_then(|p| p.per_try_timeout);
        let now = Instant::now();
        let limit = match (per_try, deadline) {
            (Some(t), Some(d)) => Some((now + t).min(d)),
            (Some(t), None) => Some(now + t),
            (None, d) => d,
        };
        // The sending future is made in each arm, never bound: a local
        // keeps its slot in this future after it is moved, and the future
        // had three (the local, the timeout around it, the plain await).
        let result = match limit {
            Some(at) => tokio::time::timeout_at(at, cluster.send(endpoint, request))
                .await
                .map_err(|_| ()),
            None => Ok(cluster.send(endpoint, request).await),
        };
        let (attempt, failure) = match result {
            Ok(Ok(response)) => {
                // Outlier detection sees every answer, retried or not.
                let observed = Observed::Status(response.status().as_u16());
                cluster.cluster.observe(endpoint, observed);
                let attempt = Attempt::Answered {
                    status: response.status().as_u16(),
                    grpc_status: retry::grpc_status_of(response.headers()),
                };
                if !may_retry(route, &body, attempt, retries, deadline) {
                    let (mut parts, body) = response.into_parts();
                    let switched_to = match parts.status {
                        StatusCode::SWITCHING_PROTOCOLS => parts.headers.get(UPGRADE).cloned(),
                        _ => None,
                    };
                    headers::strip_hop_by_hop(&mut parts.headers, false);
                    if let Some(value) = switched_to {
                        // The client's server writes `Connection: upgrade`.
                        parts.headers.insert(UPGRADE, value);
                    }
                    recorder.response_head(&parts);
                    return Response::from_parts(parts, ResponseBody::upstream(body, recorder));
                }
                (attempt, None)
            }
            // A breaker refused it before it was sent (`max_pending_requests`).
            Ok(Err(SendError::Overflow)) => return overloaded(recorder),
            Ok(Err(_)) if request_body.idle_timed_out.load(Ordering::Relaxed) => {
                // The client stopped sending its body: Envoy's answer.
                return local_reply(recorder, StatusCode::REQUEST_TIMEOUT, "stream timeout\n");
            }
            Ok(Err(_)) if request_body.downstream_failed.load(Ordering::Relaxed) => {
                // The client broke off its upload: nobody is left to answer
                // and the upstream did nothing wrong.
                return client_gone(recorder);
            }
            Ok(Err(SendError::Failed(failure, detail))) => {
                tracing::debug!(route = %route.name, endpoint = %endpoint.address, "upstream request failed: {detail}");
                // For the client: the reason without the endpoint's
                // address (internal topology stays in the logs).
                why = Some(detail.replace(endpoint.address.as_str(), "upstream"));
                (Attempt::Failed(failure), Some(failure))
            }
            Err(()) if deadline.is_some_and(|d| Instant::now() >= d) => {
                // The route timeout ends the request, retries or not.
                count_failure(cluster, &picked, UpstreamFailure::Timeout);
                return failure_reply(recorder, UpstreamFailure::Timeout, None);
            }
            Err(()) => (Attempt::TimedOut, Some(UpstreamFailure::Timeout)),
        };
        if let Some(failure) = failure {
            count_failure(cluster, &picked, failure);
            if !may_retry(route, &body, attempt, retries, deadline) {
                return failure_reply(recorder, failure, why.as_deref());
            }
        }
        drop(picked);
        let Some(slot) = cluster.cluster.breakers.retry() else {
            return match failure {
                Some(failure) => failure_reply(recorder, failure, why.as_deref()),
                None => overloaded(recorder),
            };
        };
        _retry_slot = Some(slot);
        retries += 1;
        cluster.cluster.metrics.retries.inc();
        if let Some(policy) = &route.retry {
            let wait = retry::back_off(policy, retries, crate::cluster::random_u64());
            let until = Instant::now() + wait;
            tokio::time::sleep_until(deadline.map_or(until, |d| until.min(d))).await;
        }
    }
}

/// Whether the policy allows another attempt after this one.
fn may_retry(
    route: &Route,
    body: &RequestBody,
    attempt: Attempt,
    retries: u32,
    deadline: Option<Instant>,
) -> bool {
    let Some(policy) = &route.retry else {
        return false;
    };
    retries < policy.num_retries
        && body.replayable()
        && attempt.retriable(policy)
        && deadline.is_none_or(|d| Instant::now() < d)
}

/// The next endpoint, avoiding the ones already tried while others exist
/// (Envoy's `previous_hosts` predicate, a few picks deep).
fn pick_untried<'c>(
    cluster: &'c HttpCluster,
    parts: &http::request::Parts,
    peer: SocketAddr,
    tried: &[usize],
) -> Option<Picked<'c>> {
    let source = || HashSource::Http {
        headers: &parts.headers,
        peer: peer.ip(),
    };
    let mut picked = cluster.cluster.pick(source())?;
    for _ in 0..3 {
        if !tried.contains(&picked.endpoint.index) {
            break;
        }
        picked = cluster.cluster.pick(source())?;
    }
    Some(picked)
}

fn count_failure(cluster: &HttpCluster, picked: &Picked<'_>, failure: UpstreamFailure) {
    let endpoint = picked.endpoint;
    endpoint.stats.failures.fetch_add(1, Ordering::Relaxed);
    if failure == UpstreamFailure::ConnectFailure {
        endpoint
            .stats
            .connect_failures
            .fetch_add(1, Ordering::Relaxed);
    }
    cluster.cluster.metrics.failed(failure);
    cluster.cluster.observe(endpoint, Observed::from(failure));
}

/// Periscope's own answer to a request that got no upstream response.
/// A connect failure's body says why, in Envoy's words ("... transport
/// failure reason: tls handshake with upstream: invalid peer certificate:
/// UnknownIssuer"), so a refused certificate or port is visible to whoever
/// sees the 503.
fn failure_reply(
    recorder: Recorder,
    failure: UpstreamFailure,
    why: Option<&str>,
) -> Response<ResponseBody> {
    if recorder.grpc.is_some() {
        let (status, message) = super::grpc::failure_status(failure);
        return grpc_reply(recorder, status, message);
    }
    if let (UpstreamFailure::ConnectFailure, Some(why)) = (failure, why) {
        let text = format!(
            "upstream connect error or disconnect/reset before headers. reset reason: \
             connection failure, transport failure reason: {why}\n"
        );
        return local_reply(recorder, StatusCode::SERVICE_UNAVAILABLE, text);
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

/// A circuit breaker is open: answered at once, as Envoy does (503 with
/// `x-envoy-overloaded`, or UNAVAILABLE for gRPC).
fn overloaded(recorder: Recorder) -> Response<ResponseBody> {
    if recorder.grpc.is_some() {
        return grpc_reply(recorder, GrpcStatus::Unavailable, "upstream overloaded");
    }
    let mut response = local_reply(
        recorder,
        StatusCode::SERVICE_UNAVAILABLE,
        "upstream overloaded\n",
    );
    response
        .headers_mut()
        .insert("x-envoy-overloaded", HeaderValue::from_static("true"));
    response
}

fn client_gone(recorder: Recorder) -> Response<ResponseBody> {
    recorder.finish(Outcome::Incomplete);
    let mut response = Response::new(ResponseBody::local(Bytes::new(), None));
    *response.status_mut() = StatusCode::BAD_REQUEST;
    response
}

/// The host the client asked for: `:authority` (h2) or `Host` (HTTP/1).
fn downstream_authority(parts: &http::request::Parts) -> Option<http::uri::Authority> {
    parts.uri.authority().cloned().or_else(|| {
        let host = parts.headers.get(http::header::HOST)?;
        http::uri::Authority::try_from(host.as_bytes()).ok()
    })
}

/// `secure`: the cluster speaks TLS, so h2's `:scheme` is `https`.
fn upstream_uri(original: &Uri, authority: &http::uri::Authority, secure: bool) -> Uri {
    let mut parts = http::uri::Parts::default();
    parts.scheme = Some(match secure {
        true => http::uri::Scheme::HTTPS,
        false => http::uri::Scheme::HTTP,
    });
    parts.authority = Some(authority.clone());
    parts.path_and_query = Some(
        original
            .path_and_query()
            .cloned()
            .unwrap_or_else(|| http::uri::PathAndQuery::from_static("/")),
    );
    Uri::from_parts(parts).unwrap_or_else(|_| original.clone())
}

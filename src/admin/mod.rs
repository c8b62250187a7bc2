//! The admin server: `/metrics`, `/ready`, `/config_dump`, `/clusters`.
//!
//! Served on its own listener (default 127.0.0.1:9901) with its own tiny
//! HTTP/1.1 server so that it stays reachable while traffic listeners drain.
use crate::cluster::{ClusterSnapshot, Clusters};
use crate::config::Config;
use crate::pipeline::Families;
use bytes::Bytes;
use http::{header, Method, Request, Response, StatusCode};
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use tokio::net::TcpListener;

pub struct Admin {
    pub families: Arc<Families>,
    pub config: Arc<Config>,
    pub clusters: Clusters,
    /// True once every listener is bound, false again when draining.
    pub ready: AtomicBool,
}

impl Admin {
    pub async fn run(self: Arc<Self>, socket: TcpListener) {
        loop {
            let stream = match socket.accept().await {
                Ok((stream, _peer)) => stream,
                Err(err) => {
                    // Out of file descriptors and the like: back off rather
                    // than spin.
                    tracing::warn!("admin accept failed: {err}");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            let admin = self.clone();
            tokio::spawn(async move {
                let service = service_fn(move |request| {
                    let admin = admin.clone();
                    async move { Ok::<_, Infallible>(admin.answer(&request)) }
                });
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    }

    fn answer(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return text(StatusCode::METHOD_NOT_ALLOWED, "GET only\n".into());
        }
        match request.uri().path() {
            "/metrics" => {
                let mut response = text(StatusCode::OK, self.families.render());
                response.headers_mut().insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
                );
                response
            }
            "/ready" => {
                if self.ready.load(Ordering::Acquire) {
                    text(StatusCode::OK, "ready\n".into())
                } else {
                    text(StatusCode::SERVICE_UNAVAILABLE, "not ready\n".into())
                }
            }
            "/config_dump" => json(&self.config.effective),
            "/clusters" => {
                let mut clusters: Vec<ClusterSnapshot> =
                    self.clusters.values().map(|c| c.snapshot()).collect();
                clusters.sort_by(|a, b| a.name.cmp(&b.name));
                json(&serde_json::json!({ "clusters": clusters }))
            }
            "/" => text(
                StatusCode::OK,
                "periscope admin: /metrics /ready /config_dump /clusters\n".into(),
            ),
            _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
        }
    }
}

fn text(status: StatusCode, body: String) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}

fn json(value: &impl serde::Serialize) -> Response<Full<Bytes>> {
    let body =
        serde_json::to_string_pretty(value).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    let mut response = text(StatusCode::OK, body + "\n");
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static("application/json"),
    );
    response
}

//! The admin server: `/metrics`, `/ready`, `/config_dump`, `/clusters`,
//! and `POST /reload`.
//!
//! Served on its own listener (default 127.0.0.1:9901) with its own tiny
//! HTTP/1.1 server so that it stays reachable while traffic listeners drain.
use crate::cluster::ClusterSnapshot;
use crate::pipeline::Families;
use crate::reload::Reloader;
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
    /// The configuration generation in service, and reloads.
    pub reloader: Arc<Reloader>,
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
                    async move {
                        let response = if request.uri().path() == "/reload" {
                            admin.reload(&request).await
                        } else {
                            admin.answer(&request)
                        };
                        Ok::<_, Infallible>(response)
                    }
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
            "/config_dump" => {
                // The body stays the effective config alone (it is a valid
                // config file); the generation travels in a header.
                let generation = self.reloader.current();
                let mut response = json(&generation.config.effective);
                response.headers_mut().insert(
                    "periscope-config-generation",
                    header::HeaderValue::from(generation.number),
                );
                response
            }
            "/clusters" => {
                let generation = self.reloader.current();
                let mut clusters: Vec<ClusterSnapshot> =
                    generation.clusters.values().map(|c| c.snapshot()).collect();
                clusters.sort_by(|a, b| a.name.cmp(&b.name));
                json(&serde_json::json!({ "clusters": clusters }))
            }
            "/" => text(
                StatusCode::OK,
                "periscope admin: /metrics /ready /config_dump /clusters, POST /reload\n".into(),
            ),
            _ => text(StatusCode::NOT_FOUND, "not found\n".into()),
        }
    }
}

impl Admin {
    /// `POST /reload`: 200 with the new generation, or 400 with the error
    /// (the running configuration stays in service).
    async fn reload(&self, request: &Request<Incoming>) -> Response<Full<Bytes>> {
        if request.method() != Method::POST {
            return text(StatusCode::METHOD_NOT_ALLOWED, "POST only\n".into());
        }
        match self.reloader.reload("POST /reload").await {
            Ok(generation) => text(
                StatusCode::OK,
                format!("reloaded: generation {generation}\n"),
            ),
            Err(err) => text(StatusCode::BAD_REQUEST, format!("reload failed:\n{err}\n")),
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

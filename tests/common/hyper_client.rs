//! A hyper 1.x client (hyper-util's pooled legacy client) behind a blocking
//! API, so tests stay plain `#[test]` functions.
//!
//! One `HyperClient` keeps its connections: sequential HTTP/1.1 requests
//! reuse one keep-alive connection, and h2c requests share one HTTP/2
//! connection (prior knowledge, as `http2_only`).
use bytes::Bytes;
use http::{HeaderMap, Method, Request, StatusCode, Version};
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use std::time::Duration;

pub struct HyperClient {
    client: Client<HttpConnector, Full<Bytes>>,
    runtime: tokio::runtime::Runtime,
}

#[derive(Debug)]
pub struct HyperResponse {
    pub status: StatusCode,
    pub version: Version,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HyperResponse {
    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl HyperClient {
    /// HTTP/1.1 with keep-alive.
    pub fn http1() -> HyperClient {
        HyperClient::build(false)
    }

    /// HTTP/2 cleartext by prior knowledge.
    pub fn h2c() -> HyperClient {
        HyperClient::build(true)
    }

    fn build(http2_only: bool) -> HyperClient {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime for the hyper client");
        let client = {
            let _guard = runtime.enter();
            Client::builder(TokioExecutor::new())
                .http2_only(http2_only)
                .pool_max_idle_per_host(1)
                .build_http()
        };
        HyperClient { client, runtime }
    }

    pub fn get(&self, url: &str) -> HyperResponse {
        self.send(Method::GET, url, &[], Bytes::new())
    }

    pub fn post(&self, url: &str, body: impl Into<Bytes>) -> HyperResponse {
        self.send(Method::POST, url, &[], body.into())
    }

    /// Sends one request (20 s cap); panics on transport errors, which the
    /// tests using this client do not expect.
    pub fn send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> HyperResponse {
        self.try_send(method, url, headers, body)
            .unwrap_or_else(|e| panic!("hyper request to {url} failed: {e}"))
    }

    /// Like `send` but returns transport errors as text.
    pub fn try_send(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<HyperResponse, String> {
        self.send_within(method, url, headers, body, Duration::from_secs(20))
    }

    /// GETs `url` but gives up after `patience`, dropping the request: over
    /// HTTP/2 that resets the stream (RST_STREAM) and keeps the connection.
    /// The runtime only runs inside `block_on`, so it is driven a moment
    /// longer for the connection task to write the reset.
    pub fn get_abandoned_after(
        &self,
        url: &str,
        patience: Duration,
    ) -> Result<HyperResponse, String> {
        let outcome = self.send_within(Method::GET, url, &[], Bytes::new(), patience);
        self.runtime.block_on(async {
            tokio::time::sleep(Duration::from_millis(100)).await;
        });
        outcome
    }

    fn send_within(
        &self,
        method: Method,
        url: &str,
        headers: &[(&str, &str)],
        body: Bytes,
        timeout: Duration,
    ) -> Result<HyperResponse, String> {
        let mut builder = Request::builder().method(method).uri(url);
        for (k, v) in headers {
            builder = builder.header(*k, *v);
        }
        let request = builder.body(Full::new(body)).map_err(|e| e.to_string())?;
        let client = self.client.clone();
        self.runtime.block_on(async move {
            let exchange = async {
                let response = client
                    .request(request)
                    .await
                    .map_err(|e| format!("{e:?}"))?;
                let (parts, body) = response.into_parts();
                let body = body
                    .collect()
                    .await
                    .map_err(|e| format!("reading body: {e}"))?
                    .to_bytes();
                Ok(HyperResponse {
                    status: parts.status,
                    version: parts.version,
                    headers: parts.headers,
                    body,
                })
            };
            tokio::time::timeout(timeout, exchange)
                .await
                .map_err(|_| format!("timed out after {timeout:?}"))?
        })
    }
}

//! The body sent upstream: the client's body streamed through once, or a
//! small body kept whole so that a retry can send it again.
use super::body::{BoxError, CountedBody};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use http_body_util::BodyExt;
use pin_project_lite::pin_project;
use std::pin::Pin;
use std::task::{Context, Poll};

pin_project! {
    #[project = UpstreamBodyProj]
    pub enum UpstreamBody {
        Stream { #[pin] body: CountedBody },
        Kept { body: Option<Bytes> },
    }
}

/// A request body for the attempts of one request.
pub enum RequestBody {
    /// Sent once; a failed attempt cannot be retried.
    Once(Option<CountedBody>),
    /// Kept whole: every attempt sends a copy (cheap: `Bytes` is shared).
    Kept(Bytes),
}

impl RequestBody {
    /// Keeps the body when retries are on and it is small enough: empty, or
    /// with a `Content-Length` within `cap`. Reading it through
    /// `CountedBody` counts it (bytes, gRPC messages, DynamoDB prefix) like
    /// a streamed one. `Err` means the client broke off while sending it.
    pub async fn prepare(
        body: CountedBody,
        headers: &http::HeaderMap,
        cap: Option<usize>,
    ) -> Result<RequestBody, BoxError> {
        let Some(cap) = cap else {
            return Ok(RequestBody::Once(Some(body)));
        };
        let length = headers
            .get(http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok());
        let small = match length {
            Some(n) => n <= cap as u64,
            None => body.is_end_stream(),
        };
        if !small {
            return Ok(RequestBody::Once(Some(body)));
        }
        Ok(RequestBody::Kept(body.collect().await?.to_bytes()))
    }

    /// The body for the next attempt; `None` once a streamed body was used.
    pub fn next(&mut self) -> Option<UpstreamBody> {
        match self {
            RequestBody::Once(body) => body.take().map(|body| UpstreamBody::Stream { body }),
            RequestBody::Kept(bytes) => Some(UpstreamBody::Kept {
                body: (!bytes.is_empty()).then(|| bytes.clone()),
            }),
        }
    }

    pub fn replayable(&self) -> bool {
        matches!(self, RequestBody::Kept(_))
    }
}

impl Body for UpstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            UpstreamBodyProj::Stream { body } => body.poll_frame(cx),
            UpstreamBodyProj::Kept { body } => Poll::Ready(body.take().map(|b| Ok(Frame::data(b)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            UpstreamBody::Stream { body } => body.is_end_stream(),
            UpstreamBody::Kept { body } => body.is_none(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            UpstreamBody::Stream { body } => body.size_hint(),
            UpstreamBody::Kept { body } => {
                SizeHint::with_exact(body.as_ref().map_or(0, |b| b.len() as u64))
            }
        }
    }
}

//! An upstream HTTP/1.1 response body, read from its connection as the
//! downstream pulls it. The frames are slices of the connection's read
//! buffer. At the body's end the connection goes back to its pool, if the
//! exchange left it in step; a body dropped early closes it.
use super::head::ResponseFraming;
use super::pool::Pooled;
use crate::l7::body::BoxError;
use crate::l7::h1::body_framing::{BodyFraming, Step};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

pub struct H1Body {
    framing: BodyFraming,
    /// Held while the body is being read; `None` once given back or closed.
    conn: Option<Pooled>,
    keep_alive: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum H1BodyError {
    #[error("upstream closed the connection mid-body")]
    Closed,
    #[error("upstream i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error(transparent)]
    Chunked(#[from] crate::l7::h1::chunked::ChunkError),
}

impl H1Body {
    /// The body after a response head read on `conn`. An empty body gives
    /// the connection back at once.
    pub fn new(conn: Pooled, framing: ResponseFraming, keep_alive: bool) -> H1Body {
        let framing = match framing {
            ResponseFraming::Empty => BodyFraming::Done,
            ResponseFraming::Length(n) => BodyFraming::Length(n),
            ResponseFraming::Chunked => BodyFraming::chunked(),
            ResponseFraming::UntilClose => BodyFraming::UntilClose,
        };
        let mut body = H1Body {
            framing,
            conn: Some(conn),
            keep_alive,
        };
        if body.framing.is_done() {
            body.finish();
        }
        body
    }

    /// No body and no connection: a `101`, whose connection left the pool.
    pub fn empty() -> H1Body {
        H1Body {
            framing: BodyFraming::Done,
            conn: None,
            keep_alive: false,
        }
    }

    /// The body ended: the connection is reused if the whole exchange is
    /// behind it, and closed otherwise.
    fn finish(&mut self) {
        self.framing = BodyFraming::Done;
        if let Some(mut pooled) = self.conn.take() {
            if self.keep_alive && pooled.conn().in_step() {
                pooled.give_back();
            }
        }
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, H1BodyError>>> {
        loop {
            let Some(pooled) = self.conn.as_mut() else {
                return Poll::Ready(None);
            };
            let conn = pooled.conn();
            match self.framing.step(conn.read_buf())? {
                Step::Frame(frame) => {
                    if self.framing.is_done() {
                        self.finish();
                    }
                    return Poll::Ready(Some(Ok(frame)));
                }
                Step::End => {
                    self.finish();
                    return Poll::Ready(None);
                }
                Step::NeedMore => {}
            }
            // Nothing buffered: read more.
            let n = ready!(conn.poll_read(cx))?;
            if n == 0 {
                if matches!(self.framing, BodyFraming::UntilClose) {
                    self.keep_alive = false;
                    self.finish();
                    return Poll::Ready(None);
                }
                self.conn = None;
                return Poll::Ready(Some(Err(H1BodyError::Closed)));
            }
        }
    }
}

impl Body for H1Body {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match this.poll_next(cx) {
            Poll::Ready(Some(Err(err))) => {
                // A broken body leaves the connection out of step: closed.
                this.conn = None;
                this.framing = BodyFraming::Done;
                Poll::Ready(Some(Err(Box::new(err))))
            }
            other => other.map_err(|err| -> BoxError { Box::new(err) }),
        }
    }

    fn is_end_stream(&self) -> bool {
        self.framing.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.framing.size_hint()
    }
}

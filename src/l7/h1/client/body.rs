//! An upstream HTTP/1.1 response body, read from its connection as the
//! downstream pulls it. The frames are slices of the connection's read
//! buffer. At the body's end the connection goes back to its pool, if the
//! exchange left it in step; a body dropped early closes it.
use super::head::ResponseFraming;
use super::pool::Pooled;
use crate::l7::body::BoxError;
use crate::l7::h1::chunked::{ChunkedDecoder, Decoded};
use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{ready, Context, Poll};

#[derive(Debug)]
enum Framing {
    Length(u64),
    Chunked(ChunkedDecoder),
    UntilClose,
    Done,
}

pub struct H1Body {
    framing: Framing,
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
            ResponseFraming::Empty => Framing::Done,
            ResponseFraming::Length(n) => Framing::Length(n),
            ResponseFraming::Chunked => Framing::Chunked(ChunkedDecoder::default()),
            ResponseFraming::UntilClose => Framing::UntilClose,
        };
        let mut body = H1Body {
            framing,
            conn: Some(conn),
            keep_alive,
        };
        if matches!(body.framing, Framing::Done) {
            body.finish();
        }
        body
    }

    /// The body ended: the connection is reused if the whole exchange is
    /// behind it, and closed otherwise.
    fn finish(&mut self) {
        self.framing = Framing::Done;
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
            let buf = conn.read_buf();
            match &mut self.framing {
                Framing::Done => {
                    self.finish();
                    return Poll::Ready(None);
                }
                Framing::Length(left) if !buf.is_empty() => {
                    let n = (buf.len() as u64).min(*left) as usize;
                    let data = buf.split_to(n).freeze();
                    *left -= n as u64;
                    if *left == 0 {
                        self.finish();
                    }
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::UntilClose if !buf.is_empty() => {
                    let data = buf.split().freeze();
                    return Poll::Ready(Some(Ok(Frame::data(data))));
                }
                Framing::Chunked(decoder) => match decoder.decode(buf)? {
                    Decoded::Data(data) => return Poll::Ready(Some(Ok(Frame::data(data)))),
                    Decoded::Trailers(trailers) => {
                        // The trailers end the body: the connection is free.
                        self.finish();
                        return Poll::Ready(Some(Ok(Frame::trailers(trailers))));
                    }
                    Decoded::Done => {
                        self.finish();
                        return Poll::Ready(None);
                    }
                    Decoded::NeedMore => {}
                },
                Framing::Length(_) | Framing::UntilClose => {}
            }
            // Nothing buffered: read more.
            let n = ready!(conn.poll_read(cx))?;
            if n == 0 {
                if matches!(self.framing, Framing::UntilClose) {
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
                this.framing = Framing::Done;
                Poll::Ready(Some(Err(Box::new(err))))
            }
            other => other.map_err(|err| -> BoxError { Box::new(err) }),
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self.framing, Framing::Done) || matches!(self.framing, Framing::Length(0))
    }

    fn size_hint(&self) -> SizeHint {
        match self.framing {
            Framing::Done => SizeHint::with_exact(0),
            Framing::Length(n) => SizeHint::with_exact(n),
            _ => SizeHint::default(),
        }
    }
}

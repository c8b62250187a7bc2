//! Downstream request bodies: h2 streams come through hyper; an HTTP/1.x
//! body is read from the client's connection, in the connection's own task,
//! as the upstream side pulls it.
//!
//! An HTTP/1.x body takes the connection's read side with it and leaves it
//! in a slot when it ends, for the connection's next request. A body that
//! never ends (dropped early, or the client broke off) never gives it back,
//! and the connection closes after its response.
use crate::l7::body::BoxError;
use crate::l7::h1::body_framing::{BodyFraming, Step};
use crate::pipeline::ListenerMetrics;
use bytes::{Bytes, BytesMut};
use http_body::{Body, Frame, SizeHint};
use hyper::body::Incoming;
use pin_project_lite::pin_project;
use std::io;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{ready, Context, Poll};
use tokio::net::tcp::OwnedReadHalf;

/// Reads start this large and double while they come back full. Most
/// request heads fit, and an allocation this small is malloc's fast path,
/// so taking it anew for each request (none is held while idle) is cheap.
const FIRST_READ: usize = 1024;
const MAX_READ: usize = 256 * 1024;

/// The client connection's read side and the bytes read but not used yet.
pub struct ReadSide {
    pub half: OwnedReadHalf,
    pub buf: BytesMut,
    /// How much of a partial head in `buf` was already looked at.
    pub scanned: usize,
    read_size: usize,
    metrics: Arc<ListenerMetrics>,
}

impl ReadSide {
    /// The socket's read half and the bytes read and not yet used.
    pub fn into_parts(self) -> (OwnedReadHalf, BytesMut) {
        (self.half, self.buf)
    }

    pub fn new(half: OwnedReadHalf, buf: BytesMut, metrics: Arc<ListenerMetrics>) -> ReadSide {
        ReadSide {
            half,
            buf,
            scanned: 0,
            read_size: FIRST_READ,
            metrics,
        }
    }

    /// Reads into the buffer; 0 means the client closed its side.
    pub fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.buf.capacity() - self.buf.len() < self.read_size / 2 {
            self.buf.reserve(self.read_size);
        }
        let room = self.buf.capacity() - self.buf.len();
        let n = ready!(tokio_util::io::poll_read_buf(
            Pin::new(&mut self.half),
            cx,
            &mut self.buf
        ))?;
        if n == room && self.read_size < MAX_READ {
            self.read_size *= 2;
        }
        self.metrics.bytes_received.inc_by(n as u64);
        Poll::Ready(Ok(n))
    }

    /// Between requests: no buffer held while nothing is buffered.
    pub fn release_buffer(&mut self) {
        if self.buf.is_empty() {
            self.buf = BytesMut::new();
            self.read_size = FIRST_READ;
            self.scanned = 0;
        }
    }
}

/// Where a body leaves the read side when it ends (`true`: read whole, the
/// connection is in step) or is dropped unfinished (`false`: the
/// connection closes, after a lingering read of what the client still
/// sends).
pub type ReadSlot = Arc<Mutex<Option<(ReadSide, bool)>>>;

pub struct H1RequestBody {
    read: Option<ReadSide>,
    framing: BodyFraming,
    slot: ReadSlot,
}

#[derive(Debug, thiserror::Error)]
pub enum H1RequestBodyError {
    #[error("client closed the connection mid-body")]
    Closed,
    #[error("client i/o: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Chunked(#[from] crate::l7::h1::chunked::ChunkError),
}

impl H1RequestBody {
    /// A body of `length` bytes, or chunked (`None`).
    pub fn new(read: ReadSide, length: Option<u64>, slot: ReadSlot) -> H1RequestBody {
        let framing = match length {
            Some(n) => BodyFraming::Length(n),
            None => BodyFraming::chunked(),
        };
        H1RequestBody {
            read: Some(read),
            framing,
            slot,
        }
    }

    fn finish(&mut self) {
        self.framing = BodyFraming::Done;
        self.leave(true);
    }

    fn leave(&mut self, whole: bool) {
        if let (Some(read), Ok(mut slot)) = (self.read.take(), self.slot.lock()) {
            *slot = Some((read, whole));
        }
    }

    fn poll_next(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, H1RequestBodyError>>> {
        loop {
            let Some(read) = self.read.as_mut() else {
                return Poll::Ready(None);
            };
            match self.framing.step(&mut read.buf)? {
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
            if ready!(read.poll_read(cx))? == 0 {
                self.read = None;
                return Poll::Ready(Some(Err(H1RequestBodyError::Closed)));
            }
        }
    }
}

impl Drop for H1RequestBody {
    fn drop(&mut self) {
        self.leave(false);
    }
}

impl Body for H1RequestBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let this = self.get_mut();
        match this.poll_next(cx) {
            Poll::Ready(Some(Err(err))) => {
                // The connection is out of step now: it closes.
                this.leave(false);
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

pin_project! {
    /// A downstream request body, whichever protocol carried it.
    #[project = DownstreamBodyProj]
    pub enum DownstreamBody {
        // Read by hyper's server: h2, or HTTP/1.1 behind TLS.
        Hyper { #[pin] body: Incoming },
        Http1 { body: H1RequestBody },
        Empty,
    }
}

impl Body for DownstreamBody {
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            DownstreamBodyProj::Hyper { body } => body.poll_frame(cx).map_err(Into::into),
            DownstreamBodyProj::Http1 { body } => Pin::new(body).poll_frame(cx),
            DownstreamBodyProj::Empty => Poll::Ready(None),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            DownstreamBody::Hyper { body } => body.is_end_stream(),
            DownstreamBody::Http1 { body } => body.is_end_stream(),
            DownstreamBody::Empty => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            DownstreamBody::Hyper { body } => body.size_hint(),
            DownstreamBody::Http1 { body } => body.size_hint(),
            DownstreamBody::Empty => SizeHint::with_exact(0),
        }
    }
}

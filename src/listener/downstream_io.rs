//! The downstream socket as the L7 server sees it: the sniffed prefix is
//! replayed first, and bytes both ways are counted for the listener.
use crate::pipeline::ListenerMetrics;
use bytes::{Buf, BytesMut};
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;

/// Over a socket, or over the TLS stream of a listener that terminates
/// TLS (the bytes counted are then the plaintext ones).
pub struct DownstreamIo<S = TcpStream> {
    prefix: BytesMut,
    inner: S,
    metrics: Arc<ListenerMetrics>,
}

impl<S> DownstreamIo<S> {
    pub fn new(prefix: BytesMut, inner: S, metrics: Arc<ListenerMetrics>) -> DownstreamIo<S> {
        DownstreamIo {
            prefix,
            inner,
            metrics,
        }
    }

    /// The sniffed prefix (not yet replayed), the stream and the metrics,
    /// for a server or relay that reads the stream itself (no longer
    /// counted here).
    pub fn into_parts(self) -> (BytesMut, S, Arc<ListenerMetrics>) {
        (self.prefix, self.inner, self.metrics)
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for DownstreamIo<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if !this.prefix.is_empty() {
            let n = this.prefix.len().min(buf.remaining());
            buf.put_slice(&this.prefix[..n]);
            this.prefix.advance(n);
            if this.prefix.is_empty() {
                // Replayed: give its allocation back rather than keep it for
                // the life of a keep-alive connection.
                this.prefix = BytesMut::new();
            }
            return Poll::Ready(Ok(()));
        }
        let before = buf.filled().len();
        let result = Pin::new(&mut this.inner).poll_read(cx, buf);
        let read = buf.filled().len() - before;
        if read > 0 {
            this.metrics.bytes_received.inc_by(read as u64);
        }
        result
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for DownstreamIo<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write(cx, buf);
        if let Poll::Ready(Ok(n)) = result {
            this.metrics.bytes_sent.inc_by(n as u64);
        }
        result
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let result = Pin::new(&mut this.inner).poll_write_vectored(cx, bufs);
        if let Poll::Ready(Ok(n)) = result {
            this.metrics.bytes_sent.inc_by(n as u64);
        }
        result
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_shutdown(cx)
    }
}

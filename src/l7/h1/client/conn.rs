//! One upstream HTTP/1.1 connection, driven by the request that holds it.
//!
//! There is no connection task: the request's own task writes the head and
//! body and reads the response head, and the response body (`H1Body`)
//! reads the rest as the downstream pulls it. hyper's client instead hands
//! every request and every body chunk across channels to a connection task,
//! a wake-up and a task switch each; here a request costs the syscalls and
//! nothing else. Between requests the connection sits in its endpoint's
//! idle stack, unpolled; a close by the server is noticed at checkout.
use super::head::{self, HeadError, Parsed, RequestFraming, ResponseFraming, ResponseHead};
use crate::cluster::tls::UpstreamIo;
use crate::l7::body::BoxError;
use crate::l7::h1::chunked;
use crate::l7::upstream_body::UpstreamBody;
use bytes::{Buf, BytesMut};
use http::Request;
use http_body::Body;
use http_body_util::BodyExt;
use std::io;
use std::task::{Context, Poll};
use tokio::io::{AsyncWrite, AsyncWriteExt};

/// A request body no larger than this is written with its head in one
/// write (a `Kept` body, the retry replay copy, or a known small one).
const COALESCE_BODY: usize = 16 * 1024;
/// Response bytes buffered while the request body still goes out, at most.
const EARLY_READ_CAP: usize = 1024 * 1024;
/// Reads start this large and double while they come back full.
const FIRST_READ: usize = 8 * 1024;
const MAX_READ: usize = 256 * 1024;

/// Why an exchange failed.
#[derive(Debug, thiserror::Error)]
pub enum ExchangeError {
    #[error("upstream closed the connection before a complete response head")]
    Closed,
    #[error("upstream i/o: {0}")]
    Io(#[from] io::Error),
    #[error(transparent)]
    Head(#[from] HeadError),
    #[error("request body: {0}")]
    Body(BoxError),
    #[error("request body length differs from its content-length")]
    BodyLength,
}

pub struct H1Conn {
    stream: UpstreamIo,
    /// Response bytes read and not yet handed on. Empty between requests.
    read_buf: BytesMut,
    read_size: usize,
    /// The request head, reused by every request on this connection.
    write_buf: Vec<u8>,
    /// The whole request body went out (the connection is in step).
    request_done: bool,
    /// The request's method, to read its answer's framing early (HEAD).
    method: http::Method,
    /// The protocol the request asked to switch to (see
    /// [`UpgradeRequested`]): only then may a `101` answer it. Boxed: the
    /// connection travels inside every response body, where 40 more bytes
    /// would be carried by every connection's future.
    upgrade: Option<Box<http::HeaderValue>>,
}

/// Put on an upstream request by forwarding when its route relays the
/// client's `Upgrade` (the value). It, not the presence of an `Upgrade`
/// field (a header edit could add one), is what lets a `101` through, and
/// only a `101` naming that protocol.
#[derive(Clone)]
pub struct UpgradeRequested(pub http::HeaderValue);

impl H1Conn {
    pub fn new(stream: UpstreamIo) -> H1Conn {
        H1Conn {
            stream,
            read_buf: BytesMut::new(),
            read_size: FIRST_READ,
            write_buf: Vec::new(),
            request_done: true,
            method: http::Method::GET,
            upgrade: None,
        }
    }

    /// Whether an idle connection can carry a request: the server has not
    /// closed it nor sent anything unasked.
    pub fn is_reusable(&mut self) -> bool {
        self.stream.is_reusable()
    }

    /// Sends the request and reads the response head. The body bytes that
    /// came with the head stay in the read buffer for `H1Body`.
    pub async fn exchange(
        &mut self,
        request: Request<UpstreamBody>,
    ) -> Result<ResponseHead, ExchangeError> {
        let (parts, mut body) = request.into_parts();
        let framing = head::request_framing(
            &parts.method,
            &parts.headers,
            &body.size_hint(),
            body.is_end_stream(),
        );
        let target = parts.uri.path_and_query().map_or("/", |p| p.as_str());
        self.write_buf.clear();
        head::encode_request(
            &parts.method,
            target,
            &parts.headers,
            framing,
            &mut self.write_buf,
        );
        self.request_done = false;
        self.method = parts.method.clone();
        self.upgrade = (parts.extensions.get::<UpgradeRequested>()).map(|u| Box::new(u.0.clone()));
        let mut early = false;
        match framing {
            RequestFraming::None => {
                self.stream.write_all(&self.write_buf).await?;
                // TLS keeps records a full socket refused until flushed (a
                // socket's flush does nothing).
                self.stream.flush().await?;
            }
            RequestFraming::Length(declared) if declared <= COALESCE_BODY as u64 => {
                let mut sent = 0u64;
                while let Some(frame) = body.frame().await {
                    if let Ok(data) = frame.map_err(ExchangeError::Body)?.into_data() {
                        // Checked before it is kept: a body longer than its
                        // length never reaches the buffer, nor the upstream.
                        sent += data.len() as u64;
                        if sent > declared {
                            return Err(ExchangeError::BodyLength);
                        }
                        self.write_buf.extend_from_slice(&data);
                    }
                }
                if sent != declared {
                    return Err(ExchangeError::BodyLength);
                }
                self.stream.write_all(&self.write_buf).await?;
                self.stream.flush().await?;
            }
            _ => {
                let head = std::mem::take(&mut self.write_buf);
                let written = self.write_watching(&head).await;
                self.write_buf = head;
                early = !written? || self.stream_body(&mut body, framing).await?;
            }
        }
        // A server that answered before the whole body went out has the
        // rest of it unread: this connection cannot carry another request.
        self.request_done = !early;
        loop {
            match head::parse_response(&mut self.read_buf, &parts.method, self.upgrade.as_deref())?
            {
                Parsed::Head(head) => return Ok(head),
                Parsed::Interim => continue,
                Parsed::Partial => {
                    let n = std::future::poll_fn(|cx| self.poll_read(cx)).await?;
                    if n == 0 {
                        return Err(ExchangeError::Closed);
                    }
                }
            }
        }
    }

    /// Streams a body too large to coalesce. Stops early (returns true)
    /// when the server has answered in full first, as it may (e.g. 413).
    async fn stream_body(
        &mut self,
        body: &mut UpstreamBody,
        framing: RequestFraming,
    ) -> Result<bool, ExchangeError> {
        let chunked = framing == RequestFraming::Chunked;
        let mut sent = 0u64;
        loop {
            let frame = tokio::select! {
                biased;
                read = std::future::poll_fn(|cx| self.poll_read_early(cx)) => {
                    read?;
                    return Ok(true);
                }
                frame = body.frame() => frame,
            };
            let Some(frame) = frame else { break };
            let Ok(data) = frame.map_err(ExchangeError::Body)?.into_data() else {
                continue; // trailers: not forwarded on HTTP/1.1 requests
            };
            if data.is_empty() {
                continue;
            }
            sent += data.len() as u64;
            if matches!(framing, RequestFraming::Length(n) if sent > n) {
                return Err(ExchangeError::BodyLength);
            }
            let whole = if chunked && data.len() <= COALESCE_BODY {
                // Size line, data and CRLF in one write (one packet).
                self.write_buf.clear();
                chunked::size_line(data.len(), &mut self.write_buf);
                self.write_buf.extend_from_slice(&data);
                self.write_buf.extend_from_slice(b"\r\n");
                let framed = std::mem::take(&mut self.write_buf);
                let whole = self.write_watching(&framed).await;
                self.write_buf = framed;
                whole?
            } else if chunked {
                let mut line = Vec::with_capacity(18);
                chunked::size_line(data.len(), &mut line);
                self.write_watching(&line).await?
                    && self.write_watching(&data).await?
                    && self.write_watching(b"\r\n").await?
            } else {
                self.write_watching(&data).await?
            };
            if !whole {
                return Ok(true);
            }
        }
        match framing {
            RequestFraming::Chunked => Ok(!self.write_watching(b"0\r\n\r\n").await?),
            RequestFraming::Length(n) if n != sent => Err(ExchangeError::BodyLength),
            _ => Ok(false),
        }
    }

    /// Writes `data` whole (true), unless the server has answered in full
    /// first (false): a server that will not read the rest of an upload
    /// must not leave us blocked on a full socket.
    async fn write_watching(&mut self, data: &[u8]) -> Result<bool, ExchangeError> {
        let mut written = 0;
        std::future::poll_fn(|cx| {
            while written < data.len() {
                if let Poll::Ready(answer) = self.poll_read_early(cx) {
                    return Poll::Ready(answer.map(|()| false));
                }
                match std::pin::Pin::new(&mut self.stream).poll_write(cx, &data[written..]) {
                    Poll::Ready(Ok(0)) => {
                        return Poll::Ready(Err(io::Error::from(io::ErrorKind::WriteZero).into()))
                    }
                    Poll::Ready(Ok(n)) => written += n,
                    Poll::Ready(Err(err)) => return Poll::Ready(Err(err.into())),
                    Poll::Pending => return Poll::Pending,
                }
            }
            // Out of TLS's buffer too, before the next body chunk is
            // awaited (a socket's flush does nothing); an answer that
            // comes meanwhile still ends the upload.
            if let Poll::Ready(answer) = self.poll_read_early(cx) {
                return Poll::Ready(answer.map(|()| false));
            }
            match std::pin::Pin::new(&mut self.stream).poll_flush(cx) {
                Poll::Ready(Ok(())) => Poll::Ready(Ok(true)),
                Poll::Ready(Err(err)) => Poll::Ready(Err(err.into())),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// Ready once the server has answered in full (or closed after a final
    /// head) while the request body is still going out; pending otherwise.
    /// A server may answer while it reads the upload (an echo), so sending
    /// goes on until its answer is whole; one that answers early and
    /// stops reading (a 413) is whole at once. Interim answers (`100
    /// Continue` to a forwarded `Expect`) are dropped. Past
    /// [`EARLY_READ_CAP`] buffered bytes, reading waits for the sending.
    fn poll_read_early(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), ExchangeError>> {
        loop {
            if self.read_buf.len() >= EARLY_READ_CAP {
                return Poll::Pending;
            }
            match self.poll_read(cx) {
                Poll::Ready(Ok(0)) if self.final_head_buffered() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(0)) => return Poll::Ready(Err(ExchangeError::Closed)),
                Poll::Ready(Ok(_)) if self.answer_complete() => return Poll::Ready(Ok(())),
                Poll::Ready(Ok(_)) => {}
                Poll::Ready(Err(err)) => return Poll::Ready(Err(err.into())),
                Poll::Pending => return Poll::Pending,
            }
        }
    }

    /// Whether the buffer holds a whole final answer: a head whose body is
    /// empty or here in full (or something that is not a head at all,
    /// which `exchange` then reports). Interim answers are dropped.
    fn answer_complete(&mut self) -> bool {
        loop {
            // A copy: a final head must stay in the buffer for `exchange`.
            let mut probe = self.read_buf.clone();
            match head::parse_response(&mut probe, &self.method, self.upgrade.as_deref()) {
                Ok(Parsed::Interim) => {
                    let consumed = self.read_buf.len() - probe.len();
                    self.read_buf.advance(consumed);
                }
                Ok(Parsed::Partial) => return false,
                Ok(Parsed::Head(head)) => {
                    return match head.framing {
                        ResponseFraming::Empty => true,
                        ResponseFraming::Length(n) => probe.len() as u64 >= n,
                        ResponseFraming::Chunked | ResponseFraming::UntilClose => false,
                    }
                }
                Err(_) => return true,
            }
        }
    }

    fn final_head_buffered(&mut self) -> bool {
        let _ = self.answer_complete(); // drops interim answers
        let mut probe = self.read_buf.clone();
        matches!(
            head::parse_response(&mut probe, &self.method, self.upgrade.as_deref()),
            Ok(Parsed::Head(_))
        )
    }

    /// Reads into the read buffer; 0 means the server closed.
    pub fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.read_buf.capacity() - self.read_buf.len() < self.read_size / 2 {
            self.read_buf.reserve(self.read_size);
        }
        let room = self.read_buf.capacity() - self.read_buf.len();
        let n = std::task::ready!(tokio_util::io::poll_read_buf(
            std::pin::Pin::new(&mut self.stream),
            cx,
            &mut self.read_buf
        ))?;
        if n == room && self.read_size < MAX_READ {
            self.read_size *= 2;
        }
        Poll::Ready(Ok(n))
    }

    pub fn read_buf(&mut self) -> &mut BytesMut {
        &mut self.read_buf
    }

    /// The last request asked to switch protocols: whatever the answer,
    /// the connection is not reused (a server may take the bytes after an
    /// upgrade request for the new protocol).
    pub fn carried_upgrade(&self) -> bool {
        self.upgrade.is_some()
    }

    /// After a `101`: the socket, and what the server already sent in its
    /// new protocol (read with the head).
    pub fn switched(&mut self) -> (&mut UpstreamIo, BytesMut) {
        (&mut self.stream, self.read_buf.split())
    }

    /// Idle in the pool for a while: a large answer's buffers are not kept.
    pub fn release_buffers(&mut self) {
        if self.read_buf.is_empty() && self.read_size > FIRST_READ {
            self.read_buf = BytesMut::new();
            self.read_size = FIRST_READ;
        }
        if self.write_buf.capacity() > 2 * COALESCE_BODY {
            self.write_buf = Vec::new();
        }
    }

    /// Whether the connection may go back to the pool after its response
    /// body ended: the request went out whole and nothing follows.
    pub fn in_step(&self) -> bool {
        self.request_done && !self.read_buf.has_remaining()
    }
}

#[cfg(test)]
#[path = "conn_tests.rs"]
mod tests;

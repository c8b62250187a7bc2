//! One downstream HTTP/1.x connection: read a request head, hand the
//! request to the handler, write its response, and again while the client
//! keeps the connection alive.
//!
//! Ours rather than hyper's server so that an idle keep-alive connection
//! holds no buffer: between requests it waits for readability with nothing
//! allocated (hyper keeps an 8 KiB read buffer and an 8 KiB head buffer
//! per connection for its whole life). Behaviour follows what hyper did for
//! us, and Envoy: malformed heads get 400 (or 431 when too large) and a
//! close; `Expect: 100-continue` is answered by us; a client that closes
//! while its request is handled ends the request; a drain answers with
//! `Connection: close` and gives an idle client [`DRAIN_GRACE`].
use super::body::{DownstreamBody, H1RequestBody, ReadSide, ReadSlot};
use super::head::{self, RequestError, RequestFraming, RequestHead};
use super::respond::{self, Ending};
use crate::drain::Drain;
use crate::l7::idle::ConnectionActivity;
use crate::l7::HttpListener;
use crate::l7::{handler, upgrade};
use crate::listener::DownstreamIo;
use periscope_parsers::{ErrorReason, Protocol};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::Poll;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedReadHalf;

/// How long a draining connection with nothing in flight stays open for
/// its client's next request.
const DRAIN_GRACE: Duration = Duration::from_millis(1000);
/// A closing connection reads and drops what its client still sends for
/// at most this long, and this much.
const LINGER: Duration = Duration::from_secs(1);
const LINGER_BYTES: usize = 1024 * 1024;
/// A request head must arrive whole within this once its first byte has.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Moved once per request, straight into its handling: not worth a box.
#[allow(clippy::large_enum_variant)]
enum Next {
    Head(RequestHead),
    Refused(RequestError),
    Closed,
}

/// Serves the connection until the client or we close it.
pub async fn serve(
    listener: Arc<HttpListener>,
    io: DownstreamIo,
    peer: SocketAddr,
    drain: Drain,
    activity: Arc<ConnectionActivity>,
) {
    let (prefix, stream, metrics) = io.into_parts();
    let (half, mut write) = stream.into_split();
    let mut read = Some(ReadSide::new(half, prefix, metrics.clone()));
    let mut waits = Waits {
        drained: Box::pin(drain.signaled()),
        idle: Box::pin(activity.idle_for(listener.http_idle_timeout)),
        max_age: (listener.max_connection_duration).map(|d| Box::pin(tokio::time::sleep(d))),
    };
    while let Some(mut side) = read.take() {
        let head = match next_head(&mut side, &listener, &mut waits, &activity).await {
            Next::Head(head) => head,
            Next::Refused(error) => {
                let reason = match error {
                    RequestError::TooLarge => ErrorReason::HeadTooLarge,
                    RequestError::Malformed(_) => ErrorReason::Malformed,
                };
                listener.metrics.parse_error(Protocol::Http1, reason);
                tracing::debug!(listener = listener.metrics.name(), %peer, "refused request: {error}");
                let mut out = Vec::new();
                head::encode_refusal(&error, &mut out);
                if write.write_all(&out).await.is_ok() {
                    metrics.bytes_sent.inc_by(out.len() as u64);
                }
                return linger(side, write).await;
            }
            Next::Closed => return,
        };
        let RequestHead {
            parts,
            framing,
            keep_alive,
            expects_continue,
        } = head;
        let request_line = (parts.method.clone(), parts.version);
        let (body, slot) = match framing {
            RequestFraming::Empty => {
                read = Some(side);
                (DownstreamBody::Empty, None)
            }
            RequestFraming::Length(_) | RequestFraming::Chunked => {
                if expects_continue {
                    const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";
                    if write.write_all(CONTINUE).await.is_err() {
                        return;
                    }
                    metrics.bytes_sent.inc_by(CONTINUE.len() as u64);
                }
                let length = match framing {
                    RequestFraming::Length(n) => Some(n),
                    _ => None,
                };
                let slot: ReadSlot = Arc::new(Mutex::new(None));
                let body = H1RequestBody::new(side, length, slot.clone());
                (DownstreamBody::Http1 { body }, Some(slot))
            }
        };
        let request = http::Request::from_parts(parts, body);
        // Boxed: the handler's future is several KiB, and only a request
        // in flight should hold it (an idle connection then holds none).
        let handling = Box::pin(handler::handle(
            listener.clone(),
            peer,
            activity.begin(),
            request,
        ));
        let response = match read.as_mut() {
            // A bodiless request with nothing pipelined behind it: the client
            // closing ends it, as hyper did.
            Some(side) if side.buf.is_empty() => tokio::select! {
                response = handling => response,
                () = client_gone(&mut side.half) => return,
            },
            _ => handling.await,
        };
        let Ok(response) = response;
        // An upstream that switched protocols: after the `101` goes out,
        // this connection becomes a relay to it.
        let (response, switched) = upgrade::take_switch(response);
        let mut unfinished = None;
        if let Some(slot) = slot {
            // Read whole: the connection may go on; unfinished: it closes.
            match slot.lock().ok().and_then(|mut slot| slot.take()) {
                Some((side, true)) => read = Some(side),
                Some((side, false)) => unfinished = Some(side),
                None => {}
            }
        }
        // A drain that began while the request was handled closes too, as
        // does reaching the connection's maximum age meanwhile.
        if drain.is_signaled() {
            activity.start_draining();
        } else if !activity.is_draining() && waits.aged() {
            listener.metrics.max_duration_reached.inc();
            activity.start_draining();
        }
        let close = !keep_alive || read.is_none() || activity.is_draining();
        let close = close && switched.is_none();
        let (method, version) = (&request_line.0, request_line.1);
        let ending = respond::write(&mut write, &metrics, response, (method, version), close).await;
        if let Some(switched) = switched {
            // The request was read whole (`read` is back): what follows its
            // head is the new protocol's, for the upstream.
            if let (Ending::KeepAlive, Some(side)) = (ending, read.take()) {
                let (half, client_sent) = side.into_parts();
                if let Ok(client) = half.reunite(write) {
                    upgrade::relay_boxed(&listener, client, client_sent, switched).await;
                }
            }
            return;
        }
        if close || ending != Ending::KeepAlive {
            if let Some(side) = read.take().or(unfinished) {
                linger(side, write).await;
            }
            return;
        }
    }
}

/// Closes the way nginx and Envoy do when the client may still be sending
/// (an unread body, a refused head): our side first, then what arrives is
/// read and dropped for a moment. Closing with unread input makes the
/// kernel answer with a reset, which can destroy the response before the
/// client reads it.
async fn linger(mut side: ReadSide, mut write: tokio::net::tcp::OwnedWriteHalf) {
    if write.shutdown().await.is_err() {
        return;
    }
    let mut discarded = 0usize;
    let drain = async {
        while discarded < LINGER_BYTES {
            side.buf.clear();
            match std::future::poll_fn(|cx| side.poll_read(cx)).await {
                Ok(0) | Err(_) => return,
                Ok(n) => discarded += n,
            }
        }
    };
    let _ = tokio::time::timeout(LINGER, drain).await;
}

/// The next request head. While no byte of it has come, the idle timeout
/// and the drain apply and no buffer is held; once bytes have come, the
/// rest of the head must follow within [`HEADER_READ_TIMEOUT`].
async fn next_head(
    side: &mut ReadSide,
    listener: &HttpListener,
    waits: &mut Waits<'_>,
    activity: &ConnectionActivity,
) -> Next {
    loop {
        if side.buf.is_empty() {
            side.release_buffer();
            if !wait_for_request(&side.half, listener, waits, activity).await {
                return Next::Closed;
            }
        } else if let Some(next) = parsed(side) {
            return next; // pipelined, whole
        }
        // One read that does not wait: usually the whole head is there.
        let now = std::future::poll_fn(|cx| Poll::Ready(side.poll_read(cx))).await;
        match now {
            Poll::Ready(Ok(0) | Err(_)) => return Next::Closed,
            Poll::Ready(Ok(_)) => match parsed(side) {
                Some(next) => return next,
                None => break,
            },
            // Readiness that was stale: back to waiting, timers and all.
            Poll::Pending if side.buf.is_empty() => continue,
            Poll::Pending => break,
        }
    }
    let rest_of_head = async {
        loop {
            match std::future::poll_fn(|cx| side.poll_read(cx)).await {
                Ok(0) | Err(_) => return Next::Closed,
                Ok(_) => {
                    if let Some(next) = parsed(side) {
                        return next;
                    }
                }
            }
        }
    };
    tokio::time::timeout(HEADER_READ_TIMEOUT, rest_of_head)
        .await
        .unwrap_or(Next::Closed)
}

/// The head at the front of the buffer, if whole. A head arriving in
/// pieces is parsed again only once a blank line has arrived (or on its
/// first read, so that garbage is refused at once): a head trickled byte
/// by byte costs linear work, not a parse per byte.
fn parsed(side: &mut ReadSide) -> Option<Next> {
    if side.scanned > 0 {
        let from = side.scanned.saturating_sub(2);
        let blank_line = side.buf[from..]
            .windows(2)
            .any(|w| w == b"\n\n" || w == b"\n\r");
        if !blank_line {
            side.scanned = side.buf.len();
            return (side.buf.len() > head::MAX_HEAD_BYTES)
                .then_some(Next::Refused(RequestError::TooLarge));
        }
    }
    match head::parse_request(&mut side.buf) {
        Ok(Some(head)) => {
            side.scanned = 0;
            Some(Next::Head(head))
        }
        Ok(None) => {
            side.scanned = side.buf.len();
            None
        }
        Err(error) => Some(Next::Refused(error)),
    }
}

/// The connection's lifelong waits, made once: one drain registration and
/// one idle timer per connection, not per request; a timer for its
/// maximum age only when the listener sets one.
struct Waits<'a> {
    drained: Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
    idle: Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
    max_age: Option<Pin<Box<tokio::time::Sleep>>>,
}

impl Waits<'_> {
    /// Whether the connection reached `max_connection_duration`.
    fn aged(&self) -> bool {
        crate::l7::idle::expired(&self.max_age)
    }
}

/// Waits for the client's next bytes; false when the connection should
/// close instead (idle timeout, or a drain whose grace passed).
async fn wait_for_request(
    half: &OwnedReadHalf,
    listener: &HttpListener,
    waits: &mut Waits<'_>,
    activity: &ConnectionActivity,
) -> bool {
    // A drain already seen (its future is spent) only shortens the wait.
    let draining = activity.is_draining();
    tokio::select! {
        biased;
        ready = half.readable(), if !draining => return ready.is_ok(),
        () = waits.drained.as_mut(), if !draining => {}
        () = waits.idle.as_mut(), if !draining => {
            // Nothing in flight for the idle timeout: closed as a drain.
            listener.metrics.idle_timeouts.inc();
            return false;
        }
        () = crate::l7::idle::expiry(&mut waits.max_age), if !draining => {
            // Old enough: drained like a reload drains it.
            listener.metrics.max_duration_reached.inc();
        }
        () = std::future::ready(()), if draining => {}
    }
    // Draining: the next answer says close; an idle client gets a grace to
    // send the request it may already have on its way.
    activity.start_draining();
    matches!(
        tokio::time::timeout(DRAIN_GRACE, half.readable()).await,
        Ok(Ok(()))
    )
}

/// Resolves when the client closes (or breaks) the connection; pending
/// while it is open, or when it already sent its next request.
async fn client_gone(half: &mut OwnedReadHalf) {
    let mut byte = [0u8; 1];
    if let Ok(1..) = half.peek(&mut byte).await {
        std::future::pending::<()>().await;
    }
}

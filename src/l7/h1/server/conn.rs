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
use crate::l7::handler;
use crate::l7::idle::ConnectionActivity;
use crate::l7::HttpListener;
use crate::listener::DownstreamIo;
use periscope_parsers::{ErrorReason, Protocol};
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedReadHalf;

/// How long a draining connection with nothing in flight stays open for
/// its client's next request.
pub const DRAIN_GRACE: Duration = Duration::from_millis(1000);
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
                return;
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
                if expects_continue
                    && write
                        .write_all(b"HTTP/1.1 100 Continue\r\n\r\n")
                        .await
                        .is_err()
                {
                    return;
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
            // A bodiless request: the client closing ends it, as hyper did.
            Some(side) => tokio::select! {
                response = handling => response,
                () = client_gone(&mut side.half) => return,
            },
            None => handling.await,
        };
        let Ok(response) = response;
        if let Some(slot) = slot {
            // The body gave the read side back only if it was read whole.
            read = slot.lock().ok().and_then(|mut slot| slot.take());
        }
        // A drain that began while the request was handled closes too.
        if drain.is_signaled() {
            activity.start_draining();
        }
        let close = !keep_alive || read.is_none() || activity.is_draining();
        let (method, version) = (&request_line.0, request_line.1);
        let ending = respond::write(&mut write, &metrics, response, (method, version), close).await;
        if close || ending != Ending::KeepAlive {
            return;
        }
    }
}

/// The next request head. While no byte of it has come, the idle timeout
/// and the drain apply and no buffer is held.
async fn next_head(
    side: &mut ReadSide,
    listener: &HttpListener,
    waits: &mut Waits<'_>,
    activity: &ConnectionActivity,
) -> Next {
    if side.buf.is_empty() {
        side.release_buffer();
        if !wait_for_request(&side.half, listener, waits, activity).await {
            return Next::Closed;
        }
    }
    // Usually the whole head came in the first read: no timer then.
    match read_some_head(side).await {
        Some(next) => next,
        None => tokio::time::timeout(HEADER_READ_TIMEOUT, async {
            loop {
                if let Some(next) = read_some_head(side).await {
                    return next;
                }
            }
        })
        .await
        .unwrap_or(Next::Closed),
    }
}

/// A head already buffered (pipelined), or one read and a parse: `None`
/// while the head is still partial.
async fn read_some_head(side: &mut ReadSide) -> Option<Next> {
    if !side.buf.is_empty() {
        if let Some(next) = parsed(side) {
            return Some(next);
        }
    }
    match std::future::poll_fn(|cx| side.poll_read(cx)).await {
        Ok(0) | Err(_) => Some(Next::Closed),
        Ok(_) => parsed(side),
    }
}

fn parsed(side: &mut ReadSide) -> Option<Next> {
    match head::parse_request(&mut side.buf) {
        Ok(Some(head)) => Some(Next::Head(head)),
        Ok(None) => None,
        Err(error) => Some(Next::Refused(error)),
    }
}

/// The connection's lifelong waits, made once: one drain registration and
/// one idle timer per connection, not per request.
struct Waits<'a> {
    drained: Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
    idle: Pin<Box<dyn Future<Output = ()> + Send + 'a>>,
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

//! An h2c connection's streams run inside the connection's own task.
//!
//! hyper hands each HTTP/2 stream (a request's whole future) to its
//! executor. Given tokio's, every request is a task of its own: a 128-byte
//! aligned allocation, a place in the runtime's task list, a trip through
//! the run queue at every wake-up. Given this one, the streams are polled
//! by the task that polls their connection, as Envoy runs a connection and
//! its streams on one worker. A connection's streams then share one core,
//! which is how one connection is served anyway: its frames are read and
//! written by one task.
use futures_util::future::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

type StreamFuture = Pin<Box<dyn Future<Output = ()> + Send>>;

/// The executor hyper's HTTP/2 server is given: it only queues. The queue
/// is filled and emptied by the same task, so its lock is never contended.
#[derive(Clone, Default)]
pub struct StreamInbox {
    queued: Arc<Mutex<Vec<StreamFuture>>>,
}

impl<F> hyper::rt::Executor<F> for StreamInbox
where
    F: Future<Output = ()> + Send + 'static,
{
    fn execute(&self, future: F) {
        // A panic ends its own stream, as it ended its own task when each
        // stream was one: not the connection and every stream beside it.
        // Combinators, not an `async` block: the block would hold the
        // stream's future twice (its capture, and the state it is polled
        // in; rust-lang/rust#62958), and every stream's box with it.
        let stream = AssertUnwindSafe(future).catch_unwind().map(|_| ());
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::pin(stream));
    }
}

impl StreamInbox {
    fn take(&self) -> Vec<StreamFuture> {
        std::mem::take(&mut *self.queued.lock().unwrap_or_else(PoisonError::into_inner))
    }

    fn is_empty(&self) -> bool {
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .is_empty()
    }
}

/// A connection and the streams it has started: done when the connection
/// is, and every stream it started has finished too.
///
/// The connection is dropped the moment it ends: that is how h2 tells its
/// streams it is gone on the paths that fail without saying so (a write
/// error while flushing), so that they finish at their next step. Kept,
/// they would wait for it for ever.
pub struct WithStreams<C: Future> {
    connection: Option<Pin<Box<C>>>,
    inbox: StreamInbox,
    running: FuturesUnordered<StreamFuture>,
    ended: Option<C::Output>,
}

impl<C: Future> WithStreams<C> {
    pub fn new(connection: C, inbox: StreamInbox) -> WithStreams<C> {
        WithStreams {
            connection: Some(Box::pin(connection)),
            inbox,
            running: FuturesUnordered::new(),
            ended: None,
        }
    }

    /// The connection, to ask it to shut down gracefully; `None` once it
    /// has ended.
    pub fn connection(&mut self) -> Option<Pin<&mut C>> {
        self.connection
            .as_mut()
            .map(|connection| connection.as_mut())
    }
}

impl<C> Future for WithStreams<C>
where
    C: Future,
    C::Output: Unpin,
{
    type Output = C::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if let Some(connection) = this.connection.as_mut() {
            if let Poll::Ready(result) = connection.as_mut().poll(cx) {
                this.ended = Some(result);
                this.connection = None;
            }
        }
        // Streams the connection just started are polled in this same turn,
        // and so are any a stream starts (hyper does, for an upgrade).
        loop {
            this.running.extend(this.inbox.take());
            // Runs every ready stream; `FuturesUnordered` yields (and wakes
            // this task again) when one turn has polled as many as it holds.
            while let Poll::Ready(Some(())) = this.running.poll_next_unpin(cx) {}
            if this.inbox.is_empty() {
                break;
            }
        }
        match this.ended.take() {
            Some(result) if this.running.is_empty() => Poll::Ready(result),
            ended => {
                this.ended = ended;
                Poll::Pending
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hyper::rt::Executor;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A connection that starts two streams, then ends at once.
    struct Starter {
        inbox: StreamInbox,
        finished: Arc<AtomicUsize>,
    }

    impl Future for Starter {
        type Output = hyper::Result<()>;
        fn poll(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<Self::Output> {
            for delay in [1, 20] {
                let finished = self.finished.clone();
                self.inbox.execute(async move {
                    tokio::time::sleep(std::time::Duration::from_millis(delay)).await;
                    finished.fetch_add(1, Ordering::SeqCst);
                });
            }
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn streams_finish_before_their_connection_is_done() {
        let inbox = StreamInbox::default();
        let finished = Arc::new(AtomicUsize::new(0));
        let connection = Starter {
            inbox: inbox.clone(),
            finished: finished.clone(),
        };
        WithStreams::new(connection, inbox)
            .await
            .expect("the connection ended cleanly");
        assert_eq!(finished.load(Ordering::SeqCst), 2);
    }

    /// A connection that starts one stream waiting for the connection to
    /// go away (as h2's streams do when it fails without telling them),
    /// then ends.
    struct EndsLeavingAStream {
        inbox: StreamInbox,
        gone: Option<tokio::sync::oneshot::Sender<()>>,
    }

    impl Future for EndsLeavingAStream {
        type Output = ();
        fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
            if self.gone.is_some() {
                return Poll::Ready(());
            }
            let (gone, waiting) = tokio::sync::oneshot::channel::<()>();
            self.gone = Some(gone);
            self.inbox.execute(async move {
                let _ = waiting.await;
            });
            cx.waker().wake_by_ref();
            Poll::Pending
        }
    }

    #[tokio::test]
    async fn a_connection_that_ends_is_dropped_so_its_streams_can_finish() {
        let inbox = StreamInbox::default();
        let connection = EndsLeavingAStream {
            inbox: inbox.clone(),
            gone: None,
        };
        let ended = tokio::time::timeout(
            std::time::Duration::from_secs(5),
            WithStreams::new(connection, inbox),
        )
        .await;
        assert!(
            ended.is_ok(),
            "the stream waited for a connection kept alive"
        );
    }

    #[tokio::test]
    async fn a_panicking_stream_ends_alone() {
        let inbox = StreamInbox::default();
        let finished = Arc::new(AtomicUsize::new(0));
        inbox.execute(async { panic!("one stream's bug") });
        let counted = finished.clone();
        inbox.execute(async move {
            tokio::task::yield_now().await;
            counted.fetch_add(1, Ordering::SeqCst);
        });
        WithStreams::new(std::future::ready(()), inbox).await;
        assert_eq!(finished.load(Ordering::SeqCst), 1);
    }
}

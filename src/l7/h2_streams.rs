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
use futures_util::stream::{FuturesUnordered, StreamExt};
use std::future::Future;
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
        self.queued
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .push(Box::pin(future));
    }
}

/// A connection and the streams it has started: done when the connection
/// is, and every stream it started has finished too (a stream whose
/// connection is gone finishes at its next step, as a spawned one would).
pub struct WithStreams<C> {
    connection: Pin<Box<C>>,
    inbox: StreamInbox,
    running: FuturesUnordered<StreamFuture>,
    ended: Option<hyper::Result<()>>,
}

impl<C> WithStreams<C> {
    pub fn new(connection: C, inbox: StreamInbox) -> WithStreams<C> {
        WithStreams {
            connection: Box::pin(connection),
            inbox,
            running: FuturesUnordered::new(),
            ended: None,
        }
    }

    /// The connection, to ask it to shut down gracefully.
    pub fn connection(&mut self) -> Pin<&mut C> {
        self.connection.as_mut()
    }
}

impl<C: Future<Output = hyper::Result<()>>> Future for WithStreams<C> {
    type Output = hyper::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.get_mut();
        if this.ended.is_none() {
            if let Poll::Ready(result) = this.connection.as_mut().poll(cx) {
                this.ended = Some(result);
            }
        }
        // Streams the connection just started are polled in this same turn.
        let started = std::mem::take(
            &mut *this
                .inbox
                .queued
                .lock()
                .unwrap_or_else(PoisonError::into_inner),
        );
        this.running.extend(started);
        // Runs every ready stream; `FuturesUnordered` yields (and wakes
        // this task again) when one turn has polled as many as it holds.
        while let Poll::Ready(Some(())) = this.running.poll_next_unpin(cx) {}
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
}

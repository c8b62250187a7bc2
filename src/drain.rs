//! Graceful shutdown: stop accepting, let in-flight work finish, up to a
//! deadline; then close what is still open.
//!
//! Every accept loop and connection holds a `Drain` (a watch receiver).
//! Signalling flips the watch; once every holder has dropped its receiver the
//! sender sees `closed()`, which is exactly "all work drained".
//!
//! A connection that outlives the deadline (a TCP relay, a WebSocket, a
//! download slower than the deadline) is closed then, as Envoy closes what
//! its `--drain-time-s` leaves: otherwise a reload would leave it on the
//! routes and clusters it replaced for as long as the client likes.
//! Connections are spawned through [`Drain::spawn`], which keeps each one's
//! abort handle until it ends. Aborting a task is the one way to end it
//! that costs nothing while it runs: a close signal a connection polled
//! would take the watch's lock on every wake-up of every connection.
use prometheus::IntCounter;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::sync::watch;
use tokio::task::AbortHandle;

#[derive(Clone)]
pub struct Drain {
    rx: watch::Receiver<bool>,
    open: Arc<OpenTasks>,
}

impl Drain {
    /// Whether shutdown has begun.
    pub fn is_signaled(&self) -> bool {
        *self.rx.borrow()
    }

    /// Resolves when shutdown has begun.
    pub async fn signaled(&self) {
        let mut rx = self.rx.clone();
        let _ = rx.wait_for(|draining| *draining).await;
    }

    /// Runs `task` (one connection) in its own task, closed by dropping it
    /// if it is still running when this drain's deadline passes.
    pub fn spawn(&self, task: impl Future<Output = ()> + Send + 'static) {
        let open = &self.open;
        let id = open.next_id.fetch_add(1, Ordering::Relaxed);
        let registered = Registered {
            open: open.clone(),
            id,
        };
        // Spawned outside the lock: a runtime shutting down drops the
        // future at once, and its `Registered` takes the lock.
        let handle = tokio::spawn(Tracked { task, registered });
        let mut shard = open.shard(id);
        if shard.closed {
            // Spawned from a snapshot whose deadline already passed.
            handle.abort();
            return;
        }
        shard.running.insert(id, handle.abort_handle());
        drop(shard);
        // Ended before it was registered: its `Registered` found nothing
        // to remove. (One ending in between is left until the drain; it is
        // not counted then.)
        if handle.is_finished() {
            open.shard(id).running.remove(&id);
        }
    }
}

pub struct DrainTrigger {
    tx: watch::Sender<bool>,
    open: Arc<OpenTasks>,
    /// Close the tasks still running at the deadline (else only signal).
    close_late: bool,
    /// Counts the tasks closed at the deadline.
    closed_at_deadline: Option<IntCounter>,
}

pub fn channel() -> (DrainTrigger, Drain) {
    let (tx, rx) = watch::channel(false);
    let open = Arc::new(OpenTasks::default());
    let trigger = DrainTrigger {
        tx,
        open: open.clone(),
        close_late: true,
        closed_at_deadline: None,
    };
    (trigger, Drain { rx, open })
}

impl DrainTrigger {
    /// Counts in `counter` the tasks this drain closes at its deadline.
    pub fn counting(mut self, counter: IntCounter) -> DrainTrigger {
        self.closed_at_deadline = Some(counter);
        self
    }

    /// Only signals: tasks still running at the deadline go on (the
    /// connections of a listener a reload left unchanged).
    pub fn without_closing(mut self) -> DrainTrigger {
        self.close_late = false;
        self
    }

    /// Signal shutdown and wait until all holders are gone or `deadline`
    /// passes; then close the spawned tasks still running, and give them a
    /// moment to end (their telemetry is recorded as they are dropped).
    /// Returns whether everything drained in time.
    pub async fn drain(self, deadline: Duration) -> bool {
        let _ = self.tx.send(true);
        if tokio::time::timeout(deadline, self.tx.closed())
            .await
            .is_ok()
        {
            return true;
        }
        if !self.close_late {
            return false;
        }
        let late = self.open.close();
        let unfinished = late.iter().filter(|task| !task.is_finished()).count();
        if let Some(counter) = &self.closed_at_deadline {
            counter.inc_by(unfinished as u64);
        }
        for task in &late {
            task.abort();
        }
        if unfinished > 0 {
            tracing::info!(connections = unfinished, "drain deadline passed: closing");
            let _ = tokio::time::timeout(CLOSING_GRACE, self.tx.closed()).await;
        }
        false
    }
}

/// How long aborted tasks get to be dropped before the drain returns.
const CLOSING_GRACE: Duration = Duration::from_millis(500);
/// Shards of the running-task map, so connections on many workers do not
/// meet on one lock.
const SHARDS: usize = 8;

/// The tasks spawned through one drain that are still running.
#[derive(Default)]
struct OpenTasks {
    next_id: AtomicU64,
    shards: [Mutex<Shard>; SHARDS],
}

#[derive(Default)]
struct Shard {
    running: HashMap<u64, AbortHandle, foldhash::fast::RandomState>,
    /// The deadline passed: tasks spawned from now on are closed at once.
    closed: bool,
}

impl OpenTasks {
    fn shard(&self, id: u64) -> MutexGuard<'_, Shard> {
        let shard = &self.shards[id as usize % SHARDS];
        // Nothing panics while holding it; a poisoned map is still right.
        shard
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Marks every shard closed and takes what is still running.
    fn close(&self) -> Vec<AbortHandle> {
        let mut late = Vec::new();
        for id in 0..SHARDS as u64 {
            let mut shard = self.shard(id);
            shard.closed = true;
            late.extend(shard.running.drain().map(|(_, task)| task));
        }
        late
    }

    #[cfg(test)]
    fn running(&self) -> usize {
        (0..SHARDS as u64)
            .map(|id| self.shard(id).running.len())
            .sum()
    }
}

pin_project_lite::pin_project! {
    /// A connection's future with its registration, polled in place. (An
    /// `async move` block awaiting the future it captured would keep two
    /// copies of it: an idle HTTP/1 connection measured 9 KiB, not 5.)
    struct Tracked<F> {
        #[pin]
        task: F,
        registered: Registered,
    }
}

impl<F: Future> Future for Tracked<F> {
    type Output = F::Output;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.project().task.poll(cx)
    }
}

/// Removes its task's entry when the task ends, however it ends.
struct Registered {
    open: Arc<OpenTasks>,
    id: u64,
}

impl Drop for Registered {
    fn drop(&mut self) {
        self.open.shard(self.id).running.remove(&self.id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drain_waits_for_holders_then_returns() {
        let (trigger, drain) = channel();
        let holder = drain.clone();
        let worker = tokio::spawn(async move {
            holder.signaled().await;
            tokio::time::sleep(Duration::from_millis(20)).await;
            drop(holder);
        });
        drop(drain);
        assert!(trigger.drain(Duration::from_secs(5)).await);
        worker.await.expect("worker");
    }

    #[tokio::test]
    async fn drain_gives_up_at_the_deadline() {
        let (trigger, drain) = channel();
        let stuck = drain.clone();
        assert!(!trigger.drain(Duration::from_millis(20)).await);
        drop(stuck);
    }

    /// A task that ignores the drain is dropped at the deadline (its
    /// resources with it), counted once; one that ended is not counted.
    #[tokio::test]
    async fn tasks_still_running_at_the_deadline_are_closed_and_counted() {
        let closed = IntCounter::new("closed", "closed").expect("counter");
        let (trigger, drain) = channel();
        let trigger = trigger.counting(closed.clone());
        let (dropped_tx, dropped_rx) = tokio::sync::oneshot::channel::<()>();
        let holder = drain.clone();
        drain.spawn(async move {
            let _holder = holder;
            let _dropped_when_closed = dropped_tx;
            std::future::pending::<()>().await
        });
        drain.spawn(async {});
        tokio::task::yield_now().await;
        assert_eq!(drain.open.running(), 1, "the finished task left");
        drop(drain);

        assert!(!trigger.drain(Duration::from_millis(50)).await);
        tokio::time::timeout(Duration::from_secs(5), dropped_rx)
            .await
            .expect("the stuck task was dropped")
            .expect_err("dropped, not completed");
        assert_eq!(closed.get(), 1);
    }
}

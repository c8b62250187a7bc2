//! Graceful shutdown: stop accepting, let in-flight work finish, up to a
//! deadline.
//!
//! Every accept loop and connection holds a `Drain` (a watch receiver).
//! Signalling flips the watch; once every holder has dropped its receiver the
//! sender sees `closed()`, which is exactly "all work drained".
use std::time::Duration;
use tokio::sync::watch;

#[derive(Clone)]
pub struct Drain {
    rx: watch::Receiver<bool>,
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
}

pub struct DrainTrigger {
    tx: watch::Sender<bool>,
}

pub fn channel() -> (DrainTrigger, Drain) {
    let (tx, rx) = watch::channel(false);
    (DrainTrigger { tx }, Drain { rx })
}

impl DrainTrigger {
    /// Signal shutdown and wait until all holders are gone or `deadline`
    /// passes. Returns whether everything drained in time.
    pub async fn drain(self, deadline: Duration) -> bool {
        let _ = self.tx.send(true);
        tokio::time::timeout(deadline, self.tx.closed())
            .await
            .is_ok()
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
}

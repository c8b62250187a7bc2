//! Idle timeouts of the HTTP path, Envoy's two: a downstream connection
//! with no request in flight (`http_idle_timeout`), and a request whose body
//! moved no byte either way (`stream_idle_timeout`).
//!
//! Both are a timestamp and a counter written with relaxed atomics on the
//! data path, read by a timer that wakes only at the next possible deadline.
use crate::pipeline::clock;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;
use tokio::time::{Instant, Sleep};

/// Resolves when `timer` does; never without one. A connection's
/// `max_connection_duration`.
pub async fn expiry(timer: &mut Option<Pin<Box<Sleep>>>) {
    match timer.as_mut() {
        Some(sleep) => sleep.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Whether `timer` has passed its deadline, polled or not: a `Sleep` not
/// yet polled does not know it elapsed (a connection whose next request is
/// always already there never polls it).
pub fn expired(timer: &Option<Pin<Box<Sleep>>>) -> bool {
    timer
        .as_ref()
        .is_some_and(|sleep| sleep.deadline() <= Instant::now())
}

/// One downstream HTTP connection's requests in flight.
#[derive(Default)]
pub struct ConnectionActivity {
    in_flight: AtomicUsize,
    /// When the last request began or ended (monotonic nanoseconds).
    last: AtomicU64,
    /// The connection is draining: answers tell the client to close.
    draining: AtomicBool,
}

/// A request in flight on its connection, until dropped (the exchange is
/// recorded).
pub struct InFlight(Arc<ConnectionActivity>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.last.store(clock::now().0, Ordering::Relaxed);
        self.0.in_flight.fetch_sub(1, Ordering::AcqRel);
    }
}

impl ConnectionActivity {
    pub fn new() -> Arc<ConnectionActivity> {
        let activity = ConnectionActivity::default();
        activity.last.store(clock::now().0, Ordering::Relaxed);
        Arc::new(activity)
    }

    pub fn begin(self: &Arc<Self>) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::AcqRel);
        self.last.store(clock::now().0, Ordering::Relaxed);
        InFlight(self.clone())
    }

    pub fn start_draining(&self) {
        self.draining.store(true, Ordering::Relaxed);
    }

    pub fn is_draining(&self) -> bool {
        self.draining.load(Ordering::Relaxed)
    }

    /// Resolves once no request was in flight for `timeout`; never without
    /// one.
    pub async fn idle_for(&self, timeout: Option<Duration>) {
        let Some(timeout) = timeout else {
            return std::future::pending().await;
        };
        let limit = u64::try_from(timeout.as_nanos()).unwrap_or(u64::MAX);
        loop {
            let quiet = clock::now()
                .0
                .saturating_sub(self.last.load(Ordering::Relaxed));
            if self.in_flight.load(Ordering::Acquire) == 0 && quiet >= limit {
                return;
            }
            // Busy: check again a whole period later (the end of a request
            // restarts the clock anyway).
            let wait = if quiet >= limit { limit } else { limit - quiet };
            tokio::time::sleep(Duration::from_nanos(wait)).await;
        }
    }
}

/// A body's idle deadline. Frames only set a flag; the timer is created
/// (and pushed back) only when the body actually waits, so a body that
/// never stalls costs no allocation and no timer-wheel work per frame.
pub struct StreamIdle {
    timeout: Duration,
    sleep: Option<Pin<Box<Sleep>>>,
    progressed: bool,
}

impl StreamIdle {
    pub fn new(timeout: Option<Duration>) -> Option<StreamIdle> {
        Some(StreamIdle {
            timeout: timeout?,
            sleep: None,
            progressed: false,
        })
    }

    /// A frame passed: the stream is alive.
    pub fn progressed(&mut self) {
        self.progressed = true;
    }

    /// With the body pending: whether it has now waited the whole timeout
    /// since its last progress (registering the waker otherwise).
    pub fn expired(&mut self, cx: &mut Context<'_>) -> bool {
        let deadline = Instant::now() + self.timeout;
        match &mut self.sleep {
            None => self.sleep = Some(Box::pin(tokio::time::sleep_until(deadline))),
            Some(sleep) if self.progressed => sleep.as_mut().reset(deadline),
            Some(_) => {}
        }
        self.progressed = false;
        self.sleep
            .as_mut()
            .is_some_and(|sleep| sleep.as_mut().poll(cx).is_ready())
    }
}

/// Why a body was cut: the error its stream ends with.
#[derive(Debug)]
pub struct StreamIdleTimeout;

impl std::fmt::Display for StreamIdleTimeout {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("stream idle timeout")
    }
}

impl std::error::Error for StreamIdleTimeout {}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_connection_is_idle_only_with_nothing_in_flight() {
        let activity = ConnectionActivity::new();
        let request = activity.begin();
        let idle = activity.idle_for(Some(Duration::from_millis(100)));
        tokio::pin!(idle);
        let early = tokio::time::timeout(Duration::from_millis(50), &mut idle).await;
        assert!(early.is_err());
        drop(request);
        assert!(tokio::time::timeout(Duration::from_secs(1), &mut idle)
            .await
            .is_ok());
    }
}

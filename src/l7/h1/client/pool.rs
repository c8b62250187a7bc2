//! HTTP/1.1 upstream connections: a pool per endpoint, ours rather than
//! hyper-util's legacy client so that the cluster's circuit breakers hold.
//!
//! hyper-util's pool sits behind one mutex per client (a lock shared by
//! every request of the cluster) and hides how many connections exist and
//! how many requests wait for one. Here each endpoint has its own idle
//! stack, locked only for a push or a pop; a new connection takes a
//! cluster-wide `max_connections` slot that it holds for its lifetime; a
//! request that finds the cluster at that limit waits for a returned or
//! freed connection under `max_pending_requests`, or is refused at once
//! (503 overloaded). The connections themselves are `H1Conn`s, driven by
//! the request that holds them (see `conn.rs`).
use super::body::H1Body;
use super::conn::{ExchangeError, H1Conn};
use crate::cluster::breakers::Slot;
use crate::cluster::tls::{self, Alpn, UpstreamTls};
use crate::cluster::{Breakers, Endpoint};
use crate::l7::upstream::SendError;
use crate::l7::upstream_body::UpstreamBody;
use crate::pipeline::UpstreamFailure;
use http::{Request, Response};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::sync::Notify;

/// An idle connection is closed after this long unused (hyper-util's
/// `pool_idle_timeout` as we had it; below Envoy's 1 h so that servers'
/// shorter keep-alive timeouts are rarely raced).
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(90);
/// How often the idle stacks are swept of expired and closed connections.
const REAP_EVERY: Duration = Duration::from_secs(10);

pub struct H1Pool {
    shared: Arc<Shared>,
}

struct Shared {
    /// Indexed by `Endpoint::index`.
    endpoints: Vec<EndpointPool>,
    /// A connection slot came back (a connection closed or a connect
    /// failed): waiters for any endpoint may now open one.
    freed: Notify,
    connect_timeout: Duration,
    /// The cluster's TLS, when it has one.
    tls: Option<Arc<UpstreamTls>>,
    reaper: AtomicBool,
    /// Requests waiting for a connection (any endpoint).
    waiting: AtomicUsize,
}

struct EndpointPool {
    /// Most recently returned last: reuse the warmest connection and let
    /// the oldest expire. Locked only for one push, pop or sweep.
    idle: Mutex<Vec<Idle>>,
    /// A connection of this endpoint became idle.
    returned: Notify,
}

struct Idle {
    pooled: Pooled,
    since: Instant,
}

/// A connection out of (or on its way back to) its endpoint's stack.
pub struct Pooled {
    conn: H1Conn,
    index: usize,
    /// Dropped with the connection: frees its `max_connections` slot.
    slot: ConnectionSlot,
}

impl Pooled {
    pub fn conn(&mut self) -> &mut H1Conn {
        &mut self.conn
    }

    /// The socket after a `101` and what the server already sent in its
    /// new protocol. The connection still holds its `max_connections`
    /// slot (Envoy counts upgraded connections too) until dropped.
    pub fn switched(&mut self) -> (&mut crate::cluster::tls::UpstreamIo, bytes::BytesMut) {
        self.conn.switched()
    }

    /// Back to the top of its endpoint's idle stack.
    pub fn give_back(self) {
        let shared = self.slot.shared.clone();
        shared.push(self);
    }
}

/// An upstream connection that answered `101`, carried to the downstream
/// side in the response's extensions (which must be `Clone`, hence the
/// shared slot): whoever relays takes it; if nobody does, it closes when
/// the response is dropped.
#[derive(Clone)]
pub struct Switched(Arc<Mutex<Option<Pooled>>>);

impl Switched {
    fn new(pooled: Pooled) -> Switched {
        Switched(Arc::new(Mutex::new(Some(pooled))))
    }

    pub fn take(&self) -> Option<Pooled> {
        self.0.lock().ok()?.take()
    }
}

/// Gives a connection slot back and wakes waiting requests, however the
/// connection ends (closed, failed to connect, connect cancelled).
struct ConnectionSlot {
    slot: Option<Slot>,
    shared: Arc<Shared>,
}

impl Drop for ConnectionSlot {
    fn drop(&mut self) {
        // The slot first: a woken waiter must find it free.
        drop(self.slot.take());
        self.shared.freed.notify_waiters();
    }
}

impl H1Pool {
    pub fn new(
        endpoints: usize,
        connect_timeout: Duration,
        tls: Option<Arc<UpstreamTls>>,
    ) -> H1Pool {
        let endpoints = (0..endpoints)
            .map(|_| EndpointPool {
                idle: Mutex::new(Vec::new()),
                returned: Notify::new(),
            })
            .collect();
        H1Pool {
            shared: Arc::new(Shared {
                endpoints,
                freed: Notify::new(),
                connect_timeout,
                tls,
                reaper: AtomicBool::new(false),
                waiting: AtomicUsize::new(0),
            }),
        }
    }

    /// Send on an idle or new connection to `endpoint`, or wait for one.
    /// The caller's per-try/route deadline bounds the whole of it.
    pub async fn send(
        &self,
        breakers: &Breakers,
        endpoint: &Endpoint,
        request: Request<UpstreamBody>,
    ) -> Result<Response<H1Body>, SendError> {
        let mut pooled = self.checkout(breakers, endpoint).await?;
        let head = pooled.conn.exchange(request).await.map_err(failed)?;
        if head.status == http::StatusCode::SWITCHING_PROTOCOLS {
            // The connection leaves the pool for good, in the answer.
            let mut response = Response::new(H1Body::empty());
            *response.status_mut() = head.status;
            *response.headers_mut() = head.headers;
            response.extensions_mut().insert(Switched::new(pooled));
            return Ok(response);
        }
        // A declined upgrade's connection is not reused either.
        let keep_alive = head.keep_alive && !pooled.conn.carried_upgrade();
        let mut response = Response::new(H1Body::new(pooled, head.framing, keep_alive));
        *response.status_mut() = head.status;
        *response.version_mut() = head.version;
        *response.headers_mut() = head.headers;
        Ok(response)
    }

    /// An idle connection, a new one under `max_connections`, or one that
    /// comes back while this request waits as a pending request.
    async fn checkout(
        &self,
        breakers: &Breakers,
        endpoint: &Endpoint,
    ) -> Result<Pooled, SendError> {
        let pool = self.endpoint(endpoint)?;
        if let Some(pooled) = pool.pop_ready() {
            return Ok(pooled);
        }
        if let Some(slot) = breakers.try_connection() {
            // Boxed (a connect is rare), in a statement of its own: see
            // `HttpListener::serve`.
            let connecting = Box::pin(self.connect(endpoint, slot));
            return connecting.await;
        }
        breakers.connection_overflowed();
        let Some(_pending) = breakers.pending() else {
            return Err(SendError::Overflow);
        };
        let _waiting = Waiting::new(&self.shared.waiting);
        loop {
            // Registered before looking, so a return in between still wakes us.
            let returned = pool.returned.notified();
            let freed = self.shared.freed.notified();
            tokio::pin!(returned, freed);
            returned.as_mut().enable();
            freed.as_mut().enable();
            if let Some(pooled) = pool.pop_ready() {
                return Ok(pooled);
            }
            if let Some(slot) = breakers.try_connection() {
                let connecting = Box::pin(self.connect(endpoint, slot));
                return connecting.await;
            }
            // Idle connections to other endpoints hold slots this one needs.
            self.evict_idle_except(endpoint.index);
            tokio::select! {
                _ = returned => {}
                _ = freed => {}
            }
        }
    }

    fn endpoint(&self, endpoint: &Endpoint) -> Result<&EndpointPool, SendError> {
        self.shared.endpoints.get(endpoint.index).ok_or_else(|| {
            let detail = format!("endpoint {} is not in this pool", endpoint.address);
            SendError::Failed(UpstreamFailure::ConnectFailure, detail)
        })
    }

    async fn connect(&self, endpoint: &Endpoint, slot: Slot) -> Result<Pooled, SendError> {
        let slot = ConnectionSlot {
            slot: Some(slot),
            shared: self.shared.clone(),
        };
        let tls = self.shared.tls.as_deref();
        let io = tls::connect(tls, endpoint, Alpn::Http1, self.shared.connect_timeout)
            .await
            .map_err(|what| SendError::Failed(UpstreamFailure::ConnectFailure, what))?;
        endpoint.stats.connections.fetch_add(1, Ordering::Relaxed);
        if !self.shared.reaper.swap(true, Ordering::Relaxed) {
            tokio::spawn(reap(Arc::downgrade(&self.shared)));
        }
        Ok(Pooled {
            conn: H1Conn::new(io),
            index: endpoint.index,
            slot,
        })
    }

    fn evict_idle_except(&self, index: usize) {
        let others = (self.shared.endpoints.iter().enumerate()).filter(|(i, _)| *i != index);
        for (_, pool) in others {
            // Dropping it closes the connection, frees its slot and wakes
            // the waiters.
            if let Some(idle) = pool.idle.lock().ok().and_then(|mut idle| idle.pop()) {
                drop(idle);
                return;
            }
        }
    }

    /// Idle connections per endpoint, for tests.
    #[cfg(test)]
    pub fn idle(&self, index: usize) -> usize {
        self.shared.endpoints[index]
            .idle
            .lock()
            .map_or(0, |idle| idle.len())
    }
}

impl Shared {
    fn push(&self, pooled: Pooled) {
        let Some(pool) = self.endpoints.get(pooled.index) else {
            return;
        };
        if let Ok(mut idle) = pool.idle.lock() {
            idle.push(Idle {
                pooled,
                since: Instant::now(),
            });
        }
        pool.returned.notify_one();
        // A request waiting for another endpoint may need this connection's
        // slot: it is woken to evict it (only when someone waits at all).
        if self.waiting.load(Ordering::Relaxed) > 0 {
            self.freed.notify_waiters();
        }
    }
}

/// Counts a request waiting for a connection while it lives.
struct Waiting<'a>(&'a AtomicUsize);

impl<'a> Waiting<'a> {
    fn new(count: &'a AtomicUsize) -> Waiting<'a> {
        count.fetch_add(1, Ordering::Relaxed);
        Waiting(count)
    }
}

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl EndpointPool {
    /// The most recently returned connection that is still usable; closed
    /// or expired ones met on the way are dropped.
    fn pop_ready(&self) -> Option<Pooled> {
        loop {
            let mut idle = self.idle.lock().ok()?.pop()?;
            if idle.usable() {
                return Some(idle.pooled);
            }
        }
    }
}

impl Idle {
    fn usable(&mut self) -> bool {
        self.since.elapsed() < IDLE_TIMEOUT && self.pooled.conn.is_reusable()
    }
}

/// Closes expired and dead idle connections; ends with the pool.
async fn reap(shared: Weak<Shared>) {
    loop {
        tokio::time::sleep(REAP_EVERY).await;
        let Some(shared) = shared.upgrade() else {
            return;
        };
        for pool in &shared.endpoints {
            let expired: Vec<Idle> = match pool.idle.lock() {
                Ok(mut idle) => {
                    let (mut keep, mut expired) = (Vec::new(), Vec::new());
                    for mut one in std::mem::take(&mut *idle) {
                        match one.usable() {
                            true => keep.push(one),
                            false => expired.push(one),
                        }
                    }
                    // Idle a whole sweep: a large answer's buffers are not
                    // kept (a busy connection keeps them, and its reads
                    // stay large).
                    for idle in keep.iter_mut().filter(|i| i.since.elapsed() >= REAP_EVERY) {
                        idle.pooled.conn.release_buffers();
                    }
                    *idle = keep;
                    expired
                }
                Err(_) => continue,
            };
            // Closed outside the lock.
            drop(expired);
        }
    }
}

fn failed(err: ExchangeError) -> SendError {
    let failure = match err {
        ExchangeError::Head(_) => UpstreamFailure::Protocol,
        _ => UpstreamFailure::Reset,
    };
    SendError::Failed(failure, err.to_string())
}

#[cfg(test)]
#[path = "pool_tests.rs"]
mod tests;

//! HTTP/1.1 upstream connections: a pool per endpoint, ours rather than
//! hyper-util's legacy client so that the cluster's circuit breakers hold.
//!
//! hyper-util's pool sits behind one mutex per client (a lock shared by
//! every request of the cluster) and hides how many connections exist and
//! how many requests wait for one. Here each endpoint has its own idle
//! stack, locked only for a push or a pop; a new connection takes a
//! cluster-wide `max_connections` slot that its connection task holds for
//! the connection's lifetime; a request that finds the cluster at that
//! limit waits for a returned or freed connection under
//! `max_pending_requests`, or is refused at once (503 overloaded).
use super::h2_pool::classify;
use super::upstream::SendError;
use super::upstream_body::UpstreamBody;
use crate::cluster::breakers::Slot;
use crate::cluster::{Breakers, Endpoint};
use crate::pipeline::UpstreamFailure;
use http::{Request, Response, Uri};
use hyper::body::Incoming;
use hyper::client::conn::http1::{self, SendRequest};
use hyper_util::rt::TokioIo;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;
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
    reaper: AtomicBool,
}

struct EndpointPool {
    /// Most recently returned last: reuse the warmest connection and let
    /// the oldest expire. Locked only for one push, pop or sweep.
    idle: Mutex<Vec<Idle>>,
    /// A connection of this endpoint became idle.
    returned: Notify,
}

struct Idle {
    sender: SendRequest<UpstreamBody>,
    since: Instant,
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
    pub fn new(endpoints: usize, connect_timeout: Duration) -> H1Pool {
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
                reaper: AtomicBool::new(false),
            }),
        }
    }

    /// Send on an idle or new connection to `endpoint`, or wait for one.
    /// The caller's per-try/route deadline bounds the whole of it.
    pub async fn send(
        &self,
        breakers: &Breakers,
        endpoint: &Endpoint,
        mut request: Request<UpstreamBody>,
    ) -> Result<Response<Incoming>, SendError> {
        origin_form(request.uri_mut());
        let (mut sender, reused) = self.checkout(breakers, endpoint).await?;
        let response = match sender.try_send_request(request).await {
            Ok(response) => response,
            Err(mut err) => match err.take_message() {
                // A kept-alive connection closed before our request went out
                // (the server's keep-alive timeout): not the request's fault,
                // so once more on another connection, as hyper-util did.
                Some(request) if reused => {
                    sender = self.checkout(breakers, endpoint).await?.0;
                    sender.send_request(request).await.map_err(failed)?
                }
                _ => return Err(failed(err.into_error())),
            },
        };
        self.give_back(endpoint.index, sender);
        Ok(response)
    }

    /// An idle connection, a new one under `max_connections`, or one that
    /// comes back while this request waits as a pending request.
    async fn checkout(
        &self,
        breakers: &Breakers,
        endpoint: &Endpoint,
    ) -> Result<(SendRequest<UpstreamBody>, bool), SendError> {
        let pool = self.endpoint(endpoint)?;
        if let Some(sender) = pool.pop_ready() {
            return Ok((sender, true));
        }
        if let Some(slot) = breakers.try_connection() {
            return Ok((Box::pin(self.connect(endpoint, slot)).await?, false));
        }
        breakers.connection_overflowed();
        let Some(_pending) = breakers.pending() else {
            return Err(SendError::Overflow);
        };
        loop {
            // Registered before looking, so a return in between still wakes us.
            let returned = pool.returned.notified();
            let freed = self.shared.freed.notified();
            tokio::pin!(returned, freed);
            returned.as_mut().enable();
            freed.as_mut().enable();
            if let Some(sender) = pool.pop_ready() {
                return Ok((sender, true));
            }
            if let Some(slot) = breakers.try_connection() {
                return Ok((Box::pin(self.connect(endpoint, slot)).await?, false));
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

    async fn connect(
        &self,
        endpoint: &Endpoint,
        slot: Slot,
    ) -> Result<SendRequest<UpstreamBody>, SendError> {
        let slot = ConnectionSlot {
            slot: Some(slot),
            shared: self.shared.clone(),
        };
        let connect_failure =
            |what: String| SendError::Failed(UpstreamFailure::ConnectFailure, what);
        let tcp = tokio::time::timeout(
            self.shared.connect_timeout,
            TcpStream::connect(endpoint.address.as_str()),
        )
        .await
        .map_err(|_| connect_failure(format!("connect to {} timed out", endpoint.address)))?
        .map_err(|err| connect_failure(format!("connect to {}: {err}", endpoint.address)))?;
        let _ = tcp.set_nodelay(true);
        let (sender, connection) = http1::Builder::new()
            .handshake(TokioIo::new(tcp))
            .await
            .map_err(|err| {
                connect_failure(format!("http1 handshake with {}: {err}", endpoint.address))
            })?;
        let address = endpoint.address.clone();
        tokio::spawn(async move {
            if let Err(err) = connection.await {
                tracing::debug!(endpoint = %address, "upstream http1 connection ended: {err}");
            }
            drop(slot);
        });
        endpoint.stats.connections.fetch_add(1, Ordering::Relaxed);
        if !self.shared.reaper.swap(true, Ordering::Relaxed) {
            tokio::spawn(reap(Arc::downgrade(&self.shared)));
        }
        Ok(sender)
    }

    /// Back to the idle stack once the exchange is over (request written,
    /// response body read to its end); a connection hyper will not reuse
    /// (body dropped unread, `Connection: close`, an error) just closes.
    fn give_back(&self, index: usize, mut sender: SendRequest<UpstreamBody>) {
        let shared = self.shared.clone();
        if sender.is_ready() {
            shared.push(index, sender);
            return;
        }
        tokio::spawn(async move {
            if sender.ready().await.is_ok() {
                shared.push(index, sender);
            }
        });
    }

    fn evict_idle_except(&self, index: usize) {
        let others = (self.shared.endpoints.iter().enumerate()).filter(|(i, _)| *i != index);
        for (_, pool) in others {
            // Dropping the sender closes the connection; its task then
            // frees the slot and wakes the waiters.
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
    fn push(&self, index: usize, sender: SendRequest<UpstreamBody>) {
        let Some(pool) = self.endpoints.get(index) else {
            return;
        };
        if let Ok(mut idle) = pool.idle.lock() {
            idle.push(Idle {
                sender,
                since: Instant::now(),
            });
        }
        pool.returned.notify_one();
    }
}

impl EndpointPool {
    /// The most recently returned connection that is still usable; closed
    /// or expired ones met on the way are dropped.
    fn pop_ready(&self) -> Option<SendRequest<UpstreamBody>> {
        loop {
            let idle = self.idle.lock().ok()?.pop()?;
            if idle.sender.is_ready() && idle.since.elapsed() < IDLE_TIMEOUT {
                return Some(idle.sender);
            }
        }
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
                    let (keep, expired) = std::mem::take(&mut *idle)
                        .into_iter()
                        .partition(|i| i.sender.is_ready() && i.since.elapsed() < IDLE_TIMEOUT);
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

fn failed(err: hyper::Error) -> SendError {
    SendError::Failed(classify(&err), format!("{err:?}"))
}

/// HTTP/1.1 to an origin server sends only the path and query (RFC 9112
/// §3.2.1); the endpoint was chosen by the caller, the host is in `Host`.
fn origin_form(uri: &mut Uri) {
    *uri = match uri.path_and_query() {
        Some(path) if path.as_str() != "/" => {
            let mut parts = http::uri::Parts::default();
            parts.path_and_query = Some(path.clone());
            Uri::from_parts(parts).unwrap_or_default()
        }
        _ => Uri::default(),
    };
}

#[cfg(test)]
#[path = "h1_pool_tests.rs"]
mod tests;

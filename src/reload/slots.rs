//! The running listeners: one bound socket, one accept loop and one drain
//! per listener, with the snapshot it serves behind an `ArcSwap`.
//!
//! A reload first gets a socket for every listener of the new config
//! ([`Slots::sockets`]: the running one when the address is unchanged,
//! else a fresh bind), so that a bind failure fails the reload before
//! anything changed. [`Slots::commit`] then swaps snapshots in place, starts
//! the new accept loops and drains the listeners that went away.
use crate::config::{Config, ListenerProtocol};
use crate::drain::{self, DrainTrigger};
use crate::gateway::StartError;
use crate::listener::{Listener, Snapshot};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

struct Slot {
    /// As configured (a port-0 address is never shared).
    address: SocketAddr,
    protocol: ListenerProtocol,
    /// The listener's whole configuration as last committed, to tell a
    /// changed listener from one a reload left as it was.
    fingerprint: String,
    socket: Arc<TcpListener>,
    current: Arc<ArcSwap<Snapshot>>,
    /// Stops the accept loop.
    trigger: DrainTrigger,
    /// Drains the connections accepted with the current snapshot.
    connections: DrainTrigger,
}

pub struct Slots {
    by_name: HashMap<String, Slot>,
    /// Removed listeners still finishing their connections.
    draining: Vec<JoinHandle<bool>>,
    /// How long a replaced snapshot's or a removed listener's connections
    /// may take to finish before they are closed (`--drain-time-s`).
    drain_time: Duration,
}

/// A socket for each listener of a config, by name.
pub type Sockets = HashMap<String, Arc<TcpListener>>;

impl Slots {
    pub fn new(drain_time: Duration) -> Slots {
        Slots {
            by_name: HashMap::new(),
            draining: Vec::new(),
            drain_time,
        }
    }

    /// A socket for every listener of `config`: a running listener's when
    /// one (of any name) is configured on the same address, so a listener
    /// can change protocol or name without a gap; a new bind otherwise.
    pub async fn sockets(&self, config: &Config) -> Result<Sockets, StartError> {
        let mut sockets = Sockets::new();
        for listener in &config.listeners {
            let address = listener.address;
            let running = (self.by_name.values())
                .find(|slot| address.port() != 0 && slot.address == address)
                .map(|slot| slot.socket.clone());
            let socket = match running {
                Some(socket) => socket,
                None => Arc::new(TcpListener::bind(address).await.map_err(|source| {
                    StartError::Bind {
                        what: format!("listener {}", listener.name),
                        address,
                        source,
                    }
                })?),
            };
            sockets.insert(listener.name.clone(), socket);
        }
        Ok(sockets)
    }

    /// Puts `config`'s listeners in service with their new snapshots. A
    /// listener with the same name, address and protocol keeps its socket
    /// and accept loop and takes the new snapshot for the connections it
    /// accepts from now on, while those of the old snapshot drain (so that
    /// keep-alive clients come back to the new routes); any other change
    /// is a removal plus an addition, and removed listeners stop accepting
    /// and drain.
    pub fn commit(
        &mut self,
        config: &Config,
        mut sockets: Sockets,
        mut snapshots: HashMap<String, Arc<Listener>>,
    ) {
        let mut old = std::mem::take(&mut self.by_name);
        for listener in &config.listeners {
            let (Some(snapshot), Some(socket)) = (
                snapshots.remove(&listener.name),
                sockets.remove(&listener.name),
            ) else {
                continue;
            };
            let same = old.get(&listener.name).is_some_and(|slot| {
                slot.address == listener.address && slot.protocol == listener.protocol
            });
            let fingerprint = format!("{listener:?}");
            let slot = match old.remove(&listener.name) {
                Some(mut slot) if same => {
                    let (connections, drain) = connections_drain(&snapshot);
                    let listener = snapshot;
                    slot.current.store(Arc::new(Snapshot { listener, drain }));
                    let replaced = std::mem::replace(&mut slot.connections, connections);
                    // As Envoy: only a listener whose own configuration
                    // changed has its connections closed at the drain
                    // time. Other reloads (a cluster, DNS, another
                    // listener) only drain its HTTP connections gracefully,
                    // and its TCP relays and WebSockets go on.
                    let changed = slot.fingerprint != fingerprint;
                    slot.fingerprint = fingerprint;
                    let replaced = match changed {
                        true => replaced,
                        false => replaced.without_closing(),
                    };
                    self.drain_later(replaced, self.drain_time);
                    slot
                }
                replaced => {
                    if let Some(replaced) = replaced {
                        old.insert(listener.name.clone(), replaced);
                    }
                    start(
                        listener.address,
                        listener.protocol,
                        fingerprint,
                        socket,
                        snapshot,
                    )
                }
            };
            self.by_name.insert(listener.name.clone(), slot);
        }
        for (name, slot) in old {
            tracing::info!(listener = %name, "listener removed: draining");
            self.drain_later(slot.trigger, self.drain_time);
            self.drain_later(slot.connections, self.drain_time);
        }
    }

    fn drain_later(&mut self, trigger: DrainTrigger, deadline: Duration) {
        self.draining.retain(|task| !task.is_finished());
        self.draining.push(tokio::spawn(trigger.drain(deadline)));
    }

    /// At shutdown: every listener stops accepting; waits for their
    /// connections and for earlier removals, each up to its drain's
    /// deadline, after which what is left is closed.
    pub async fn drain_all(&mut self) -> bool {
        for (_, slot) in std::mem::take(&mut self.by_name) {
            self.drain_later(slot.trigger, self.drain_time);
            self.drain_later(slot.connections, self.drain_time);
        }
        let mut drained = true;
        for task in std::mem::take(&mut self.draining) {
            drained &= task.await.unwrap_or(false);
        }
        drained
    }
}

fn start(
    address: SocketAddr,
    protocol: ListenerProtocol,
    fingerprint: String,
    socket: Arc<TcpListener>,
    snapshot: Arc<Listener>,
) -> Slot {
    let (trigger, drain) = drain::channel();
    let (connections, listener_drain) = connections_drain(&snapshot);
    let current = Arc::new(ArcSwap::from_pointee(Snapshot {
        listener: snapshot,
        drain: listener_drain,
    }));
    tracing::info!(listener = %current.load().listener.name, address = ?socket.local_addr().ok(), "listening");
    tokio::spawn(Listener::accept_loop(
        current.clone(),
        socket.clone(),
        drain,
    ));
    Slot {
        address,
        protocol,
        fingerprint,
        socket,
        current,
        trigger,
        connections,
    }
}

/// The drain of the connections a snapshot accepts; those it closes at its
/// deadline are counted on the listener.
fn connections_drain(snapshot: &Listener) -> (DrainTrigger, drain::Drain) {
    let (trigger, drain) = drain::channel();
    (trigger.counting(snapshot.drain_closed_counter()), drain)
}

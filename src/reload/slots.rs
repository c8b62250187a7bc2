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
use crate::listener::Listener;
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// How long a removed listener's connections may take to finish.
pub const LISTENER_DRAIN_DEADLINE: Duration = Duration::from_secs(10);

struct Slot {
    /// As configured (a port-0 address is never shared).
    address: SocketAddr,
    protocol: ListenerProtocol,
    socket: Arc<TcpListener>,
    current: Arc<ArcSwap<Listener>>,
    trigger: DrainTrigger,
}

#[derive(Default)]
pub struct Slots {
    by_name: HashMap<String, Slot>,
    /// Removed listeners still finishing their connections.
    draining: Vec<JoinHandle<bool>>,
}

/// A socket for each listener of a config, by name.
pub type Sockets = HashMap<String, Arc<TcpListener>>;

impl Slots {
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
    /// listener with the same name, address and protocol keeps its socket,
    /// accept loop and connections, and takes the new snapshot for the
    /// connections it accepts from now on; any other change is a removal
    /// plus an addition, and removed listeners stop accepting and drain.
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
            let slot = match old.remove(&listener.name) {
                Some(slot) if same => {
                    slot.current.store(snapshot);
                    slot
                }
                replaced => {
                    if let Some(replaced) = replaced {
                        old.insert(listener.name.clone(), replaced);
                    }
                    start(listener.address, listener.protocol, socket, snapshot)
                }
            };
            self.by_name.insert(listener.name.clone(), slot);
        }
        self.draining.retain(|task| !task.is_finished());
        for (name, slot) in old {
            tracing::info!(listener = %name, "listener removed: draining");
            let task = tokio::spawn(slot.trigger.drain(LISTENER_DRAIN_DEADLINE));
            self.draining.push(task);
        }
    }

    /// At shutdown: every listener stops accepting; waits (up to
    /// `deadline`) for their connections and for earlier removals.
    pub async fn drain_all(&mut self, deadline: Duration) -> bool {
        let slots = std::mem::take(&mut self.by_name);
        let mut tasks = std::mem::take(&mut self.draining);
        tasks.extend((slots.into_values()).map(|slot| tokio::spawn(slot.trigger.drain(deadline))));
        let all = async {
            let mut drained = true;
            for task in tasks {
                drained &= task.await.unwrap_or(false);
            }
            drained
        };
        tokio::time::timeout(deadline, all).await.unwrap_or(false)
    }
}

fn start(
    address: SocketAddr,
    protocol: ListenerProtocol,
    socket: Arc<TcpListener>,
    snapshot: Arc<Listener>,
) -> Slot {
    let (trigger, drain) = drain::channel();
    let current = Arc::new(ArcSwap::new(snapshot));
    tracing::info!(listener = %current.load().name, address = ?socket.local_addr().ok(), "listening");
    tokio::spawn(Listener::accept_loop(
        current.clone(),
        socket.clone(),
        drain,
    ));
    Slot {
        address,
        protocol,
        socket,
        current,
        trigger,
    }
}

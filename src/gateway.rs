//! Assemble a running gateway from a validated configuration: metrics
//! families, clusters, listeners and the admin server; then run until a
//! signal and drain.
use crate::admin::Admin;
use crate::cluster;
use crate::config::Config;
use crate::drain;
use crate::l7::{HttpCluster, HttpClusters, HttpListener};
use crate::listener::Listener;
use crate::pipeline::export::Outputs;
use crate::pipeline::{http_budget, Families, ListenerMetrics};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long in-flight work may take to finish after SIGTERM/SIGINT.
const DRAIN_DEADLINE: Duration = Duration::from_secs(10);
/// How long queued spans and log lines may take to leave after the drain.
const TELEMETRY_FLUSH_DEADLINE: Duration = Duration::from_secs(3);

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("cannot bind {what} on {address}: {source}")]
    Bind {
        what: String,
        address: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    Build(String),
}

pub async fn run(config: Config) -> Result<(), StartError> {
    // Before anything binds or reports ready: a SIGTERM that arrives early
    // must drain, not kill the process with the default action.
    let shutdown = ShutdownSignal::install();
    let config = Arc::new(config);
    let families = Arc::new(Families::new());
    let budget = http_budget(&families);
    let clusters = cluster::build_all(&config.clusters, &families).map_err(StartError::Build)?;
    let http_clusters: HttpClusters = clusters
        .iter()
        .map(|(name, c)| (name.clone(), Arc::new(HttpCluster::new(c.clone()))))
        .collect();

    let outputs = Outputs::start(&config, &families).map_err(StartError::Build)?;

    let mut listeners = Vec::new();
    for (index, listener) in config.listeners.iter().enumerate() {
        let mut metrics = ListenerMetrics::new(&families, budget.clone(), listener);
        metrics.export =
            Arc::new(outputs.for_listener(index, &listener.name, listener.address.port()));
        let metrics = Arc::new(metrics);
        let http = HttpListener::new(
            listener,
            metrics.clone(),
            &http_clusters,
            &families,
            &budget,
        )
        .map_err(StartError::Build)?;
        let l4_cluster = listener
            .cluster
            .as_ref()
            .and_then(|name| clusters.get(name).cloned());
        let socket = bind(&format!("listener {}", listener.name), listener.address).await?;
        let runtime = Listener::new(listener, metrics, l4_cluster, Arc::new(http));
        listeners.push((Arc::new(runtime), socket));
    }

    let admin = Arc::new(Admin {
        families: families.clone(),
        config: config.clone(),
        clusters: clusters.clone(),
        ready: Default::default(),
    });
    let admin_socket = bind("admin", config.admin.address).await?;
    tokio::spawn(admin.clone().run(admin_socket));

    let (trigger, drain) = drain::channel();
    for (listener, socket) in listeners {
        tracing::info!(listener = %listener.name, address = ?socket.local_addr().ok(), "listening");
        tokio::spawn(listener.run(socket, drain.clone()));
    }
    drop(drain);
    admin.ready.store(true, Ordering::Release);
    tracing::info!(admin = %config.admin.address, source = %config.source, "periscope ready");

    shutdown.received().await;
    admin.ready.store(false, Ordering::Release);
    tracing::info!("shutting down: draining in-flight connections");
    if !trigger.drain(DRAIN_DEADLINE).await {
        tracing::warn!("drain deadline reached; closing remaining connections");
    }
    outputs.flush(TELEMETRY_FLUSH_DEADLINE).await;
    Ok(())
}

async fn bind(what: &str, address: std::net::SocketAddr) -> Result<TcpListener, StartError> {
    TcpListener::bind(address)
        .await
        .map_err(|source| StartError::Bind {
            what: what.to_owned(),
            address,
            source,
        })
}

/// SIGTERM or SIGINT, watched from the moment it is installed.
struct ShutdownSignal {
    terminate: Option<tokio::signal::unix::Signal>,
    interrupt: Option<tokio::signal::unix::Signal>,
}

impl ShutdownSignal {
    fn install() -> ShutdownSignal {
        use tokio::signal::unix::{signal, SignalKind};
        let watch = |kind: SignalKind, name: &str| {
            signal(kind)
                .map_err(|err| tracing::warn!("cannot watch {name}: {err}"))
                .ok()
        };
        ShutdownSignal {
            terminate: watch(SignalKind::terminate(), "SIGTERM"),
            interrupt: watch(SignalKind::interrupt(), "SIGINT"),
        }
    }

    async fn received(mut self) {
        let next = |signal: &mut Option<tokio::signal::unix::Signal>| {
            let signal = signal.take();
            async move {
                match signal {
                    Some(mut signal) => {
                        signal.recv().await;
                    }
                    None => std::future::pending::<()>().await,
                }
            }
        };
        tokio::select! {
            _ = next(&mut self.terminate) => {}
            _ = next(&mut self.interrupt) => {}
        }
    }
}

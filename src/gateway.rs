//! Assemble a running gateway from a validated configuration: metrics
//! families, export outputs, the listeners (through the reloader, which
//! owns them from then on) and the admin server; then run until a signal
//! and drain.
use crate::admin::Admin;
use crate::config::Config;
use crate::pipeline::export::Outputs;
use crate::pipeline::Families;
use crate::reload::{self, Reloader};
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

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

/// How the running configuration is reloaded: the loader, the file to
/// watch for changes (`None`: no watch), and how long the connections of
/// a replaced or removed listener, and all of them at shutdown, may take
/// to finish before they are closed.
pub struct Reload {
    pub load: reload::Loader,
    pub watch: Option<PathBuf>,
    pub drain_time: Duration,
}

pub async fn run(config: Config, reload: Reload) -> Result<(), StartError> {
    // Before anything binds or reports ready: a SIGTERM that arrives early
    // must drain, not kill the process with the default action (nor may a
    // SIGHUP, whose default action ends the process too).
    let shutdown = ShutdownSignal::install();
    let hangup = reload::Hangup::install();
    let families = Arc::new(Families::new());
    let outputs = Outputs::start(&config, &families).map_err(StartError::Build)?;
    let admin_address = config.admin.address;
    let source = config.source.clone();
    let reloader = Reloader::start(
        config,
        families.clone(),
        &outputs,
        reload.load,
        reload.drain_time,
    )
    .await?;

    let admin = Arc::new(Admin {
        families,
        reloader: reloader.clone(),
        ready: Default::default(),
    });
    let admin_socket = bind("admin", admin_address).await?;
    tokio::spawn(admin.clone().run(admin_socket));
    hangup.spawn(reloader.clone());
    if let Some(path) = reload.watch {
        reload::watch(path, reloader.clone());
    }
    admin.ready.store(true, Ordering::Release);
    tracing::info!(admin = %admin_address, %source, "periscope ready");

    shutdown.received().await;
    admin.ready.store(false, Ordering::Release);
    tracing::info!("shutting down: draining in-flight connections");
    if !reloader.drain().await {
        tracing::warn!("drain deadline reached; remaining connections closed");
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

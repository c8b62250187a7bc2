//! Dynamic configuration: reload the config file and swap what runs.
//!
//! A reload (SIGHUP, `POST /reload`, a file change) goes validate → bind →
//! build → swap → drain:
//! 1. the file is read and validated by the same loader as at start-up
//!    (errors name file:line:column and field);
//! 2. every listener of the new config gets a socket — a running one on the
//!    same address, or a fresh bind — so a port that cannot be bound fails
//!    the reload before anything changed;
//! 3. a new generation of immutable runtime objects is built (unchanged
//!    clusters and listener telemetry are carried over, see `build.rs`);
//! 4. each listener's snapshot is swapped (`ArcSwap`), new listeners start
//!    accepting, and the generation becomes what the admin server shows;
//! 5. removed listeners stop accepting and drain.
//!
//! Connections keep the snapshot they were accepted with, so in-flight
//! requests (and keep-alive connections) finish on the old routes and
//! clusters. A failed reload changes nothing: the old generation keeps
//! serving, the error is logged once and counted.
mod build;
mod dns;
mod metrics;
mod slots;
mod triggers;

pub use build::Generation;
pub use triggers::{watch, Hangup};

use crate::config::Config;
use crate::gateway::StartError;
use crate::pipeline::export::Outputs;
use crate::pipeline::{http_budget, Families};
use arc_swap::ArcSwap;
use build::{Exports, Parts};
use metrics::ReloadMetrics;
use slots::Slots;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// Reads and validates the configuration again (the file, with the
/// command line's overrides applied as at start-up).
pub type Loader = Box<dyn Fn() -> Result<Config, String> + Send + Sync>;

pub struct Reloader {
    parts: Parts,
    load: Loader,
    /// The start-up config, whose process-wide settings stay in force.
    startup: Arc<Config>,
    generation: ArcSwap<Generation>,
    /// Held for a whole reload, so reloads never interleave.
    slots: tokio::sync::Mutex<Slots>,
    metrics: ReloadMetrics,
    /// `strict_dns` resolutions and their refresh tasks.
    dns: dns::Dns,
    /// This reloader, for the refresh tasks (which must not keep it alive).
    me: Weak<Reloader>,
}

impl Reloader {
    /// Builds generation 1 and binds and starts its listeners.
    pub async fn start(
        config: Config,
        families: Arc<Families>,
        outputs: &Outputs,
        load: Loader,
        drain_time: Duration,
    ) -> Result<Arc<Reloader>, StartError> {
        let metrics = ReloadMetrics::register(&families).map_err(StartError::Build)?;
        let dns = dns::Dns::register(&families).map_err(StartError::Build)?;
        let config = Arc::new(config);
        let parts = Parts {
            budget: http_budget(&families),
            exports: Exports::new(outputs, &config),
            families,
        };
        let statuses = dns.prepare(&config).await;
        let built = build::build(&config, None, 1, &parts, &statuses).map_err(StartError::Build)?;
        let mut slots = Slots::new(drain_time);
        let sockets = slots.sockets(&config).await?;
        slots.commit(&config, sockets, built.listeners);
        metrics.started();
        let reloader = Arc::new_cyclic(|me| Reloader {
            parts,
            load,
            startup: config,
            generation: ArcSwap::from_pointee(built.generation),
            slots: tokio::sync::Mutex::new(slots),
            metrics,
            dns,
            me: me.clone(),
        });
        reloader.dns.commit(&statuses, &reloader.me);
        Ok(reloader)
    }

    /// The generation in service.
    pub fn current(&self) -> Arc<Generation> {
        self.generation.load_full()
    }

    /// Reloads the configuration; returns the new generation, or why the
    /// old one is still serving. `trigger` says what asked, for the log.
    pub async fn reload(&self, trigger: &str) -> Result<u64, String> {
        let mut slots = self.slots.lock().await;
        let previous = self.generation.load_full();
        let result = self.apply(&mut slots, &previous).await;
        match &result {
            Ok(number) => {
                self.metrics.succeeded(*number);
                tracing::info!(trigger, generation = number, "configuration reloaded");
            }
            Err(err) => {
                self.metrics.failed();
                tracing::error!(
                    trigger,
                    generation = previous.number,
                    "configuration reload failed, the running configuration stays in service:\n{err}"
                );
            }
        }
        result
    }

    async fn apply(&self, slots: &mut Slots, previous: &Generation) -> Result<u64, String> {
        let config = (self.load)()?;
        let config = Arc::new(keep_startup_settings(config, &self.startup));
        let sockets = slots.sockets(&config).await.map_err(|e| e.to_string())?;
        let number = previous.number + 1;
        let statuses = self.dns.prepare(&config).await;
        let built = build::build(&config, Some(previous), number, &self.parts, &statuses)?;
        slots.commit(&config, sockets, built.listeners);
        self.generation.store(Arc::new(built.generation));
        self.dns.commit(&statuses, &self.me);
        Ok(number)
    }

    /// Re-applies the configuration in service after a `strict_dns`
    /// cluster's addresses changed: the same build and swap as a reload,
    /// with no file read, so only that cluster is rebuilt. The generation
    /// number stays (it counts configurations); listeners get new
    /// snapshots and their old connections drain gracefully, as on a
    /// reload: requests in flight finish, relayed TCP connections go on.
    pub async fn refresh_endpoints(&self, cluster: &str) {
        let mut slots = self.slots.lock().await;
        let previous = self.generation.load_full();
        let config = previous.config.clone();
        let statuses = self.dns.current();
        let sockets = slots.sockets(&config).await.map_err(|e| e.to_string());
        let built = sockets.and_then(|sockets| {
            let built = build::build(
                &config,
                Some(&previous),
                previous.number,
                &self.parts,
                &statuses,
            )?;
            Ok((sockets, built))
        });
        match built {
            Ok((sockets, built)) => {
                slots.commit(&config, sockets, built.listeners);
                self.generation.store(Arc::new(built.generation));
                tracing::info!(cluster, "endpoints rebuilt after a DNS change");
            }
            Err(err) => tracing::error!(
                cluster,
                "endpoints not rebuilt after a DNS change, the running ones stay in service: {err}"
            ),
        }
    }

    /// At shutdown: stop every listener and wait for their connections,
    /// up to the drain time; returns whether all ended by themselves.
    pub async fn drain(&self) -> bool {
        self.slots.lock().await.drain_all().await
    }
}

/// Admin address, workers, tracing and access-log outputs are set up once
/// at start-up; a reload that changes them warns and keeps the running
/// values, in the typed config and in `/config_dump` alike, so the dump
/// always shows what runs.
fn keep_startup_settings(mut config: Config, startup: &Config) -> Config {
    let mut ignored = Vec::new();
    for key in ["admin", "workers", "tracing"] {
        if config.effective.get(key) != startup.effective.get(key) {
            ignored.push(key.to_owned());
            restore(&mut config.effective, &startup.effective, key);
        }
    }
    config.admin = startup.admin.clone();
    config.workers = startup.workers;
    config.tracing = startup.tracing.clone();
    let effective_listeners = config.effective["listeners"].as_array_mut();
    for (listener, effective) in config
        .listeners
        .iter_mut()
        .zip(effective_listeners.into_iter().flatten())
    {
        let before = (startup.listeners.iter()).position(|l| l.name == listener.name);
        let old = before.and_then(|i| startup.effective["listeners"].get(i));
        let old_log = old.and_then(|l| l.get("access_log"));
        if effective.get("access_log") != old_log {
            ignored.push(format!("listeners.{}.access_log", listener.name));
            restore(
                effective,
                old.unwrap_or(&serde_json::Value::Null),
                "access_log",
            );
            listener.access_log = before.and_then(|i| startup.listeners[i].access_log.clone());
        }
    }
    if !ignored.is_empty() {
        tracing::warn!(
            "reload: {} changed but take effect only on restart; the running values are kept",
            ignored.join(", ")
        );
    }
    config
}

/// Sets `key` of `to` as it is in `from` (absent if absent).
fn restore(to: &mut serde_json::Value, from: &serde_json::Value, key: &str) {
    let Some(object) = to.as_object_mut() else {
        return;
    };
    match from.get(key) {
        Some(value) => object.insert(key.to_owned(), value.clone()),
        None => object.remove(key),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(yaml: &str) -> Config {
        crate::config::load_str("test.yaml", yaml).expect("valid config")
    }

    const BASE: &str = "admin: { address: 127.0.0.1:9901 }\nworkers: 2\n\
        listeners:\n  - { name: edge, address: 127.0.0.1:1, cluster: web }\n\
        clusters:\n  - { name: web, endpoints: [\"a:1\"] }\n";

    #[test]
    fn process_wide_settings_keep_their_start_up_values() {
        let startup = load(BASE);
        let changed = BASE
            .replace("9901", "9902")
            .replace("workers: 2", "workers: 3")
            .replace(
                "cluster: web }",
                "cluster: web, access_log: { path: stdout } }",
            );
        let kept = keep_startup_settings(load(&changed), &startup);
        assert_eq!(kept.admin.address, startup.admin.address);
        assert_eq!(kept.workers, Some(2));
        assert!(kept.listeners[0].access_log.is_none());
        assert_eq!(kept.effective["admin"], startup.effective["admin"]);
        assert_eq!(kept.effective["workers"], 2);
        assert!(kept.effective["listeners"][0].get("access_log").is_none());
    }

    #[test]
    fn other_changes_pass_through() {
        let startup = load(BASE);
        let changed = BASE.replace("a:1", "b:2");
        let kept = keep_startup_settings(load(&changed), &startup);
        assert_eq!(kept.clusters[0].endpoints[0].address, "b:2");
        assert!(kept.effective["clusters"][0].to_string().contains("b:2"));
    }
}

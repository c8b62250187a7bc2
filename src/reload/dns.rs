//! `strict_dns` clusters kept fresh: one refresh task per cluster, and a
//! rebuild of that cluster when its resolution changes.
//!
//! A built cluster has a fixed set of endpoints, so a changed resolution
//! goes through the reload machinery instead of mutating a cluster in
//! place: [`Dns::prepare`] gives each `strict_dns` cluster its
//! [`DnsStatus`] (resolved before the first build), the build expands the
//! endpoints over it and keeps a cluster only when both its config and
//! its expanded endpoints are unchanged, and a refresh task whose round
//! changed the addresses asks the reloader to re-apply the configuration
//! in service ([`super::Reloader::refresh_endpoints`]). Only that cluster
//! is rebuilt; the others keep their `Arc` (pools, counters, health).
use super::Reloader;
use crate::cluster::dns::DnsStatus;
use crate::config::{Config, DnsConfig};
use crate::pipeline::Families;
use prometheus::{IntCounterVec, IntGaugeVec, Opts};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use tokio::task::AbortHandle;

/// The status of each `strict_dns` cluster, by name.
pub type Statuses = HashMap<String, Arc<DnsStatus>>;

pub struct Dns {
    metrics: DnsMetrics,
    running: Mutex<HashMap<String, Running>>,
}

/// A status in service and its refresh task.
struct Running {
    status: Arc<DnsStatus>,
    task: AbortHandle,
}

#[derive(Clone)]
struct DnsMetrics {
    resolutions: IntCounterVec,
    endpoints: IntGaugeVec,
}

impl Dns {
    pub fn register(families: &Families) -> Result<Dns, String> {
        let resolutions = IntCounterVec::new(
            Opts::new(
                "periscope_dns_resolutions_total",
                "Hostname lookups of strict_dns clusters, by result (success, failure); a failure keeps the last good addresses.",
            ),
            &["cluster", "result"],
        );
        let endpoints = IntGaugeVec::new(
            Opts::new(
                "periscope_cluster_dns_endpoints",
                "Addresses a strict_dns cluster's hostnames resolve to now (its endpoints).",
            ),
            &["cluster"],
        );
        let err = |e: prometheus::Error| format!("DNS metrics: {e}");
        let (resolutions, endpoints) = (resolutions.map_err(err)?, endpoints.map_err(err)?);
        let registry = &families.registry;
        (registry.register(Box::new(resolutions.clone())))
            .and_then(|()| registry.register(Box::new(endpoints.clone())))
            .map_err(|e| format!("DNS metrics: {e}"))?;
        Ok(Dns {
            metrics: DnsMetrics {
                resolutions,
                endpoints,
            },
            running: Mutex::default(),
        })
    }

    /// A status for each `strict_dns` cluster of `config`: the running one
    /// when the hosts and DNS settings are the same, else a new one,
    /// resolved now so the cluster is built over addresses.
    pub async fn prepare(&self, config: &Config) -> Statuses {
        let mut statuses = Statuses::new();
        for cluster in &config.clusters {
            let Some(fresh) = DnsStatus::for_cluster(cluster) else {
                continue;
            };
            let running = (self.lock().get(&cluster.name))
                .filter(|r| same(&r.status, &fresh.hosts, fresh.config))
                .map(|r| r.status.clone());
            let status = match running {
                Some(status) => status,
                None => {
                    let fresh = Arc::new(fresh);
                    round(&self.metrics, &fresh).await;
                    fresh
                }
            };
            statuses.insert(cluster.name.clone(), status);
        }
        statuses
    }

    /// Puts `statuses` in service once their generation is: a refresh
    /// task for each new status; the tasks of clusters that left or
    /// changed stop.
    pub fn commit(&self, statuses: &Statuses, reloader: &Weak<Reloader>) {
        let mut running = self.lock();
        let mut old = std::mem::take(&mut *running);
        for (name, status) in statuses {
            let entry = match old.remove(name) {
                Some(kept) if Arc::ptr_eq(&kept.status, status) => kept,
                replaced => {
                    if let Some(replaced) = replaced {
                        replaced.task.abort();
                    }
                    let task = refresh(status.clone(), self.metrics.clone(), reloader.clone());
                    Running {
                        status: status.clone(),
                        task: tokio::spawn(task).abort_handle(),
                    }
                }
            };
            running.insert(name.clone(), entry);
        }
        for (name, gone) in old {
            gone.task.abort();
            let _ = self.metrics.endpoints.remove_label_values(&[&name]);
        }
    }

    /// The statuses in service.
    pub fn current(&self) -> Statuses {
        (self.lock().iter())
            .map(|(name, r)| (name.clone(), r.status.clone()))
            .collect()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Running>> {
        self.running.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Drop for Dns {
    fn drop(&mut self) {
        for running in self.lock().values() {
            running.task.abort();
        }
    }
}

fn same(status: &DnsStatus, hosts: &[String], config: DnsConfig) -> bool {
    status.hosts == hosts && status.config == config
}

/// Re-resolves every `dns_refresh_rate`; a changed answer rebuilds the
/// cluster through the reloader. Stopped by [`Dns::commit`] when its
/// cluster leaves or changes.
async fn refresh(status: Arc<DnsStatus>, metrics: DnsMetrics, reloader: Weak<Reloader>) {
    let rate = status.config.refresh_rate;
    let mut ticks = tokio::time::interval_at(tokio::time::Instant::now() + rate, rate);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        if round(&metrics, &status).await {
            let Some(reloader) = reloader.upgrade() else {
                return;
            };
            reloader.refresh_endpoints(&status.cluster).await;
        }
    }
}

/// One round of lookups, counted; true when the addresses changed (logged
/// once here with both sets).
async fn round(metrics: &DnsMetrics, status: &DnsStatus) -> bool {
    let result = status.resolve().await;
    let cluster = status.cluster.as_str();
    // Both series exist from the first round, so a rate of failures
    // reads 0 rather than nothing.
    let count = |result: &str, n: u64| {
        (metrics.resolutions.with_label_values(&[cluster, result])).inc_by(n);
    };
    count("success", result.successes);
    count("failure", result.failures);
    let gauge = metrics.endpoints.with_label_values(&[cluster]);
    gauge.set(i64::try_from(status.address_count()).unwrap_or(i64::MAX));
    let Some((before, after)) = result.changed else {
        return false;
    };
    tracing::info!(
        cluster,
        before = ?before,
        after = ?after,
        "DNS resolution changed: rebuilding the cluster's endpoints"
    );
    true
}

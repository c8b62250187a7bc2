//! Active health checking: one task per endpoint of every cluster with a
//! `health_check:` block, probing over its own connections (never the
//! proxy's pools) every `interval` plus jitter.
//!
//! An endpoint starts in rotation. The first check decides at once (a dead
//! endpoint at start-up leaves after one probe, like Envoy's hosts pending
//! their first check); afterwards `unhealthy_threshold` failures in a row
//! take it out and `healthy_threshold` passes in a row bring it back.
//! Taking an endpoint out only rebuilds the balancer: requests and
//! connections already on it finish undisturbed.
mod grpc;
mod http;
pub mod state;
mod tcp;

pub use state::{EndpointHealth, HealthSnapshot, HealthState};

use super::{random_below, Cluster};
use crate::config::{HealthCheckConfig, HealthCheckKind};
use state::FAILED_ACTIVE_HC;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Weak};
use std::time::Duration;

/// `periscope_health_checks_total{result}`, in [`CheckResult::index`] order.
pub const CHECK_RESULTS: [&str; 4] = ["success", "failure", "timeout", "network_failure"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckResult {
    Success,
    /// The endpoint answered, but not as expected (status, payload, gRPC
    /// serving status).
    Failure(String),
    Timeout,
    /// Connect refused, reset, or the connection closed early.
    NetworkFailure(String),
}

impl CheckResult {
    fn index(&self) -> usize {
        match self {
            CheckResult::Success => 0,
            CheckResult::Failure(_) => 1,
            CheckResult::Timeout => 2,
            CheckResult::NetworkFailure(_) => 3,
        }
    }

    fn reason(&self) -> String {
        match self {
            CheckResult::Success => "health check passed".to_owned(),
            CheckResult::Failure(why) | CheckResult::NetworkFailure(why) => why.clone(),
            CheckResult::Timeout => "health check timed out".to_owned(),
        }
    }
}

/// Consecutive results of one endpoint's checks.
#[derive(Debug, Default)]
pub struct Streak {
    checked: bool,
    passed: u32,
    failed: u32,
}

impl Streak {
    /// Records one check; returns the endpoint's new health when it flips.
    pub fn record(
        &mut self,
        passed: bool,
        healthy: bool,
        config: &HealthCheckConfig,
    ) -> Option<bool> {
        let first = !std::mem::replace(&mut self.checked, true);
        if passed {
            self.failed = 0;
            self.passed = self.passed.saturating_add(1);
            let enough = first || self.passed >= config.healthy_threshold;
            (!healthy && enough).then_some(true)
        } else {
            self.passed = 0;
            self.failed = self.failed.saturating_add(1);
            let enough = first || self.failed >= config.unhealthy_threshold;
            (healthy && enough).then_some(false)
        }
    }
}

/// Starts the health-check tasks of `cluster` (one per endpoint) and its
/// outlier sweep, on the current tokio runtime. They live as long as the
/// cluster: dropping it (a reload replaced it, or the gateway shut down)
/// stops them at once, so no caller has to remember to.
pub fn start(cluster: &Arc<Cluster>) {
    if let Some(config) = &cluster.health_check {
        let config = Arc::new(config.clone());
        for index in 0..cluster.endpoints.len() {
            let stopped = cluster.stop.subscribe();
            let weak = Arc::downgrade(cluster);
            tokio::spawn(check_loop(weak, index, config.clone(), stopped));
        }
    }
    if let Some(outlier) = &cluster.outlier {
        let stopped = cluster.stop.subscribe();
        let weak = Arc::downgrade(cluster);
        tokio::spawn(super::outlier::sweep_loop(weak, outlier.interval, stopped));
    }
}

/// Resolves when the cluster that owns the sender is dropped.
pub(super) async fn stopped(rx: &mut Stop) {
    while rx.changed().await.is_ok() {}
}

/// Receiver side of the cluster's stop signal (nothing is ever sent: the
/// sender's drop is the signal).
pub type Stop = tokio::sync::watch::Receiver<()>;

fn jitter(config: &HealthCheckConfig) -> Duration {
    let max = config.interval_jitter.as_millis() as u64;
    Duration::from_millis(random_below(max.saturating_add(1)))
}

async fn check_loop(
    cluster: Weak<Cluster>,
    index: usize,
    config: Arc<HealthCheckConfig>,
    mut stop: Stop,
) {
    let mut streak = Streak::default();
    let mut kept = Kept::default();
    // Spread the first probes of many endpoints over the jitter.
    let mut wait = jitter(&config);
    loop {
        tokio::select! {
            _ = stopped(&mut stop) => return,
            _ = tokio::time::sleep(wait) => {}
        }
        let Some(cluster) = cluster.upgrade() else {
            return;
        };
        let result = tokio::select! {
            _ = stopped(&mut stop) => return,
            result = tokio::time::timeout(config.timeout, probe(&cluster, index, &config.kind, &mut kept)) => {
                result.unwrap_or(CheckResult::Timeout)
            }
        };
        if !config.reuse_connection {
            kept = Kept::default();
        }
        let changed = cluster.health_checked(index, &result, &mut streak, &config);
        let healthy =
            (cluster.endpoints.get(index)).is_some_and(|e| !e.health.has(FAILED_ACTIVE_HC));
        wait = config.next_interval(changed, healthy) + jitter(&config);
    }
}

async fn probe(
    cluster: &Cluster,
    index: usize,
    kind: &HealthCheckKind,
    kept: &mut Kept,
) -> CheckResult {
    let Some(endpoint) = cluster.endpoints.get(index) else {
        return CheckResult::NetworkFailure("no such endpoint".to_owned());
    };
    let to = Target {
        endpoint,
        tls: cluster.tls.as_deref(),
    };
    match kind {
        HealthCheckKind::Http {
            path,
            host,
            expected,
        } => {
            http::check(
                &mut kept.http,
                to,
                path,
                host.as_deref().unwrap_or(&cluster.name),
                expected,
            )
            .await
        }
        HealthCheckKind::Tcp { send, receive } => {
            tcp::check(&mut kept.tcp, to, send, receive).await
        }
        HealthCheckKind::Grpc {
            service_name,
            authority,
        } => {
            let authority = authority.as_deref().unwrap_or(&cluster.name);
            grpc::check(&mut kept.grpc, to, authority, service_name).await
        }
    }
}

/// The connection an endpoint's checks keep between them, as Envoy's
/// `reuse_connection` (on by default): one of the three, by the check's
/// kind. A check that fails on the network, times out (its future
/// dropped) or finds the connection closed leaves none, and the next check
/// connects afresh; one the endpoint answered wrongly keeps it.
#[derive(Default)]
struct Kept {
    http: Option<http::Conn>,
    grpc: Option<grpc::Conn>,
    tcp: Option<super::tls::UpstreamIo>,
}

/// A kept check connection: its sender and the task driving it, stopped
/// when this is dropped (a check cancelled by its timeout included).
pub struct Driven<S> {
    sender: S,
    task: tokio::task::JoinHandle<()>,
}

impl<S> Driven<S> {
    fn new(sender: S, task: tokio::task::JoinHandle<()>) -> Driven<S> {
        Driven { sender, task }
    }
}

impl<S> Drop for Driven<S> {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a probe connects to: the endpoint, over the cluster's TLS if any.
#[derive(Clone, Copy)]
struct Target<'a> {
    endpoint: &'a super::Endpoint,
    tls: Option<&'a super::tls::UpstreamTls>,
}

/// Connects for a probe, with TLS when the cluster has it (the check's own
/// timeout bounds it); the error names the failure for `/clusters`.
async fn connect(
    to: Target<'_>,
    alpn: super::tls::Alpn,
) -> Result<super::tls::UpstreamIo, CheckResult> {
    let address = &to.endpoint.address;
    (super::tls::open(to.tls, to.endpoint, alpn).await)
        .map_err(|err| CheckResult::NetworkFailure(format!("connect to {address}: {err}")))
}

/// A plain TCP connection for a probe.
async fn connect_tcp(address: &str) -> Result<tokio::net::TcpStream, CheckResult> {
    let stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| CheckResult::NetworkFailure(format!("connect: {e}")))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

impl Cluster {
    /// Records one check's result; returns the state it moved the
    /// endpoint to (`true` healthy), if it moved it.
    fn health_checked(
        &self,
        index: usize,
        result: &CheckResult,
        streak: &mut Streak,
        config: &HealthCheckConfig,
    ) -> Option<bool> {
        let endpoint = self.endpoints.get(index)?;
        let passed = *result == CheckResult::Success;
        let counter = match passed {
            true => &endpoint.health.checks_passed,
            false => &endpoint.health.checks_failed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
        if let Some(c) = self.rotation.metrics().checks.get(result.index()) {
            c.inc();
        }
        let healthy = !endpoint.health.has(FAILED_ACTIVE_HC);
        let mut changed = None;
        if let Some(now_healthy) = streak.record(passed, healthy, config) {
            let mut rotation = self.rotation.lock();
            if endpoint.health.set(FAILED_ACTIVE_HC, !now_healthy) {
                changed = Some(now_healthy);
                let reason = result.reason();
                endpoint.health.detail().checks = state::Change::now(reason.clone());
                if now_healthy {
                    tracing::info!(cluster = %self.name, endpoint = %endpoint.address, reason, "endpoint healthy: back in rotation");
                } else {
                    tracing::warn!(cluster = %self.name, endpoint = %endpoint.address, reason, "endpoint unhealthy: out of rotation");
                }
                self.refresh_rotation(&mut rotation);
            }
        }
        let uneject = self
            .outlier
            .is_some_and(|o| o.successful_active_health_check_uneject_host);
        let in_rotation_by_checks = !endpoint.health.has(FAILED_ACTIVE_HC);
        if passed && uneject && in_rotation_by_checks && endpoint.health.has(state::EJECTED) {
            self.uneject(endpoint, "active health check passed");
        }
        changed
    }
}

#[cfg(test)]
mod tests;

//! `strict_dns` clusters: hostnames turned into endpoints, one per address.
//!
//! A [`DnsStatus`] holds a cluster's last good resolution of each
//! configured `host:port`. The reloader resolves it before building the
//! cluster and again every `dns_refresh_rate`; [`endpoints`] expands the
//! configured list over it. A built cluster never changes its endpoints:
//! when a resolution changes, the reloader builds the cluster again (see
//! `reload/dns.rs`), so the balancers, pools and health tasks keep the
//! simple "fixed set of endpoints" model they were written for.
use crate::config::{ClusterConfig, Discovery, DnsConfig, LookupFamily};
use serde::Serialize;
use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

/// How long one lookup may take (c-ares' default timeout in Envoy).
const LOOKUP_TIMEOUT: Duration = Duration::from_secs(5);

/// One endpoint a cluster is built with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedEndpoint {
    /// `ip:port` once resolved; `host:port` as written otherwise.
    pub address: String,
    pub weight: u32,
    /// The configured `host:port` it came from (`strict_dns` only).
    pub hostname: Option<String>,
}

/// A `strict_dns` cluster's resolutions, shared by the refresh task and
/// the clusters built from it (for `/clusters`).
pub struct DnsStatus {
    pub cluster: String,
    pub config: DnsConfig,
    /// The configured `host:port` of each endpoint, in order.
    pub hosts: Vec<String>,
    state: Mutex<State>,
}

#[derive(Default)]
struct State {
    /// Per host: its last good addresses; `None` until one resolution
    /// succeeded.
    addresses: Vec<Option<Vec<SocketAddr>>>,
    last_resolution: Option<SystemTime>,
    /// The last failure, cleared by a success; also keeps a failing name
    /// from being logged at every refresh.
    last_error: Option<String>,
}

#[derive(Serialize)]
pub struct DnsSnapshot {
    pub dns_refresh_rate_seconds: f64,
    pub dns_lookup_family: &'static str,
    /// Seconds since the Unix epoch of the last lookup round.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_resolution_unix_seconds: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_resolution_age_seconds: Option<f64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
}

/// What one round of lookups did, for the metrics.
pub struct Round {
    pub successes: u64,
    pub failures: u64,
    /// The resolved addresses changed (before, after), for the log.
    pub changed: Option<(Vec<SocketAddr>, Vec<SocketAddr>)>,
}

impl DnsStatus {
    /// `None` for a `static` cluster.
    pub fn for_cluster(config: &ClusterConfig) -> Option<DnsStatus> {
        let Discovery::StrictDns(dns) = config.discovery else {
            return None;
        };
        let hosts: Vec<String> = config.endpoints.iter().map(|e| e.address.clone()).collect();
        Some(DnsStatus {
            cluster: config.name.clone(),
            config: dns,
            state: Mutex::new(State {
                addresses: vec![None; hosts.len()],
                ..State::default()
            }),
            hosts,
        })
    }

    /// Resolves every host once; a host that fails keeps its last good
    /// addresses (Envoy's behaviour), so a DNS outage changes nothing.
    pub async fn resolve(&self) -> Round {
        let mut results = Vec::with_capacity(self.hosts.len());
        for host in &self.hosts {
            results.push(lookup(host, self.config.lookup_family).await);
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let (before, before_hosts) = (state.all(), state.addresses.clone());
        let mut round = Round {
            successes: 0,
            failures: 0,
            changed: None,
        };
        let mut errors = Vec::new();
        for (slot, (host, result)) in state
            .addresses
            .iter_mut()
            .zip(self.hosts.iter().zip(results))
        {
            match result {
                Ok(addresses) => {
                    round.successes += 1;
                    *slot = Some(addresses);
                }
                Err(err) => {
                    round.failures += 1;
                    errors.push(format!("{host}: {err}"));
                }
            }
        }
        state.last_resolution = Some(SystemTime::now());
        let error = (!errors.is_empty()).then(|| errors.join("; "));
        if error.is_some() && error != state.last_error {
            tracing::warn!(cluster = %self.cluster, error = error.as_deref().unwrap_or_default(),
                "DNS resolution failed; the cluster keeps its last resolved addresses");
        }
        state.last_error = error;
        if state.addresses != before_hosts {
            round.changed = Some((before, state.all()));
        }
        round
    }

    /// Addresses resolved so far, over every host, deduplicated.
    pub fn address_count(&self) -> usize {
        self.state.lock().map(|s| s.all().len()).unwrap_or(0)
    }

    pub fn snapshot(&self) -> DnsSnapshot {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let at = state.last_resolution;
        let since_epoch = at.and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok());
        DnsSnapshot {
            dns_refresh_rate_seconds: self.config.refresh_rate.as_secs_f64(),
            dns_lookup_family: self.config.lookup_family.name(),
            last_resolution_unix_seconds: since_epoch.map(|d| d.as_secs()),
            last_resolution_age_seconds: at
                .and_then(|t| t.elapsed().ok())
                .map(|d| (d.as_secs_f64() * 1000.0).round() / 1000.0),
            last_error: state.last_error.clone(),
        }
    }

    /// Stands in for a resolution in tests elsewhere (the reloader's).
    #[cfg(test)]
    pub(crate) fn set_addresses(&self, addresses: Vec<Option<Vec<SocketAddr>>>) {
        self.state.lock().expect("lock").addresses = addresses;
    }

    fn addresses(&self) -> Vec<Option<Vec<SocketAddr>>> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.addresses.clone()
    }
}

impl State {
    fn all(&self) -> Vec<SocketAddr> {
        let mut all: Vec<SocketAddr> = self.addresses.iter().flatten().flatten().copied().collect();
        all.sort();
        all.dedup();
        all
    }
}

/// The endpoints to build `config`'s cluster with: as configured for a
/// `static` cluster (or without a status), else one per resolved address
/// of each host, with the host's weight, in configured order and sorted
/// addresses within a host, each address once (its first host wins). A
/// host never resolved stays as written and is resolved at connect time,
/// so a name that is briefly unknown at start-up still gets traffic.
pub fn endpoints(config: &ClusterConfig, status: Option<&DnsStatus>) -> Vec<ResolvedEndpoint> {
    let Some(status) = status else {
        return (config.endpoints.iter())
            .map(|e| ResolvedEndpoint {
                address: e.address.clone(),
                weight: e.weight,
                hostname: None,
            })
            .collect();
    };
    let resolved = status.addresses();
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for (endpoint, addresses) in config.endpoints.iter().zip(resolved) {
        let addresses: Vec<String> = match addresses {
            Some(list) => list.iter().map(SocketAddr::to_string).collect(),
            None => vec![endpoint.address.clone()],
        };
        for address in addresses {
            if seen.insert(address.clone()) {
                out.push(ResolvedEndpoint {
                    address,
                    weight: endpoint.weight,
                    hostname: Some(endpoint.address.clone()),
                });
            }
        }
    }
    out
}

/// The addresses of one `host:port` (getaddrinfo: `/etc/hosts` counts),
/// of the family asked for, sorted and without duplicates.
async fn lookup(host: &str, family: LookupFamily) -> Result<Vec<SocketAddr>, String> {
    let found = tokio::time::timeout(LOOKUP_TIMEOUT, tokio::net::lookup_host(host)).await;
    let found: Vec<SocketAddr> = match found {
        Err(_) => return Err(format!("timed out after {LOOKUP_TIMEOUT:?}")),
        Ok(Err(err)) => return Err(err.to_string()),
        Ok(Ok(addresses)) => addresses.collect(),
    };
    let mut chosen = pick_family(found, family);
    if chosen.is_empty() {
        return Err(format!("no {} address", family.name()));
    }
    chosen.sort();
    chosen.dedup();
    Ok(chosen)
}

fn pick_family(found: Vec<SocketAddr>, family: LookupFamily) -> Vec<SocketAddr> {
    let (v4, v6): (Vec<SocketAddr>, Vec<SocketAddr>) = found.into_iter().partition(|a| a.is_ipv4());
    match family {
        LookupFamily::V4Only => v4,
        LookupFamily::V6Only => v6,
        LookupFamily::Auto if v4.is_empty() => v6,
        LookupFamily::Auto => v4,
    }
}

#[cfg(test)]
#[path = "dns_tests.rs"]
mod tests;

//! Raw model → typed [`Config`]: every check, every problem collected.
//!
//! Validation never stops at the first problem: each check records an
//! [`Issue`] (path + message) and moves on, so a user sees the whole list.
//! Issues carry paths only; `parse` turns them into positioned problems via
//! the source map, which keeps this file free of YAML concerns and lets
//! quick mode (no YAML at all) reuse it unchanged.
use std::collections::HashMap;
use std::net::SocketAddr;
use std::time::Duration;

use super::raw::{RawConfig, RawListener, RawListenerProtocol};
use super::validate_cluster::cluster;
use super::validate_route::virtual_hosts;
use super::values::{check_name, parse_duration, parse_socket_addr};
use super::{
    AdminConfig, Config, LabelLimits, ListenerConfig, ListenerProtocol, MAX_DYNAMODB_BODY_BYTES,
    MAX_LABEL_LIMIT,
};

const MAX_WORKERS: u64 = 1024;

/// A problem at a field path, before it is given a file position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub path: String,
    pub message: String,
}

#[derive(Default)]
pub(crate) struct Issues(pub Vec<Issue>);

impl Issues {
    pub fn add(&mut self, path: impl Into<String>, message: impl Into<String>) {
        self.0.push(Issue {
            path: path.into(),
            message: message.into(),
        });
    }

    /// Records the error of a value check and turns the result into an
    /// option, so callers can keep going and skip only what depends on it.
    pub fn check<T>(&mut self, path: impl Into<String>, result: Result<T, String>) -> Option<T> {
        result.map_err(|message| self.add(path, message)).ok()
    }

    /// Reports every repeated name as `kind name "x" is already used by <path>`.
    pub fn unique_names<'a>(&mut self, kind: &str, items: impl Iterator<Item = (String, &'a str)>) {
        let mut seen: HashMap<&str, String> = HashMap::new();
        for (path, name) in items {
            if let Some(first) = seen.get(name) {
                self.add(
                    format!("{path}.name"),
                    format!("{kind} name \"{name}\" is already used by {first}"),
                );
            } else {
                seen.insert(name, path);
            }
        }
    }
}

/// Cluster names in file order, for reference checks and their messages.
pub(crate) struct KnownClusters<'a>(Vec<&'a str>);

impl KnownClusters<'_> {
    pub fn check(&self, issues: &mut Issues, path: String, name: &str) {
        if self.0.contains(&name) {
            return;
        }
        let known = if self.0.is_empty() {
            "no clusters are defined".to_owned()
        } else {
            format!("known: {}", self.0.join(", "))
        };
        issues.add(path, format!("unknown cluster \"{name}\" ({known})"));
    }
}

/// Positive duration, for timeouts where zero would make no sense.
pub(crate) fn positive_duration(text: &str) -> Result<Duration, String> {
    match parse_duration(text)? {
        Duration::ZERO => Err(format!("duration \"{text}\" must be greater than 0")),
        d => Ok(d),
    }
}

pub fn validate(raw: &RawConfig, source: &str) -> Result<Config, Vec<Issue>> {
    let mut v = Issues::default();
    let admin = v.check("admin.address", parse_socket_addr(&raw.admin.address));
    let workers = raw.workers.and_then(|w| match usize::try_from(w) {
        Ok(n) if (1..=MAX_WORKERS).contains(&w) => Some(n),
        _ => {
            v.add(
                "workers",
                format!("workers must be 1-{MAX_WORKERS}, got {w}"),
            );
            None
        }
    });
    if raw.listeners.is_empty() {
        v.add("listeners", "at least one listener is required");
    }
    v.unique_names(
        "listener",
        indexed("listeners", &raw.listeners, |l| &l.name),
    );
    v.unique_names("cluster", indexed("clusters", &raw.clusters, |c| &c.name));
    let known = KnownClusters(raw.clusters.iter().map(|c| c.name.as_str()).collect());

    let clusters: Vec<_> = (raw.clusters.iter().enumerate())
        .filter_map(|(i, c)| cluster(&mut v, format!("clusters[{i}]"), c))
        .collect();
    let listeners: Vec<_> = (raw.listeners.iter().enumerate())
        .filter_map(|(i, l)| listener(&mut v, format!("listeners[{i}]"), l, &known))
        .collect();
    check_addresses(&mut v, admin, raw);
    super::validate_upgrade::check_listeners(&mut v, raw);
    let tracing = super::validate_telemetry::tracing(&mut v, raw.tracing.as_ref());

    match (admin, tracing) {
        (Some(address), Some(tracing)) if v.0.is_empty() => Ok(Config {
            source: source.to_owned(),
            admin: AdminConfig {
                address,
                watch_config: raw.admin.watch_config,
            },
            workers,
            listeners,
            clusters,
            tracing,
            effective: serde_json::to_value(raw.with_defaults()).unwrap_or_default(),
        }),
        _ => Err(v.0),
    }
}

fn indexed<'a, T>(
    prefix: &'a str,
    items: &'a [T],
    name: impl Fn(&'a T) -> &'a String + 'a,
) -> impl Iterator<Item = (String, &'a str)> + 'a {
    (items.iter().enumerate()).map(move |(i, item)| (format!("{prefix}[{i}]"), name(item).as_str()))
}

fn listener(
    v: &mut Issues,
    p: String,
    raw: &RawListener,
    known: &KnownClusters,
) -> Option<ListenerConfig> {
    let name = v.check(format!("{p}.name"), check_name(&raw.name));
    let address = v.check(format!("{p}.address"), parse_socket_addr(&raw.address));
    let protocol = ListenerProtocol::from(raw.protocol);
    let detect_timeout = match (&raw.detect_timeout, raw.protocol) {
        (Some(t), RawListenerProtocol::Auto) => {
            v.check(format!("{p}.detect_timeout"), positive_duration(t))
        }
        (Some(_), other) => {
            v.add(
                format!("{p}.detect_timeout"),
                format!(
                    "detect_timeout only applies to protocol auto (this listener is {})",
                    protocol_name(other)
                ),
            );
            None
        }
        (None, _) => positive_duration(super::raw::DEFAULT_DETECT_TIMEOUT).ok(),
    };
    if let Some(c) = &raw.cluster {
        known.check(v, format!("{p}.cluster"), c);
    }
    let has_vhosts = !raw.virtual_hosts.is_empty();
    match (raw.protocol, has_vhosts, raw.cluster.is_some()) {
        (RawListenerProtocol::Tcp, _, false) => {
            v.add(
                p.as_str(),
                "a tcp listener needs `cluster`, the upstream to relay to",
            );
        }
        (RawListenerProtocol::Http | RawListenerProtocol::Auto, false, false) => v.add(
            p.as_str(),
            format!(
                "an {} listener needs `virtual_hosts` or `cluster` (the target for every request)",
                protocol_name(raw.protocol)
            ),
        ),
        (RawListenerProtocol::Http, true, true) => v.add(
            format!("{p}.cluster"),
            "cluster is never used: an http listener with virtual_hosts routes every request \
             through them (remove it, or use protocol auto to relay non-HTTP traffic to it)",
        ),
        _ => {}
    }
    if !raw.sniff && raw.protocol != RawListenerProtocol::Tcp {
        v.add(
            format!("{p}.sniff"),
            format!(
                "sniff: false applies to tcp listeners only (this listener is {}, which must \
                 read HTTP to route it)",
                protocol_name(raw.protocol)
            ),
        );
    }
    if raw.protocol == RawListenerProtocol::Tcp && has_vhosts {
        v.add(
            format!("{p}.virtual_hosts"),
            "virtual_hosts need protocol http or auto (this listener is tcp)",
        );
    }
    let virtual_hosts = virtual_hosts(v, &p, &raw.virtual_hosts, known);
    let upgrade_configs = super::validate_upgrade::upgrade_configs(
        v,
        &format!("{p}.upgrade_configs"),
        &raw.upgrade_configs,
    );
    let limits = &raw.label_limits;
    let mut limit = |field: &str, value: u64| {
        v.check(
            format!("{p}.label_limits.{field}"),
            if (1..=MAX_LABEL_LIMIT).contains(&value) {
                Ok(value as usize)
            } else {
                Err(format!(
                    "must be between 1 and {MAX_LABEL_LIMIT}, got {value}"
                ))
            },
        )
    };
    let collections = limit("collections", limits.collections);
    let namespaces = limit("namespaces", limits.namespaces);
    let status_codes = limit("status_codes", limits.status_codes);
    let rpc_methods = limit("rpc_methods", limits.rpc_methods);
    let access_log = super::validate_telemetry::access_log(v, &p, raw.access_log.as_ref());
    let mut optional_duration = |field: &str, text: &str| {
        v.check(format!("{p}.{field}"), super::values::parse_duration(text))
            .map(|d| (!d.is_zero()).then_some(d))
    };
    let tcp_idle_timeout = optional_duration("tcp_idle_timeout", &raw.tcp_idle_timeout);
    let http_idle_timeout = optional_duration("http_idle_timeout", &raw.http_idle_timeout);
    let stream_idle_timeout = optional_duration("stream_idle_timeout", &raw.stream_idle_timeout);
    let max_connection_duration =
        optional_duration("max_connection_duration", &raw.max_connection_duration);
    let tls = match &raw.tls {
        None => Some(None),
        Some(tls) => listener_tls(v, &p, tls).map(Some),
    };
    let dynamodb_body_bytes = v.check(
        format!("{p}.dynamodb.max_body_bytes"),
        match raw.dynamodb.max_body_bytes {
            n if n <= MAX_DYNAMODB_BODY_BYTES => Ok(n as usize),
            n => Err(format!(
                "must be at most {MAX_DYNAMODB_BODY_BYTES} (16 MiB), got {n}"
            )),
        },
    );
    Some(ListenerConfig {
        name: name.map(|()| raw.name.clone())?,
        address: address?,
        protocol,
        detect_timeout: detect_timeout?,
        cluster: raw.cluster.clone(),
        virtual_hosts: virtual_hosts?,
        label_limits: LabelLimits {
            collections: collections?,
            namespaces: namespaces?,
            status_codes: status_codes?,
            rpc_methods: rpc_methods?,
        },
        access_log: access_log?,
        mongodb_query_text: raw.mongodb.query_text,
        sniff: raw.sniff,
        dynamodb_body_bytes: dynamodb_body_bytes?,
        tcp_idle_timeout: tcp_idle_timeout?,
        http_idle_timeout: http_idle_timeout?,
        stream_idle_timeout: stream_idle_timeout?,
        max_connection_duration: max_connection_duration?,
        upgrade_configs: upgrade_configs?,
        tls: tls?,
    })
}

/// TLS on a listener.
fn listener_tls(
    v: &mut Issues,
    p: &str,
    tls: &super::raw::RawDownstreamTls,
) -> Option<super::DownstreamTlsConfig> {
    super::validate_tls::downstream(v, &format!("{p}.tls"), tls)
}

fn protocol_name(p: RawListenerProtocol) -> &'static str {
    match p {
        RawListenerProtocol::Auto => "auto",
        RawListenerProtocol::Http => "http",
        RawListenerProtocol::Tcp => "tcp",
    }
}

/// Two sockets cannot bind the same port when their IPs are equal or one
/// is a wildcard (`0.0.0.0`, `[::]`); port 0 asks the OS for a free port.
fn check_addresses(v: &mut Issues, admin: Option<SocketAddr>, raw: &RawConfig) {
    let mut by_port: HashMap<u16, Vec<(String, String, SocketAddr)>> = HashMap::new();
    let admin = admin.map(|a| ("admin.address".to_owned(), "the admin server".to_owned(), a));
    let listeners = raw.listeners.iter().enumerate().filter_map(|(i, l)| {
        let addr = parse_socket_addr(&l.address).ok()?;
        Some((
            format!("listeners[{i}].address"),
            format!("listener \"{}\"", l.name),
            addr,
        ))
    });
    for (path, owner, addr) in admin.into_iter().chain(listeners) {
        if addr.port() == 0 {
            continue;
        }
        let same_port = by_port.entry(addr.port()).or_default();
        let clash = same_port.iter().find(|(_, _, other)| {
            other.ip() == addr.ip() || other.ip().is_unspecified() || addr.ip().is_unspecified()
        });
        if let Some((_, other_owner, other)) = clash {
            v.add(
                path.as_str(),
                format!("address {addr} conflicts with {other} of {other_owner}"),
            );
        }
        same_port.push((path, owner, addr));
    }
}

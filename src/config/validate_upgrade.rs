//! Validation of `upgrade_configs`, on listeners and on route actions.
use super::model_upgrade::{allowed_upgrades, UpgradeConfig};
use super::raw::{RawConfig, RawListener, RawListenerProtocol, RawUpstreamProtocol};
use super::raw_cluster::RawCluster;
use super::raw_route::RawUpgradeConfig;
use super::validate::Issues;

/// More upgrade types than any deployment needs (Envoy users list one or
/// two); the runtime keeps a type's index in a byte.
pub const MAX_UPGRADE_TYPES: usize = 16;

/// The entries at `p` (a list), each type a token, `h2c` refused, no type
/// twice. Types are kept lowercase: `Upgrade` compares case-insensitively.
pub(crate) fn upgrade_configs(
    v: &mut Issues,
    p: &str,
    raw: &[RawUpgradeConfig],
) -> Option<Vec<UpgradeConfig>> {
    let issues_before = v.0.len();
    if raw.len() > MAX_UPGRADE_TYPES {
        v.add(
            p,
            format!(
                "at most {MAX_UPGRADE_TYPES} upgrade types, got {}",
                raw.len()
            ),
        );
        return None;
    }
    let mut out: Vec<UpgradeConfig> = Vec::with_capacity(raw.len());
    // Where each kept type was written, for the duplicate's message.
    let mut written_at: Vec<usize> = Vec::with_capacity(raw.len());
    for (i, entry) in raw.iter().enumerate() {
        let path = format!("{p}[{i}].upgrade_type");
        let name = entry.upgrade_type.to_ascii_lowercase();
        if let Err(message) = upgrade_type(&name) {
            v.add(path, message);
            continue;
        }
        if let Some(kept) = out.iter().position(|e| e.upgrade_type == name) {
            let first = written_at[kept];
            v.add(
                path,
                format!("upgrade type \"{name}\" is already configured by {p}[{first}]"),
            );
            continue;
        }
        written_at.push(i);
        out.push(UpgradeConfig {
            upgrade_type: name,
            enabled: entry.enabled,
        });
    }
    (v.0.len() == issues_before).then_some(out)
}

fn upgrade_type(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("must name a protocol, e.g. websocket".to_owned());
    }
    // RFC 9110 §7.8: a protocol name is a token, optionally `/version`.
    let token = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-.^_`|~/".contains(c);
    if !name.chars().all(token) {
        return Err(format!(
            "\"{name}\" is not an HTTP protocol name (letters, digits and !#$%&'*+-.^_`|~/ only)"
        ));
    }
    if name == "h2c" {
        return Err(
            "h2c is HTTP/2's own upgrade: as in Envoy, such a request is forwarded \
                    as HTTP/1.1 without it (use a cluster with protocol h2c to speak HTTP/2)"
                .to_owned(),
        );
    }
    Ok(())
}

/// What `upgrade_configs` asks of the rest of the config, listener by
/// listener: an HTTP listener; route entries naming types their listener
/// lists (a route turns a listener's upgrade on or off, it cannot add
/// one); and an HTTP/1.1 upstream wherever an upgrade is on.
pub(crate) fn check_listeners(v: &mut Issues, raw: &RawConfig) {
    for (l, listener) in raw.listeners.iter().enumerate() {
        let p = format!("listeners[{l}]");
        let any = !listener.upgrade_configs.is_empty();
        if any && listener.protocol == RawListenerProtocol::Tcp {
            v.add(
                format!("{p}.upgrade_configs"),
                "upgrade_configs need an http or auto listener (this listener is tcp, \
                 which relays every byte already)",
            );
            continue;
        }
        routes_name_listed_types(v, &p, listener);
        if any {
            upstreams_speak_http1(v, &p, listener, &raw.clusters);
        }
    }
}

fn listed(listener: &RawListener, name: &str) -> bool {
    (listener.upgrade_configs.iter()).any(|e| e.upgrade_type.eq_ignore_ascii_case(name))
}

fn routes_name_listed_types(v: &mut Issues, p: &str, listener: &RawListener) {
    for (h, host) in listener.virtual_hosts.iter().enumerate() {
        for (r, route) in host.routes.iter().enumerate() {
            let Some(action) = &route.route else { continue };
            for (i, entry) in action.upgrade_configs.iter().enumerate() {
                let name = entry.upgrade_type.to_ascii_lowercase();
                // A bad type is reported once, by `upgrade_configs`.
                if upgrade_type(&name).is_err() || listed(listener, &name) {
                    continue;
                }
                v.add(
                    format!(
                        "{p}.virtual_hosts[{h}].routes[{r}].route.upgrade_configs[{i}].upgrade_type"
                    ),
                    format!(
                        "upgrade type \"{name}\" is not in the listener's upgrade_configs \
                         (a route turns a listener's upgrade on or off)"
                    ),
                );
            }
        }
    }
}

/// A route with an upgrade on whose cluster speaks h2c would answer every
/// upgrade 403: said at load time instead.
fn upstreams_speak_http1(v: &mut Issues, p: &str, listener: &RawListener, clusters: &[RawCluster]) {
    let h2c = |name: &str| {
        clusters
            .iter()
            .any(|c| c.name == name && c.protocol == RawUpstreamProtocol::H2c)
    };
    let message = |cluster: &str| {
        format!(
            "an upgrade is on for this route but cluster \"{cluster}\" speaks h2c: upgrades \
             need an HTTP/1.1 upstream (cluster protocol http1 or auto)"
        )
    };
    // The runtime's precedence, on the raw entries (types lowercased).
    let entries = |raw: &[RawUpgradeConfig]| -> Vec<UpgradeConfig> {
        let entry = |e: &RawUpgradeConfig| UpgradeConfig {
            upgrade_type: e.upgrade_type.to_ascii_lowercase(),
            enabled: e.enabled,
        };
        raw.iter().map(entry).collect()
    };
    let listed = entries(&listener.upgrade_configs);
    let on = |route: &[RawUpgradeConfig]| !allowed_upgrades(&listed, &entries(route)).is_empty();
    if listener.virtual_hosts.is_empty() {
        if let Some(cluster) = (listener.cluster.as_deref()).filter(|c| on(&[]) && h2c(c)) {
            v.add(format!("{p}.cluster"), message(cluster));
        }
        return;
    }
    for (h, host) in listener.virtual_hosts.iter().enumerate() {
        for (r, route) in host.routes.iter().enumerate() {
            let Some(action) = &route.route else { continue };
            if on(&action.upgrade_configs) && h2c(&action.cluster) {
                let path = format!("{p}.virtual_hosts[{h}].routes[{r}].route.cluster");
                v.add(path, message(&action.cluster));
            }
        }
    }
}

//! Validation of `upgrade_configs`, on listeners and on route actions.
use super::model_upgrade::UpgradeConfig;
use super::raw::RawListener;
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

/// Every route entry must name a type its listener lists: a route can turn
/// a listener's upgrade on or off, not add one.
pub(crate) fn route_types_listed(v: &mut Issues, p: &str, raw: &RawListener) {
    let listed = |name: &str| {
        raw.upgrade_configs
            .iter()
            .any(|e| e.upgrade_type.eq_ignore_ascii_case(name))
    };
    for (h, host) in raw.virtual_hosts.iter().enumerate() {
        for (r, route) in host.routes.iter().enumerate() {
            let Some(action) = &route.route else { continue };
            for (i, entry) in action.upgrade_configs.iter().enumerate() {
                if !entry.upgrade_type.is_empty() && !listed(&entry.upgrade_type) {
                    v.add(
                        format!(
                            "{p}.virtual_hosts[{h}].routes[{r}].route.upgrade_configs[{i}].upgrade_type"
                        ),
                        format!(
                            "upgrade type \"{}\" is not in the listener's upgrade_configs \
                             (a route turns a listener's upgrade on or off)",
                            entry.upgrade_type
                        ),
                    );
                }
            }
        }
    }
}

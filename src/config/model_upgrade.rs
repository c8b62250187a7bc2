//! HTTP/1.1 upgrades (Envoy's `upgrade_configs`): which `Upgrade` types a
//! listener relays, and per route which of them are on.

/// One upgrade type as configured: lowercase, and on or off.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpgradeConfig {
    pub upgrade_type: String,
    pub enabled: bool,
}

/// The types a route relays: the listener's enabled ones, with the route's
/// own entries turning listed types on or off (Envoy's precedence: the
/// route's setting wins). A route cannot add a type its listener does not
/// list; validation says so.
pub fn allowed_upgrades(listener: &[UpgradeConfig], route: &[UpgradeConfig]) -> Vec<String> {
    listener
        .iter()
        .filter(|entry| {
            route
                .iter()
                .find(|own| own.upgrade_type == entry.upgrade_type)
                .map_or(entry.enabled, |own| own.enabled)
        })
        .map(|entry| entry.upgrade_type.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(upgrade_type: &str, enabled: bool) -> UpgradeConfig {
        UpgradeConfig {
            upgrade_type: upgrade_type.to_owned(),
            enabled,
        }
    }

    #[test]
    fn a_route_setting_wins_over_its_listener() {
        let listener = [entry("websocket", true), entry("spdy/3", false)];
        assert_eq!(allowed_upgrades(&listener, &[]), ["websocket"]);
        let off = [entry("websocket", false)];
        assert!(allowed_upgrades(&listener, &off).is_empty());
        let on = [entry("spdy/3", true)];
        assert_eq!(allowed_upgrades(&listener, &on), ["websocket", "spdy/3"]);
        assert!(allowed_upgrades(&[], &[entry("websocket", true)]).is_empty());
    }
}

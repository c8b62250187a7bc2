//! `upgrade_configs` on listeners and routes (Envoy's names and
//! precedence): types are protocol tokens, listed once, never `h2c`; a
//! route only turns a listener's types on or off.
use super::{load, problems};
use crate::config::{allowed_upgrades, UpgradeConfig};

const LISTENER: &str = "
    listeners:
      - name: edge
        address: 127.0.0.1:1
        protocol: http
        upgrade_configs: UPGRADES
        virtual_hosts:
          - name: v
            routes:
              - name: r
                match: { prefix: / }
                route: { cluster: web, upgrade_configs: ROUTE }
    clusters: [ { name: web, endpoints: [\"h:1\"] } ]
";

fn yaml(upgrades: &str, route: &str) -> String {
    LISTENER
        .replace("UPGRADES", upgrades)
        .replace("ROUTE", route)
}

#[test]
fn types_are_kept_lowercase_with_the_route_setting() {
    let config = load(&yaml(
        "[ { upgrade_type: WebSocket }, { upgrade_type: CONNECT-UDP, enabled: false } ]",
        "[ { upgrade_type: websocket, enabled: false }, { upgrade_type: connect-udp } ]",
    ))
    .expect("valid");
    let listener = &config.listeners[0];
    let entry = |t: &str, enabled| UpgradeConfig {
        upgrade_type: t.to_owned(),
        enabled,
    };
    assert_eq!(
        listener.upgrade_configs,
        [entry("websocket", true), entry("connect-udp", false)]
    );
    let route = &listener.virtual_hosts[0].routes[0];
    assert_eq!(
        allowed_upgrades(&listener.upgrade_configs, &route.upgrade_configs),
        ["connect-udp"]
    );
}

#[test]
fn bad_types_are_named_with_their_place() {
    let p = "listeners[0].upgrade_configs";
    assert_eq!(
        problems(&yaml(
            r#"[ { upgrade_type: "" }, { upgrade_type: "web socket" }, { upgrade_type: h2c }, { upgrade_type: websocket }, { upgrade_type: WEBSOCKET } ]"#,
            "[]",
        )),
        [
            format!("t.yaml:5:40: {p}[0].upgrade_type: must name a protocol, e.g. websocket"),
            format!(
                "t.yaml:5:62: {p}[1].upgrade_type: \"web socket\" is not an HTTP protocol name \
                 (letters, digits and !#$%&'*+-.^_`|~/ only)"
            ),
            format!(
                "t.yaml:5:94: {p}[2].upgrade_type: h2c is HTTP/2's own upgrade: as in Envoy, \
                 such a request is forwarded as HTTP/1.1 without it (use a cluster with \
                 protocol h2c to speak HTTP/2)"
            ),
            format!(
                "t.yaml:5:146: {p}[4].upgrade_type: upgrade type \"websocket\" is already \
                 configured by {p}[3]"
            ),
        ]
    );
}

#[test]
fn a_route_cannot_add_a_type_its_listener_does_not_list() {
    assert_eq!(
        problems(&yaml(
            "[ { upgrade_type: websocket } ]",
            "[ { upgrade_type: spdy/3 } ]"
        )),
        [
            "t.yaml:11:71: listeners[0].virtual_hosts[0].routes[0].route.upgrade_configs[0]\
          .upgrade_type: upgrade type \"spdy/3\" is not in the listener's upgrade_configs \
          (a route turns a listener's upgrade on or off)"
        ]
    );
}

#[test]
fn an_entry_needs_its_type() {
    assert_eq!(
        problems(&yaml("[ { enabled: true } ]", "[]")),
        ["t.yaml:5:26: listeners[0].upgrade_configs[0]: missing field `upgrade_type`"]
    );
}

#[test]
fn at_most_sixteen_types() {
    let many: Vec<String> = (0..17)
        .map(|i| format!("{{ upgrade_type: p{i} }}"))
        .collect();
    let problems = problems(&yaml(&format!("[ {} ]", many.join(", ")), "[]"));
    assert_eq!(
        problems,
        ["t.yaml:5:22: listeners[0].upgrade_configs: at most 16 upgrade types, got 17"]
    );
}

#[test]
fn a_bad_route_type_is_reported_once() {
    assert_eq!(
        problems(&yaml(
            "[ { upgrade_type: websocket } ]",
            "[ { upgrade_type: h2c } ]"
        )),
        [
            "t.yaml:11:71: listeners[0].virtual_hosts[0].routes[0].route.upgrade_configs[0]\
          .upgrade_type: h2c is HTTP/2's own upgrade: as in Envoy, such a request is \
          forwarded as HTTP/1.1 without it (use a cluster with protocol h2c to speak HTTP/2)"
        ]
    );
}

#[test]
fn route_types_need_a_listing_listener_even_an_empty_one() {
    let yaml = LISTENER
        .replace("        upgrade_configs: UPGRADES\n", "")
        .replace("ROUTE", "[ { upgrade_type: websocket } ]");
    assert_eq!(
        problems(&yaml),
        [
            "t.yaml:10:71: listeners[0].virtual_hosts[0].routes[0].route.upgrade_configs[0]\
          .upgrade_type: upgrade type \"websocket\" is not in the listener's upgrade_configs \
          (a route turns a listener's upgrade on or off)"
        ]
    );
}

#[test]
fn upgrades_need_an_http_listener_and_an_http1_upstream() {
    assert_eq!(
        problems(
            "
            listeners:
              - { name: raw, address: 127.0.0.1:1, protocol: tcp, cluster: web, upgrade_configs: [ { upgrade_type: websocket } ] }
              - { name: quick, address: 127.0.0.1:2, protocol: http, cluster: grpc, upgrade_configs: [ { upgrade_type: websocket } ] }
              - name: routed
                address: 127.0.0.1:3
                protocol: http
                upgrade_configs: [ { upgrade_type: websocket } ]
                virtual_hosts:
                  - name: v
                    routes:
                      - { name: off, match: { prefix: /off }, route: { cluster: grpc, upgrade_configs: [ { upgrade_type: websocket, enabled: false } ] } }
                      - { name: on, match: { prefix: / }, route: { cluster: grpc } }
            clusters:
              - { name: web, endpoints: [\"h:1\"] }
              - { name: grpc, protocol: h2c, endpoints: [\"h:2\"] }
            "
        ),
        [
            "t.yaml:2:86: listeners[0].upgrade_configs: upgrade_configs need an http or auto \
             listener (this listener is tcp, which relays every byte already)",
            "t.yaml:3:67: listeners[1].cluster: an upgrade is on for this route but cluster \
             \"grpc\" speaks h2c: upgrades need an HTTP/1.1 upstream (cluster protocol http1 \
             or auto)",
            "t.yaml:12:65: listeners[2].virtual_hosts[0].routes[1].route.cluster: an upgrade is \
             on for this route but cluster \"grpc\" speaks h2c: upgrades need an HTTP/1.1 \
             upstream (cluster protocol http1 or auto)",
        ]
    );
}

//! YAML configs the tests share, written the way a user would write them.
//! Every config gets its own admin port; listeners get fresh free ports on
//! every call, so `Periscope::start(|| ...)` can retry on a port clash.
use super::ports::free_port;
use std::net::SocketAddr;

/// `admin:` on a free port and two workers (the CI machine has two cores).
pub fn admin_block() -> String {
    format!("admin:\n  address: 127.0.0.1:{}\nworkers: 2\n", free_port())
}

/// A fresh `127.0.0.1:<free port>` for a listener address.
pub fn listen_addr() -> String {
    format!("127.0.0.1:{}", free_port())
}

/// One listener `edge` speaking `listener_protocol` (auto | http | tcp) that
/// sends everything to cluster `web` (`cluster_protocol` http1 | h2c | auto)
/// at `upstream`. No virtual hosts: every HTTP request goes to `web`.
pub fn proxy(listener_protocol: &str, cluster_protocol: &str, upstream: SocketAddr) -> String {
    format!(
        r#"{admin}listeners:
  - name: edge
    address: {listen}
    protocol: {listener_protocol}
    cluster: web
clusters:
  - name: web
    protocol: {cluster_protocol}
    connect_timeout: 2s
    endpoints: ["{upstream}"]
"#,
        admin = admin_block(),
        listen = listen_addr(),
    )
}

/// An `auto` listener `edge`: HTTP goes through virtual host `site`, route
/// `all` to cluster `web` (HTTP/1.1 at `http_upstream`); anything else is
/// relayed to cluster `raw` at `tcp_upstream`.
pub fn auto_split(
    http_upstream: SocketAddr,
    tcp_upstream: SocketAddr,
    detect_timeout: &str,
) -> String {
    format!(
        r#"{admin}listeners:
  - name: edge
    address: {listen}
    protocol: auto
    detect_timeout: {detect_timeout}
    cluster: raw
    virtual_hosts:
      - name: site
        domains: ["*"]
        routes:
          - name: all
            match: {{ prefix: / }}
            route: {{ cluster: web }}
clusters:
  - name: web
    protocol: http1
    connect_timeout: 2s
    endpoints: ["{http_upstream}"]
  - name: raw
    connect_timeout: 2s
    endpoints: ["{tcp_upstream}"]
"#,
        admin = admin_block(),
        listen = listen_addr(),
    )
}

/// One listener `edge` (`listener_protocol` tcp | auto) relaying to cluster
/// `mongo` at `upstream`; `listener_extra` is added to the listener as is
/// (e.g. `"    label_limits: { collections: 2 }\n"`).
pub fn mongo_proxy(listener_protocol: &str, upstream: SocketAddr, listener_extra: &str) -> String {
    format!(
        r#"{admin}listeners:
  - name: edge
    address: {listen}
    protocol: {listener_protocol}
    cluster: mongo
{listener_extra}clusters:
  - name: mongo
    connect_timeout: 2s
    endpoints: ["{upstream}"]
"#,
        admin = admin_block(),
        listen = listen_addr(),
    )
}

/// An `http` listener `edge` with one virtual host `site` (any domain)
/// holding `routes` — `(name, path prefix, route action)`, the action as
/// YAML such as `{ cluster: web, timeout: 0s }` — in front of one cluster
/// `cluster` speaking `protocol` at `upstream`. `top_level` is appended as is
/// (e.g. a `tracing:` block).
pub fn routed(
    routes: &[(&str, &str, &str)],
    cluster: &str,
    protocol: &str,
    upstream: SocketAddr,
    top_level: &str,
) -> String {
    format!(
        r#"{listener}clusters:
  - name: {cluster}
    protocol: {protocol}
    endpoints: ["{upstream}"]
{top_level}"#,
        listener = http_listener(routes),
    )
}

/// The admin block and one `http` listener `edge` with one virtual host
/// `site` (any domain) holding `routes` (as for [`routed`]).
fn http_listener(routes: &[(&str, &str, &str)]) -> String {
    let routes: String = routes
        .iter()
        .map(|(name, prefix, action)| {
            format!(
                "          - name: {name}\n            match: {{ prefix: {prefix} }}\n            route: {action}\n"
            )
        })
        .collect();
    format!(
        r#"{admin}listeners:
  - name: edge
    address: {listen}
    protocol: http
    virtual_hosts:
      - name: site
        domains: ["*"]
        routes:
{routes}"#,
        admin = admin_block(),
        listen = listen_addr(),
    )
}

/// One `http` listener `edge` whose route `all` (prefix `/`) sends
/// everything to the HTTP/1.1 cluster `web` at `endpoints`. `route_extra`
/// is added inside the route action (e.g. `timeout: 3s, retry_policy: {...}`),
/// `cluster_extra` as YAML lines under the cluster (e.g.
/// `"    circuit_breakers: { max_requests: 1 }\n"`).
pub fn one_route(endpoints: &[SocketAddr], route_extra: &str, cluster_extra: &str) -> String {
    let endpoints: Vec<String> = endpoints.iter().map(|e| format!("\"{e}\"")).collect();
    let action = format!("{{ cluster: web, {route_extra} }}");
    format!(
        r#"{listener}clusters:
  - name: web
    protocol: http1
    connect_timeout: 1s
    endpoints: [{endpoints}]
{cluster_extra}"#,
        listener = http_listener(&[("all", "/", &action)]),
        endpoints = endpoints.join(", "),
    )
}

/// One listener per `(name, protocol, cluster yaml)`, named like its
/// cluster.
pub fn listener_per_cluster(clusters: &[(&str, &str, String)]) -> String {
    let mut listeners = String::from("listeners:\n");
    let mut yaml = String::from("clusters:\n");
    for (name, protocol, cluster) in clusters {
        listeners.push_str(&format!(
            "  - {{ name: {name}, address: {}, protocol: {protocol}, cluster: {name} }}\n",
            listen_addr()
        ));
        yaml.push_str(&format!("  - name: {name}\n{cluster}"));
    }
    format!("{}{listeners}{yaml}", admin_block())
}

/// An HTTP/1.1 cluster of `addresses` with this `health_check` block.
pub fn checked_http1(addresses: &[SocketAddr], check: &str) -> String {
    format!(
        "    protocol: http1\n{}    health_check: {check}\n",
        endpoints_yaml(addresses)
    )
}

pub fn endpoints_yaml(addresses: &[SocketAddr]) -> String {
    let list: Vec<String> = addresses.iter().map(|a| format!("\"{a}\"")).collect();
    format!("    endpoints: [{}]\n", list.join(", "))
}

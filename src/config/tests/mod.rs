//! End-to-end tests of the config API: YAML text in, `Config` or exact
//! error lines out.
mod hostile;
mod parse_errors;
mod rules;
mod rules_cluster;
mod rules_dns;
mod rules_retry;
mod rules_route;
mod rules_upgrade;
mod telemetry;

use std::net::SocketAddr;
use std::time::Duration;

use super::*;

/// Test YAML is written indented inside raw strings; strip the common
/// indentation and the first newline so line numbers match what you read.
pub(super) fn dedent(text: &str) -> String {
    let text = text.strip_prefix('\n').unwrap_or(text);
    let indent = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.len() - l.trim_start().len())
        .min()
        .unwrap_or(0);
    text.lines()
        .map(|l| l.get(indent..).unwrap_or(""))
        .collect::<Vec<_>>()
        .join("\n")
        + "\n"
}

fn cluster<'a>(c: &'a Config, name: &str) -> Option<&'a ClusterConfig> {
    c.clusters.iter().find(|cl| cl.name == name)
}

pub(super) fn load(yaml: &str) -> Result<Config, ConfigError> {
    load_str("t.yaml", &dedent(yaml))
}

/// The error's display lines; panics if the config was accepted.
pub(super) fn problems(yaml: &str) -> Vec<String> {
    match load(yaml) {
        Ok(_) => panic!("config unexpectedly valid:\n{}", dedent(yaml)),
        Err(e) => e.to_string().lines().map(str::to_owned).collect(),
    }
}

/// Asserts the config fails with exactly this one problem line.
pub(super) fn assert_problem(yaml: &str, expected: &str) {
    assert_eq!(problems(yaml), vec![expected.to_owned()]);
}

const FULL: &str = r#"
    admin:
      address: 127.0.0.1:9902
    workers: 4
    listeners:
      - name: edge
        address: 127.0.0.1:10000
        detect_timeout: 250ms
        cluster: web
        virtual_hosts:
          - name: site
            domains: ["Example.com", "*.example.com", "*"]
            routes:
              - name: api
                match:
                  prefix: /api
                  headers:
                    - { name: x-env, exact: prod }
                    - { name: x-canary, present: true, invert: true }
                    - { name: x-v, regex: "[0-9]+" }
                route: { cluster: web, timeout: 15s }
                request_headers_to_add: [ { name: x-via, value: periscope } ]
                request_headers_to_remove: [ x-debug ]
                response_headers_to_add: [ { name: x-served-by, value: periscope } ]
                response_headers_to_remove: [ server ]
              - name: health
                match: { path: /healthz }
                direct_response: { status: 200, body: "ok\n" }
              - name: old
                match: { regex: "/old/.*" }
                redirect: { path: /new }
      - name: mongo
        address: 127.0.0.1:27018
        protocol: tcp
        cluster: db
    clusters:
      - name: web
        protocol: h2c
        endpoints: ["127.0.0.1:18080", "localhost:18081"]
      - name: db
        connect_timeout: 1m30s
        endpoints: ["[::1]:27017"]
"#;

#[test]
fn full_config_builds_the_typed_model() {
    let c = load(FULL).expect("valid");
    assert_eq!(c.source, "t.yaml");
    assert_eq!(
        c.admin.address,
        "127.0.0.1:9902".parse::<SocketAddr>().unwrap()
    );
    assert_eq!(c.workers, Some(4));
    let edge = &c.listeners[0];
    assert_eq!(edge.protocol, ListenerProtocol::Auto);
    assert_eq!(edge.detect_timeout, Duration::from_millis(250));
    assert_eq!(edge.cluster.as_deref(), Some("web"));
    let host = &edge.virtual_hosts[0];
    assert_eq!(
        host.domains,
        vec![
            DomainMatch::Exact("example.com".into()),
            DomainMatch::Suffix(".example.com".into()),
            DomainMatch::Any
        ]
    );
    let api = &host.routes[0];
    assert!(matches!(&api.path, PathMatch::Prefix(p) if p == "/api"));
    assert!(matches!(&api.headers[0].rule, HeaderRule::Exact(v) if v == "prod"));
    assert!(matches!(api.headers[1].rule, HeaderRule::Present) && api.headers[1].invert);
    assert!(
        matches!(&api.headers[2].rule, HeaderRule::Regex(r) if r.is_match("42") && !r.is_match("v42"))
    );
    assert!(matches!(&api.action, RouteAction::Cluster(c) if c == "web"));
    assert_eq!(api.timeout, Some(Duration::from_secs(15)));
    assert_eq!(
        api.request_headers_to_add,
        vec![("x-via".into(), "periscope".into())]
    );
    assert_eq!(api.response_headers_to_remove, vec!["server".to_owned()]);
    assert!(matches!(
        &host.routes[1].action,
        RouteAction::DirectResponse { status: 200, body } if body == "ok\n"
    ));
    assert!(
        matches!(&host.routes[2].path, PathMatch::Regex(r) if r.is_match("/old/x") && !r.is_match("/a/old/x"))
    );
    assert!(matches!(
        &host.routes[2].action,
        RouteAction::Redirect { scheme: None, host: None, path: Some(p), status: 301 } if p == "/new"
    ));
    assert_eq!(c.listeners[1].protocol, ListenerProtocol::Tcp);
    let web = cluster(&c, "web").expect("web");
    assert_eq!(web.protocol, UpstreamProtocol::H2c);
    assert_eq!(web.connect_timeout, Duration::from_secs(5));
    assert_eq!(web.lb_policy, LbPolicy::RoundRobin);
    assert_eq!(
        cluster(&c, "db").map(|d| d.connect_timeout),
        Some(Duration::from_secs(90))
    );
}

#[test]
fn effective_config_fills_defaults_and_round_trips() {
    let c = load(FULL).expect("valid");
    let e = &c.effective;
    assert_eq!(e["listeners"][1]["protocol"], "tcp");
    assert_eq!(e["listeners"][1].get("detect_timeout"), None);
    assert_eq!(e["clusters"][0]["connect_timeout"], "5s");
    assert_eq!(e["clusters"][0]["lb_policy"], "round_robin");
    assert_eq!(e["clusters"][1]["protocol"], "auto");
    let redirect = &e["listeners"][0]["virtual_hosts"][0]["routes"][2]["redirect"];
    assert_eq!(redirect["response_code"], 301);

    // The dump is itself a valid config with the same effective form, in
    // JSON and, since JSON is YAML, through the YAML loader too.
    let raw: raw::RawConfig = serde_json::from_value(e.clone()).expect("dump parses");
    assert_eq!(
        serde_json::to_value(raw.with_defaults()).ok().as_ref(),
        Some(e)
    );
    let again = load_str("dump.json", &e.to_string()).expect("dump validates");
    assert_eq!(&again.effective, e);
}

#[test]
fn defaults_of_a_minimal_config() {
    let c = load(
        r#"
        listeners: [ { name: l, address: "127.0.0.1:1", cluster: c } ]
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
    )
    .expect("valid");
    assert_eq!(c.admin.address.to_string(), "127.0.0.1:9901");
    assert_eq!(c.workers, None);
    assert_eq!(c.listeners[0].protocol, ListenerProtocol::Auto);
    assert_eq!(c.listeners[0].detect_timeout, Duration::from_secs(1));
    assert_eq!(c.clusters[0].protocol, UpstreamProtocol::Auto);
    assert_eq!(c.effective["admin"]["address"], "127.0.0.1:9901");
    assert_eq!(c.effective["listeners"][0]["detect_timeout"], "1s");
    assert_eq!(c.effective["workers"], serde_json::Value::Null);
}

#[test]
fn vhost_domains_default_to_any_and_zero_timeout_means_none() {
    let c = load(
        r#"
        listeners:
          - name: l
            address: 127.0.0.1:1
            protocol: http
            virtual_hosts:
              - name: v
                routes: [ { name: r, match: { prefix: / }, route: { cluster: c, timeout: 0s } } ]
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
    )
    .expect("valid");
    let host = &c.listeners[0].virtual_hosts[0];
    assert_eq!(host.domains, vec![DomainMatch::Any]);
    assert_eq!(host.routes[0].timeout, None);
}

#[test]
fn embedded_default_validates() {
    let c = embedded_default();
    assert_eq!(c.source, "<embedded default>");
    assert_eq!(c.admin.address.to_string(), "127.0.0.1:9901");
    assert_eq!(c.listeners.len(), 1);
    let l = &c.listeners[0];
    assert_eq!(
        (l.name.as_str(), l.address.to_string()),
        ("default", "127.0.0.1:10000".into())
    );
    assert_eq!(l.protocol, ListenerProtocol::Auto);
    assert_eq!(l.cluster.as_deref(), Some("local_service"));
    let cluster = cluster(&c, "local_service").expect("cluster");
    let addresses: Vec<_> = cluster
        .endpoints
        .iter()
        .map(|e| e.address.as_str())
        .collect();
    assert_eq!(addresses, ["127.0.0.1:8080"]);
    assert_eq!(cluster.protocol, UpstreamProtocol::Auto);
}

#[test]
fn every_example_in_config_dir_validates() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut checked = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("config/ exists") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            if let Err(e) = load_file(&path) {
                panic!("{e}");
            }
            checked.push(path);
        }
    }
    assert!(
        checked.len() >= 4,
        "expected the example configs, found {checked:?}"
    );
}

#[test]
fn load_file_names_the_file_it_cannot_read() {
    let err = load_file(std::path::Path::new("/nonexistent/p.yaml")).unwrap_err();
    assert_eq!(
        err.to_string(),
        "/nonexistent/p.yaml: cannot read config: No such file or directory (os error 2)"
    );
}

#[test]
fn load_file_reports_positions_with_the_path_as_given() {
    let dir = std::env::temp_dir().join(format!("periscope-config-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let path = dir.join("bad.yaml");
    std::fs::write(&path, "listeners: []\nclustrs: []\n").expect("write");
    let err = load_file(&path).unwrap_err();
    let _ = std::fs::remove_dir_all(&dir);
    assert_eq!(
        err.to_string(),
        format!(
            "{}:2:1: clustrs: unknown field `clustrs`, expected one of admin, workers, listeners, clusters, tracing",
            path.display()
        )
    );
}

fn quick_opts() -> QuickOptions {
    QuickOptions {
        listen: "127.0.0.1:10000".parse().unwrap(),
        upstream: "localhost:8080".into(),
        admin: None,
        protocol: ListenerProtocol::Tcp,
        upstream_protocol: UpstreamProtocol::Http1,
        workers: Some(3),
        sniff: true,
    }
}

#[test]
fn quick_mode_builds_one_listener_and_one_cluster() {
    let c = quick(&quick_opts()).expect("valid");
    assert_eq!(c.source, "<command line>");
    assert_eq!(c.workers, Some(3));
    let l = &c.listeners[0];
    assert_eq!(
        (l.name.as_str(), l.protocol),
        ("quick", ListenerProtocol::Tcp)
    );
    assert_eq!(l.cluster.as_deref(), Some("upstream"));
    let u = cluster(&c, "upstream").expect("cluster");
    assert_eq!(
        u.endpoints,
        [EndpointConfig {
            address: "localhost:8080".into(),
            weight: 1
        }]
    );
    assert_eq!(u.protocol, UpstreamProtocol::Http1);
    assert_eq!(c.effective["listeners"][0]["address"], "127.0.0.1:10000");
    assert_eq!(c.effective["clusters"][0]["protocol"], "http1");
    assert_eq!(c.effective["admin"]["address"], "127.0.0.1:9901");
}

#[test]
fn quick_mode_no_sniff_is_for_tcp_listeners_only() {
    let relay_only = QuickOptions {
        sniff: false,
        ..quick_opts()
    };
    assert!(!quick(&relay_only).expect("valid").listeners[0].sniff);
    let http = QuickOptions {
        protocol: ListenerProtocol::Http,
        ..relay_only
    };
    assert_eq!(
        quick(&http).unwrap_err().to_string(),
        "<command line>: --no-sniff: sniff: false applies to tcp listeners only \
         (this listener is http, which must read HTTP to route it)"
    );
}

#[test]
fn quick_mode_errors_name_the_flags() {
    let opts = QuickOptions {
        upstream: "localhost".into(),
        admin: Some("127.0.0.1:10000".parse().unwrap()),
        workers: Some(0),
        ..quick_opts()
    };
    assert_eq!(
        quick(&opts).unwrap_err().to_string(),
        "<command line>: --workers: workers must be 1-1024, got 0\n\
         <command line>: --upstream: invalid endpoint \"localhost\": missing port; \
         expected host:port such as 127.0.0.1:8080, localhost:8080 or [::1]:8080\n\
         <command line>: --listen: address 127.0.0.1:10000 conflicts with 127.0.0.1:10000 of the admin server"
    );
}

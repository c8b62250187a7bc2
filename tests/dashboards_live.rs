//! Shipped dashboards against a real Prometheus scraping Periscope: after
//! traffic, every panel of the overview, clusters and HTTP/gRPC dashboards
//! returns data, and every metric any dashboard queries is in a scrape.
mod common;

use common::configs::{admin_block, listen_addr, one_route, proxy};
use common::dynamo::send_unreadable_dynamodb_request;
use common::grpc::{run_client, GreeterServer};
use common::mongo_wire::{message, Doc, OP_MSG};
use common::prometheus::Prometheus;
use common::websocket::{self as ws, WsEchoServer};
use common::{
    CompressionHop, DynamoAccount, DynamoServer, HyperClient, MongoServer, Nginx, Periscope,
    RawConn, Workload,
};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration;

#[test]
fn every_overview_panel_returns_data_from_a_real_prometheus() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let prometheus = Prometheus::scraping(px.admin);
    let client = HyperClient::http1();
    // Traffic keeps flowing while Prometheus scrapes.
    prometheus.assert_every_panel_has_data("overview.json", &[], Duration::from_secs(40), || {
        for path in ["/", "/bytes/1k", "/status/500"] {
            client.get(&px.url("edge", path));
        }
    });
}

/// The upstream clusters dashboard: an nginx cluster with active health
/// checks, outlier detection that ejects on one 5xx, and retries; after
/// traffic with server errors every panel's queries return data.
#[test]
fn every_clusters_panel_returns_data_from_a_real_prometheus() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| clusters_config(&nginx));
    let prometheus = Prometheus::scraping(px.admin);
    let client = HyperClient::http1();
    prometheus.assert_every_panel_has_data("clusters.json", &[], Duration::from_secs(40), || {
        for path in ["/", "/bytes/1k", "/status/500"] {
            client.get(&px.url("edge", path));
        }
    });
}

/// The HTTP and gRPC dashboard: nginx behind an `http` listener (with
/// server errors, and a route to a closed port for upstream errors), the
/// greeter behind an `auto` one (every call shape), and WebSocket
/// upgrades; every panel's queries return data.
#[test]
fn every_http_grpc_panel_returns_data_from_a_real_prometheus() {
    let nginx = Nginx::start();
    let greeter = GreeterServer::start();
    let echo = WsEchoServer::start();
    let px = Periscope::start(|| {
        format!(
            r#"{admin}listeners:
  - name: edge
    address: {edge}
    protocol: http
    upgrade_configs: [ {{ upgrade_type: websocket }} ]
    virtual_hosts:
      - name: all
        routes:
          - {{ name: chat, match: {{ prefix: /chat }}, route: {{ cluster: echo }} }}
          - {{ name: down, match: {{ prefix: /down }}, route: {{ cluster: down }} }}
          - {{ name: site, match: {{ prefix: / }}, route: {{ cluster: nginx }} }}
  - {{ name: rpc, address: {rpc}, protocol: auto, cluster: greeter }}
clusters:
  - {{ name: nginx, protocol: http1, endpoints: ["{nginx}"] }}
  - {{ name: echo, protocol: http1, endpoints: ["{echo}"] }}
  - {{ name: down, protocol: http1, connect_timeout: 1s, endpoints: ["{down}"] }}
  - {{ name: greeter, protocol: h2c, endpoints: ["{greeter}"] }}
"#,
            admin = admin_block(),
            edge = listen_addr(),
            rpc = listen_addr(),
            nginx = nginx.h1,
            echo = echo.addr,
            down = common::closed_addr(),
            greeter = greeter.addr,
        )
    });
    let prometheus = Prometheus::scraping(px.admin);
    let client = HyperClient::http1();
    let ws_url = format!("ws://{}/chat", px.addr("edge"));
    prometheus.assert_every_panel_has_data("http-grpc.json", &[], Duration::from_secs(40), || {
        for path in ["/", "/bytes/1k", "/status/500", "/down"] {
            client.get(&px.url("edge", path));
        }
        run_client(px.addr("rpc"), "shapes");
        assert_eq!(ws::run_client(&ws_url, 1, 2).status, 101);
    });
}

/// One `http` listener `edge` to cluster `web` (nginx) with health checks,
/// one-5xx outlier ejection (for a moment: 100 ms) and a retry on 5xx.
fn clusters_config(nginx: &Nginx) -> String {
    one_route(
        &[nginx.h1],
        "retry_policy: { retry_on: 5xx, num_retries: 1 }",
        "    health_check: { interval: 200ms, timeout: 500ms, http: { path: / } }\n    \
         outlier_detection: { consecutive_5xx: 1, interval: 100ms, base_ejection_time: 100ms }\n",
    )
}

/// Every metric any shipped dashboard queries is in a real scrape of
/// Periscope after traffic of each protocol it understands (HTTP, gRPC,
/// MongoDB with compression, DynamoDB), including the families that only
/// appear once something goes wrong (parse errors, parser events, unreadable
/// DynamoDB bodies). One family cannot appear with a local DynamoDB:
/// partition capacity, which only DynamoDB itself reports.
#[test]
fn every_dashboard_metric_is_in_a_real_scrape_after_traffic() {
    let nginx = Nginx::start();
    let mongo = MongoServer::start();
    let hop = CompressionHop::start(mongo.addr, "zlib");
    let greeter = GreeterServer::start();
    let dynamo = DynamoServer::dynalite();
    let echo = WsEchoServer::start();
    let px = Periscope::start(|| {
        format!(
            r#"{admin}listeners:
  - {{ name: web, address: {web}, protocol: http, cluster: nginx }}
  - {{ name: db, address: {db}, protocol: tcp, cluster: mongo }}
  - {{ name: rpc, address: {rpc}, protocol: auto, cluster: greeter }}
  - {{ name: ddb, address: {ddb}, protocol: http, cluster: dynamo }}
  - name: ws
    address: {ws}
    protocol: http
    cluster: echo
    upgrade_configs: [ {{ upgrade_type: websocket }} ]
clusters:
  - {{ name: nginx, protocol: http1, endpoints: ["{nginx}"] }}
  - {{ name: mongo, endpoints: ["{hop}"] }}
  - {{ name: greeter, protocol: h2c, endpoints: ["{greeter}"] }}
  - {{ name: dynamo, protocol: http1, endpoints: ["{dynamo}"] }}
  - {{ name: echo, protocol: http1, endpoints: ["{echo}"] }}
"#,
            admin = admin_block(),
            web = listen_addr(),
            db = listen_addr(),
            rpc = listen_addr(),
            ddb = listen_addr(),
            ws = listen_addr(),
            dynamo = dynamo.addr,
            nginx = nginx.h1,
            hop = hop.addr,
            greeter = greeter.addr,
            echo = echo.addr,
        )
    });
    let ws_url = format!("ws://{}/chat", px.addr("ws"));
    assert_eq!(ws::run_client(&ws_url, 1, 2).status, 101);
    let client = HyperClient::http1();
    for path in ["/", "/status/500"] {
        client.get(&px.url("web", path));
    }
    // Health checks and an outlier ejection (the clusters dashboard) from
    // a cluster of their own.
    let clusters = Periscope::start(|| clusters_config(&nginx));
    client.get(&clusters.url("edge", "/status/500"));
    clusters.wait_metric_at_least("periscope_outlier_ejections_total", &[], 1.0);
    clusters.wait_metric_at_least("periscope_health_checks_total", &[], 1.0);
    // A malformed request: hyper answers 400, a parse error is counted.
    let mut bad = RawConn::connect(px.addr("web"));
    bad.send(b"GET / HTTP/1.1\r\nno colon here\r\n\r\n");
    let _ = bad.read_until_close(Duration::from_secs(5));
    run_client(px.addr("rpc"), "shapes");
    DynamoAccount::run(px.addr("ddb"), "");
    // A DynamoDB request whose JSON is broken: counted as a body issue.
    send_unreadable_dynamodb_request(px.addr("ddb"));
    Workload::crud().compressed("zlib").run(px.addr("db"));
    // An OP_MSG whose checksum is wrong: tolerated, counted as an event.
    let mut flagged = 1u32.to_le_bytes().to_vec();
    flagged.push(0);
    flagged.extend_from_slice(&Doc::new().int("ping", 1).str("$db", "admin").bytes());
    flagged.extend_from_slice(&[0, 0, 0, 0]);
    let mut checksum = RawConn::connect(px.addr("db"));
    checksum.send(&message(900, 0, OP_MSG, &flagged));
    let _ = checksum.read_until_close(Duration::from_secs(2));
    px.wait_metric_at_least(
        "periscope_parser_events_total",
        &[("event", "checksum_mismatch")],
        1.0,
    );

    let (scrape, cluster_scrape) = (px.scrape(), clusters.scrape());
    let exported: BTreeSet<&str> = (scrape.samples.iter())
        .chain(&cluster_scrape.samples)
        .map(|s| s.name.as_str())
        .collect();
    let only_from_aws = "periscope_dynamodb_partition_capacity_units_total";
    let missing: Vec<String> = dashboard_metrics()
        .into_iter()
        .filter(|metric| !exported.contains(metric.as_str()) && metric != only_from_aws)
        .collect();
    assert!(
        missing.is_empty(),
        "queried by a dashboard but absent from the scrape: {missing:?}"
    );
}

/// Metric names in every dashboard query (label names stripped first).
fn dashboard_metrics() -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    for entry in std::fs::read_dir(dir).expect("dashboards/") {
        let text = std::fs::read_to_string(entry.expect("entry").path()).expect("readable");
        let dashboard: Value = serde_json::from_str(&text).expect("JSON");
        for panel in dashboard["panels"].as_array().into_iter().flatten() {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = strip_labels(target["expr"].as_str().unwrap_or_default());
                names.extend(metric_names(&expr));
            }
        }
    }
    assert!(names.len() > 20, "{names:?}");
    names
}

/// The expression without `{...}` selectors and `by (...)` / `without (...)`
/// groupings: label names look like metric names.
fn strip_labels(expr: &str) -> String {
    let mut out = String::new();
    let mut rest = expr;
    while let Some(c) = rest.chars().next() {
        let grouping = ["by (", "without ("].iter().any(|k| rest.starts_with(k));
        let skip_to = match c {
            '{' => Some('}'),
            _ if grouping => Some(')'),
            _ => None,
        };
        match skip_to.and_then(|end| rest.find(end)) {
            Some(end) => rest = &rest[end + 1..],
            None => {
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
    }
    out
}

/// Identifiers with one of the prefixes Periscope's metrics use.
fn metric_names(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .filter(|word| {
            ["http_", "rpc_", "db_", "periscope_"]
                .iter()
                .any(|prefix| word.starts_with(prefix))
        })
        .map(str::to_owned)
        .collect()
}

#[test]
fn label_names_are_not_taken_for_metrics() {
    let expr = r#"sum by (http_route, db_x) (rate(http_server_request_duration_seconds_count{db_namespace="a"}[5m]))"#;
    assert_eq!(
        metric_names(&strip_labels(expr)),
        ["http_server_request_duration_seconds_count"]
    );
}

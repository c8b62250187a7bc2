//! The overview dashboard against a real Prometheus scraping Periscope:
//! after HTTP traffic (with some server errors), every panel's queries
//! return data.
mod common;

use common::configs::proxy;
use common::prometheus::Prometheus;
use common::{HyperClient, Nginx, Periscope};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Grafana's variables as Prometheus needs them (1 s scrapes: a 10 s
/// window holds several samples).
fn as_prometheus(expr: &str) -> String {
    expr.replace("$__rate_interval", "10s")
        .replace("$listener", ".*")
        .replace("$db_collection_name", ".*")
}

#[test]
fn every_overview_panel_returns_data_from_a_real_prometheus() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let prometheus = Prometheus::scraping(px.admin);
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/dashboards/overview.json"
        ))
        .expect("overview.json"),
    )
    .expect("valid JSON");
    let client = HyperClient::http1();
    let panels: Vec<&Value> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .filter(|p| p["type"] != "row")
        .collect();
    // Keep traffic flowing while Prometheus scrapes, until every panel has
    // data (or the deadline says which do not).
    let deadline = Instant::now() + Duration::from_secs(40);
    let empty = loop {
        for path in ["/", "/bytes/1k", "/status/500"] {
            client.get(&px.url("edge", path));
        }
        let empty: Vec<String> = panels
            .iter()
            .filter(|panel| {
                let targets = panel["targets"].as_array().expect("targets");
                !targets.iter().any(|t| {
                    let expr = as_prometheus(t["expr"].as_str().expect("expr"));
                    !prometheus.query(&expr).is_empty()
                })
            })
            .map(|panel| panel["title"].as_str().unwrap_or_default().to_owned())
            .collect();
        if empty.is_empty() || Instant::now() > deadline {
            break empty;
        }
        std::thread::sleep(Duration::from_millis(500));
    };
    assert!(
        empty.is_empty(),
        "panels without data: {empty:?}\n{}",
        prometheus.log_tail()
    );
}

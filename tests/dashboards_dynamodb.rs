//! The DynamoDB dashboard against a real Prometheus scraping Periscope in
//! front of dynalite: while boto3 traffic flows, every panel's query returns
//! data, except the one fed only by DynamoDB itself (partition ids).
mod common;

use common::configs::proxy;
use common::prometheus::Prometheus;
use common::{DynamoAccount, DynamoServer, Periscope, RawConn};
use serde_json::Value;
use std::time::{Duration, Instant};

/// No local DynamoDB implementation reports partition ids.
const ONLY_FROM_AWS: [&str; 1] = ["Capacity by partition (top 10)"];

fn as_prometheus(expr: &str) -> String {
    expr.replace("$__rate_interval", "10s")
        .replace("$listener", ".*")
        .replace("$db_collection_name", ".*")
}

#[test]
fn every_dynamodb_panel_returns_data_from_a_real_prometheus() {
    let db = DynamoServer::dynalite();
    let px = Periscope::start(|| proxy("auto", "http1", db.addr));
    let prometheus = Prometheus::scraping(px.admin);
    let dashboard: Value = serde_json::from_str(
        &std::fs::read_to_string(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/dashboards/dynamodb.json"
        ))
        .expect("dynamodb.json"),
    )
    .expect("valid JSON");
    let panels: Vec<&Value> = dashboard["panels"]
        .as_array()
        .expect("panels")
        .iter()
        .filter(|p| {
            p["type"] != "row" && !ONLY_FROM_AWS.contains(&p["title"].as_str().unwrap_or(""))
        })
        .collect();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut round = 0;
    let empty = loop {
        round += 1;
        DynamoAccount::run(px.addr("edge"), &format!("r{round}_"));
        let body = r#"{"TableName": ]"#;
        let mut broken = RawConn::connect(px.addr("edge"));
        broken.send(
            format!(
                "POST / HTTP/1.1\r\nHost: d\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n\
                 Content-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .as_bytes(),
        );
        let _ = broken.read_responses(1, Duration::from_secs(5));
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
    };
    assert!(
        empty.is_empty(),
        "panels without data: {empty:?}\n{}",
        prometheus.log_tail()
    );
}

//! The DynamoDB dashboard against a real Prometheus scraping Periscope in
//! front of dynalite: while boto3 traffic flows, every panel's query returns
//! data, except the one fed only by DynamoDB itself (partition ids).
mod common;

use common::configs::proxy;
use common::dynamo::send_unreadable_dynamodb_request;
use common::prometheus::Prometheus;
use common::{DynamoAccount, DynamoServer, Periscope};
use std::time::Duration;

/// No local DynamoDB implementation reports partition ids.
const ONLY_FROM_AWS: [&str; 1] = ["Capacity by partition (top 10)"];

#[test]
fn every_dynamodb_panel_returns_data_from_a_real_prometheus() {
    let db = DynamoServer::dynalite();
    let px = Periscope::start(|| proxy("auto", "http1", db.addr));
    let prometheus = Prometheus::scraping(px.admin);
    let mut round = 0;
    prometheus.assert_every_panel_has_data(
        "dynamodb.json",
        &ONLY_FROM_AWS,
        Duration::from_secs(60),
        || {
            round += 1;
            DynamoAccount::run(px.addr("edge"), &format!("r{round}_"));
            send_unreadable_dynamodb_request(px.addr("edge"));
        },
    );
}

//! The MongoDB dashboard against a real Prometheus scraping Periscope in
//! front of nx-27017, through a zlib compression hop: while pymongo runs
//! every kind of operation (cursors, bulk writes, failures) with
//! compression on, every panel's query returns data.
mod common;

use common::configs::mongo_proxy;
use common::prometheus::Prometheus;
use common::{CompressionHop, MongoServer, Periscope, Workload};
use std::time::Duration;

#[test]
fn every_mongodb_panel_returns_data_from_a_real_prometheus() {
    let mongo = MongoServer::start();
    let hop = CompressionHop::start(mongo.addr, "zlib");
    let px = Periscope::start(|| mongo_proxy("tcp", hop.addr, ""));
    let prometheus = Prometheus::scraping(px.admin);
    prometheus.assert_every_panel_has_data("mongodb.json", &[], Duration::from_secs(60), || {
        Workload::crud().compressed("zlib").run(px.addr("edge"));
        Workload::errors().compressed("zlib").run(px.addr("edge"));
    });
}

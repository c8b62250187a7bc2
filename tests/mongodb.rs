//! MongoDB telemetry, exact: pymongo drives a workload through Periscope to
//! a real wire server (nx-27017), and every MongoDB series Periscope exports
//! must equal the driver's own account of what it did (`Workload`). The
//! driver connects with directConnection=true and a 10-minute heartbeat, so
//! its background monitoring adds a known, fixed number of handshakes.
mod common;

use common::configs::mongo_proxy;
use common::mongo_telemetry::{
    handshakes_match, no_handshake_operations, telemetry_matches, COMPRESSED, OPERATIONS,
    REPLY_SIZE_SUM,
};
use common::mongo_wire::op_msg_with_unknown_section;
use common::{CompressionHop, EchoServer, MongoServer, Periscope, RawConn, Workload};
use std::time::Duration;

#[test]
fn every_operation_through_a_tcp_listener_is_counted_as_the_driver_saw_it() {
    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, ""));
    let account = Workload::crud().run(px.addr("edge"));
    telemetry_matches(&px, "edge", &account);
    let connections = account.tcp_connections() as f64;
    let mongodb = [("listener", "edge"), ("protocol", "mongodb")];
    px.wait_metric("periscope_detections_total", &mongodb, connections);
    px.wait_metric(
        "periscope_downstream_connections_total",
        &mongodb,
        connections,
    );
    px.wait_metric(COMPRESSED, &[], 0.0);
}

#[test]
fn an_auto_listener_detects_mongodb_and_counts_it_the_same() {
    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("auto", mongo.addr, ""));
    let account = Workload::crud().run(px.addr("edge"));
    telemetry_matches(&px, "edge", &account);
    let mongodb = [("listener", "edge"), ("protocol", "mongodb")];
    px.wait_metric(
        "periscope_detections_total",
        &mongodb,
        account.tcp_connections() as f64,
    );
}

#[test]
fn zlib_traffic_is_inflated_and_counted_exactly() {
    compressed_traffic_is_counted_exactly("zlib");
}

#[test]
fn snappy_traffic_is_inflated_and_counted_exactly() {
    compressed_traffic_is_counted_exactly("snappy");
}

#[test]
fn zstd_traffic_is_inflated_and_counted_exactly() {
    compressed_traffic_is_counted_exactly("zstd");
}

/// The same workload with wire compression: the operations are the same,
/// opcodes are counted after decompression, and the compressed frames per
/// direction are exactly those the hop behind Periscope handled.
fn compressed_traffic_is_counted_exactly(compressor: &str) {
    let mongo = MongoServer::start();
    let hop = CompressionHop::start(mongo.addr, compressor);
    let px = Periscope::start(|| mongo_proxy("tcp", hop.addr, ""));
    let account = Workload::crud().compressed(compressor).run(px.addr("edge"));
    telemetry_matches(&px, "edge", &account);
    for direction in ["request", "reply"] {
        let frames = hop.compressed_frames(direction, compressor);
        assert!(
            frames > 20,
            "{compressor}: only {frames} {direction}s compressed"
        );
        let labels = [
            ("listener", "edge"),
            ("direction", direction),
            ("compressor", compressor),
        ];
        px.wait_metric(COMPRESSED, &labels, frames as f64);
        px.wait_metric(COMPRESSED, &labels[..2], frames as f64);
    }
    // Reply sizes are wire sizes: the compressed frames the hop sent.
    let scrape = px.scrape();
    let wire = hop.compressed_reply_bytes();
    for (command, collection) in account.by_command_and_collection().keys() {
        let bytes = wire[&(command.clone(), collection.clone())];
        let labels = [
            ("listener", "edge"),
            ("db_operation_name", command.as_str()),
            ("db_collection_name", collection.as_str()),
        ];
        scrape.assert_value(REPLY_SIZE_SUM, &labels, bytes as f64);
    }
}

#[test]
fn driver_handshakes_and_pings_are_not_operations() {
    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, ""));
    let account = Workload::handshake_only().run(px.addr("edge"));
    assert_eq!(account.total_operations(), 0, "{account:#?}");
    handshakes_match(&px, "edge", &account);
    px.wait_metric(OPERATIONS, &[], 0.0);
    no_handshake_operations(&px, "edge");
}

/// Duplicate keys (ok:1 with writeErrors, code 11000) and an unsupported
/// update operator (write error code 8, as nx-27017 answers) are failed
/// operations labelled with their code.
#[test]
fn write_errors_are_failed_operations_labelled_with_their_code() {
    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, ""));
    let account = Workload::errors().run(px.addr("edge"));
    assert_eq!(account.errors.get("11000"), Some(&2), "{account:#?}");
    assert_eq!(account.errors.get("8"), Some(&1), "{account:#?}");
    let mut with_codes = account.clone();
    with_codes.operations.retain(|o| o.command != "aggregate");
    for op in &with_codes.operations {
        let labels = [
            ("listener", "edge"),
            ("db_operation_name", op.command.as_str()),
            ("db_collection_name", op.collection.as_str()),
            ("db_response_status_code", op.status.as_str()),
            ("error_type", op.status.as_str()),
        ];
        px.wait_metric(OPERATIONS, &labels, op.count as f64);
    }
    px.wait_metric(
        OPERATIONS,
        &[
            ("db_response_status_code", "11000"),
            ("error_type", "11000"),
        ],
        2.0,
    );
}

/// nx-27017 rejects an unknown aggregation stage with ok:0 and no `code`
/// (mongod would send code 40324). It is still one failed `aggregate`: no
/// status code to report, and `error_type="_OTHER"`.
#[test]
fn a_command_rejected_without_a_code_is_a_failed_operation() {
    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, ""));
    let account = Workload::errors().run(px.addr("edge"));
    assert_eq!(account.failed_without_code, 1, "{account:#?}");
    let aggregate = [("listener", "edge"), ("db_operation_name", "aggregate")];
    px.wait_metric(OPERATIONS, &aggregate, 1.0);
    let failed = [
        aggregate[0],
        aggregate[1],
        ("db_collection_name", "items"),
        ("db_namespace", "shop"),
        ("db_response_status_code", ""),
        ("error_type", "_OTHER"),
    ];
    px.wait_metric(OPERATIONS, &failed, 1.0);
}

/// `label_limits: { collections: 2 }`: the third collection seen is
/// labelled `_OTHER` and the overflow is counted.
#[test]
fn collections_beyond_the_listener_cap_are_labelled_other() {
    let mongo = MongoServer::start();
    let limits = "    label_limits: { collections: 2 }\n";
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, limits));
    let account = Workload::three_collections().run(px.addr("edge"));
    assert_eq!(account.total_operations(), 3, "{account:#?}");
    for collection in ["first", "second", "_OTHER"] {
        let labels = [
            ("listener", "edge"),
            ("db_operation_name", "insert"),
            ("db_collection_name", collection),
        ];
        px.wait_metric(OPERATIONS, &labels, 1.0);
    }
    px.wait_metric(OPERATIONS, &[("db_collection_name", "third")], 0.0);
    px.wait_metric(
        "periscope_metric_label_overflow_total",
        &[("metric", "db_collection_name")],
        1.0,
    );
}

/// `namespaces: 1, status_codes: 1`: the first database (shop) and the
/// first error code (11000) keep their names; `admin` (commitTransaction)
/// and code 8 become `_OTHER`, each fold counted. Success ("") is no code.
#[test]
fn namespaces_and_status_codes_beyond_the_listener_cap_are_labelled_other() {
    let mongo = MongoServer::start();
    let limits = "    label_limits: { namespaces: 1, status_codes: 1 }\n";
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, limits));
    let errors = Workload::errors().run(px.addr("edge"));
    let crud = Workload::crud().run(px.addr("edge"));
    let total = errors.total_operations() + crud.total_operations();
    px.wait_metric(OPERATIONS, &[], total as f64);
    let scrape = px.scrape();
    let op = |name: &'static str, namespace: &'static str, code: &'static str| {
        [
            ("db_operation_name", name),
            ("db_namespace", namespace),
            ("db_response_status_code", code),
            ("error_type", code),
        ]
    };
    scrape.assert_value(OPERATIONS, &op("commitTransaction", "_OTHER", ""), 1.0);
    scrape.assert_value(OPERATIONS, &[("db_namespace", "admin")], 0.0);
    scrape.assert_value(OPERATIONS, &op("insert", "shop", "11000"), 3.0);
    scrape.assert_value(OPERATIONS, &op("update", "shop", "_OTHER"), 1.0);
    scrape.assert_value(OPERATIONS, &[("db_response_status_code", "8")], 0.0);
    let overflow = "periscope_metric_label_overflow_total";
    scrape.assert_value(overflow, &[("metric", "db_namespace")], 1.0);
    scrape.assert_value(overflow, &[("metric", "db_response_status_code")], 1.0);
    scrape.assert_value(overflow, &[("metric", "db_collection_name")], 0.0);
}

/// A well-framed OP_MSG with a section kind that does not exist: relayed
/// byte for byte, counted once as a MongoDB parse error, no operation.
#[test]
fn a_malformed_mongo_message_is_relayed_untouched_and_counted() {
    let echo = EchoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", echo.addr, ""));
    let bad = op_msg_with_unknown_section(1);
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(&bad);
    assert_eq!(conn.read_at_least(bad.len(), Duration::from_secs(5)), bad);
    assert_eq!(echo.received(), bad);
    let mongodb = [("listener", "edge"), ("protocol", "mongodb")];
    px.wait_metric("periscope_detections_total", &mongodb, 1.0);
    px.wait_metric("periscope_parse_errors_total", &mongodb, 1.0);
    px.wait_metric(
        "periscope_parse_errors_total",
        &[("protocol", "mongodb"), ("reason", "malformed")],
        1.0,
    );
    px.wait_metric(OPERATIONS, &[], 0.0);
}

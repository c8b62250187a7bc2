//! MongoDB through Periscope, judged by the traffic alone: real pymongo
//! workloads against a real wire server (nx-27017) succeed through a `tcp`
//! listener, compressed or not, and the bytes arrive as they were sent.
//! (What Periscope reports about that traffic: `mongodb.rs`.)
mod common;

use common::configs::mongo_proxy;
use common::mongo_wire::{first_message, op_msg, Doc};
use common::{CompressionHop, EchoServer, MongoServer, Periscope, RawConn, Workload};
use std::time::Duration;

#[test]
fn the_pymongo_workload_succeeds_through_a_tcp_listener() {
    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, ""));
    let account = Workload::crud().run(px.addr("edge"));
    assert_eq!(account.count("getMore", "items"), 3, "{account:#?}");
    assert_eq!(account.count("commitTransaction", ""), 1, "{account:#?}");
    assert_eq!(account.errors.get("11000"), Some(&1), "{account:#?}");
    assert_eq!(account.failed_without_code, 0, "{account:#?}");
}

#[test]
fn a_zlib_workload_succeeds_and_really_travels_compressed() {
    compressed_workload_succeeds("zlib");
}

#[test]
fn a_snappy_workload_succeeds_and_really_travels_compressed() {
    compressed_workload_succeeds("snappy");
}

#[test]
fn a_zstd_workload_succeeds_and_really_travels_compressed() {
    compressed_workload_succeeds("zstd");
}

/// The hop behind Periscope agrees `compressor` with pymongo; every command
/// but the handshakes then travels compressed, both ways.
fn compressed_workload_succeeds(compressor: &str) {
    let mongo = MongoServer::start();
    let hop = CompressionHop::start(mongo.addr, compressor);
    let px = Periscope::start(|| mongo_proxy("tcp", hop.addr, ""));
    let account = Workload::crud().compressed(compressor).run(px.addr("edge"));
    assert_eq!(account.count("getMore", "items"), 3, "{account:#?}");
    let app_handshakes: u64 = account.handshake.values().sum();
    let compressed = (account.total_operations() + app_handshakes) as usize;
    for direction in ["request", "reply"] {
        assert_eq!(
            hop.compressed_frames(direction, compressor),
            compressed,
            "{compressor} {direction}s"
        );
    }
}

/// A request goes out byte for byte, and the server's reply comes back
/// identical to the one it gives a client connected directly.
#[test]
fn mongo_messages_cross_the_relay_byte_for_byte() {
    let insert = Doc::new()
        .str("insert", "raw")
        .array("documents", &[Doc::new().int("_id", 1).str("v", "x")])
        .str("$db", "shop");
    let echo = EchoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", echo.addr, ""));
    let request = op_msg(41, &insert);
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(&request);
    assert_eq!(
        conn.read_at_least(request.len(), Duration::from_secs(5)),
        request
    );
    assert_eq!(echo.received(), request);

    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, ""));
    let via_periscope = round_trip(px.addr("edge"), &op_msg(42, &insert));
    let find = Doc::new().str("find", "raw").str("$db", "shop");
    let direct = round_trip(mongo.addr, &op_msg(43, &find));
    let relayed = round_trip(px.addr("edge"), &op_msg(43, &find));
    assert!(!via_periscope.is_empty() && !direct.is_empty());
    assert_eq!(relayed, direct, "find reply differs through Periscope");
}

/// Sends one message on a fresh connection and returns the whole reply,
/// with its request id zeroed (servers number replies themselves).
fn round_trip(addr: std::net::SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut conn = RawConn::connect(addr);
    conn.send(request);
    let mut got = Vec::new();
    for _ in 0..50 {
        got.extend(conn.read_at_least(16, Duration::from_millis(100)));
        if first_message(&got).is_some() {
            break;
        }
    }
    let mut reply = first_message(&got)
        .unwrap_or_else(|| panic!("no whole reply from {addr}: {got:?}"))
        .to_vec();
    reply[4..8].copy_from_slice(&[0; 4]);
    reply
}

/// `sniff: false` relays only: the same MongoDB exchange crosses untouched,
/// the connection is counted (as `unknown`: nothing looked at it), and no
/// operation, detection or parse error is reported.
#[test]
fn a_relay_only_listener_forwards_mongodb_and_parses_nothing() {
    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, "    sniff: false\n"));
    let find = Doc::new().str("find", "raw").str("$db", "shop");
    let direct = round_trip(mongo.addr, &op_msg(44, &find));
    let relayed = round_trip(px.addr("edge"), &op_msg(44, &find));
    assert!(!direct.is_empty());
    assert_eq!(relayed, direct, "find reply differs through Periscope");
    let edge = [("listener", "edge")];
    px.wait_metric(
        "periscope_downstream_connections_total",
        &[("listener", "edge"), ("protocol", "unknown")],
        1.0,
    );
    px.wait_metric("periscope_downstream_connections_total", &edge, 1.0);
    let scrape = px.scrape();
    for family in [
        "db_client_operation_duration_seconds_count",
        "periscope_detections_total",
        "periscope_parse_errors_total",
    ] {
        scrape.assert_value(family, &edge, 0.0);
    }
}

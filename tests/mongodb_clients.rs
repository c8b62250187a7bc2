//! MongoDB telemetry for clients other than pymongo: mongosh (the Node.js
//! driver) and a pre-OP_MSG client speaking legacy OP_QUERY / OP_REPLY,
//! written byte by byte.
mod common;

use common::configs::mongo_proxy;
use common::mongo_telemetry::{
    no_handshake_operations, HANDSHAKES, MESSAGES, OPERATIONS, REPLY_DOCUMENTS_COUNT,
    REPLY_DOCUMENTS_SUM,
};
use common::mongo_wire::{first_message, op_msg, op_query_command, Doc};
use common::{EchoServer, MongoServer, Mongosh, Periscope, RawConn};
use std::time::Duration;

/// mongosh's own start-up commands (getParameter, buildInfo, ...) are its
/// business; what the script did is counted exactly, and its driver's
/// handshakes never become operations.
#[test]
fn mongosh_operations_are_counted_exactly() {
    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, ""));
    let script = "db.notes.insertMany([{n: 1}, {n: 2}, {n: 3}]);\
                  print(db.notes.find({}).batchSize(2).toArray().length);\
                  print(db.notes.countDocuments({n: {$gte: 2}}))";
    let out = Mongosh::eval(px.addr("edge"), "shop", script);
    assert_eq!(
        out.split_whitespace().collect::<Vec<_>>(),
        ["3", "2"],
        "{out}"
    );
    let notes = |op: &'static str| {
        [
            ("listener", "edge"),
            ("db_operation_name", op),
            ("db_collection_name", "notes"),
            ("db_namespace", "shop"),
            ("db_response_status_code", ""),
        ]
    };
    px.wait_metric(OPERATIONS, &notes("insert"), 1.0);
    px.wait_metric(OPERATIONS, &notes("find"), 1.0);
    px.wait_metric(OPERATIONS, &notes("getMore"), 1.0);
    px.wait_metric(OPERATIONS, &notes("aggregate"), 1.0);
    px.wait_metric(OPERATIONS, &[("db_collection_name", "notes")], 4.0);
    let documents = [
        ("db_collection_name", "notes"),
        ("db_operation_name", "find"),
    ];
    px.wait_metric(REPLY_DOCUMENTS_SUM, &documents, 2.0);
    let documents = [
        ("db_collection_name", "notes"),
        ("db_operation_name", "getMore"),
    ];
    px.wait_metric(REPLY_DOCUMENTS_SUM, &documents, 1.0);
    no_handshake_operations(&px, "edge");
    // Its monitor and its pooled connection each open with a handshake.
    px.wait_metric_at_least(HANDSHAKES, &[("listener", "edge")], 2.0);
}

/// A legacy client: `isMaster` and `count` as OP_QUERY on `$cmd`, answered
/// by OP_REPLY. The handshake is counted as one, the count as an operation.
#[test]
fn legacy_op_query_commands_are_counted_like_op_msg() {
    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, ""));
    let mut conn = RawConn::connect(px.addr("edge"));
    let is_master = Doc::new().int("isMaster", 1);
    let count = Doc::new().str("count", "legacy");
    for (id, db, command) in [(1, "admin", &is_master), (2, "shop", &count)] {
        conn.send(&op_query_command(id, db, command));
        read_one_message(&mut conn);
    }
    let edge = ("listener", "edge");
    px.wait_metric(HANDSHAKES, &[edge, ("command", "isMaster")], 1.0);
    let counted = [
        edge,
        ("db_operation_name", "count"),
        ("db_collection_name", "legacy"),
        ("db_namespace", "shop"),
        ("db_response_status_code", ""),
        ("error_type", ""),
    ];
    px.wait_metric(OPERATIONS, &counted, 1.0);
    px.wait_metric(OPERATIONS, &[edge], 1.0);
    for (direction, op_code) in [("request", "OP_QUERY"), ("reply", "OP_REPLY")] {
        let labels = [edge, ("direction", direction), ("op_code", op_code)];
        px.wait_metric(MESSAGES, &labels, 2.0);
    }
    let count_replies = [edge, ("db_operation_name", "count")];
    px.wait_metric(REPLY_DOCUMENTS_COUNT, &count_replies, 1.0);
    // The command's reply document is not a returned document: 0, as the
    // same command over OP_MSG reports.
    px.wait_metric(REPLY_DOCUMENTS_SUM, &count_replies, 0.0);
}

/// nx-27017 answers a command it does not know with ok:1 (mongod would say
/// CommandNotFound); Periscope labels unknown command names `_OTHER` so a
/// client cannot mint series.
#[test]
fn unknown_commands_are_labelled_other() {
    let mongo = MongoServer::start();
    let px = Periscope::start(|| mongo_proxy("tcp", mongo.addr, ""));
    let mut conn = RawConn::connect(px.addr("edge"));
    for (id, name) in [(1, "noSuchCommandXyz"), (2, "anotherMadeUpOne")] {
        conn.send(&op_msg(id, &Doc::new().int(name, 1).str("$db", "shop")));
        read_one_message(&mut conn);
    }
    let other = [
        ("listener", "edge"),
        ("db_operation_name", "_OTHER"),
        ("db_collection_name", ""),
        ("db_namespace", "shop"),
    ];
    px.wait_metric(OPERATIONS, &other, 2.0);
    px.wait_metric(OPERATIONS, &[], 2.0);
}

/// A request whose reply never comes (the server stays silent, then the
/// client gives up and closes) is one operation with
/// `error_type="incomplete"` and no status code.
#[test]
fn a_request_left_without_reply_is_an_incomplete_operation() {
    let silent = EchoServer::silent();
    let px = Periscope::start(|| mongo_proxy("tcp", silent.addr, ""));
    let find = Doc::new().str("find", "lost").str("$db", "shop");
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(&op_msg(9, &find));
    common::eventually(
        "the request to reach the server",
        Duration::from_secs(5),
        || (!silent.received().is_empty()).then_some(()),
    );
    drop(conn);
    let incomplete = [
        ("listener", "edge"),
        ("db_operation_name", "find"),
        ("db_collection_name", "lost"),
        ("db_namespace", "shop"),
        ("db_response_status_code", ""),
        ("error_type", "incomplete"),
    ];
    px.wait_metric(OPERATIONS, &incomplete, 1.0);
    px.wait_metric(OPERATIONS, &[], 1.0);
    px.wait_metric(REPLY_DOCUMENTS_COUNT, &[], 0.0);
}

fn read_one_message(conn: &mut RawConn) {
    let mut got = Vec::new();
    for _ in 0..50 {
        got.extend(conn.read_at_least(16, Duration::from_millis(100)));
        if first_message(&got).is_some() {
            return;
        }
    }
    panic!("no whole reply: {got:?}");
}

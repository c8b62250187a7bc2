//! Exact-count tests for MongoDB recording, driven by hand-built exchanges.
use super::families::Families;
use super::mongo::{MongoCache, MongoTelemetry};
use crate::config::LabelLimits;
use periscope_parsers::mongodb::{
    CommandKind, Compressor, MongoExchange, MongoReply, OpCode, SessionInfo,
};
use periscope_parsers::{Exchange, ExchangeDetail, Outcome, Protocol, Timestamp};
use std::sync::Arc;

const LIMITS: LabelLimits = LabelLimits {
    collections: 500,
    namespaces: 100,
    status_codes: 100,
    rpc_methods: 500,
};

fn telemetry(limits: LabelLimits) -> (Arc<Families>, MongoTelemetry) {
    let families = Arc::new(Families::new());
    let telemetry = MongoTelemetry::new(families.clone(), "db", "mongo", limits);
    (families, telemetry)
}

fn operation(command: &'static str, collection: &str, reply: Option<MongoReply>) -> MongoExchange {
    MongoExchange {
        op_code: OpCode::Msg,
        compressor: None,
        request_id: 1,
        command: command.to_owned(),
        command_label: command,
        kind: CommandKind::Operation,
        database: Some("shop".to_owned()),
        collection: Some(collection.to_owned()).filter(|c| !c.is_empty()),
        session: SessionInfo::default(),
        fire_and_forget: false,
        request_documents: 0,
        reply,
        query_text: None,
    }
}

fn ok_reply(documents: u64) -> Option<MongoReply> {
    Some(MongoReply {
        op_code: Some(OpCode::Msg),
        messages: 1,
        ok: true,
        documents,
        ..MongoReply::default()
    })
}

fn record(telemetry: &MongoTelemetry, cache: &mut MongoCache, mongo: MongoExchange) {
    let exchange = Exchange {
        protocol: Protocol::Mongodb,
        started: Timestamp(0),
        finished: Timestamp(2_000_000),
        request_bytes: 100,
        response_bytes: 300,
        outcome: Outcome::Complete,
        detail: ExchangeDetail::Mongo(mongo.clone()),
    };
    telemetry.record(cache, &exchange, &mongo);
}

fn duration_count(families: &Families, labels: [&str; 8]) -> u64 {
    families
        .mongo
        .operation_duration
        .with_label_values(&labels)
        .get_sample_count()
}

#[test]
fn operations_are_counted_exactly_by_command_collection_and_status() {
    let (families, telemetry) = telemetry(LIMITS);
    let mut cache = MongoCache::default();
    for _ in 0..3 {
        record(
            &telemetry,
            &mut cache,
            operation("insert", "orders", ok_reply(0)),
        );
    }
    record(
        &telemetry,
        &mut cache,
        operation("find", "orders", ok_reply(7)),
    );
    let mut batch = operation("insert", "orders", ok_reply(0));
    batch.request_documents = 50;
    record(&telemetry, &mut cache, batch);
    let mut duplicate = operation("insert", "orders", ok_reply(0));
    duplicate.request_documents = 1;
    if let Some(reply) = duplicate.reply.as_mut() {
        reply.write_errors = 1;
        reply.first_write_error_code = Some(11000);
    }
    record(&telemetry, &mut cache, duplicate);
    let labels = |command, status, error| {
        [
            "db", "mongo", "mongodb", command, "orders", "shop", status, error,
        ]
    };
    assert_eq!(duration_count(&families, labels("insert", "", "")), 4);
    assert_eq!(duration_count(&families, labels("find", "", "")), 1);
    assert_eq!(
        duration_count(&families, labels("insert", "11000", "11000")),
        1
    );
    let documents = families
        .mongo
        .reply_documents
        .with_label_values(&["db", "find", "orders"]);
    assert_eq!(documents.get_sample_count(), 1);
    assert_eq!(documents.get_sample_sum(), 7.0);
    // Reads export no empty series of documents sent.
    let rendered = families.render();
    let find_series = rendered
        .lines()
        .filter(|l| l.starts_with("periscope_mongodb_request_documents"))
        .any(|l| l.contains("db_operation_name=\"find\""));
    assert!(!find_series, "{rendered}");
    // Only operations that sent documents are observed: the batch of 50 and
    // the duplicate key's one, not the three inserts built without any.
    let sent = |command| {
        let h = families
            .mongo
            .request_documents
            .with_label_values(&["db", command, "orders"]);
        (h.get_sample_count(), h.get_sample_sum())
    };
    assert_eq!(sent("insert"), (2, 51.0));
    assert_eq!(sent("find"), (0, 0.0));
}

#[test]
fn handshakes_never_reach_operation_metrics() {
    let (families, telemetry) = telemetry(LIMITS);
    let mut cache = MongoCache::default();
    for command in ["hello", "hello", "ping"] {
        let mut mongo = operation(command, "", ok_reply(0));
        mongo.kind = CommandKind::Handshake;
        record(&telemetry, &mut cache, mongo);
    }
    let handshakes = |command| {
        families
            .mongo
            .handshake_commands
            .with_label_values(&["db", command])
            .get()
    };
    assert_eq!(handshakes("hello"), 2);
    assert_eq!(handshakes("ping"), 1);
    let rendered = families.render();
    assert!(
        !rendered.contains("db_operation_name=\"hello\""),
        "{rendered}"
    );
}

#[test]
fn collections_beyond_the_cap_are_other_and_every_use_is_counted() {
    let limits = LabelLimits {
        collections: 2,
        ..LIMITS
    };
    let (families, telemetry) = telemetry(limits);
    let mut cache = MongoCache::default();
    for collection in ["a", "b", "c", "c", "d", "a"] {
        record(
            &telemetry,
            &mut cache,
            operation("find", collection, ok_reply(0)),
        );
    }
    let count = |collection| {
        duration_count(
            &families,
            ["db", "mongo", "mongodb", "find", collection, "shop", "", ""],
        )
    };
    assert_eq!(count("a"), 2);
    assert_eq!(count("b"), 1);
    assert_eq!(count("_OTHER"), 3);
    let overflow = families
        .label_overflow
        .with_label_values(&["db_collection_name"])
        .get();
    assert_eq!(overflow, 3);
}

#[test]
fn missing_replies_and_fire_and_forget_writes() {
    let (families, telemetry) = telemetry(LIMITS);
    let mut cache = MongoCache::default();
    record(&telemetry, &mut cache, operation("find", "orders", None));
    let mut unacknowledged = operation("insert", "orders", None);
    unacknowledged.fire_and_forget = true;
    record(&telemetry, &mut cache, unacknowledged);
    let labels = |command, error| {
        [
            "db", "mongo", "mongodb", command, "orders", "shop", "", error,
        ]
    };
    assert_eq!(duration_count(&families, labels("find", "incomplete")), 1);
    assert_eq!(duration_count(&families, labels("insert", "")), 1);
}

#[test]
fn cursors_messages_and_compressors_are_counted() {
    let (families, telemetry) = telemetry(LIMITS);
    let mut cache = MongoCache::default();
    let opened = MongoReply {
        cursor_id: Some(42),
        compressor: Some(Compressor::Zstd),
        ..ok_reply(2).unwrap_or_default()
    };
    let mut find = operation("find", "orders", Some(opened));
    find.compressor = Some(Compressor::Zstd);
    record(&telemetry, &mut cache, find);
    let exhausted = MongoReply {
        cursor_id: Some(0),
        messages: 3,
        ..ok_reply(5).unwrap_or_default()
    };
    record(
        &telemetry,
        &mut cache,
        operation("getMore", "orders", Some(exhausted)),
    );
    record(
        &telemetry,
        &mut cache,
        operation("killCursors", "orders", ok_reply(0)),
    );
    let cursors = |event| {
        families
            .mongo
            .cursors
            .with_label_values(&["db", event])
            .get()
    };
    assert_eq!(cursors("opened"), 1);
    assert_eq!(cursors("exhausted"), 1);
    assert_eq!(cursors("killed"), 1);
    let messages = |direction| {
        families
            .mongo
            .messages
            .with_label_values(&["db", direction, "OP_MSG"])
            .get()
    };
    assert_eq!(messages("request"), 3);
    assert_eq!(messages("reply"), 5);
    let compressed = |direction| {
        families
            .mongo
            .compressed_messages
            .with_label_values(&["db", direction, "zstd"])
            .get()
    };
    assert_eq!(compressed("request"), 1);
    assert_eq!(compressed("reply"), 1);
}

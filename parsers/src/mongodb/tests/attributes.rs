//! The span attributes of an exchange, as the OpenTelemetry database
//! conventions name them.
use super::builder::op_msg;
use super::samples::conv;
use super::*;
use crate::event::AttrValue;
use bson::doc;

fn insert(documents: u64) -> MongoExchange {
    write("insert", documents)
}

fn write(command: &'static str, documents: u64) -> MongoExchange {
    MongoExchange {
        op_code: OpCode::Msg,
        compressor: None,
        request_id: 7,
        command: command.to_owned(),
        command_label: command,
        kind: CommandKind::Operation,
        database: Some("shop".to_owned()),
        collection: Some("orders".to_owned()),
        session: SessionInfo::default(),
        fire_and_forget: false,
        reply: Some(MongoReply {
            ok: true,
            n: i64::try_from(documents).ok(),
            ..MongoReply::default()
        }),
        query_text: None,
        request_documents: documents,
    }
}

fn attribute(exchange: &MongoExchange, key: &str) -> Option<AttrValue> {
    let attributes = exchange.attributes();
    attributes
        .into_iter()
        .find(|(k, _)| *k == key)
        .map(|(_, v)| v)
}

#[test]
fn statements_sent_together_are_a_batch_documents_of_one_insert_are_not() {
    let batch = "db.operation.batch.size";
    assert_eq!(
        attribute(&write("update", 3), batch),
        Some(AttrValue::Int(3))
    );
    assert_eq!(
        attribute(&write("delete", 2), batch),
        Some(AttrValue::Int(2))
    );
    assert_eq!(
        attribute(&write("bulkWrite", 2), batch),
        Some(AttrValue::Int(2))
    );
    assert_eq!(attribute(&write("update", 1), batch), None);
    assert_eq!(attribute(&write("delete", 0), batch), None);
    // Many documents are operands of one insert, not operations.
    assert_eq!(attribute(&insert(50), batch), None);
    assert_eq!(
        attribute(&insert(50), "db.collection.name"),
        Some(AttrValue::Str("orders".to_owned()))
    );
}

/// bulkWrite sends its operations and the namespaces they name as two
/// sequences: only the operations are sent documents.
#[test]
fn bulk_write_counts_its_ops_not_its_namespaces() {
    let ops = [
        doc! { "insert": 0, "document": { "_id": 1 } },
        doc! { "delete": 0, "filter": {} },
    ];
    let ns = [doc! { "ns": "shop.items" }];
    let cmd = doc! { "bulkWrite": 1, "$db": "admin" };
    let sequences = op_msg(1, 0, 0, &cmd, &[("ops", &ops), ("nsInfo", &ns)]);
    let in_body =
        doc! { "bulkWrite": 1, "ops": ops.to_vec(), "nsInfo": ns.to_vec(), "$db": "admin" };
    let in_body = op_msg(3, 0, 0, &in_body, &[]);
    let reply = |to| op_msg(to + 1, to, 0, &doc! { "ok": 1.0, "nInserted": 1 }, &[]);
    let c = conv(
        "bulkWrite",
        vec![(C, sequences), (S, reply(1)), (C, in_body), (S, reply(3))],
    );
    let sent: Vec<u64> = whole(&c)
        .0
        .iter()
        .filter_map(|e| match &e.detail {
            ExchangeDetail::Mongo(m) => Some(m.request_documents),
            _ => None,
        })
        .collect();
    assert_eq!(sent, [2, 2]);
}

//! The span attributes of an exchange, as the OpenTelemetry database
//! conventions name them.
use super::*;
use crate::event::AttrValue;

fn insert(documents: u64) -> MongoExchange {
    MongoExchange {
        op_code: OpCode::Msg,
        compressor: None,
        request_id: 7,
        command: "insert".to_owned(),
        command_label: "insert",
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
fn a_write_of_two_or_more_documents_is_a_batch() {
    let batch = "db.operation.batch.size";
    assert_eq!(attribute(&insert(50), batch), Some(AttrValue::Int(50)));
    assert_eq!(attribute(&insert(2), batch), Some(AttrValue::Int(2)));
    assert_eq!(attribute(&insert(1), batch), None);
    assert_eq!(attribute(&insert(0), batch), None);
    assert_eq!(
        attribute(&insert(50), "db.collection.name"),
        Some(AttrValue::Str("orders".to_owned()))
    );
}

//! What a reply says: `ok`, error fields, write results and cursor batch
//! sizes, read in one pass over the reply's top-level keys. Batches are
//! counted, their documents never decoded.

use bson::RawDocument;

use super::command::{as_i64, bounded_prefix, bounded_str, count};
use super::event::{MongoReply, MAX_MESSAGE, MAX_NAME};
use super::raw::{self, Value};
use crate::ErrorReason;

/// One reply message's fields, plus the cursor's namespace (for the
/// per-connection cursor map) which the contract does not carry.
#[derive(Debug, Clone, Default)]
pub struct ReplyFields<'a> {
    pub reply: MongoReply,
    /// Borrowed from the reply (bounded to `MAX_NAME`): only an open
    /// cursor needs it, and most replies close theirs.
    pub cursor_ns: Option<&'a str>,
    /// A cursor was present (so `documents` came from its batch).
    pub has_cursor: bool,
}

/// Reads a command reply document.
pub fn read(doc: &RawDocument) -> Result<ReplyFields<'_>, ErrorReason> {
    let mut out = ReplyFields::default();
    let r = &mut out.reply;
    for element in raw::elements(doc) {
        let element = element.map_err(|_| ErrorReason::Malformed)?;
        let key = element.key;
        match key {
            b"ok" | b"code" | b"codeName" | b"errmsg" | b"$err" | b"writeErrors"
            | b"writeConcernError" | b"n" | b"nModified" | b"upserted" | b"cursor" => {}
            _ => continue,
        }
        let value = element.value().map_err(|_| ErrorReason::Malformed)?;
        match (key, value) {
            (b"ok", Value::Boolean(b)) => r.ok = b,
            (b"ok", v) => r.ok = as_f64(v).is_some_and(|ok| ok != 0.0),
            (b"code", v) => r.code = as_i64(v).and_then(|c| i32::try_from(c).ok()),
            (b"codeName", Value::String(s)) => {
                r.code_name = Some(bounded_str(s, MAX_MESSAGE));
            }
            (b"errmsg" | b"$err", Value::String(s)) => {
                r.errmsg = Some(bounded_str(s, MAX_MESSAGE));
            }
            (b"writeErrors", Value::Array(errors)) => {
                for (i, e) in raw::elements(errors).enumerate() {
                    let e = e.and_then(|e| e.value());
                    let e = e.map_err(|_| ErrorReason::Malformed)?;
                    if i == 0 {
                        r.first_write_error_code = code_of(e)?;
                    }
                    r.write_errors = r.write_errors.saturating_add(1);
                }
            }
            (b"writeConcernError", Value::Document(_)) => {
                // Present means failed: a missing code still counts.
                r.write_concern_error_code = Some(code_of(value)?.unwrap_or(0));
            }
            (b"n", v) => r.n = as_i64(v),
            (b"nModified", v) => r.n_modified = as_i64(v),
            (b"upserted", Value::Array(a)) => {
                r.upserted = u32::try_from(count(a)?).unwrap_or(u32::MAX);
            }
            (b"cursor", Value::Document(cursor)) => {
                out.has_cursor = true;
                cursor_fields(cursor, r, &mut out.cursor_ns)?;
            }
            _ => {}
        }
    }
    Ok(out)
}

fn cursor_fields<'a>(
    cursor: &'a RawDocument,
    r: &mut MongoReply,
    ns: &mut Option<&'a str>,
) -> Result<(), ErrorReason> {
    for element in raw::elements(cursor) {
        let element = element.map_err(|_| ErrorReason::Malformed)?;
        let key = element.key;
        if !matches!(key, b"id" | b"ns" | b"firstBatch" | b"nextBatch") {
            continue;
        }
        match (key, element.value().map_err(|_| ErrorReason::Malformed)?) {
            (b"id", v) => r.cursor_id = as_i64(v),
            (b"ns", Value::String(s)) => *ns = Some(bounded_prefix(s, MAX_NAME)),
            (b"firstBatch" | b"nextBatch", Value::Array(batch)) => {
                r.documents = r.documents.saturating_add(count(batch)?);
            }
            _ => {}
        }
    }
    Ok(())
}

/// The `code` field of a write error or write concern error document.
fn code_of(value: Value<'_>) -> Result<Option<i32>, ErrorReason> {
    let Value::Document(doc) = value else {
        return Ok(None);
    };
    let code = raw::get(doc, "code").map_err(|_| ErrorReason::Malformed)?;
    Ok(code.and_then(as_i64).and_then(|c| i32::try_from(c).ok()))
}

fn as_f64(value: Value<'_>) -> Option<f64> {
    match value {
        Value::Double(v) => Some(v),
        Value::Int32(v) => Some(f64::from(v)),
        Value::Int64(v) => Some(v as f64),
        _ => None,
    }
}

/// Folds a later reply message (exhaust / `moreToCome` stream) into the
/// first: documents add up, the cursor id is the last one, a failure in any
/// message fails the whole, and the first error fields seen are kept.
pub fn merge(into: &mut MongoReply, next: MongoReply) {
    into.messages = into.messages.saturating_add(next.messages);
    into.ok = into.ok && next.ok;
    into.code = into.code.or(next.code);
    into.code_name = into.code_name.take().or(next.code_name);
    into.errmsg = into.errmsg.take().or(next.errmsg);
    into.write_errors = into.write_errors.saturating_add(next.write_errors);
    into.first_write_error_code = into.first_write_error_code.or(next.first_write_error_code);
    into.write_concern_error_code = into
        .write_concern_error_code
        .or(next.write_concern_error_code);
    into.n = next.n.or(into.n);
    into.n_modified = next.n_modified.or(into.n_modified);
    into.upserted = into.upserted.saturating_add(next.upserted);
    into.documents = into.documents.saturating_add(next.documents);
    into.cursor_id = next.cursor_id.or(into.cursor_id);
}

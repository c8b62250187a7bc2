//! What a request means: command name, database, collection, session
//! fields (labels and kinds are in `names`). One pass over the command's top-level keys;
//! nested documents are only looked into when a field needs it.

use bson::{RawBsonRef, RawDocument};

use super::event::{SessionInfo, MAX_MESSAGE, MAX_NAME};
use super::names::COLLECTION_COMMANDS;
use super::raw::{self, Value};
use crate::event::bounded_text;
use crate::ErrorReason;

/// A request, summarised.
#[derive(Debug, Clone, Default)]
pub struct Request {
    pub command: String,
    pub database: Option<String>,
    pub collection: Option<String>,
    pub session: SessionInfo,
    pub query_text: Option<String>,
    /// Documents sent: kind-1 sequences, or the body's `documents` /
    /// `updates` / `deletes` / `ops` array, or legacy OP_INSERT documents.
    pub documents: u64,
    /// The cursor a `getMore` / `killCursors` is about, to attribute it to
    /// the cursor's collection when the request does not say.
    pub cursor: Option<i64>,
}

/// Reads a command document (OP_MSG body, or a `$cmd` OP_QUERY's query
/// with any `$query` wrapper already removed).
pub fn read(doc: &RawDocument, query_text: bool) -> Result<Request, ErrorReason> {
    let mut req = Request::default();
    let mut first: Option<(&str, Value<'_>)> = None;
    for element in raw::elements(doc) {
        let element = element.map_err(|_| ErrorReason::Malformed)?;
        let key = element.key;
        if first.is_none() {
            // Keys are checked UTF-8: this cannot fail.
            let name = std::str::from_utf8(key).map_err(|_| ErrorReason::Malformed)?;
            first = Some((name, element.value().map_err(|_| ErrorReason::Malformed)?));
            continue;
        }
        match key {
            b"$db" | b"collection" | b"lsid" | b"txnNumber" | b"startTransaction"
            | b"autocommit" | b"documents" | b"updates" | b"deletes" | b"ops" | b"cursors" => {}
            _ => continue,
        }
        let command = first.map_or("", |(name, _)| name);
        let value = element.value().map_err(|_| ErrorReason::Malformed)?;
        match (key, value) {
            (b"$db", Value::String(db)) => {
                req.database = Some(bounded_str(db, MAX_NAME));
            }
            (b"collection", Value::String(c)) if command == "getMore" => {
                req.collection = Some(bounded_str(c, MAX_NAME));
            }
            (b"lsid", _) => req.session.has_lsid = true,
            (b"txnNumber", v) => req.session.txn_number = as_i64(v),
            (b"startTransaction", Value::Boolean(b)) => req.session.start_transaction = b,
            (b"autocommit", Value::Boolean(b)) => req.session.autocommit = Some(b),
            (b"documents" | b"updates" | b"deletes" | b"ops", Value::Array(a)) => {
                req.documents = req.documents.saturating_add(count(a)?);
            }
            (b"cursors", Value::Array(a)) if command == "killCursors" => {
                if let Some(first) = raw::elements(a).next() {
                    let first = first.and_then(|e| e.value());
                    req.cursor = as_i64(first.map_err(|_| ErrorReason::Malformed)?);
                }
            }
            _ => {}
        }
    }
    let Some((command, first)) = first else {
        // A command document with no command in it.
        return Err(ErrorReason::Malformed);
    };
    match first {
        Value::String(name) if COLLECTION_COMMANDS.contains(&command) => {
            req.collection = Some(bounded_str(name, MAX_NAME));
        }
        Value::Int64(id) if command == "getMore" => req.cursor = Some(id),
        // `explain` wraps the command it explains: attribute it to that
        // command's collection (the operation stays `explain`).
        Value::Document(inner) if command == "explain" => {
            if let Some(Ok(element)) = raw::elements(inner).next() {
                if let Ok(Value::String(coll)) = element.value() {
                    let name = std::str::from_utf8(element.key).unwrap_or_default();
                    if COLLECTION_COMMANDS.contains(&name) {
                        req.collection = Some(bounded_str(coll, MAX_NAME));
                    }
                }
            }
        }
        _ => {}
    }
    req.command = bounded_str(command, MAX_NAME);
    if query_text {
        req.query_text = Some(text(doc));
    }
    Ok(req)
}

/// The command as relaxed extended JSON, bounded. Only on opt-in. Built key
/// by key and stopped once the text is long enough, and a nested value too
/// large to fit is shown as `"..."` rather than decoded: a 16 MiB insert
/// costs no more than a small one.
pub fn text(doc: &RawDocument) -> String {
    let mut out = String::from("{");
    for (i, element) in doc.iter().enumerate() {
        let Ok((key, value)) = element else { break };
        if out.len() >= MAX_MESSAGE {
            break;
        }
        if i > 0 {
            out.push(',');
        }
        out += &bson::Bson::String(key.to_owned())
            .into_relaxed_extjson()
            .to_string();
        out.push(':');
        let nested_len = match value {
            RawBsonRef::Document(d) => d.as_bytes().len(),
            RawBsonRef::Array(a) => a.as_bytes().len(),
            _ => 0,
        };
        match bson::Bson::try_from(value) {
            Ok(v) if nested_len <= 2 * MAX_MESSAGE => {
                out += &v.into_relaxed_extjson().to_string();
            }
            _ => out += "\"...\"",
        }
    }
    out.push('}');
    bounded_str(&out, MAX_MESSAGE)
}

/// [`bounded_text`] for text already known to be UTF-8 (BSON keys and
/// strings, which the `bson` crate has validated): no second validation.
pub fn bounded_str(s: &str, max: usize) -> String {
    bounded_prefix(s, max).to_owned()
}

/// The longest prefix of `s` within `max` bytes that ends on a character
/// boundary: [`bounded_str`] without the copy.
pub fn bounded_prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while end > 0 && !s.is_char_boundary(end) {
        end -= 1;
    }
    s.get(..end).unwrap_or_default()
}

/// Elements in an array, each checked as the `bson` crate's array
/// iterator would (its value read, never copied).
pub fn count(array: &RawDocument) -> Result<u64, ErrorReason> {
    let mut n = 0u64;
    for element in raw::elements(array) {
        element
            .and_then(|e| e.value())
            .map_err(|_| ErrorReason::Malformed)?;
        n += 1;
    }
    Ok(n)
}

/// An integer field as sent: int32, int64, or an integral double.
pub fn as_i64(value: Value<'_>) -> Option<i64> {
    match value {
        Value::Int32(v) => Some(i64::from(v)),
        Value::Int64(v) => Some(v),
        Value::Double(v) if v.is_finite() && v.fract() == 0.0 => Some(v as i64),
        _ => None,
    }
}

/// A legacy namespace `db.collection` split at its first dot. The bytes
/// are not known to be UTF-8: invalid ones become U+FFFD (three bytes
/// each), so the lossy copy is cut again to stay within [`MAX_NAME`].
pub fn namespace(ns: &[u8]) -> (String, Option<String>) {
    let text = |raw: &[u8]| bounded_str(&bounded_text(raw, MAX_NAME), MAX_NAME);
    match memchr::memchr(b'.', ns) {
        Some(dot) => (
            text(ns.get(..dot).unwrap_or_default()),
            Some(text(ns.get(dot + 1..).unwrap_or_default())),
        ),
        None => (text(ns), None),
    }
}

/// An OP_QUERY's command: `{$query: {...}, $readPreference: ...}` (or
/// `query`) wraps the command; otherwise the document is the command.
pub fn unwrap_query(doc: &RawDocument) -> Result<&RawDocument, ErrorReason> {
    let first = doc
        .iter()
        .next()
        .transpose()
        .map_err(|_| ErrorReason::Malformed)?;
    match first {
        Some(("$query" | "query", RawBsonRef::Document(inner))) => Ok(inner),
        _ => Ok(doc),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bytes(d: bson::Document) -> Vec<u8> {
        let mut v = Vec::new();
        d.to_writer(&mut v).unwrap();
        v
    }

    #[test]
    fn collection_comes_from_the_first_value_of_collection_commands() {
        use bson::doc;
        let cases = [
            (doc! { "find": "items", "$db": "shop" }, Some("items")),
            (
                doc! { "aggregate": 1, "pipeline": [], "$db": "admin" },
                None,
            ),
            (
                doc! { "aggregate": "items", "pipeline": [], "$db": "shop" },
                Some("items"),
            ),
            (doc! { "ping": "items" }, None),
            (
                doc! { "getMore": 5i64, "collection": "items" },
                Some("items"),
            ),
            (
                doc! { "explain": { "find": "items" }, "$db": "shop" },
                Some("items"),
            ),
            (doc! { "explain": { "ping": "x" } }, None),
        ];
        for (d, want) in cases {
            let raw = bytes(d);
            let doc = RawDocument::from_bytes(&raw).unwrap();
            let req = read(doc, false).unwrap();
            assert_eq!(req.collection.as_deref(), want, "{}", req.command);
        }
        let raw = bytes(doc! { "getMore": 5i64 });
        let req = read(RawDocument::from_bytes(&raw).unwrap(), false).unwrap();
        assert_eq!((req.collection, req.cursor), (None, Some(5)));
    }

    #[test]
    fn long_names_are_bounded() {
        let long = "c".repeat(10_000);
        let raw = bytes(bson::doc! { "find": long.clone(), "$db": long });
        let req = read(RawDocument::from_bytes(&raw).unwrap(), true).unwrap();
        assert_eq!(req.collection.map(|c| c.len()), Some(MAX_NAME));
        assert_eq!(req.database.map(|c| c.len()), Some(MAX_NAME));
        assert!(req.query_text.is_some_and(|q| q.len() <= MAX_MESSAGE));
    }

    #[test]
    fn bounded_str_agrees_with_bounded_text() {
        for s in ["", "abc", "aé", "€€", "ab€"] {
            for max in 0..8 {
                assert_eq!(
                    bounded_str(s, max),
                    bounded_text(s.as_bytes(), max),
                    "{s} {max}"
                );
            }
        }
    }

    #[test]
    fn namespaces_split_at_the_first_dot() {
        assert_eq!(
            namespace(b"admin.$cmd"),
            ("admin".into(), Some("$cmd".into()))
        );
        assert_eq!(namespace(b"db.a.b"), ("db".into(), Some("a.b".into())));
        assert_eq!(namespace(b"db"), ("db".into(), None));
        // Invalid UTF-8 grows when replaced: still within the cap.
        let (db, coll) = namespace(&[0xff; 1000]);
        assert!(db.len() <= MAX_NAME && coll.is_none());
    }
}

//! Per-connection memory: requests waiting for their reply, and which
//! collection each open cursor reads. Both are keyed by values off the wire,
//! so both are capped: pending requests by an error (a client that never
//! reads replies is not one we can follow), cursors by evicting the oldest.

use std::collections::VecDeque;

use super::event::MongoExchange;
use crate::event::Timestamp;
use crate::ErrorReason;

/// Requests in flight before the parser gives up with `TooManyPending`.
/// Drivers keep one in flight per connection; exhaust streams still one.
pub const MAX_PENDING: usize = 1024;
/// Open cursors remembered per connection for `getMore` / `killCursors`
/// attribution; the oldest is forgotten first.
pub const MAX_CURSORS: usize = 64;

/// How an OP_REPLY answering this request is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LegacyReply {
    /// A `$cmd` query: the first document is the command's reply.
    Command,
    /// A query or OP_GET_MORE on a collection: documents are results.
    Documents,
}

/// A request waiting for its reply (or the rest of its replies).
#[derive(Debug, Clone)]
pub struct Pending {
    /// The `responseTo` that answers it: the request's id, then, along an
    /// exhaust stream, the id of the last reply.
    pub key: i32,
    pub started: Timestamp,
    pub request_bytes: u64,
    pub response_bytes: u64,
    pub exchange: MongoExchange,
    pub legacy: LegacyReply,
    /// The cursor a getMore / killCursors named.
    pub cursor: Option<i64>,
}

/// Pending requests in arrival order; looked up by key, not by position,
/// since MongoDB replies may come in any order.
#[derive(Debug, Default)]
pub struct Pairing {
    pending: VecDeque<Pending>,
}

impl Pairing {
    pub fn insert(&mut self, pending: Pending) -> Result<(), ErrorReason> {
        if self.pending.len() >= MAX_PENDING {
            return Err(ErrorReason::TooManyPending);
        }
        self.pending.push_back(pending);
        Ok(())
    }

    /// Takes the oldest request a reply with `response_to` answers.
    pub fn take(&mut self, response_to: i32) -> Option<Pending> {
        let at = self.pending.iter().position(|p| p.key == response_to)?;
        self.pending.remove(at)
    }

    /// Puts back a request whose reply stream goes on, at its old place in
    /// the order (the front: it was the oldest that matched).
    pub fn put_back(&mut self, pending: Pending) {
        self.pending.push_front(pending);
    }

    pub fn drain(&mut self) -> impl Iterator<Item = Pending> + '_ {
        self.pending.drain(..)
    }

    pub fn len(&self) -> usize {
        self.pending.len()
    }
}

/// An open cursor's origin.
#[derive(Debug, Clone, PartialEq)]
pub struct CursorOrigin {
    pub database: Option<String>,
    pub collection: Option<String>,
}

/// Cursor id → origin, at most [`MAX_CURSORS`] entries, oldest evicted.
#[derive(Debug, Default)]
pub struct Cursors {
    entries: VecDeque<(i64, CursorOrigin)>,
}

impl Cursors {
    pub fn insert(&mut self, id: i64, origin: CursorOrigin) {
        self.remove(id);
        if self.entries.len() >= MAX_CURSORS {
            self.entries.pop_front();
        }
        self.entries.push_back((id, origin));
    }

    pub fn get(&self, id: i64) -> Option<&CursorOrigin> {
        self.entries.iter().find(|(k, _)| *k == id).map(|(_, o)| o)
    }

    pub fn remove(&mut self, id: i64) {
        self.entries.retain(|(k, _)| *k != id);
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cursors_evict_the_oldest() {
        let mut c = Cursors::default();
        let origin = CursorOrigin {
            database: None,
            collection: Some("c".into()),
        };
        for id in 0..(MAX_CURSORS as i64 + 10) {
            c.insert(id, origin.clone());
        }
        assert_eq!(c.len(), MAX_CURSORS);
        assert!(c.get(0).is_none());
        assert!(c.get(MAX_CURSORS as i64 + 9).is_some());
        c.remove(MAX_CURSORS as i64 + 9);
        assert!(c.get(MAX_CURSORS as i64 + 9).is_none());
    }
}

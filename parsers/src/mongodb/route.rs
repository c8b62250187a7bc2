//! Which request or reply each parsed message is: legacy opcodes imply
//! their operation, OP_MSG and `$cmd` queries carry it in the command, and
//! an OP_REPLY is read as the request it answers expects.

use super::command::{self, Request};
use super::exchange::{Arrival, Core};
use super::reply::{self, ReplyFields};
use super::state::LegacyReply;
use super::wire::{Body, Msg, MORE_TO_COME, QUERY_FAILURE};
use crate::event::Direction;
use crate::{ErrorReason, Sink};

impl Core {
    pub(super) fn dispatch(
        &mut self,
        dir: Direction,
        arrival: &Arrival,
        body: Body<'_>,
        sink: &mut dyn Sink,
    ) -> Result<(), ErrorReason> {
        let query_text = self.options.query_text;
        match (dir, body) {
            (Direction::ClientToServer, Body::Msg(msg)) => {
                let mut req = command::read(msg.body, query_text)?;
                req.documents = req.documents.saturating_add(msg.sequence_documents);
                let ff = msg.flags & MORE_TO_COME != 0;
                self.request(arrival, req, ff, LegacyReply::Command, sink)
            }
            (Direction::ClientToServer, Body::Query { ns, query }) => {
                let (database, collection) = command::namespace(ns);
                let (req, legacy) = if collection.as_deref() == Some("$cmd") {
                    let doc = command::unwrap_query(query)?;
                    (command::read(doc, query_text)?, LegacyReply::Command)
                } else {
                    let mut req = legacy("find", collection);
                    if query_text {
                        req.query_text = Some(command::text(query));
                    }
                    (req, LegacyReply::Documents)
                };
                let req = Request {
                    database: req.database.clone().or(Some(database)),
                    ..req
                };
                self.request(arrival, req, false, legacy, sink)
            }
            (Direction::ClientToServer, Body::GetMore { ns, cursor_id }) => {
                let (database, collection) = command::namespace(ns);
                let mut req = legacy("getMore", collection);
                req.database = Some(database);
                req.cursor = Some(cursor_id);
                self.request(arrival, req, false, LegacyReply::Documents, sink)
            }
            (Direction::ClientToServer, Body::KillCursors { first_cursor }) => {
                let mut req = legacy("killCursors", None);
                req.cursor = first_cursor;
                self.request(arrival, req, true, LegacyReply::Documents, sink)
            }
            (Direction::ClientToServer, Body::Insert { ns, documents }) => {
                let mut req = legacy_ns("insert", ns);
                req.documents = documents;
                self.request(arrival, req, true, LegacyReply::Documents, sink)
            }
            (Direction::ClientToServer, Body::Update { ns }) => self.request(
                arrival,
                legacy_ns("update", ns),
                true,
                LegacyReply::Documents,
                sink,
            ),
            (Direction::ClientToServer, Body::Delete { ns }) => self.request(
                arrival,
                legacy_ns("delete", ns),
                true,
                LegacyReply::Documents,
                sink,
            ),
            (Direction::ServerToClient, Body::Msg(msg)) => {
                let more = msg.flags & MORE_TO_COME != 0;
                self.reply(arrival, |_| msg_reply(&msg), more, sink)
            }
            (
                Direction::ServerToClient,
                Body::Reply {
                    flags,
                    cursor_id,
                    number_returned,
                    first,
                },
            ) => self.reply(
                arrival,
                |legacy| op_reply(legacy, flags, cursor_id, number_returned, first),
                false,
                sink,
            ),
            // A request opcode from the server, a reply opcode from the
            // client: not a MongoDB conversation.
            _ => Err(ErrorReason::Malformed),
        }
    }
}

/// A legacy opcode's request: the operation is implied by the opcode.
fn legacy(command: &str, collection: Option<String>) -> Request {
    Request {
        command: command.to_owned(),
        collection,
        ..Request::default()
    }
}

fn legacy_ns(command: &str, ns: &[u8]) -> Request {
    let (database, collection) = command::namespace(ns);
    Request {
        database: Some(database),
        ..legacy(command, collection)
    }
}

fn msg_reply<'a>(msg: &Msg<'a>) -> Result<ReplyFields<'a>, ErrorReason> {
    reply::read(msg.body)
}

/// An OP_REPLY: a `$cmd` query's first document is the command reply
/// (read like an OP_MSG reply body); otherwise the documents are query
/// results, counted by `numberReturned`.
fn op_reply(
    legacy: LegacyReply,
    flags: i32,
    cursor_id: i64,
    number_returned: i32,
    first: Option<&bson::RawDocument>,
) -> Result<ReplyFields<'_>, ErrorReason> {
    let returned = u64::try_from(number_returned).unwrap_or(0);
    let failed = flags & QUERY_FAILURE != 0;
    let mut fields = match first {
        Some(doc) if failed || legacy == LegacyReply::Command => reply::read(doc)?,
        _ => ReplyFields::default(),
    };
    let r = &mut fields.reply;
    match legacy {
        // The one document of a command reply is not a returned row:
        // `documents` counts its cursor batch, as for OP_MSG.
        LegacyReply::Command => r.ok = r.ok && !failed,
        LegacyReply::Documents => {
            r.ok = !failed;
            r.documents = if failed { 0 } else { returned };
            r.cursor_id = Some(cursor_id);
        }
    }
    Ok(fields)
}

//! Turns whole messages into exchanges: requests become pending (or
//! complete at once when no reply is expected), replies complete the
//! request whose `requestID` their `responseTo` names.

use super::command::{self, Request};
use super::compress::decompress;
use super::crc;
use super::event::{Compressor, MongoExchange, MongoReply, OpCode};
use super::frame::Frame;
use super::reply::{self, ReplyFields};
use super::state::{CursorOrigin, Cursors, LegacyReply, Pairing, Pending};
use super::wire::{self, Body, Msg, HEADER_LEN, MORE_TO_COME, QUERY_FAILURE};
use super::MongoOptions;
use crate::event::{Direction, Exchange, ExchangeDetail, Outcome, Protocol, Timestamp};
use crate::{ErrorReason, Sink};

/// Decompression buffers above this are dropped after use.
const SCRATCH_KEEP: usize = 1 << 20;

#[derive(Debug)]
pub struct Core {
    pub options: MongoOptions,
    pairing: Pairing,
    cursors: Cursors,
    /// Reused output buffer for OP_COMPRESSED payloads.
    scratch: Vec<u8>,
    pub skipped: u64,
    pub checksum_mismatches: u64,
}

/// One message as the pairing sees it: wire facts plus where it came from.
struct Arrival {
    frame: Frame,
    /// Opcode after unwrapping OP_COMPRESSED.
    op: OpCode,
    compressor: Option<Compressor>,
    at: Timestamp,
}

impl Core {
    pub fn new(options: MongoOptions) -> Core {
        Core {
            options,
            pairing: Pairing::default(),
            cursors: Cursors::default(),
            scratch: Vec::new(),
            skipped: 0,
            checksum_mismatches: 0,
        }
    }

    pub fn pending(&self) -> usize {
        self.pairing.len()
    }

    pub fn cursors(&self) -> usize {
        self.cursors.len()
    }

    /// A whole message arrived in `dir`; `body` is everything after its header.
    pub fn message(
        &mut self,
        dir: Direction,
        frame: Frame,
        body: &[u8],
        at: Timestamp,
        sink: &mut dyn Sink,
    ) -> Result<(), ErrorReason> {
        let parsed = wire::body(frame.header.op_code, body)?;
        let Body::Compressed {
            original,
            uncompressed_size,
            compressor_id,
            data,
        } = parsed
        else {
            if let Body::Msg(Msg {
                checksum: Some(sent),
                ..
            }) = parsed
            {
                self.verify_checksum(frame, body, sent);
            }
            let arrival = Arrival {
                frame,
                op: frame.header.op_code,
                compressor: None,
                at,
            };
            return self.dispatch(dir, &arrival, parsed, sink);
        };
        let compressor = Compressor::from_id(compressor_id).ok_or(ErrorReason::Unsupported)?;
        if uncompressed_size.saturating_add(HEADER_LEN) > self.options.max_message_bytes {
            return Err(ErrorReason::LengthTooLarge);
        }
        let mut inner = std::mem::take(&mut self.scratch);
        let result = decompress(compressor, data, uncompressed_size, &mut inner)
            .and_then(|()| wire::body(original, &inner))
            .and_then(|parsed| {
                let arrival = Arrival {
                    frame,
                    op: original,
                    compressor: Some(compressor),
                    at,
                };
                self.dispatch(dir, &arrival, parsed, sink)
            });
        // Keep a small buffer for the next message, not the largest one seen.
        if inner.capacity() <= SCRATCH_KEEP {
            self.scratch = inner;
        }
        result
    }

    /// Counts an OP_MSG whose CRC-32C (over header and body, checksum
    /// excluded) is not the one it carries. Compressed messages are not
    /// checked: the header that was summed is not the one on the wire.
    fn verify_checksum(&mut self, frame: Frame, body: &[u8], sent: u32) {
        let covered = body.get(..body.len().saturating_sub(4)).unwrap_or_default();
        let crc = crc::update(crc::update(0, &wire::header_bytes(&frame.header)), covered);
        if crc != sent {
            self.checksum_mismatches = self.checksum_mismatches.saturating_add(1);
        }
    }

    /// A message above the buffering cap went by: what its header says is
    /// all there is to report.
    pub fn skipped(
        &mut self,
        dir: Direction,
        frame: Frame,
        at: Timestamp,
        sink: &mut dyn Sink,
    ) -> Result<(), ErrorReason> {
        self.skipped = self.skipped.saturating_add(1);
        let op = frame.header.op_code;
        match dir {
            Direction::ClientToServer => {
                let fire_and_forget = matches!(
                    op,
                    OpCode::Insert | OpCode::Update | OpCode::Delete | OpCode::KillCursors
                );
                let req = Request {
                    command: command::OTHER.to_owned(),
                    ..Request::default()
                };
                let arrival = Arrival {
                    frame,
                    op,
                    compressor: None,
                    at,
                };
                self.request(&arrival, req, fire_and_forget, LegacyReply::Command, sink)
            }
            Direction::ServerToClient => {
                let fields = ReplyFields {
                    reply: MongoReply {
                        ok: true,
                        ..MongoReply::default()
                    },
                    ..ReplyFields::default()
                };
                let arrival = Arrival {
                    frame,
                    op,
                    compressor: None,
                    at,
                };
                self.reply(&arrival, |_| Ok(fields), false, sink)
            }
        }
    }

    fn dispatch(
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

    fn request(
        &mut self,
        arrival: &Arrival,
        req: Request,
        fire_and_forget: bool,
        legacy: LegacyReply,
        sink: &mut dyn Sink,
    ) -> Result<(), ErrorReason> {
        let Request {
            command,
            mut database,
            mut collection,
            session,
            query_text,
            documents,
            cursor,
        } = req;
        if let Some(origin) = cursor.and_then(|id| self.cursors.get(id)) {
            collection = collection.or_else(|| origin.collection.clone());
            database = database.or_else(|| origin.database.clone());
        }
        if command == "killCursors" {
            if let Some(id) = cursor {
                self.cursors.remove(id);
            }
        }
        let header = arrival.frame.header;
        let exchange = MongoExchange {
            op_code: arrival.op,
            compressor: arrival.compressor,
            request_id: header.request_id,
            command_label: command::label(&command),
            kind: command::kind(&command),
            command,
            database,
            collection,
            session,
            fire_and_forget,
            reply: None,
            query_text,
            request_documents: documents,
        };
        let pending = Pending {
            key: header.request_id,
            started: arrival.frame.started,
            request_bytes: header.length as u64,
            response_bytes: 0,
            exchange,
            legacy,
            cursor,
        };
        if fire_and_forget {
            // Nothing to wait for: it ends where it started.
            let started = pending.started;
            emit(pending, started, Outcome::Complete, sink);
            Ok(())
        } else {
            self.pairing.insert(pending)
        }
    }

    /// Completes (or continues) the request this reply answers. `read`
    /// gets how the request expects an OP_REPLY to be read.
    fn reply(
        &mut self,
        arrival: &Arrival,
        read: impl FnOnce(LegacyReply) -> Result<ReplyFields, ErrorReason>,
        more_to_come: bool,
        sink: &mut dyn Sink,
    ) -> Result<(), ErrorReason> {
        let header = arrival.frame.header;
        let Some(mut pending) = self.pairing.take(header.response_to) else {
            // Joined mid-stream, or the request was never seen: nothing to
            // pair it with, and nothing wrong with the stream either.
            return Ok(());
        };
        let fields = match read(pending.legacy) {
            Ok(fields) => fields,
            Err(reason) => {
                self.pairing.put_back(pending);
                return Err(reason);
            }
        };
        self.track_cursor(&pending, &fields);
        let mut next = fields.reply;
        next.messages = 1;
        next.op_code = Some(arrival.op);
        next.compressor = arrival.compressor;
        pending.response_bytes = pending.response_bytes.saturating_add(header.length as u64);
        match pending.exchange.reply.as_mut() {
            Some(so_far) => reply::merge(so_far, next),
            None => pending.exchange.reply = Some(next),
        }
        if more_to_come {
            pending.key = header.request_id;
            self.pairing.put_back(pending);
        } else {
            emit(pending, arrival.at, Outcome::Complete, sink);
        }
        Ok(())
    }

    /// Remembers where an open cursor reads from; forgets exhausted ones.
    fn track_cursor(&mut self, pending: &Pending, fields: &ReplyFields) {
        match fields.reply.cursor_id {
            Some(0) => {
                if let Some(id) = pending.cursor {
                    self.cursors.remove(id);
                }
            }
            Some(id) => {
                let ex = &pending.exchange;
                let origin = match fields
                    .cursor_ns
                    .as_deref()
                    .map(|ns| command::namespace(ns.as_bytes()))
                {
                    Some((db, coll)) => CursorOrigin {
                        database: Some(db),
                        collection: coll,
                    },
                    None => CursorOrigin {
                        database: ex.database.clone(),
                        collection: ex.collection.clone(),
                    },
                };
                self.cursors.insert(id, origin);
            }
            None => {}
        }
    }

    pub fn close(&mut self, at: Timestamp, sink: &mut dyn Sink) {
        for pending in self.pairing.drain() {
            emit(pending, at, Outcome::Incomplete, sink);
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

fn msg_reply(msg: &Msg<'_>) -> Result<ReplyFields, ErrorReason> {
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
) -> Result<ReplyFields, ErrorReason> {
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

fn emit(pending: Pending, finished: Timestamp, outcome: Outcome, sink: &mut dyn Sink) {
    sink.exchange(Exchange {
        protocol: Protocol::Mongodb,
        started: pending.started,
        finished,
        request_bytes: pending.request_bytes,
        response_bytes: pending.response_bytes,
        outcome,
        detail: ExchangeDetail::Mongo(pending.exchange),
    });
}

//! Turns whole messages into exchanges: requests become pending (or
//! complete at once when no reply is expected), replies complete the
//! request whose `requestID` their `responseTo` names.

use super::command::{self, Request};
use super::compress::decompress;
use super::crc;
use super::event::{Compressor, MongoExchange, MongoReply, OpCode};
use super::frame::Frame;
use super::names;
use super::reply::{self, ReplyFields};
use super::state::{CursorOrigin, Cursors, LegacyReply, Pairing, Pending};
use super::wire::{self, Body, Msg, HEADER_LEN};
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
pub(super) struct Arrival {
    pub(super) frame: Frame,
    /// Opcode after unwrapping OP_COMPRESSED.
    pub(super) op: OpCode,
    pub(super) compressor: Option<Compressor>,
    pub(super) at: Timestamp,
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
                    command: names::OTHER.to_owned(),
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

    pub(super) fn request(
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
            command_label: names::label(&command),
            kind: names::kind(&command),
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
    pub(super) fn reply<'a>(
        &mut self,
        arrival: &Arrival,
        read: impl FnOnce(LegacyReply) -> Result<ReplyFields<'a>, ErrorReason>,
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
    fn track_cursor(&mut self, pending: &Pending, fields: &ReplyFields<'_>) {
        match fields.reply.cursor_id {
            Some(0) => {
                if let Some(id) = pending.cursor {
                    self.cursors.remove(id);
                }
            }
            Some(id) => {
                let ex = &pending.exchange;
                let origin = match fields.cursor_ns.map(|ns| command::namespace(ns.as_bytes())) {
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

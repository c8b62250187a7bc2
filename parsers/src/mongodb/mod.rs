//! MongoDB wire protocol, both directions of one connection.
//!
//! `frame` cuts each direction into messages (header checked before any
//! buffering, oversize messages skipped and resynchronised past); `wire`
//! parses a whole message's body per opcode; `compress` unwraps
//! OP_COMPRESSED so the inner message goes through the same path;
//! `route` sends each message to the request or reply side; `command`,
//! `names` and `reply` read the meaning out of the BSON, lazily, with the
//! `bson` crate's raw types; `exchange` pairs replies with requests by
//! `responseTo` (`state` holds the bounded maps).
//!
//! Decisions worth knowing:
//! - Errors: a length outside `16..=48 MB` is `LengthTooLarge` (above) or
//!   `Malformed` (below); an unknown opcode or compressor is `Unsupported`;
//!   broken structure or BSON is `Malformed`; a declared uncompressed size
//!   above the buffering cap is `LengthTooLarge`; more than [`MAX_PENDING`]
//!   requests awaiting replies is `TooManyPending`. A reply nobody asked
//!   for is ignored (we may have joined mid-stream), not an error.
//! - Oversize messages (above [`MongoOptions::max_message_bytes`], up to
//!   the wire limit of 48 MB) are skipped, not an error: a skipped request
//!   still becomes an exchange with command `_OTHER` (its opcode known,
//!   nothing else; legacy writes complete at once, anything else waits for
//!   its reply), and a skipped reply still completes its request, with
//!   `ok` taken as true since nothing says otherwise.
//!   [`MongoParser::skipped_messages`] counts them.
//! - `checksumPresent`: the CRC-32C is verified and a mismatch counted
//!   ([`MongoParser::checksum_mismatches`]), never refused.
//! - Several replies to one request (`moreToCome` on the reply: exhaust
//!   cursors) are one exchange, completed by the reply without the flag;
//!   each next reply answers the previous reply's `requestID`. A
//!   monitoring connection's streaming `hello` is such a stream that never
//!   ends: it stays one pending exchange until `close` (incomplete).
//! - Requests that expect no reply (client `moreToCome`, i.e. w:0, and
//!   OP_INSERT / OP_UPDATE / OP_DELETE / OP_KILL_CURSORS) complete when
//!   read: `fire_and_forget`, no reply, `finished == started`.
//! - Kinds: [`HANDSHAKE_COMMANDS`] are `Handshake`, everything else
//!   `Operation`; labels: [`KNOWN_COMMANDS`], else `_OTHER`.
//! - Timestamps: `started` is the feed that carried the request's first
//!   byte, `finished` the feed that carried the last reply's last byte;
//!   byte counts are wire sizes (compressed, all reply messages summed).

mod command;
mod compress;
mod crc;
pub mod event;
mod exchange;
mod frame;
mod names;
mod raw;
mod reply;
mod route;
mod sequence;
mod state;
mod wire;

#[cfg(test)]
mod tests;

pub use event::{
    CommandKind, Compressor, MongoExchange, MongoReply, OpCode, SessionInfo, MAX_MESSAGE, MAX_NAME,
};
pub use names::{HANDSHAKE_COMMANDS, KNOWN_COMMANDS};
pub use state::{MAX_CURSORS, MAX_PENDING};
pub use wire::MAX_WIRE_MESSAGE;

use crate::event::{Direction, Timestamp};
use crate::{ParseError, ProtocolParser, Sink, Status};
use exchange::Core;
use frame::{Framer, Source};

/// Default cap on a message buffered for parsing: MongoDB's largest BSON
/// document (16 MiB), which any real command or reply body fits in.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 16 * 1024 * 1024;

/// Knobs for [`MongoParser::with_options`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MongoOptions {
    /// Fill `MongoExchange::query_text` (the command as relaxed extended
    /// JSON, truncated). Off by default: it decodes whole command documents
    /// and copies values (possibly personal data) into events.
    pub query_text: bool,
    /// Messages up to this size (header included) are buffered and parsed;
    /// larger ones are skipped. Also caps OP_COMPRESSED's declared
    /// uncompressed size.
    pub max_message_bytes: usize,
}

impl Default for MongoOptions {
    fn default() -> Self {
        MongoOptions {
            query_text: false,
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
        }
    }
}

/// Sans-IO MongoDB parser for one connection: feed it both directions and
/// it emits one [`crate::Exchange`] per operation when its (last) reply
/// arrives, or at once for requests that expect none.
///
/// After an error, feeds are ignored and return the same status; `close`
/// still reports the requests that never got their reply.
#[derive(Debug)]
pub struct MongoParser {
    status: Status,
    closed: bool,
    client: Framer,
    server: Framer,
    core: Core,
}

impl Default for MongoParser {
    fn default() -> Self {
        Self::new()
    }
}

impl MongoParser {
    pub fn new() -> Self {
        Self::with_options(MongoOptions::default())
    }

    pub fn with_options(options: MongoOptions) -> Self {
        MongoParser {
            status: Status::Ok,
            closed: false,
            client: Framer::default(),
            server: Framer::default(),
            core: Core::new(options),
        }
    }

    /// Bytes of input held: partial headers and the bodies being collected,
    /// never above twice `max_message_bytes` plus two headers.
    pub fn buffered_bytes(&self) -> usize {
        self.client.held() + self.server.held()
    }

    /// Requests waiting for a reply.
    pub fn pending(&self) -> usize {
        self.core.pending()
    }

    /// Open cursors remembered for attribution (at most [`MAX_CURSORS`]).
    pub fn cursors(&self) -> usize {
        self.core.cursors()
    }

    /// Messages skipped for being above `max_message_bytes`.
    pub fn skipped_messages(&self) -> u64 {
        self.core.skipped
    }

    /// OP_MSGs with `checksumPresent` whose CRC-32C did not match. They
    /// are parsed all the same: the server decides what to do with them.
    pub fn checksum_mismatches(&self) -> u64 {
        self.core.checksum_mismatches
    }
}

impl ProtocolParser for MongoParser {
    fn anomalies(&self) -> crate::Anomalies {
        crate::Anomalies {
            skipped_messages: self.skipped_messages(),
            checksum_mismatches: self.checksum_mismatches(),
            ..crate::Anomalies::default()
        }
    }

    fn feed(&mut self, dir: Direction, bytes: &[u8], at: Timestamp, sink: &mut dyn Sink) -> Status {
        if self.status != Status::Ok || self.closed {
            return self.status;
        }
        let framer = match dir {
            Direction::ClientToServer => &mut self.client,
            Direction::ServerToClient => &mut self.server,
        };
        let max = self.core.options.max_message_bytes;
        let mut rest = bytes;
        while !rest.is_empty() {
            let (used, frame) = match framer.step(rest, at, max) {
                Ok(step) => step,
                Err(reason) => return self.fail(reason),
            };
            let (consumed, after) = rest.split_at(used.min(rest.len()));
            rest = after;
            let Some(frame) = frame else { continue };
            let body = match frame.source {
                Source::Input(n) => consumed.get(consumed.len().saturating_sub(n)..),
                Source::Buffer => Some(framer.buffered()),
                Source::Skipped => None,
            };
            let result = match body {
                Some(body) => self.core.message(dir, frame, body, at, sink),
                None => self.core.skipped(dir, frame, at, sink),
            };
            if let Err(reason) = result {
                return self.fail(reason);
            }
        }
        Status::Ok
    }

    fn end_of_stream(&mut self, _dir: Direction, _at: Timestamp, _sink: &mut dyn Sink) {
        // MongoDB frames are length-delimited: a half-close ends nothing.
    }

    fn close(&mut self, at: Timestamp, sink: &mut dyn Sink) {
        if !self.closed {
            self.closed = true;
            self.core.close(at, sink);
        }
    }
}

impl MongoParser {
    fn fail(&mut self, reason: crate::ErrorReason) -> Status {
        self.status = Status::Error(ParseError { reason });
        self.status
    }
}

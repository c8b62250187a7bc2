//! HTTP/2 over cleartext (h2c prior knowledge), both directions of one
//! connection, read passively.
//!
//! `reader` cuts each direction into frames (preface, padding, priority
//! fields, CONTINUATION, unknown types skipped); `state` pairs streams
//! into exchanges, with one tolerant HPACK decoder ([`crate::hpack`]) per
//! direction; `headers` keeps the few fields an exchange reports. gRPC
//! calls (`content-type: application/grpc*`) are refined on the way: DATA
//! feeds a [`crate::grpc::MessageCounter`] per direction, never a buffer.
//!
//! Timestamps: an exchange starts with the feed that carried its request
//! HEADERS frame and finishes with the feed that carried the last
//! END_STREAM (or the reset, GOAWAY or close that ended it).

mod headers;
mod reader;
mod state;
pub mod wire;

#[cfg(test)]
mod tests;

use reader::Reader;
use state::Conn;

use crate::event::{Direction, Timestamp};
use crate::{ParseError, ProtocolParser, Sink, Status};

pub use reader::MAX_HEADER_BLOCK;
pub use state::MAX_STREAMS;

/// Sans-IO HTTP/2 parser for one connection. Feed both directions as they
/// are seen; it emits one [`crate::Exchange`] per client stream.
///
/// After an error, feeds are ignored; `close` still reports open streams.
#[derive(Debug)]
pub struct Http2Parser {
    status: Status,
    conn: Conn,
    client: Reader,
    server: Reader,
}

impl Default for Http2Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Http2Parser {
    /// A connection seen from its first byte: the client starts with the
    /// preface, SETTINGS start from their defaults.
    pub fn new() -> Http2Parser {
        Http2Parser {
            status: Status::Ok,
            conn: Conn::new(false),
            client: Reader::new(Direction::ClientToServer, true),
            server: Reader::new(Direction::ServerToClient, false),
        }
    }

    /// A connection joined under way, at a frame boundary in both
    /// directions: no preface, unknown SETTINGS (only our absolute caps
    /// apply), HPACK tables we never saw (placeholders, counted).
    pub fn mid_stream() -> Http2Parser {
        Http2Parser {
            status: Status::Ok,
            conn: Conn::new(true),
            client: Reader::new(Direction::ClientToServer, false),
            server: Reader::new(Direction::ServerToClient, false),
        }
    }

    /// Header fields that referred to HPACK state we did not have (or
    /// whose strings were undecodable), both directions; a runtime counter.
    pub fn hpack_unresolved(&self) -> u64 {
        self.conn.decoder(Direction::ClientToServer).unresolved()
            + self.conn.decoder(Direction::ServerToClient).unresolved()
    }

    /// HPACK state was lost at least once on this connection: some header
    /// fields may have been reported as missing (never as wrong values).
    pub fn hpack_degraded(&self) -> bool {
        self.conn.decoder(Direction::ClientToServer).degraded()
            || self.conn.decoder(Direction::ServerToClient).degraded()
    }

    /// PUSH_PROMISE frames seen (pushed streams are not exchanges).
    pub fn pushes(&self) -> u64 {
        self.conn.pushes()
    }

    /// Streams emitted early because [`MAX_STREAMS`] were open.
    pub fn evicted_streams(&self) -> u64 {
        self.conn.evicted()
    }

    /// Streams opened and not yet emitted (≤ [`MAX_STREAMS`]).
    pub fn open_streams(&self) -> usize {
        self.conn.open_streams()
    }

    /// Bytes of input held: partial frame headers and header blocks being
    /// gathered, never more than `2 * (MAX_HEADER_BLOCK + 15)`.
    pub fn buffered_bytes(&self) -> usize {
        self.client.buffered() + self.server.buffered()
    }

    /// Dynamic table bytes (§4.1 accounting) held by both HPACK decoders.
    pub fn hpack_table_bytes(&self) -> usize {
        self.conn.decoder(Direction::ClientToServer).table_size()
            + self.conn.decoder(Direction::ServerToClient).table_size()
    }
}

impl ProtocolParser for Http2Parser {
    fn anomalies(&self) -> crate::Anomalies {
        crate::Anomalies {
            hpack_unresolved: self.hpack_unresolved(),
            server_pushes: self.pushes(),
            evicted: self.evicted_streams(),
            ..crate::Anomalies::default()
        }
    }

    fn feed(&mut self, dir: Direction, bytes: &[u8], at: Timestamp, sink: &mut dyn Sink) -> Status {
        if self.status != Status::Ok {
            return self.status;
        }
        let reader = match dir {
            Direction::ClientToServer => &mut self.client,
            Direction::ServerToClient => &mut self.server,
        };
        if let Err(reason) = reader.feed(bytes, &mut self.conn, at, sink) {
            self.status = Status::Error(ParseError { reason });
        }
        self.status
    }

    /// A half-close changes nothing: streams end with END_STREAM, and what
    /// is left open is reported by `close`.
    fn end_of_stream(&mut self, _dir: Direction, _at: Timestamp, _sink: &mut dyn Sink) {}

    fn close(&mut self, at: Timestamp, sink: &mut dyn Sink) {
        self.conn.close(at, sink);
    }
}

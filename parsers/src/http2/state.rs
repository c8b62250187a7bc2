//! Streams paired into exchanges, and the connection-wide state both
//! directions share: one HPACK decoder per direction, the frame size each
//! peer allowed, and the counters the runtime reads.
//!
//! A stream opens with the client's HEADERS and is emitted once both
//! sides ended it (END_STREAM each way), when it is reset, when a GOAWAY
//! says the server will never process it, or when the connection closes.
//! Server-pushed streams (even ids) never become exchanges: their
//! PUSH_PROMISE and responses are decoded only to keep HPACK in step.

use std::collections::BTreeMap;

use super::headers::{RequestHead, ResponseHead};
use super::reader::BlockMeta;
use super::wire::{
    DEFAULT_MAX_FRAME, MAX_FRAME_CAP, SETTINGS_HEADER_TABLE_SIZE, SETTINGS_MAX_FRAME_SIZE,
};
use crate::event::{
    Direction, Exchange, ExchangeDetail, HttpExchange, HttpMethod, HttpVersion, Outcome, Protocol,
    Timestamp,
};
use crate::grpc::CallBuilder;
use crate::hpack::Decoder;
use crate::{ErrorReason, Sink};

/// Open streams kept at once. A new stream beyond it evicts the oldest
/// (lowest id), emitted as incomplete: servers commonly allow 100-250
/// concurrent streams, so this is only reached by a hostile or broken peer.
pub const MAX_STREAMS: usize = 1024;

#[derive(Debug)]
struct Stream {
    started: Timestamp,
    request: RequestHead,
    status: Option<u16>,
    request_body: u64,
    response_body: u64,
    request_bytes: u64,
    response_bytes: u64,
    request_ended: bool,
    response_ended: bool,
    grpc: Option<CallBuilder>,
}

fn index(dir: Direction) -> usize {
    match dir {
        Direction::ClientToServer => 0,
        Direction::ServerToClient => 1,
    }
}

#[derive(Debug)]
pub struct Conn {
    /// HPACK decoders for blocks sent client→server and server→client.
    decoders: [Decoder; 2],
    /// Largest frame each direction may send (the receiver's setting).
    max_frame: [u32; 2],
    streams: BTreeMap<u32, Stream>,
    pushes: u64,
    evicted: u64,
}

impl Conn {
    pub fn new(mid_stream: bool) -> Conn {
        let (decoder, max) = if mid_stream {
            (Decoder::mid_stream(), MAX_FRAME_CAP)
        } else {
            (Decoder::new(), DEFAULT_MAX_FRAME)
        };
        Conn {
            decoders: [decoder.clone(), decoder],
            max_frame: [max; 2],
            streams: BTreeMap::new(),
            pushes: 0,
            evicted: 0,
        }
    }

    pub fn max_frame(&self, dir: Direction) -> u32 {
        self.max_frame[index(dir)]
    }

    pub fn decoder(&self, dir: Direction) -> &Decoder {
        &self.decoders[index(dir)]
    }

    pub fn pushes(&self) -> u64 {
        self.pushes
    }

    pub fn evicted(&self) -> u64 {
        self.evicted
    }

    pub fn open_streams(&self) -> usize {
        self.streams.len()
    }

    /// A SETTINGS entry sent in `dir`: it constrains what the other
    /// direction sends. Values only grow, so an unacknowledged change can
    /// never make legitimate traffic look like an error.
    pub fn setting(&mut self, dir: Direction, id: u16, value: u32) -> Result<(), ErrorReason> {
        let other = index(dir.reverse());
        match id {
            SETTINGS_HEADER_TABLE_SIZE => self.decoders[other].set_settings_limit(value),
            SETTINGS_MAX_FRAME_SIZE => {
                if !(DEFAULT_MAX_FRAME..=MAX_FRAME_CAP).contains(&value) {
                    return Err(ErrorReason::Malformed);
                }
                self.max_frame[other] = self.max_frame[other].max(value);
            }
            _ => {}
        }
        Ok(())
    }

    /// A DATA frame (header + payload) on `stream`: wire bytes.
    pub fn data_frame(&mut self, dir: Direction, stream: u32, wire: u64) {
        if let Some(s) = self.streams.get_mut(&stream) {
            *side_bytes(s, dir) += wire;
        }
    }

    /// DATA payload bytes (padding excluded).
    pub fn data(&mut self, dir: Direction, stream: u32, bytes: &[u8]) {
        let Some(s) = self.streams.get_mut(&stream) else {
            return;
        };
        let n = bytes.len() as u64;
        match dir {
            Direction::ClientToServer => {
                s.request_body += n;
                if let Some(g) = &mut s.grpc {
                    g.request_data(bytes);
                }
            }
            Direction::ServerToClient => {
                s.response_body += n;
                if let Some(g) = &mut s.grpc {
                    g.response_data(bytes);
                }
            }
        }
    }

    /// END_STREAM seen in `dir` on `stream`.
    pub fn end_stream(&mut self, dir: Direction, stream: u32, at: Timestamp, sink: &mut dyn Sink) {
        let Some(s) = self.streams.get_mut(&stream) else {
            return;
        };
        match dir {
            Direction::ClientToServer => s.request_ended = true,
            Direction::ServerToClient => s.response_ended = true,
        }
        if s.request_ended && s.response_ended {
            self.emit(stream, Outcome::Complete, at, sink);
        }
    }

    /// A complete header block: decoded always (HPACK state), applied to
    /// the stream it belongs to.
    pub fn block(
        &mut self,
        dir: Direction,
        meta: BlockMeta,
        block: &[u8],
        at: Timestamp,
        sink: &mut dyn Sink,
    ) -> Result<(), ErrorReason> {
        let decoder = &mut self.decoders[index(dir)];
        if meta.promised.is_some() {
            self.pushes += 1;
            decoder.decode(block, |_| {}).map_err(|e| e.reason())?;
            return Ok(());
        }
        let known = self.streams.contains_key(&meta.stream);
        match dir {
            Direction::ClientToServer if !known => {
                let mut head = RequestHead::default();
                decoder
                    .decode(block, |f| head.field(f))
                    .map_err(|e| e.reason())?;
                self.open(meta, head, at, sink);
            }
            Direction::ClientToServer => {
                // Request trailers: nothing kept, but they end the request.
                decoder.decode(block, |_| {}).map_err(|e| e.reason())?;
                if let Some(s) = self.streams.get_mut(&meta.stream) {
                    s.request_bytes += meta.wire;
                }
            }
            Direction::ServerToClient => {
                let mut head = ResponseHead::default();
                decoder
                    .decode(block, |f| head.field(f))
                    .map_err(|e| e.reason())?;
                if let Some(s) = self.streams.get_mut(&meta.stream) {
                    s.response_bytes += meta.wire;
                    apply_response(s, head, meta.end_stream);
                }
            }
        }
        if meta.end_stream {
            self.end_stream(dir, meta.stream, at, sink);
        }
        Ok(())
    }

    fn open(&mut self, meta: BlockMeta, head: RequestHead, at: Timestamp, sink: &mut dyn Sink) {
        if self.streams.len() >= MAX_STREAMS {
            if let Some((&oldest, _)) = self.streams.iter().next() {
                self.evicted += 1;
                self.emit(oldest, Outcome::Incomplete, at, sink);
            }
        }
        let grpc = head.grpc.then(|| {
            let mut call = CallBuilder::new(head.path.as_deref().unwrap_or_default());
            call.set_timeout_ms(head.timeout_ms);
            call
        });
        self.streams.insert(
            meta.stream,
            Stream {
                started: meta.at,
                request: head,
                status: None,
                request_body: 0,
                response_body: 0,
                request_bytes: meta.wire,
                response_bytes: 0,
                request_ended: false,
                response_ended: false,
                grpc,
            },
        );
    }

    /// RST_STREAM from either side ends the stream: complete if the
    /// response had already ended (a server stopping an upload it no
    /// longer needs), incomplete otherwise.
    pub fn reset(&mut self, stream: u32, at: Timestamp, sink: &mut dyn Sink) {
        if let Some(s) = self.streams.get(&stream) {
            let outcome = if s.response_ended {
                Outcome::Complete
            } else {
                Outcome::Incomplete
            };
            self.emit(stream, outcome, at, sink);
        }
    }

    /// GOAWAY from the server: client streams above `last` were never
    /// processed. (A client's GOAWAY names push streams, which we do not
    /// track.)
    pub fn goaway(&mut self, dir: Direction, last: u32, at: Timestamp, sink: &mut dyn Sink) {
        if dir != Direction::ServerToClient {
            return;
        }
        let doomed: Vec<u32> = self
            .streams
            .range(last.saturating_add(1)..)
            .map(|(&id, _)| id)
            .collect();
        for id in doomed {
            self.emit(id, Outcome::Incomplete, at, sink);
        }
    }

    /// Everything still open, as incomplete, in stream order.
    pub fn close(&mut self, at: Timestamp, sink: &mut dyn Sink) {
        while let Some((&id, _)) = self.streams.iter().next() {
            self.emit(id, Outcome::Incomplete, at, sink);
        }
    }

    fn emit(&mut self, id: u32, outcome: Outcome, at: Timestamp, sink: &mut dyn Sink) {
        let Some(s) = self.streams.remove(&id) else {
            return;
        };
        let req = s.request;
        sink.exchange(Exchange {
            protocol: Protocol::Http2,
            started: s.started,
            finished: at,
            request_bytes: s.request_bytes,
            response_bytes: s.response_bytes,
            outcome,
            detail: ExchangeDetail::Http(HttpExchange {
                method: req.method.unwrap_or(HttpMethod::Other),
                method_original: req.method_original,
                target: req.path.unwrap_or_default(),
                host: req.authority.or(req.host),
                version: HttpVersion::Http2,
                status: s.status,
                request_body_bytes: s.request_body,
                response_body_bytes: s.response_body,
                upgraded: false,
                grpc: s.grpc.map(|g| g.call()),
                dynamodb: None,
            }),
        });
    }
}

fn side_bytes(s: &mut Stream, dir: Direction) -> &mut u64 {
    match dir {
        Direction::ClientToServer => &mut s.request_bytes,
        Direction::ServerToClient => &mut s.response_bytes,
    }
}

/// Response headers (interim 1xx skipped), then trailers.
fn apply_response(s: &mut Stream, head: ResponseHead, end_stream: bool) {
    let interim = head.status.is_some_and(|c| c < 200) && !end_stream;
    if s.status.is_none() && !interim {
        s.status = head.status;
    }
    if let Some(g) = &mut s.grpc {
        if let Some(status) = head.grpc_status {
            g.set_status(status);
        }
        if let Some(message) = head.grpc_message {
            g.set_message(message);
        }
    }
}

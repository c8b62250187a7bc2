//! HTTP/1.0 and HTTP/1.1 on the wire, both directions of one connection.
//!
//! Each direction runs its own small machine (idle → head → body → idle);
//! the two meet only in `state::Pairing`, the FIFO that pairs responses
//! with requests. Bytes are never held except the unfinished line of a head
//! or chunk-size line, and (see `ClientPhase::Paused`) what a client sends
//! while waiting to learn whether its `Upgrade`/`CONNECT` was accepted.

mod body;
mod dynamo;
mod head;
mod line;
mod state;
mod wire;

#[cfg(test)]
mod tests;

use body::Body;
pub use dynamo::DynamoOptions;
use dynamo::DynamoTrack;
use head::{Head, HeadReader, Kind, StartLine, MAX_HEAD};
use state::{Pairing, Pending};

use crate::event::{Direction, HttpMethod, Timestamp};
use crate::{ErrorReason, ParseError, ProtocolParser, Sink, Status};

pub use head::MAX_HEAD as MAX_HEAD_BYTES;
pub use state::MAX_PENDING;
pub(crate) use wire::is_tchar;

/// Why a feed stopped early. `Done` is not a failure: the connection left
/// HTTP/1 (an upgrade or a tunnel).
enum Halt {
    Done,
    Error(ErrorReason),
}

impl From<ErrorReason> for Halt {
    fn from(reason: ErrorReason) -> Halt {
        Halt::Error(reason)
    }
}

/// Outcome of driving one direction or one message event.
type Flow = Result<(), Halt>;

/// Separates a body step's byte count from its outcome, so that bytes read
/// before an error are still counted.
fn split_count(r: Result<body::Step, body::Failed>) -> (u64, Result<body::Step, ErrorReason>) {
    match r {
        Ok(step) => (step.counted, Ok(step)),
        Err(failed) => (failed.counted, Err(failed.reason)),
    }
}

#[derive(Debug)]
enum ClientPhase {
    /// Between requests; blank lines here are skipped (RFC 9112 §2.2).
    Idle,
    Head,
    Body(Body),
    /// After an `Upgrade` or `CONNECT` request, until its answer is known.
    /// What the client sends meanwhile may be the new protocol, so it is
    /// held (within the head cap) and parsed only if the answer says the
    /// connection stays HTTP/1.
    Paused,
    /// The client half-closed.
    Ended,
}

#[derive(Debug)]
enum ServerPhase {
    Idle,
    Head,
    Body(Body),
    Ended,
}

/// Sans-IO HTTP/1.x parser for one connection: feed it both directions as
/// they are seen, and it emits one [`crate::Exchange`] per request/response
/// pair, in request order.
///
/// Upgrades (`101`) and tunnels (`CONNECT` + 2xx) emit their exchange with
/// `upgraded` set and then report [`Status::Done`]: what follows is another
/// protocol. After `Done` or an error, feeds are ignored; `close` still
/// reports requests that never got their answer.
#[derive(Debug)]
pub struct Http1Parser {
    status: Status,
    closed: bool,
    pairing: Pairing,
    client: ClientPhase,
    client_head: HeadReader,
    /// When the first byte of the request being read arrived.
    client_started: Timestamp,
    held: Vec<u8>,
    held_at: Timestamp,
    server: ServerPhase,
    server_head: HeadReader,
    dynamodb: DynamoOptions,
}

impl Default for Http1Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Http1Parser {
    pub fn new() -> Self {
        Self::with_dynamodb(DynamoOptions::default())
    }

    /// A parser whose DynamoDB refiner keeps `options.body_prefix` bytes
    /// of each body of a DynamoDB exchange (0: off).
    pub fn with_dynamodb(dynamodb: DynamoOptions) -> Self {
        Http1Parser {
            dynamodb,
            status: Status::Ok,
            closed: false,
            pairing: Pairing::default(),
            client: ClientPhase::Idle,
            client_head: HeadReader::new(Kind::Request),
            client_started: Timestamp::default(),
            held: Vec::new(),
            held_at: Timestamp::default(),
            server: ServerPhase::Idle,
            server_head: HeadReader::new(Kind::Response),
        }
    }

    /// Bytes of input held right now: at most one partial line per direction
    /// plus what a paused client sent, so never over twice
    /// [`MAX_HEAD_BYTES`]. Exposed so tests and the fuzzer can check it.
    pub fn buffered_bytes(&self) -> usize {
        let body = |b: Option<&Body>| b.map_or(0, Body::buffered);
        self.client_head.buffered()
            + self.server_head.buffered()
            + self.held.len()
            + body(match &self.client {
                ClientPhase::Body(b) => Some(b),
                _ => None,
            })
            + body(match &self.server {
                ServerPhase::Body(b) => Some(b),
                _ => None,
            })
    }

    /// Requests read and not yet emitted.
    pub fn pending(&self) -> usize {
        self.pairing.len()
    }

    fn client_bytes(&mut self, input: &[u8], at: Timestamp, sink: &mut dyn Sink) -> Flow {
        let mut used = 0;
        while let Some(rest) = input.get(used..).filter(|r| !r.is_empty()) {
            match &mut self.client {
                ClientPhase::Idle => {
                    let blank = rest
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    used += blank;
                    if blank < rest.len() {
                        self.client_started = at;
                        self.client = ClientPhase::Head;
                    }
                }
                ClientPhase::Head => {
                    let (n, head) = self.client_head.feed(rest)?;
                    used += n;
                    if let Some(head) = head {
                        self.request_head(head, sink)?;
                    }
                }
                ClientPhase::Body(body) => {
                    let mut track = self
                        .pairing
                        .reading_request()
                        .and_then(|p| p.dynamo.as_deref_mut());
                    let (counted, step) = split_count(body.feed_observed(rest, &mut |data| {
                        if let Some(t) = track.as_deref_mut() {
                            t.request_data(data);
                        }
                    }));
                    if let Some(p) = self.pairing.reading_request() {
                        p.add_request_body(counted);
                    }
                    let step = step?;
                    used += step.consumed;
                    if step.done {
                        self.request_end(sink);
                    }
                }
                ClientPhase::Paused => {
                    if self.held.len() + rest.len() > MAX_HEAD {
                        return Err(ErrorReason::HeadTooLarge.into());
                    }
                    if self.held.is_empty() {
                        self.held_at = at;
                    }
                    self.held.extend_from_slice(rest);
                    used = input.len();
                }
                ClientPhase::Ended => return Err(ErrorReason::Malformed.into()),
            }
        }
        Ok(())
    }

    fn request_head(&mut self, head: Head, sink: &mut dyn Sink) -> Flow {
        let Head {
            start,
            framing,
            host,
            upgrade,
            mut aws,
            len,
        } = head;
        let mut pending = Pending::from_request(start, host, upgrade, len, self.client_started)
            .ok_or(ErrorReason::Malformed)?;
        pending.dynamo = DynamoTrack::begin(&mut aws, self.dynamodb);
        // A request body is only ever framed by its own fields (RFC 9112
        // §6.3): no length means no body, and a transfer coding that does
        // not end in chunked cannot be delimited at all.
        let body = if framing.chunked {
            Some(Body::chunked())
        } else if framing.has_transfer_encoding {
            return Err(ErrorReason::Malformed.into());
        } else {
            framing.content_length.filter(|&n| n > 0).map(Body::Fixed)
        };
        self.pairing.push(pending)?;
        match body {
            Some(body) => self.client = ClientPhase::Body(body),
            None => self.request_end(sink),
        }
        Ok(())
    }

    fn request_end(&mut self, sink: &mut dyn Sink) {
        let mut pause = false;
        if let Some(p) = self.pairing.reading_request() {
            p.request_done = true;
            if let Some(track) = p.dynamo.as_deref_mut() {
                track.request_end();
            }
            pause = p.wants_switch && p.status.is_none();
        }
        self.client = if pause {
            ClientPhase::Paused
        } else {
            ClientPhase::Idle
        };
        self.pairing.emit_ready(sink);
    }

    fn server_bytes(&mut self, input: &[u8], at: Timestamp, sink: &mut dyn Sink) -> Flow {
        let mut used = 0;
        while let Some(rest) = input.get(used..).filter(|r| !r.is_empty()) {
            match &mut self.server {
                ServerPhase::Idle => {
                    let blank = rest
                        .iter()
                        .take_while(|&&b| b == b'\r' || b == b'\n')
                        .count();
                    used += blank;
                    if blank < rest.len() {
                        if self.pairing.answering().is_none() {
                            return Err(ErrorReason::UnpairedResponse.into());
                        }
                        self.server = ServerPhase::Head;
                    }
                }
                ServerPhase::Head => {
                    let (n, head) = self.server_head.feed(rest)?;
                    used += n;
                    if let Some(head) = head {
                        self.response_head(head, at, sink)?;
                    }
                }
                ServerPhase::Body(body) => {
                    let mut track = self
                        .pairing
                        .answering()
                        .and_then(|p| p.dynamo.as_deref_mut());
                    let (counted, step) = split_count(body.feed_observed(rest, &mut |data| {
                        if let Some(t) = track.as_deref_mut() {
                            t.response_data(data);
                        }
                    }));
                    if let Some(p) = self.pairing.answering() {
                        p.add_response_body(counted);
                    }
                    let step = step?;
                    used += step.consumed;
                    if step.done {
                        self.response_end(at, sink);
                    }
                }
                ServerPhase::Ended => return Err(ErrorReason::Malformed.into()),
            }
        }
        Ok(())
    }

    fn response_head(&mut self, head: Head, at: Timestamp, sink: &mut dyn Sink) -> Flow {
        let StartLine::Status { code } = head.start else {
            return Err(ErrorReason::Malformed.into());
        };
        let resumes_client = self.pairing.answering_is_last();
        let p = self
            .pairing
            .answering()
            .ok_or(ErrorReason::UnpairedResponse)?;
        p.response_bytes += head.len;
        let method = p.method;
        if code == 101 || (method == HttpMethod::Connect && (200..300).contains(&code)) {
            p.status = Some(code);
            p.finish_response(at, true);
            self.pairing.emit_answered(sink);
            return Err(Halt::Done);
        }
        if (100..200).contains(&code) {
            // Interim (100 Continue, 103 Early Hints): the final answer to
            // the same request follows.
            self.server = ServerPhase::Idle;
            return Ok(());
        }
        p.status = Some(code);
        if let Some(track) = p.dynamo.as_deref_mut() {
            track.response_head(code, head.aws);
        }
        let framing = head.framing;
        // RFC 9112 §6.3, in order: no body for HEAD, 1xx, 204, 304; then
        // chunked; then any other coding or no length: until close.
        let body = if method == HttpMethod::Head || code == 204 || code == 304 {
            None
        } else if framing.chunked {
            Some(Body::chunked())
        } else if framing.has_transfer_encoding {
            Some(Body::UntilClose)
        } else {
            match framing.content_length {
                Some(0) => None,
                Some(n) => Some(Body::Fixed(n)),
                None => Some(Body::UntilClose),
            }
        };
        match body {
            Some(body) => self.server = ServerPhase::Body(body),
            None => self.response_end(at, sink),
        }
        if resumes_client && matches!(self.client, ClientPhase::Paused) {
            // The switch was refused: what the client sent meanwhile is
            // HTTP/1 after all.
            self.client = ClientPhase::Idle;
            let held = std::mem::take(&mut self.held);
            self.client_bytes(&held, self.held_at, sink)?;
        }
        Ok(())
    }

    fn response_end(&mut self, at: Timestamp, sink: &mut dyn Sink) {
        if let Some(p) = self.pairing.answering() {
            p.finish_response(at, false);
        }
        self.server = ServerPhase::Idle;
        self.pairing.emit_ready(sink);
    }
}

impl ProtocolParser for Http1Parser {
    fn feed(&mut self, dir: Direction, bytes: &[u8], at: Timestamp, sink: &mut dyn Sink) -> Status {
        if self.closed || self.status != Status::Ok {
            return self.status;
        }
        let result = match dir {
            Direction::ClientToServer => self.client_bytes(bytes, at, sink),
            Direction::ServerToClient => self.server_bytes(bytes, at, sink),
        };
        match result {
            Ok(()) => {}
            Err(Halt::Done) => self.status = Status::Done,
            Err(Halt::Error(reason)) => self.status = Status::Error(ParseError { reason }),
        }
        self.status
    }

    fn end_of_stream(&mut self, dir: Direction, at: Timestamp, sink: &mut dyn Sink) {
        if self.closed || self.status != Status::Ok {
            return;
        }
        match dir {
            Direction::ClientToServer => self.client = ClientPhase::Ended,
            Direction::ServerToClient => {
                if matches!(self.server, ServerPhase::Body(Body::UntilClose)) {
                    self.response_end(at, sink);
                }
                self.server = ServerPhase::Ended;
            }
        }
    }

    fn close(&mut self, at: Timestamp, sink: &mut dyn Sink) {
        if self.closed {
            return;
        }
        self.closed = true;
        self.held = Vec::new();
        self.pairing.drain_incomplete(at, sink);
    }
}

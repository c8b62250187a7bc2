//! Pairs requests with responses. HTTP/1.x answers in request order, so a
//! FIFO of requests whose heads were read is all the pairing there is; its
//! cap is what keeps a client that pipelines without ever reading from
//! growing our memory.

use std::collections::VecDeque;

use super::dynamo::DynamoTrack;
use super::head::StartLine;
use crate::event::{
    Exchange, ExchangeDetail, HttpExchange, HttpMethod, HttpVersion, Outcome, Protocol, Timestamp,
};
use crate::{ErrorReason, Sink};

/// Requests read but not yet answered. Browsers and curl pipeline a handful
/// at most; 64 leaves room for aggressive clients while bounding memory.
pub const MAX_PENDING: usize = 64;

/// One request on its way to becoming an [`Exchange`].
#[derive(Debug)]
pub struct Pending {
    pub method: HttpMethod,
    method_original: Option<String>,
    target: String,
    host: Option<String>,
    version: HttpVersion,
    started: Timestamp,
    /// The client asked to leave HTTP/1 (`Upgrade` or `CONNECT`): what it
    /// sends after the request depends on the answer.
    pub wants_switch: bool,
    pub request_bytes: u64,
    request_body: u64,
    pub request_done: bool,
    /// Final (non-1xx) status, once its head was read.
    pub status: Option<u16>,
    pub response_bytes: u64,
    response_body: u64,
    pub response_done: bool,
    finished: Timestamp,
    upgraded: bool,
    /// Set when the request head said DynamoDB.
    pub dynamo: Option<Box<DynamoTrack>>,
}

impl Pending {
    /// From a request head; `None` if the head was a status line, which the
    /// request side never produces.
    pub fn from_request(
        start: StartLine,
        host: Option<String>,
        upgrade: bool,
        head_len: u64,
        started: Timestamp,
    ) -> Option<Pending> {
        let StartLine::Request {
            method,
            method_original,
            target,
            version,
        } = start
        else {
            return None;
        };
        Some(Pending {
            wants_switch: upgrade || method == HttpMethod::Connect,
            method,
            method_original,
            target,
            host,
            version,
            started,
            request_bytes: head_len,
            request_body: 0,
            request_done: false,
            status: None,
            response_bytes: 0,
            response_body: 0,
            response_done: false,
            finished: started,
            upgraded: false,
            dynamo: None,
        })
    }

    pub fn add_request_body(&mut self, n: u64) {
        self.request_body += n;
        self.request_bytes += n;
    }

    pub fn add_response_body(&mut self, n: u64) {
        self.response_body += n;
        self.response_bytes += n;
    }

    pub fn finish_response(&mut self, at: Timestamp, upgraded: bool) {
        self.response_done = true;
        self.finished = at;
        self.upgraded = upgraded;
    }

    fn into_exchange(self, outcome: Outcome) -> Exchange {
        Exchange {
            protocol: Protocol::Http1,
            started: self.started,
            finished: self.finished,
            request_bytes: self.request_bytes,
            response_bytes: self.response_bytes,
            outcome,
            detail: ExchangeDetail::Http(HttpExchange {
                method: self.method,
                method_original: self.method_original,
                target: self.target,
                host: self.host,
                version: self.version,
                status: self.status,
                request_body_bytes: self.request_body,
                response_body_bytes: self.response_body,
                upgraded: self.upgraded,
                grpc: None,
                dynamodb: self.dynamo.map(|track| Box::new(track.finish())),
            }),
        }
    }
}

/// The FIFO of pending requests. Invariant: only the back entry can still
/// be reading its request, because requests arrive one after another; so
/// the entry a response belongs to is the first whose response is not done.
#[derive(Debug, Default)]
pub struct Pairing {
    queue: VecDeque<Pending>,
}

impl Pairing {
    pub fn push(&mut self, pending: Pending) -> Result<(), ErrorReason> {
        if self.queue.len() >= MAX_PENDING {
            return Err(ErrorReason::TooManyPending);
        }
        self.queue.push_back(pending);
        Ok(())
    }

    /// The request whose bytes are being read, if its head is done.
    pub fn reading_request(&mut self) -> Option<&mut Pending> {
        self.queue.back_mut().filter(|p| !p.request_done)
    }

    /// The request the next response bytes answer.
    pub fn answering(&mut self) -> Option<&mut Pending> {
        self.queue.iter_mut().find(|p| !p.response_done)
    }

    /// Whether the entry being answered is the last request read, i.e. the
    /// one a paused client is waiting on.
    pub fn answering_is_last(&self) -> bool {
        self.queue.iter().position(|p| !p.response_done) == Some(self.queue.len().saturating_sub(1))
    }

    /// Emits, in order, every exchange whose request and response are both
    /// over. Stops at the first that is not, so order is kept.
    pub fn emit_ready(&mut self, sink: &mut dyn Sink) {
        while self
            .queue
            .front()
            .is_some_and(|p| p.request_done && p.response_done)
        {
            if let Some(p) = self.queue.pop_front() {
                sink.exchange(p.into_exchange(Outcome::Complete));
            }
        }
    }

    /// Emits the answered entry now, whether or not its request body ended:
    /// the connection has left HTTP/1, nothing more will be read for it.
    ///
    /// Requires the answered entry's response to be marked done first. After
    /// `emit_ready`, a front entry whose response is done can only be that
    /// entry (see the invariant on [`Pairing`]).
    pub fn emit_answered(&mut self, sink: &mut dyn Sink) {
        self.emit_ready(sink);
        if self.queue.front().is_some_and(|p| p.response_done) {
            if let Some(p) = self.queue.pop_front() {
                sink.exchange(p.into_exchange(Outcome::Complete));
            }
        }
    }

    /// Everything still queued, as incomplete exchanges finished at `at`
    /// (or when their response ended, if it did).
    pub fn drain_incomplete(&mut self, at: Timestamp, sink: &mut dyn Sink) {
        for mut p in self.queue.drain(..) {
            if !p.response_done {
                p.finished = at;
            }
            sink.exchange(p.into_exchange(Outcome::Incomplete));
        }
    }

    pub fn len(&self) -> usize {
        self.queue.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn get(started: u64) -> Pending {
        let start = StartLine::Request {
            method: HttpMethod::Get,
            method_original: None,
            target: "/".into(),
            version: HttpVersion::Http11,
        };
        Pending::from_request(start, None, false, 10, Timestamp(started)).unwrap()
    }

    #[test]
    fn cap_refuses_the_one_too_many() {
        let mut pairing = Pairing::default();
        for i in 0..MAX_PENDING {
            pairing.push(get(i as u64)).unwrap();
        }
        assert_eq!(pairing.push(get(99)), Err(ErrorReason::TooManyPending));
        assert_eq!(pairing.len(), MAX_PENDING);
    }

    #[test]
    fn emits_in_order_only_when_both_sides_are_done() {
        let mut pairing = Pairing::default();
        let mut out: Vec<Exchange> = Vec::new();
        pairing.push(get(1)).unwrap();
        pairing.reading_request().unwrap().request_done = true;
        pairing.push(get(2)).unwrap();
        // The second request's body is still being read; the first answer
        // comes in: it pairs with the first request.
        pairing
            .answering()
            .unwrap()
            .finish_response(Timestamp(5), false);
        pairing.emit_ready(&mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].started, Timestamp(1));
        // An early answer to the second waits for its request to end.
        pairing
            .answering()
            .unwrap()
            .finish_response(Timestamp(6), false);
        pairing.emit_ready(&mut out);
        assert_eq!(out.len(), 1);
        pairing.drain_incomplete(Timestamp(9), &mut out);
        assert_eq!(out[1].outcome, Outcome::Incomplete);
        assert_eq!(out[1].finished, Timestamp(6), "the response did end at 6");
    }
}

//! The sniffing tap on the L4 relay: it reads the same buffers the relay
//! forwards, never delays or changes them, and switches itself off for good
//! at the first parse error (counted with its reason).
use crate::pipeline::mongo::MongoCache;
use crate::pipeline::{self, clock, ActiveConnection, ListenerMetrics};
use periscope_parsers::{
    detect, parser_for, Detection, Direction, Exchange, ExchangeDetail, Protocol, ProtocolParser,
    Sink, Status,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Most bytes kept while detecting on a `tcp` listener before giving up.
const MAX_DETECT: usize = 8 * 1024;

enum State {
    /// `tcp` listeners detect inline from the client's first bytes, so a
    /// server-speaks-first protocol is never held back by detection.
    Detecting(Vec<u8>),
    Parsing(Protocol, Box<dyn ProtocolParser>),
    Off,
}

pub struct Tap {
    state: State,
    metrics: Arc<ListenerMetrics>,
    /// While detecting, the connection is active as `unknown`; once the
    /// protocol is known it moves there and is counted in the total.
    active: Option<ActiveConnection>,
    /// Metric handles this connection already resolved.
    mongo: MongoCache,
}

/// Forwards parsed exchanges into the listener's telemetry.
struct TelemetrySink<'a> {
    metrics: &'a ListenerMetrics,
    mongo: &'a mut MongoCache,
}

impl Sink for TelemetrySink<'_> {
    fn exchange(&mut self, exchange: Exchange) {
        match &exchange.detail {
            ExchangeDetail::Http(_) => pipeline::record_http(&self.metrics.l4_http, &exchange),
            ExchangeDetail::Mongo(mongo) => self.metrics.mongo.record(self.mongo, &exchange, mongo),
        }
    }
}

impl Tap {
    /// A tap that will detect the protocol itself.
    pub fn detecting(metrics: Arc<ListenerMetrics>) -> Tap {
        Tap {
            state: State::Detecting(Vec::new()),
            active: Some(metrics.connection_active(Protocol::Unknown)),
            metrics,
            mongo: MongoCache::default(),
        }
    }

    /// A tap for a protocol already detected (and counted) by the listener.
    pub fn for_protocol(protocol: Protocol, metrics: Arc<ListenerMetrics>) -> Tap {
        let state = match parser_for(protocol) {
            Some(parser) => State::Parsing(protocol, parser),
            None => State::Off,
        };
        Tap {
            state,
            metrics,
            active: None,
            mongo: MongoCache::default(),
        }
    }

    pub fn feed(&mut self, dir: Direction, bytes: &[u8]) {
        if let State::Detecting(seen) = &mut self.state {
            let decided = if dir == Direction::ServerToClient && seen.is_empty() {
                Some(Protocol::Unknown)
            } else {
                let take = bytes.len().min(MAX_DETECT - seen.len());
                seen.extend_from_slice(&bytes[..take]);
                match detect(Direction::ClientToServer, seen) {
                    Detection::Protocol(protocol) => Some(protocol),
                    Detection::Unknown => Some(Protocol::Unknown),
                    Detection::NeedMore if seen.len() >= MAX_DETECT => Some(Protocol::Unknown),
                    Detection::NeedMore => None,
                }
            };
            let Some(protocol) = decided else { return };
            let seen = std::mem::take(seen);
            self.detected(protocol);
            self.state = State::Off;
            if let Some(parser) = parser_for(protocol) {
                self.state = State::Parsing(protocol, parser);
                // Replay what detection held; `bytes` is part of it when the
                // client spoke, so it must not be fed again.
                if dir == Direction::ClientToServer {
                    self.feed_parser(Direction::ClientToServer, &seen);
                    return;
                }
            }
        }
        self.feed_parser(dir, bytes);
    }

    fn detected(&mut self, protocol: Protocol) {
        self.metrics.detected(protocol);
        self.metrics.connection_counted(protocol);
        self.active = Some(self.metrics.connection_active(protocol));
    }

    fn feed_parser(&mut self, dir: Direction, bytes: &[u8]) {
        let State::Parsing(protocol, parser) = &mut self.state else {
            return;
        };
        let protocol = *protocol;
        let mut sink = TelemetrySink {
            metrics: &self.metrics,
            mongo: &mut self.mongo,
        };
        let at = clock::now();
        let status = catch_unwind(AssertUnwindSafe(|| parser.feed(dir, bytes, at, &mut sink)));
        match status {
            Ok(Status::Ok) => {}
            Ok(Status::Done) => self.state = State::Off,
            Ok(Status::Error(error)) => {
                self.metrics.parse_error(protocol, error.reason);
                self.state = State::Off;
            }
            Err(_panic) => {
                self.metrics.parser_panicked(protocol);
                self.state = State::Off;
            }
        }
    }

    pub fn end_of_stream(&mut self, dir: Direction) {
        self.with_parser(|parser, sink| parser.end_of_stream(dir, clock::now(), sink));
    }

    /// The connection ended: pending requests become incomplete exchanges.
    pub fn close(&mut self) {
        if let State::Detecting(_) = &self.state {
            self.detected(Protocol::Unknown);
        }
        self.with_parser(|parser, sink| parser.close(clock::now(), sink));
        self.state = State::Off;
    }

    fn with_parser(&mut self, f: impl FnOnce(&mut dyn ProtocolParser, &mut dyn Sink)) {
        let State::Parsing(protocol, parser) = &mut self.state else {
            return;
        };
        let protocol = *protocol;
        let mut sink = TelemetrySink {
            metrics: &self.metrics,
            mongo: &mut self.mongo,
        };
        if catch_unwind(AssertUnwindSafe(|| f(parser.as_mut(), &mut sink))).is_err() {
            self.metrics.parser_panicked(protocol);
            self.state = State::Off;
        }
    }
}

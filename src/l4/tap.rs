//! The sniffing tap on the L4 relay: it reads the same buffers the relay
//! forwards, never delays or changes them, and switches itself off for good
//! at the first parse error (counted with its reason).
use crate::pipeline::export::ConnectionExport;
use crate::pipeline::mongo::MongoCache;
use crate::pipeline::{self, clock, ActiveConnection, ListenerMetrics};
use periscope_parsers::{
    detect, parser_with, Anomalies, Detection, Direction, Exchange, ExchangeDetail, ParserOptions,
    Protocol, ProtocolParser, Sink, Status,
};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::Arc;

/// Most bytes kept while detecting on a `tcp` listener before giving up: an
/// HTTP/1 request line may take a whole head.
const MAX_DETECT: usize = periscope_parsers::http1::MAX_HEAD_BYTES;

enum State {
    /// `tcp` listeners detect inline from the client's first bytes, so a
    /// server-speaks-first protocol is never held back by detection. What
    /// the server says meanwhile (an HTTP/2 server's SETTINGS can beat the
    /// client's preface) is kept, bounded, and replayed first once the
    /// protocol is known; the decision rests on the client's bytes alone.
    Detecting {
        client: Vec<u8>,
        server: Vec<u8>,
    },
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
    /// Span and access-log export (`None` when the listener exports neither).
    export: Option<Box<ConnectionExport>>,
    /// The listener's parser settings, for the parser detection picks.
    options: Arc<ParserOptions>,
    /// The parser's anomaly totals already exported.
    anomalies: Anomalies,
}

/// Forwards parsed exchanges into the listener's telemetry.
struct TelemetrySink<'a> {
    metrics: &'a ListenerMetrics,
    mongo: &'a mut MongoCache,
    export: Option<&'a ConnectionExport>,
}

impl Sink for TelemetrySink<'_> {
    fn exchange(&mut self, exchange: Exchange) {
        match &exchange.detail {
            ExchangeDetail::Http(_) => pipeline::record_http(&self.metrics.l4, &exchange),
            ExchangeDetail::Mongo(mongo) => self.metrics.mongo.record(self.mongo, &exchange, mongo),
        }
        if let Some(export) = self.export {
            export.exchange(exchange);
        }
    }
}

impl Tap {
    /// A tap that will detect the protocol itself.
    pub fn detecting(metrics: Arc<ListenerMetrics>, options: Arc<ParserOptions>) -> Tap {
        Tap {
            state: State::Detecting {
                client: Vec::new(),
                server: Vec::new(),
            },
            active: Some(metrics.connection_active(Protocol::Unknown)),
            export: ConnectionExport::begin(&metrics.export, Protocol::Unknown),
            metrics,
            mongo: MongoCache::default(),
            options,
            anomalies: Anomalies::default(),
        }
    }

    /// A tap for a protocol already detected (and counted) by the listener.
    pub fn for_protocol(
        protocol: Protocol,
        metrics: Arc<ListenerMetrics>,
        options: Arc<ParserOptions>,
    ) -> Tap {
        let state = match parser_with(protocol, &options) {
            Some(parser) => State::Parsing(protocol, parser),
            None => State::Off,
        };
        Tap {
            state,
            export: ConnectionExport::begin(&metrics.export, protocol),
            metrics,
            active: None,
            mongo: MongoCache::default(),
            options,
            anomalies: Anomalies::default(),
        }
    }

    /// For exported spans and log lines: who connected.
    pub fn with_peer(mut self, peer: std::net::SocketAddr) -> Tap {
        if let Some(export) = &mut self.export {
            export.set_peer(peer);
        }
        self
    }

    /// For exported spans and log lines: where the relay connected.
    pub fn set_upstream(&mut self, endpoint: &str, cluster: &str) {
        if let Some(export) = &mut self.export {
            export.set_upstream(endpoint, Some(cluster));
        }
    }

    pub fn feed(&mut self, dir: Direction, bytes: &[u8]) {
        if let Some(export) = &mut self.export {
            export.count(dir, bytes.len());
        }
        let State::Detecting { client, server } = &mut self.state else {
            return self.feed_parser(dir, bytes);
        };
        let (decided, consumed) = match dir {
            Direction::ServerToClient => {
                if bytes.len() <= MAX_DETECT.saturating_sub(server.len()) {
                    server.extend_from_slice(bytes);
                    return;
                }
                // The server keeps talking while the client has not said
                // enough: a server-speaks-first protocol we do not parse.
                (Some(Protocol::Unknown), 0)
            }
            Direction::ClientToServer => {
                let take = bytes.len().min(MAX_DETECT.saturating_sub(client.len()));
                client.extend_from_slice(bytes.get(..take).unwrap_or(bytes));
                let decided = match detect(Direction::ClientToServer, client) {
                    Detection::Protocol(protocol) => Some(protocol),
                    Detection::Unknown => Some(Protocol::Unknown),
                    Detection::NeedMore if client.len() >= MAX_DETECT => Some(Protocol::Unknown),
                    Detection::NeedMore => None,
                };
                (decided, take)
            }
        };
        let Some(protocol) = decided else { return };
        let client = std::mem::take(client);
        let server = std::mem::take(server);
        self.detected(protocol);
        self.state = State::Off;
        if let Some(parser) = parser_with(protocol, &self.options) {
            self.state = State::Parsing(protocol, parser);
            // Replay what detection held, in arrival order per direction
            // (the server's bytes came first), then the rest of this chunk.
            if !server.is_empty() {
                self.feed_parser(Direction::ServerToClient, &server);
            }
            self.feed_parser(Direction::ClientToServer, &client);
            if dir == Direction::ClientToServer {
                self.feed_parser(dir, bytes.get(consumed..).unwrap_or_default());
            }
        }
    }

    fn detected(&mut self, protocol: Protocol) {
        self.metrics.detected(protocol);
        self.metrics.connection_counted(protocol);
        self.active = Some(self.metrics.connection_active(protocol));
        if let Some(export) = &mut self.export {
            export.detected(protocol);
        }
    }

    fn feed_parser(&mut self, dir: Direction, bytes: &[u8]) {
        let at = clock::now();
        self.with_parser(|parser, sink| parser.feed(dir, bytes, at, sink));
    }

    pub fn end_of_stream(&mut self, dir: Direction) {
        self.with_parser(|parser, sink| {
            parser.end_of_stream(dir, clock::now(), sink);
            Status::Ok
        });
    }

    /// The connection ended: pending requests become incomplete exchanges.
    pub fn close(&mut self) {
        if let State::Detecting { .. } = &self.state {
            self.detected(Protocol::Unknown);
        }
        self.with_parser(|parser, sink| {
            parser.close(clock::now(), sink);
            Status::Ok
        });
        self.state = State::Off;
        if let Some(export) = self.export.take() {
            export.close();
        }
    }

    /// Run one parser call with the telemetry sink, contain a panic, export
    /// anomalies, and switch sniffing off for good on `Done`, an error or a
    /// panic (counted with its reason).
    fn with_parser(&mut self, f: impl FnOnce(&mut dyn ProtocolParser, &mut dyn Sink) -> Status) {
        let State::Parsing(protocol, parser) = &mut self.state else {
            return;
        };
        let protocol = *protocol;
        let mut sink = TelemetrySink {
            metrics: &self.metrics,
            mongo: &mut self.mongo,
            export: self.export.as_deref(),
        };
        let status = catch_unwind(AssertUnwindSafe(|| f(parser.as_mut(), &mut sink)));
        let anomalies = parser.anomalies();
        self.count_anomalies(protocol, anomalies);
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

    /// Export what the parser tolerated since the last look (a comparison
    /// of five integers when nothing happened).
    fn count_anomalies(&mut self, protocol: Protocol, now: Anomalies) {
        if now != self.anomalies {
            self.metrics
                .parser_anomalies(protocol, &self.anomalies, &now);
            self.anomalies = now;
        }
    }
}

impl Drop for Tap {
    /// Connections that end early (upstream refused, write failed) are
    /// counted and their pending exchanges emitted all the same.
    fn drop(&mut self) {
        self.close();
    }
}

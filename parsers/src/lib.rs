//! Sans-IO protocol parsers for Periscope.
//!
//! Bytes go in with a [`Direction`] and a caller-supplied [`Timestamp`];
//! [`Exchange`] events come out through a [`Sink`]. Nothing here touches a
//! socket, a clock, an async runtime or global state, so the same code runs in
//! the proxy, in unit tests, in benchmarks and under the fuzzer.
//!
//! Every parser upholds the same invariants (tested per parser):
//! - any split of the input into chunks yields the same events;
//! - memory is bounded: heads are capped before anything is buffered, bodies
//!   are counted and skipped, never held;
//! - no input makes it panic;
//! - after [`Status::Error`] the caller stops feeding it and keeps forwarding.

pub mod detect;
pub mod dynamodb;
pub mod event;
pub mod fuzzing;
pub mod grpc;
pub mod hpack;
pub mod http1;
pub mod http2;
pub mod mongodb;

pub use detect::{detect, Detection};
pub use event::{
    AttrValue, Direction, Exchange, ExchangeDetail, HttpExchange, HttpMethod, HttpVersion, Outcome,
    Protocol, Timestamp,
};
pub use http1::Http1Parser;
pub use http2::Http2Parser;
pub use mongodb::{MongoOptions, MongoParser};

/// Receives the exchanges a parser completes.
///
/// A trait object rather than a generic so that a connection can hold a
/// `Box<dyn ProtocolParser>` chosen at run time by detection.
pub trait Sink {
    fn exchange(&mut self, exchange: Exchange);
}

impl Sink for Vec<Exchange> {
    fn exchange(&mut self, exchange: Exchange) {
        self.push(exchange);
    }
}

/// What a parser says after each `feed`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// Keep feeding.
    Ok,
    /// The protocol left what this parser understands (e.g. `Upgrade`,
    /// `CONNECT`): stop feeding, keep forwarding. Not an error.
    Done,
    /// The stream is not what the parser expected. Stop feeding, count the
    /// reason, keep forwarding the bytes untouched.
    Error(ParseError),
}

/// Why a parser gave up. The reason is a fixed, small set so that it can be a
/// metric label without bounding tricks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ParseError {
    pub reason: ErrorReason,
}

/// Closed list of parse-error reasons, shared by all protocols.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ErrorReason {
    /// Bytes that do not follow the protocol grammar.
    Malformed,
    /// A message head (headers, frame header) larger than the cap.
    HeadTooLarge,
    /// A length field beyond the protocol's or our limit.
    LengthTooLarge,
    /// More requests waiting for responses than the pairing cap.
    TooManyPending,
    /// A response with no request to pair it with.
    UnpairedResponse,
    /// A feature this parser does not implement (e.g. an unknown encoding).
    Unsupported,
}

impl ErrorReason {
    /// Stable snake_case name used as the `reason` metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorReason::Malformed => "malformed",
            ErrorReason::HeadTooLarge => "head_too_large",
            ErrorReason::LengthTooLarge => "length_too_large",
            ErrorReason::TooManyPending => "too_many_pending",
            ErrorReason::UnpairedResponse => "unpaired_response",
            ErrorReason::Unsupported => "unsupported",
        }
    }

    pub const ALL: [ErrorReason; 6] = [
        ErrorReason::Malformed,
        ErrorReason::HeadTooLarge,
        ErrorReason::LengthTooLarge,
        ErrorReason::TooManyPending,
        ErrorReason::UnpairedResponse,
        ErrorReason::Unsupported,
    ];
}

/// A per-connection wire parser. One value sees both directions of one
/// connection, so it can pair requests with responses.
pub trait ProtocolParser: Send {
    /// Feed the next bytes seen in `dir`. `bytes` may be any size, including
    /// a single byte or a message and a half.
    fn feed(&mut self, dir: Direction, bytes: &[u8], at: Timestamp, sink: &mut dyn Sink) -> Status;

    /// `dir` reached end of stream (half-close). Some framings end here
    /// (an HTTP/1.0 response read until close).
    fn end_of_stream(&mut self, dir: Direction, at: Timestamp, sink: &mut dyn Sink);

    /// The connection is gone: emit what is still pending as incomplete
    /// exchanges so that nothing is silently lost.
    fn close(&mut self, at: Timestamp, sink: &mut dyn Sink);

    /// Running totals of what the parser tolerated rather than failed on,
    /// so the runtime can count it.
    fn anomalies(&self) -> Anomalies {
        Anomalies::default()
    }
}

/// Things a parser tolerates and counts instead of failing: a closed set,
/// exported as `periscope_parser_events_total{event}`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Anomalies {
    /// HPACK fields whose dynamic-table index could not be resolved (state
    /// lost, or the connection joined mid-way): placeholders were emitted.
    pub hpack_unresolved: u64,
    /// HTTP/2 server pushes (PUSH_PROMISE), never mistaken for requests.
    pub server_pushes: u64,
    /// Streams or requests dropped from a full pairing table.
    pub evicted: u64,
    /// Messages larger than the buffering cap, skipped and resynchronised past.
    pub skipped_messages: u64,
    /// OP_MSG checksums that did not match (counted, not refused).
    pub checksum_mismatches: u64,
}

impl Anomalies {
    pub const EVENTS: [&'static str; 5] = [
        "hpack_unresolved",
        "server_push",
        "evicted",
        "skipped_message",
        "checksum_mismatch",
    ];

    /// Counts in the order of `EVENTS`.
    pub fn counts(&self) -> [u64; 5] {
        [
            self.hpack_unresolved,
            self.server_pushes,
            self.evicted,
            self.skipped_messages,
            self.checksum_mismatches,
        ]
    }
}

/// The wire parser for a detected protocol, or `None` where there is none
/// yet: the caller then relays the bytes without parsing them.
pub fn parser_for(protocol: Protocol) -> Option<Box<dyn ProtocolParser>> {
    parser_with(protocol, &ParserOptions::default())
}

/// Settings a deployment may change per listener.
#[derive(Debug, Clone, Default)]
pub struct ParserOptions {
    pub mongodb: MongoOptions,
    /// The DynamoDB refiner on sniffed HTTP/1 (L4 path).
    pub dynamodb: http1::DynamoOptions,
}

/// `parser_for`, with the listener's settings.
pub fn parser_with(protocol: Protocol, options: &ParserOptions) -> Option<Box<dyn ProtocolParser>> {
    match protocol {
        Protocol::Http1 => Some(Box::new(Http1Parser::with_dynamodb(options.dynamodb))),
        Protocol::Http2 => Some(Box::new(Http2Parser::new())),
        Protocol::Mongodb => Some(Box::new(MongoParser::with_options(options.mongodb))),
        Protocol::Tls | Protocol::Unknown => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parser_options_reach_the_mongodb_parser() {
        // insert {insert: "c", $db: "d"} as OP_MSG, and its reply {ok: 1}.
        let body = |doc: &[u8]| {
            let mut msg = Vec::new();
            let len = 16 + 4 + 1 + doc.len();
            msg.extend_from_slice(&(len as i32).to_le_bytes());
            msg.extend_from_slice(&7i32.to_le_bytes());
            msg.extend_from_slice(&0i32.to_le_bytes());
            msg.extend_from_slice(&2013i32.to_le_bytes());
            msg.extend_from_slice(&0u32.to_le_bytes());
            msg.push(0);
            msg.extend_from_slice(doc);
            msg
        };
        let mut request = body(b"\x27\x00\x00\x00\x02insert\x00\x02\x00\x00\x00c\x00\x02$db\x00\x02\x00\x00\x00d\x00\x00");
        // Fix the document length (0x27 above is a placeholder).
        let doc_len = (request.len() - 21) as i32;
        request[21..25].copy_from_slice(&doc_len.to_le_bytes());
        let mut reply = body(b"\x11\x00\x00\x00\x01ok\x00\x00\x00\x00\x00\x00\x00\xf0\x3f\x00");
        reply[8..12].copy_from_slice(&7i32.to_le_bytes());
        let text_of = |options: &ParserOptions| {
            let mut parser = parser_with(Protocol::Mongodb, options).expect("mongodb parser");
            let mut out: Vec<Exchange> = Vec::new();
            parser.feed(Direction::ClientToServer, &request, Timestamp(1), &mut out);
            parser.feed(Direction::ServerToClient, &reply, Timestamp(2), &mut out);
            match out.first().map(|e| &e.detail) {
                Some(ExchangeDetail::Mongo(mongo)) => mongo.query_text.clone(),
                other => panic!("expected one MongoDB exchange, got {other:?}"),
            }
        };
        assert_eq!(text_of(&ParserOptions::default()), None);
        let mut on = ParserOptions::default();
        on.mongodb.query_text = true;
        let text = text_of(&on).expect("query text when opted in");
        assert!(text.contains("insert"), "{text}");
    }

    #[test]
    fn parser_for_http1_http2_and_mongodb() {
        assert!(parser_for(Protocol::Http1).is_some());
        assert!(parser_for(Protocol::Http2).is_some());
        assert!(parser_for(Protocol::Mongodb).is_some());
        for p in [Protocol::Tls, Protocol::Unknown] {
            assert!(parser_for(p).is_none(), "{p:?}");
        }
    }

    #[test]
    fn boxed_parser_reports_through_the_trait() {
        let mut parser = parser_for(Protocol::Http1).unwrap();
        let mut out: Vec<Exchange> = Vec::new();
        let c = Direction::ClientToServer;
        let s = Direction::ServerToClient;
        assert_eq!(
            parser.feed(c, b"GET / HTTP/1.1\r\n\r\n", Timestamp(1), &mut out),
            Status::Ok
        );
        let resp = b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";
        assert_eq!(parser.feed(s, resp, Timestamp(2), &mut out), Status::Ok);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].duration_seconds(), 1e-9);
    }
}

//! The one event model shared by every protocol and both sources (passive
//! sniffing on the L4 path, active proxying on the L7 path). Metrics, spans and
//! access logs are written once against it, so the paths cannot disagree.

/// Which way bytes travel on a connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Direction {
    ClientToServer,
    ServerToClient,
}

impl Direction {
    pub fn reverse(self) -> Direction {
        match self {
            Direction::ClientToServer => Direction::ServerToClient,
            Direction::ServerToClient => Direction::ClientToServer,
        }
    }
}

/// Nanoseconds on a monotonic clock of the caller's choosing. Parsers never
/// read a clock: they carry the caller's timestamps into events.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(pub u64);

impl Timestamp {
    /// Seconds elapsed from `earlier` to `self`, saturating at zero.
    pub fn seconds_since(self, earlier: Timestamp) -> f64 {
        self.0.saturating_sub(earlier.0) as f64 / 1e9
    }
}

/// Protocols Periscope can detect or parse.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    Http1,
    Http2,
    Tls,
    Mongodb,
    Unknown,
}

impl Protocol {
    /// Stable lowercase name used as the `protocol` metric label.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Http1 => "http1",
            Protocol::Http2 => "http2",
            Protocol::Tls => "tls",
            Protocol::Mongodb => "mongodb",
            Protocol::Unknown => "unknown",
        }
    }

    pub const ALL: [Protocol; 5] = [
        Protocol::Http1,
        Protocol::Http2,
        Protocol::Tls,
        Protocol::Mongodb,
        Protocol::Unknown,
    ];
}

/// How an exchange ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Request and response both seen to their end.
    Complete,
    /// The connection closed (or the parser stopped) before the response
    /// ended; `response` may hold what was seen.
    Incomplete,
}

/// One request and its response.
#[derive(Debug, Clone, PartialEq)]
pub struct Exchange {
    pub protocol: Protocol,
    /// When the first byte of the request was seen.
    pub started: Timestamp,
    /// When the last byte of the response was seen (or the connection closed).
    pub finished: Timestamp,
    /// Request size on the wire: head plus body as transferred.
    pub request_bytes: u64,
    /// Response size on the wire: head plus body as transferred.
    pub response_bytes: u64,
    pub outcome: Outcome,
    pub detail: ExchangeDetail,
}

impl Exchange {
    pub fn duration_seconds(&self) -> f64 {
        self.finished.seconds_since(self.started)
    }

    /// The exchange as OpenTelemetry semantic-convention attributes, for
    /// spans and access logs. Metrics read the typed fields instead.
    pub fn attributes(&self) -> Vec<(&'static str, AttrValue)> {
        match &self.detail {
            ExchangeDetail::Http(http) => http.attributes(),
            ExchangeDetail::Mongo(mongo) => mongo.attributes(),
        }
    }
}

/// Protocol-specific part of an exchange.
#[derive(Debug, Clone, PartialEq)]
pub enum ExchangeDetail {
    Http(HttpExchange),
    Mongo(crate::mongodb::MongoExchange),
}

/// An attribute value, as OpenTelemetry types them.
#[derive(Debug, Clone, PartialEq)]
pub enum AttrValue {
    Str(String),
    Int(i64),
    Bool(bool),
}

/// Request methods with a bounded set of values: anything else is `Other`
/// and labels as `_OTHER`, per the OpenTelemetry HTTP conventions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpMethod {
    Get,
    Head,
    Post,
    Put,
    Delete,
    Connect,
    Options,
    Trace,
    Patch,
    Other,
}

impl HttpMethod {
    pub const ALL: [HttpMethod; 10] = [
        HttpMethod::Get,
        HttpMethod::Head,
        HttpMethod::Post,
        HttpMethod::Put,
        HttpMethod::Delete,
        HttpMethod::Connect,
        HttpMethod::Options,
        HttpMethod::Trace,
        HttpMethod::Patch,
        HttpMethod::Other,
    ];

    /// Case-sensitive, as methods are (RFC 9110 §9.1).
    pub fn from_bytes(method: &[u8]) -> HttpMethod {
        match method {
            b"GET" => HttpMethod::Get,
            b"HEAD" => HttpMethod::Head,
            b"POST" => HttpMethod::Post,
            b"PUT" => HttpMethod::Put,
            b"DELETE" => HttpMethod::Delete,
            b"CONNECT" => HttpMethod::Connect,
            b"OPTIONS" => HttpMethod::Options,
            b"TRACE" => HttpMethod::Trace,
            b"PATCH" => HttpMethod::Patch,
            _ => HttpMethod::Other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            HttpMethod::Get => "GET",
            HttpMethod::Head => "HEAD",
            HttpMethod::Post => "POST",
            HttpMethod::Put => "PUT",
            HttpMethod::Delete => "DELETE",
            HttpMethod::Connect => "CONNECT",
            HttpMethod::Options => "OPTIONS",
            HttpMethod::Trace => "TRACE",
            HttpMethod::Patch => "PATCH",
            HttpMethod::Other => "_OTHER",
        }
    }

    /// Dense index for handle tables (`0..ALL.len()`).
    pub fn index(self) -> usize {
        self as usize
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HttpVersion {
    Http10,
    Http11,
    Http2,
}

impl HttpVersion {
    /// The `network.protocol.version` attribute value.
    pub fn as_str(self) -> &'static str {
        match self {
            HttpVersion::Http10 => "1.0",
            HttpVersion::Http11 => "1.1",
            HttpVersion::Http2 => "2",
        }
    }

    pub fn index(self) -> usize {
        self as usize
    }
}

/// Longest request target or host kept on an exchange; longer ones are cut
/// (on a character boundary) so a hostile client cannot grow our memory.
pub const MAX_KEPT_TARGET: usize = 2048;

/// An HTTP request/response pair, from either path.
#[derive(Debug, Clone, PartialEq)]
pub struct HttpExchange {
    pub method: HttpMethod,
    /// The method as sent when `method` is `Other` (capped), per
    /// `http.request.method_original`.
    pub method_original: Option<String>,
    /// Request target as sent (origin-form path and query), capped.
    pub target: String,
    /// `Host` header (or `:authority`), capped.
    pub host: Option<String>,
    pub version: HttpVersion,
    /// `None` when no final response was seen.
    pub status: Option<u16>,
    pub request_body_bytes: u64,
    pub response_body_bytes: u64,
    /// The exchange switched protocols (101 or a successful CONNECT).
    pub upgraded: bool,
    /// Set when the request was gRPC (`content-type: application/grpc*`).
    pub grpc: Option<crate::grpc::GrpcCall>,
    /// Set when the request was DynamoDB (`X-Amz-Target:
    /// DynamoDB_20120810.*`). Boxed: most exchanges are not, and the call is
    /// large.
    pub dynamodb: Option<Box<crate::dynamodb::DynamoCall>>,
}

impl HttpExchange {
    pub fn attributes(&self) -> Vec<(&'static str, AttrValue)> {
        let mut attrs = vec![
            (
                "http.request.method",
                AttrValue::Str(self.method.as_str().to_owned()),
            ),
            ("network.protocol.name", AttrValue::Str("http".to_owned())),
            (
                "network.protocol.version",
                AttrValue::Str(self.version.as_str().to_owned()),
            ),
            ("url.path", AttrValue::Str(path_of(&self.target).to_owned())),
        ];
        if let Some(query) = query_of(&self.target) {
            attrs.push(("url.query", AttrValue::Str(query.to_owned())));
        }
        if let Some(original) = &self.method_original {
            attrs.push((
                "http.request.method_original",
                AttrValue::Str(original.clone()),
            ));
        }
        if let Some(host) = &self.host {
            attrs.push(("server.address", AttrValue::Str(host.clone())));
        }
        if let Some(status) = self.status {
            attrs.push((
                "http.response.status_code",
                AttrValue::Int(i64::from(status)),
            ));
        }
        if let Some(grpc) = &self.grpc {
            attrs.extend(grpc.attributes());
        }
        attrs.push((
            "http.request.body.size",
            AttrValue::Int(self.request_body_bytes as i64),
        ));
        attrs.push((
            "http.response.body.size",
            AttrValue::Int(self.response_body_bytes as i64),
        ));
        attrs
    }
}

fn path_of(target: &str) -> &str {
    target.split_once('?').map_or(target, |(path, _)| path)
}

fn query_of(target: &str) -> Option<&str> {
    target.split_once('?').map(|(_, query)| query)
}

/// Copy at most `max` bytes of `raw` as text, cutting on a UTF-8 boundary and
/// replacing invalid bytes, so that kept strings are bounded and printable.
pub fn bounded_text(raw: &[u8], max: usize) -> String {
    let mut end = raw.len().min(max);
    // Cutting inside a multi-byte character would leave a replacement
    // character where the text was valid: back off to the character's start
    // (at most 3 continuation bytes, beyond that it was not UTF-8 anyway).
    if end < raw.len() {
        let continuation = |i: usize| raw.get(i).is_some_and(|b| b & 0xc0 == 0x80);
        let mut start = end;
        while start > 0 && end - start < 3 && continuation(start) {
            start -= 1;
        }
        if continuation(start) {
            // Not a valid character boundary anywhere near: cut as asked.
        } else if continuation(end) {
            end = start;
        }
    }
    let mut text = String::from_utf8_lossy(raw.get(..end).unwrap_or(raw)).into_owned();
    // Each invalid byte became a 3-byte replacement character: the cap is
    // on bytes kept, so cut again on a character boundary.
    if text.len() > max {
        let mut cut = max;
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        text.truncate(cut);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_text_caps_bytes_even_for_invalid_utf8() {
        let text = bounded_text(&[0xff; 100], 10);
        assert!(text.len() <= 10, "{} bytes", text.len());
        assert_eq!(text.chars().count(), 3);
    }

    #[test]
    fn unknown_methods_label_as_other() {
        assert_eq!(HttpMethod::from_bytes(b"PROPFIND"), HttpMethod::Other);
        assert_eq!(HttpMethod::from_bytes(b"get"), HttpMethod::Other);
        assert_eq!(HttpMethod::from_bytes(b"GET").as_str(), "GET");
        for (i, m) in HttpMethod::ALL.iter().enumerate() {
            assert_eq!(m.index(), i);
        }
    }

    #[test]
    fn bounded_text_never_exceeds_cap() {
        assert_eq!(bounded_text(b"abcdef", 3), "abc");
        assert!(bounded_text(&[0xff; 10], 4).chars().count() <= 4);
        // "é" is two bytes: a cut between them drops the whole character.
        assert_eq!(bounded_text("aé".as_bytes(), 2), "a");
        assert_eq!(bounded_text("aé".as_bytes(), 3), "aé");
        assert_eq!(bounded_text("€€".as_bytes(), 5), "€");
    }
}

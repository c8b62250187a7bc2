//! Typed runtime configuration: what the rest of the runtime reads.
//!
//! Built only by validation (`validate.rs`) from the raw file model, so every
//! value here is already checked: names are unique, references resolve,
//! regexes compile, addresses parse. Immutable once built; a reload builds a
//! new one and swaps it in whole.
use std::net::SocketAddr;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    /// Where the config came from (file path, `<embedded default>`, `<command line>`).
    pub source: String,
    pub admin: AdminConfig,
    /// Tokio worker threads; `None` = number of cores.
    pub workers: Option<usize>,
    pub listeners: Vec<ListenerConfig>,
    pub clusters: Vec<ClusterConfig>,
    pub tracing: TracingConfig,
    /// The effective configuration (raw model with defaults filled in) as
    /// JSON, served by `/config_dump`.
    pub effective: serde_json::Value,
}

#[derive(Debug, Clone)]
pub struct AdminConfig {
    pub address: SocketAddr,
    /// Reload when the config file's modification time or size changes.
    pub watch_config: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListenerProtocol {
    /// Peek, detect, then take the L7 path for HTTP/1.x and h2c and the L4
    /// path (with sniffing) for everything else.
    Auto,
    /// L7 only: hyper serves HTTP/1.1 and h2c prior knowledge.
    Http,
    /// L4 only: relay bytes, sniff whatever is detected.
    Tcp,
}

#[derive(Debug, Clone)]
pub struct ListenerConfig {
    pub name: String,
    pub address: SocketAddr,
    pub protocol: ListenerProtocol,
    /// `auto` only: how long to wait for the client's first bytes before
    /// deciding the server speaks first and relaying as TCP.
    pub detect_timeout: Duration,
    /// Target for the L4 path, and for HTTP when `virtual_hosts` is empty
    /// (every request routes to it). Validation guarantees it names a cluster.
    pub cluster: Option<String>,
    pub virtual_hosts: Vec<VirtualHostConfig>,
    pub label_limits: LabelLimits,
    pub access_log: Option<AccessLogConfig>,
    /// Spans of MongoDB operations carry `db.query.text` (opt-in).
    pub mongodb_query_text: bool,
    /// Bytes kept per DynamoDB body for the refiner (0: off).
    pub dynamodb_body_bytes: usize,
    /// `tcp` listeners: parse relayed bytes (false: relay only).
    pub sniff: bool,
    /// TCP relay idle timeout; `None` = never.
    pub tcp_idle_timeout: Option<Duration>,
    /// HTTP connection idle timeout (no request in flight); `None` = never.
    pub http_idle_timeout: Option<Duration>,
    /// HTTP stream idle timeout (no body byte either way); `None` = never.
    pub stream_idle_timeout: Option<Duration>,
    /// Connection age at which HTTP drains and TCP closes; `None` = never.
    pub max_connection_duration: Option<Duration>,
    /// HTTP/1.1 upgrade types listed for the listener.
    pub upgrade_configs: Vec<super::UpgradeConfig>,
    /// TLS termination; `None` = plaintext.
    pub tls: Option<super::DownstreamTlsConfig>,
}

/// Largest DynamoDB body prefix a listener may keep: DynamoDB's own request
/// limit is 16 MiB; responses are at most 16 MiB (BatchGetItem).
pub const MAX_DYNAMODB_BODY_BYTES: u64 = 16 << 20;

/// Per-listener caps on label values taken from traffic.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabelLimits {
    pub collections: usize,
    pub namespaces: usize,
    pub status_codes: usize,
    pub rpc_methods: usize,
}

/// No sane deployment needs more distinct values of one label per listener.
pub const MAX_LABEL_LIMIT: u64 = 100_000;

#[derive(Debug, Clone)]
pub struct VirtualHostConfig {
    /// Unique within its listener. Part of the contract even while the
    /// runtime does not label anything by virtual host yet.
    #[allow(dead_code)]
    pub name: String,
    pub domains: Vec<DomainMatch>,
    pub routes: Vec<RouteConfig>,
}

/// Host / `:authority` match, port ignored, case-insensitive (stored lowercase).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DomainMatch {
    Exact(String),
    /// `*.example.com` stored as `.example.com`.
    Suffix(String),
    Any,
}

#[derive(Debug, Clone)]
pub struct RouteConfig {
    pub name: String,
    pub path: PathMatch,
    pub headers: Vec<HeaderMatch>,
    pub action: RouteAction,
    /// Whole-request timeout (until response headers); `None` = no timeout.
    pub timeout: Option<Duration>,
    pub retry_policy: Option<RetryPolicyConfig>,
    /// The route's own upgrade settings (empty: the listener's apply).
    pub upgrade_configs: Vec<super::UpgradeConfig>,
    pub request_headers_to_add: Vec<(String, String)>,
    pub request_headers_to_remove: Vec<String>,
    pub response_headers_to_add: Vec<(String, String)>,
    pub response_headers_to_remove: Vec<String>,
}

#[derive(Debug, Clone)]
pub enum PathMatch {
    Prefix(String),
    Exact(String),
    /// Anchored: must match the whole path (without query), as in Envoy.
    Regex(regex::Regex),
}

#[derive(Debug, Clone)]
pub struct HeaderMatch {
    /// Lowercase header name.
    pub name: String,
    pub rule: HeaderRule,
    /// Match when the rule does *not* hold.
    pub invert: bool,
}

#[derive(Debug, Clone)]
pub enum HeaderRule {
    Exact(String),
    Prefix(String),
    Regex(regex::Regex),
    Present,
}

#[derive(Debug, Clone)]
pub enum RouteAction {
    Cluster(String),
    DirectResponse {
        status: u16,
        body: String,
    },
    Redirect {
        scheme: Option<String>,
        host: Option<String>,
        path: Option<String>,
        /// 301, 302, 303, 307 or 308.
        status: u16,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamProtocol {
    Http1,
    H2c,
    /// Same as the downstream request: HTTP/1.x stays HTTP/1.1, h2c stays h2c.
    Auto,
}

/// How a cluster chooses an endpoint for a request (HTTP) or a connection
/// (TCP relay). Envoy's names and semantics.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LbPolicy {
    /// Smooth weighted round robin.
    RoundRobin,
    /// Fewest active requests: power of two choices with equal weights,
    /// `weight / (active + 1)` with unequal ones.
    LeastRequest,
    /// Weighted random.
    Random,
    /// Consistent hashing on a ring (ketama-like).
    RingHash(RingHashConfig),
    /// Consistent hashing with Maglev's lookup table (65537 entries).
    Maglev,
}

impl LbPolicy {
    /// The name as written in the config, for `/clusters`.
    pub fn name(self) -> &'static str {
        match self {
            LbPolicy::RoundRobin => "round_robin",
            LbPolicy::LeastRequest => "least_request",
            LbPolicy::Random => "random",
            LbPolicy::RingHash(_) => "ring_hash",
            LbPolicy::Maglev => "maglev",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RingHashConfig {
    pub minimum_ring_size: usize,
    pub maximum_ring_size: usize,
}

/// What a consistent-hashing policy hashes. When the request has no such
/// value (header or cookie absent), the pick is random, as in Envoy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum HashPolicy {
    /// All values of this (lowercase) request header.
    Header(http::HeaderName),
    /// The value of this cookie.
    Cookie(String),
    /// The client's IP address (the only key on the TCP path).
    SourceIp,
}

/// Endpoint weights are 1-128, as in Envoy.
pub const MAX_ENDPOINT_WEIGHT: u32 = 128;

/// Slots of a Maglev lookup table (Envoy's default, a prime); a cluster
/// cannot have more endpoints than that, or some would get no slot.
pub const MAGLEV_TABLE_SIZE: usize = 65537;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointConfig {
    /// `host:port`, checked to have a port; resolved by the runtime.
    pub address: String,
    pub weight: u32,
}

#[derive(Debug, Clone)]
pub struct ClusterConfig {
    pub name: String,
    pub protocol: UpstreamProtocol,
    pub connect_timeout: Duration,
    pub lb_policy: LbPolicy,
    /// Set only for `ring_hash` and `maglev` (validation rejects it
    /// elsewhere); `None` there means every pick is random.
    pub hash_policy: Option<HashPolicy>,
    pub endpoints: Vec<EndpointConfig>,
    pub health_check: Option<super::HealthCheckConfig>,
    pub outlier_detection: Option<super::OutlierConfig>,
    /// Percent of endpoints that must be eligible (healthy, not ejected)
    /// for the cluster to balance over those only; below it, over all.
    pub healthy_panic_threshold: u8,
    pub circuit_breakers: CircuitBreakersConfig,
    /// `static` endpoints are used as written; `strict_dns` ones are
    /// resolved (and re-resolved) by the runtime.
    pub discovery: super::Discovery,
    /// TLS to the endpoints; `None` = plaintext.
    pub tls: Option<super::UpstreamTlsConfig>,
}

/// When a failed attempt is tried again (Envoy's `retry_on`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct RetryOn {
    pub five_xx: bool,
    pub gateway_error: bool,
    pub reset: bool,
    pub connect_failure: bool,
    pub retriable_status_codes: bool,
    pub grpc_cancelled: bool,
    pub grpc_deadline_exceeded: bool,
    pub grpc_internal: bool,
    pub grpc_resource_exhausted: bool,
    pub grpc_unavailable: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct RetryPolicyConfig {
    pub on: RetryOn,
    pub num_retries: u32,
    pub per_try_timeout: Option<Duration>,
    pub retriable_status_codes: Vec<u16>,
    pub base_interval: Duration,
    pub max_interval: Duration,
    pub max_body_bytes: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct CircuitBreakersConfig {
    pub max_connections: usize,
    /// Requests waiting for an HTTP/1.1 upstream connection.
    pub max_pending_requests: usize,
    pub max_requests: usize,
    pub max_retries: usize,
    /// (budget percent, minimum retry concurrency); replaces `max_retries`.
    pub retry_budget: Option<(f64, usize)>,
}

impl Default for CircuitBreakersConfig {
    fn default() -> Self {
        CircuitBreakersConfig {
            max_connections: 1024,
            max_pending_requests: 1024,
            max_requests: 1024,
            max_retries: 3,
            retry_budget: None,
        }
    }
}

/// OTLP trace export. Off when no endpoint is known (file, environment or
/// command line).
#[derive(Debug, Clone, PartialEq)]
pub struct TracingConfig {
    /// Base URL of the collector; `None` = tracing off.
    pub endpoint: Option<String>,
    pub protocol: OtlpProtocol,
    pub headers: Vec<(String, String)>,
    pub service_name: String,
    pub resource_attributes: Vec<(String, String)>,
    /// 0..=1, for traces Periscope starts.
    pub sampling_ratio: f64,
    pub queue_size: usize,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    Grpc,
    HttpProtobuf,
}

impl OtlpProtocol {
    pub fn as_str(self) -> &'static str {
        match self {
            OtlpProtocol::Grpc => "grpc",
            OtlpProtocol::HttpProtobuf => "http/protobuf",
        }
    }
}

/// A listener's access log.
#[derive(Debug, Clone)]
pub struct AccessLogConfig {
    pub path: LogPath,
    pub format: LogFormat,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum LogPath {
    Stdout,
    File(std::path::PathBuf),
}

#[derive(Debug, Clone)]
pub enum LogFormat {
    Json,
    /// The compiled `text_format` (or the default one).
    Text(crate::pipeline::access_log::TextFormat),
}

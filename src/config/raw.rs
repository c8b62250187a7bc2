//! The raw file model: exactly what a user writes in YAML, nothing resolved.
//!
//! Every struct rejects unknown fields so a typo (`clusterr:`) is an error
//! with the list of allowed fields instead of a silently ignored setting.
//! Values that need checking (addresses, durations, regexes, names) stay
//! strings here; `validate` turns them into the typed model and reports all
//! problems at once, which serde alone cannot do.
//!
//! The same types serialize the *effective* config for `/config_dump`:
//! [`RawConfig::with_defaults`] fills every default so the dump shows what
//! the proxy actually runs, and the dump parses back into the same config.
//! Unconditional defaults live in serde `default` attributes; defaults that
//! depend on other fields (e.g. `detect_timeout` only for `auto`) are
//! `Option`s filled by `with_defaults`.
use serde::{Deserialize, Serialize};

pub use super::raw_cluster::*;
pub use super::raw_route::*;

pub const DEFAULT_ADMIN_ADDRESS: &str = "127.0.0.1:9901";
pub const DEFAULT_DETECT_TIMEOUT: &str = "1s";

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawConfig {
    #[serde(default)]
    pub admin: RawAdmin,
    /// Tokio worker threads; absent (null in the dump) = number of cores.
    /// Wider than `usize` range checks need so that `workers: 0` and
    /// `workers: 99999` reach validation and get a range message.
    #[serde(default)]
    pub workers: Option<u64>,
    #[serde(default)]
    pub listeners: Vec<RawListener>,
    #[serde(default)]
    pub clusters: Vec<RawCluster>,
    /// OTLP trace export; absent = off unless the environment or the
    /// command line names an endpoint.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tracing: Option<RawTracing>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawAdmin {
    #[serde(default = "default_admin_address")]
    pub address: String,
    /// Reload when the config file changes (polled every second), as
    /// `--watch-config` does.
    #[serde(default)]
    pub watch_config: bool,
}

impl Default for RawAdmin {
    fn default() -> Self {
        Self {
            address: default_admin_address(),
            watch_config: false,
        }
    }
}

fn default_admin_address() -> String {
    DEFAULT_ADMIN_ADDRESS.to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawListenerProtocol {
    #[default]
    Auto,
    Http,
    Tcp,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawListener {
    pub name: String,
    pub address: String,
    #[serde(default)]
    pub protocol: RawListenerProtocol,
    /// Only meaningful for `auto`; validation rejects it elsewhere so a
    /// setting that would be ignored is never accepted silently.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detect_timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub virtual_hosts: Vec<RawVirtualHost>,
    #[serde(default)]
    pub label_limits: RawLabelLimits,
    /// One line per exchange (and per opaque TCP connection); absent = off.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access_log: Option<RawAccessLog>,
    #[serde(default)]
    pub mongodb: RawMongoOptions,
    #[serde(default)]
    pub dynamodb: RawDynamoOptions,
    /// `tcp` listeners: parse what is relayed (the default), or relay only,
    /// as Envoy's `tcp_proxy` without a protocol filter.
    #[serde(default = "default_sniff")]
    pub sniff: bool,
    /// TCP relay: close a connection after this long without a byte either
    /// way (Envoy's tcp_proxy default, 1h); `0s` = never.
    #[serde(default = "default_tcp_idle_timeout")]
    pub tcp_idle_timeout: String,
    /// HTTP: close a downstream connection with no request in flight for
    /// this long (Envoy's `common_http_protocol_options.idle_timeout`, 1h);
    /// `0s` = never.
    #[serde(default = "default_http_idle_timeout")]
    pub http_idle_timeout: String,
    /// HTTP: end a request whose body (either way) moved no byte for this
    /// long (Envoy's `stream_idle_timeout`, 5m); `0s` = never.
    #[serde(default = "default_stream_idle_timeout")]
    pub stream_idle_timeout: String,
    /// Close a downstream connection this long after it opened (Envoy's
    /// `common_http_protocol_options.max_connection_duration`, tcp_proxy's
    /// `max_downstream_connection_duration`), so long-lived clients
    /// rebalance over many proxies: HTTP drains it (HTTP/1 answers say
    /// `Connection: close`, h2 gets GOAWAY), a TCP relay is closed. `0s`
    /// (the default) = never.
    #[serde(default = "never")]
    pub max_connection_duration: String,
    /// HTTP/1.1 upgrades (WebSocket) the listener relays; none unless
    /// listed, and an `Upgrade` request of another type gets 403 (Envoy).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upgrade_configs: Vec<super::raw_route::RawUpgradeConfig>,
    /// TLS termination (Envoy's `DownstreamTlsContext`, flattened);
    /// plaintext when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawDownstreamTls>,
}

/// A listener's `tls:` block.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDownstreamTls {
    /// PEM file: the certificate, then its intermediates.
    #[serde(default)]
    pub certificate_chain: String,
    /// PEM file: the certificate's private key (PKCS#8, PKCS#1 or SEC1).
    #[serde(default)]
    pub private_key: String,
    /// PEM file of the CAs client certificates are verified against
    /// (mutual TLS); a client that presents one it does not sign fails.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ca: Option<String>,
    /// Refuse clients without a certificate (Envoy's
    /// `require_client_certificate`); needs `trusted_ca`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub require_client_certificate: bool,
}

pub const DEFAULT_HTTP_IDLE_TIMEOUT: &str = "1h";
pub const DEFAULT_STREAM_IDLE_TIMEOUT: &str = "5m";

fn default_http_idle_timeout() -> String {
    DEFAULT_HTTP_IDLE_TIMEOUT.to_owned()
}

fn never() -> String {
    "0s".to_owned()
}

fn default_stream_idle_timeout() -> String {
    DEFAULT_STREAM_IDLE_TIMEOUT.to_owned()
}

pub const DEFAULT_TCP_IDLE_TIMEOUT: &str = "1h";

fn default_sniff() -> bool {
    true
}

fn default_tcp_idle_timeout() -> String {
    DEFAULT_TCP_IDLE_TIMEOUT.to_owned()
}

/// DynamoDB sniffing settings of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDynamoOptions {
    /// Most bytes of each DynamoDB request and response body kept for the
    /// refiner while the body streams through (the rest is forwarded and
    /// counted, and the call is marked truncated). 0 turns it off.
    #[serde(default = "default_dynamodb_body_bytes")]
    pub max_body_bytes: u64,
}

pub const DEFAULT_DYNAMODB_BODY_BYTES: u64 = 1 << 20;

fn default_dynamodb_body_bytes() -> u64 {
    DEFAULT_DYNAMODB_BODY_BYTES
}

impl Default for RawDynamoOptions {
    fn default() -> Self {
        RawDynamoOptions {
            max_body_bytes: DEFAULT_DYNAMODB_BODY_BYTES,
        }
    }
}

/// MongoDB sniffing settings of a listener.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMongoOptions {
    /// Put each command, as relaxed extended JSON truncated to 512 bytes,
    /// in its span's `db.query.text`. Off by default: commands carry
    /// application data, possibly personal.
    #[serde(default)]
    pub query_text: bool,
}

/// Caps on label values that come off the wire (collection and database
/// names, error codes), per listener. Beyond a cap new values label as
/// `_OTHER` and `periscope_metric_label_overflow_total` counts them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawLabelLimits {
    /// Distinct `db_collection_name` values (MongoDB collections,
    /// DynamoDB tables).
    #[serde(default = "default_collections")]
    pub collections: u64,
    /// Distinct `db_namespace` values (databases).
    #[serde(default = "default_namespaces")]
    pub namespaces: u64,
    /// Distinct `db_response_status_code` values.
    #[serde(default = "default_status_codes")]
    pub status_codes: u64,
    /// Distinct `rpc_method` values (gRPC `package.Service/Method`).
    #[serde(default = "default_rpc_methods")]
    pub rpc_methods: u64,
}

pub const DEFAULT_COLLECTION_LABELS: u64 = 500;
pub const DEFAULT_NAMESPACE_LABELS: u64 = 100;
pub const DEFAULT_STATUS_CODE_LABELS: u64 = 100;
pub const DEFAULT_RPC_METHOD_LABELS: u64 = 500;

fn default_rpc_methods() -> u64 {
    DEFAULT_RPC_METHOD_LABELS
}

fn default_collections() -> u64 {
    DEFAULT_COLLECTION_LABELS
}

fn default_namespaces() -> u64 {
    DEFAULT_NAMESPACE_LABELS
}

fn default_status_codes() -> u64 {
    DEFAULT_STATUS_CODE_LABELS
}

impl Default for RawLabelLimits {
    fn default() -> Self {
        RawLabelLimits {
            collections: DEFAULT_COLLECTION_LABELS,
            namespaces: DEFAULT_NAMESPACE_LABELS,
            status_codes: DEFAULT_STATUS_CODE_LABELS,
            rpc_methods: DEFAULT_RPC_METHOD_LABELS,
        }
    }
}

pub use super::raw_telemetry::*;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RawUpstreamProtocol {
    Http1,
    H2c,
    #[default]
    Auto,
}

impl RawConfig {
    /// The effective form: every default that depends on other fields
    /// filled in. Serde already filled the unconditional ones at parse time.
    pub fn with_defaults(&self) -> RawConfig {
        let mut out = self.clone();
        for listener in &mut out.listeners {
            if listener.protocol == RawListenerProtocol::Auto && listener.detect_timeout.is_none() {
                listener.detect_timeout = Some(DEFAULT_DETECT_TIMEOUT.to_owned());
            }
        }
        for cluster in &mut out.clusters {
            cluster.fill_defaults();
        }
        out
    }
}

impl From<RawListenerProtocol> for super::ListenerProtocol {
    fn from(p: RawListenerProtocol) -> Self {
        match p {
            RawListenerProtocol::Auto => Self::Auto,
            RawListenerProtocol::Http => Self::Http,
            RawListenerProtocol::Tcp => Self::Tcp,
        }
    }
}

impl From<super::ListenerProtocol> for RawListenerProtocol {
    fn from(p: super::ListenerProtocol) -> Self {
        match p {
            super::ListenerProtocol::Auto => Self::Auto,
            super::ListenerProtocol::Http => Self::Http,
            super::ListenerProtocol::Tcp => Self::Tcp,
        }
    }
}

impl From<RawUpstreamProtocol> for super::UpstreamProtocol {
    fn from(p: RawUpstreamProtocol) -> Self {
        match p {
            RawUpstreamProtocol::Http1 => Self::Http1,
            RawUpstreamProtocol::H2c => Self::H2c,
            RawUpstreamProtocol::Auto => Self::Auto,
        }
    }
}

impl From<super::UpstreamProtocol> for RawUpstreamProtocol {
    fn from(p: super::UpstreamProtocol) -> Self {
        match p {
            super::UpstreamProtocol::Http1 => Self::Http1,
            super::UpstreamProtocol::H2c => Self::H2c,
            super::UpstreamProtocol::Auto => Self::Auto,
        }
    }
}

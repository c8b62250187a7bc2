//! Raw model of upstream clusters: endpoints, load-balancing policy and the
//! hash policy of the consistent-hashing balancers.
//!
//! An endpoint is written either as a plain `"host:port"` (weight 1) or as
//! `{ address, weight }`. Serde's `untagged` enums would accept that too,
//! but they swallow the inner error ("did not match any variant"); the
//! hand-written visitor below keeps serde's own messages, so an unknown
//! field inside the map form is reported with its line and the allowed
//! fields like everywhere else.
use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

pub const DEFAULT_CONNECT_TIMEOUT: &str = "5s";
/// Envoy's defaults for `ring_hash_lb_config`.
pub const DEFAULT_MINIMUM_RING_SIZE: u64 = 1024;
pub const DEFAULT_MAXIMUM_RING_SIZE: u64 = 8 * 1024 * 1024;
/// Envoy's `healthy_panic_threshold` default, in percent.
pub const DEFAULT_PANIC_THRESHOLD: u64 = 50;
pub use super::model_dns::DEFAULT_DNS_REFRESH_RATE;

pub use super::raw_health::*;

/// A cluster's `tls:` block, Envoy's `UpstreamTlsContext` flattened.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpstreamTls {
    /// The server name sent (SNI) and verified in the certificate; default:
    /// the endpoint's host (its DNS name, or its IP address).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sni: Option<String>,
    /// A PEM file of the certificate authorities to trust (Envoy's
    /// `validation_context.trusted_ca.filename`); default: the system's
    /// trust store.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trusted_ca: Option<String>,
    /// A client certificate (PEM: it, then intermediates) for upstreams
    /// that ask for one (mutual TLS); with `private_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub certificate_chain: Option<String>,
    /// The client certificate's private key (PEM).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub private_key: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawLbPolicy {
    #[default]
    RoundRobin,
    LeastRequest,
    Random,
    RingHash,
    Maglev,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawCluster {
    pub name: String,
    #[serde(default)]
    pub protocol: super::raw::RawUpstreamProtocol,
    #[serde(default = "default_connect_timeout")]
    pub connect_timeout: String,
    #[serde(default)]
    pub lb_policy: RawLbPolicy,
    /// Only for `ring_hash`; validation rejects it elsewhere, and the
    /// effective config fills it in for `ring_hash`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ring_hash: Option<RawRingHash>,
    /// Only for `ring_hash` and `maglev`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hash_policy: Option<RawHashPolicy>,
    /// Defaulted (rather than required) so an empty or missing list is
    /// reported by validation together with every other problem.
    #[serde(default)]
    pub endpoints: Vec<RawEndpoint>,
    /// Absent = Envoy's default thresholds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub circuit_breakers: Option<super::raw_retry::RawCircuitBreakers>,
    /// Active health checking; off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub health_check: Option<RawHealthCheck>,
    /// Passive outlier detection; off when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outlier_detection: Option<RawOutlierDetection>,
    /// Percent (0-100) of endpoints that must be eligible before the
    /// cluster balances over all of them anyway (Envoy's
    /// `healthy_panic_threshold`, default 50).
    #[serde(default = "default_panic_threshold")]
    pub healthy_panic_threshold: u64,
    /// `static` or `strict_dns` (Envoy's cluster `type`). Absent: `static`
    /// when every endpoint is an IP address, else `strict_dns`, so a
    /// hostname keeps working without a new line; the effective config
    /// shows the type chosen.
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub discovery: Option<RawDiscovery>,
    /// Only for `strict_dns` (filled in there: Envoy's 5s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_refresh_rate: Option<String>,
    /// Only for `strict_dns` (filled in there: `auto`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dns_lookup_family: Option<RawLookupFamily>,
    /// TLS to the endpoints (Envoy's `transport_socket` with an
    /// `UpstreamTlsContext`); plaintext when absent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tls: Option<RawUpstreamTls>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawDiscovery {
    Static,
    StrictDns,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RawLookupFamily {
    V4Only,
    V6Only,
    #[default]
    Auto,
}

fn default_panic_threshold() -> u64 {
    DEFAULT_PANIC_THRESHOLD
}

fn default_connect_timeout() -> String {
    DEFAULT_CONNECT_TIMEOUT.to_owned()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRingHash {
    #[serde(default = "default_minimum_ring_size")]
    pub minimum_ring_size: u64,
    #[serde(default = "default_maximum_ring_size")]
    pub maximum_ring_size: u64,
}

impl Default for RawRingHash {
    fn default() -> Self {
        RawRingHash {
            minimum_ring_size: DEFAULT_MINIMUM_RING_SIZE,
            maximum_ring_size: DEFAULT_MAXIMUM_RING_SIZE,
        }
    }
}

fn default_minimum_ring_size() -> u64 {
    DEFAULT_MINIMUM_RING_SIZE
}

fn default_maximum_ring_size() -> u64 {
    DEFAULT_MAXIMUM_RING_SIZE
}

/// Exactly one of the fields; sibling options (not a serde enum) so that
/// validation can name the clash, as for route matches.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHashPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cookie: Option<String>,
    /// Only `true` is meaningful.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<bool>,
}

/// `"host:port"` or `{ address: "host:port", weight: N }`. The weight is
/// `u64` so out-of-range numbers reach validation's range message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawEndpoint {
    pub address: String,
    /// `None` = written as a plain string, or as a map without `weight`.
    pub weight: Option<u64>,
}

impl RawEndpoint {
    pub fn plain(address: impl Into<String>) -> RawEndpoint {
        RawEndpoint {
            address: address.into(),
            weight: None,
        }
    }
}

/// The map form's fields, derived so serde reports unknown and missing
/// fields in its usual words.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct WeightedEndpoint {
    address: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    weight: Option<u64>,
}

impl<'de> Deserialize<'de> for RawEndpoint {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(EndpointVisitor)
    }
}

struct EndpointVisitor;

impl<'de> Visitor<'de> for EndpointVisitor {
    type Value = RawEndpoint;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an endpoint: \"host:port\" or { address: \"host:port\", weight: N }")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<RawEndpoint, E> {
        Ok(RawEndpoint::plain(text))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<RawEndpoint, A::Error> {
        let fields = WeightedEndpoint::deserialize(de::value::MapAccessDeserializer::new(map))?;
        Ok(RawEndpoint {
            address: fields.address,
            weight: fields.weight,
        })
    }
}

/// Written back the way it was read: a plain string when no weight was
/// given, so `/config_dump` of an existing config does not change shape.
impl Serialize for RawEndpoint {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self.weight {
            None => serializer.serialize_str(&self.address),
            Some(weight) => WeightedEndpoint {
                address: self.address.clone(),
                weight: Some(weight),
            }
            .serialize(serializer),
        }
    }
}

impl RawCluster {
    /// Fills the defaults that depend on other fields: the ring sizes (on
    /// the policy), the type (on the endpoints) and the DNS settings.
    pub(super) fn fill_defaults(&mut self) {
        if self.lb_policy == RawLbPolicy::RingHash && self.ring_hash.is_none() {
            self.ring_hash = Some(RawRingHash::default());
        }
        let discovery = self.discovery();
        self.discovery = Some(discovery);
        if discovery == RawDiscovery::StrictDns {
            (self.dns_refresh_rate).get_or_insert_with(|| DEFAULT_DNS_REFRESH_RATE.to_owned());
            self.dns_lookup_family.get_or_insert_with(Default::default);
        }
    }

    /// The type as written, else `static` when every endpoint is an IP
    /// address and `strict_dns` when one is a hostname.
    pub fn discovery(&self) -> RawDiscovery {
        let literal = |e: &RawEndpoint| e.address.parse::<std::net::SocketAddr>().is_ok();
        match self.discovery {
            Some(written) => written,
            None if self.endpoints.iter().all(literal) => RawDiscovery::Static,
            None => RawDiscovery::StrictDns,
        }
    }
}

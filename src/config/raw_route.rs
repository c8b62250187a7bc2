//! Raw model of HTTP routing: virtual hosts, routes, matches and actions.
//!
//! "Exactly one of" choices (`prefix | path | regex`, `route |
//! direct_response | redirect`, header `exact | prefix | regex | present`)
//! are sibling `Option` fields rather than serde enums: serde's enum errors
//! are cryptic and stop at the first problem, while validation can say
//! precisely which fields clash and which are allowed.
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawVirtualHost {
    pub name: String,
    /// Defaults to `["*"]` so a single catch-all virtual host needs no
    /// boilerplate.
    #[serde(default = "default_domains")]
    pub domains: Vec<String>,
    #[serde(default)]
    pub routes: Vec<RawRoute>,
}

fn default_domains() -> Vec<String> {
    vec!["*".to_owned()]
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRoute {
    pub name: String,
    #[serde(rename = "match")]
    pub match_: RawRouteMatch,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub route: Option<RawRouteAction>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub direct_response: Option<RawDirectResponse>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub redirect: Option<RawRedirect>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers_to_add: Vec<RawHeaderValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_headers_to_remove: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers_to_add: Vec<RawHeaderValue>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub response_headers_to_remove: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouteMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub headers: Vec<RawHeaderMatch>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeaderMatch {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exact: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub regex: Option<String>,
    /// Only `true` is meaningful; `present: false` is rejected in favour of
    /// `present: true` + `invert: true`, which says the same thing one way.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub present: Option<bool>,
    #[serde(default, skip_serializing_if = "is_false")]
    pub invert: bool,
}

fn is_false(b: &bool) -> bool {
    !*b
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRouteAction {
    pub cluster: String,
    /// Until upstream response headers. Envoy's default, 15s; `0s` = none.
    #[serde(default = "default_route_timeout")]
    pub timeout: String,
    /// Absent = no retries (Envoy).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retry_policy: Option<super::raw_retry::RawRetryPolicy>,
    /// Turns the listener's upgrade types on or off for this route.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub upgrade_configs: Vec<RawUpgradeConfig>,
}

/// Envoy's `upgrade_configs` entry: a protocol an HTTP/1.1 request may
/// switch to with `Upgrade` (`websocket`, or any other token).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawUpgradeConfig {
    pub upgrade_type: String,
    #[serde(default = "default_enabled")]
    pub enabled: bool,
}

fn default_enabled() -> bool {
    true
}

pub const DEFAULT_ROUTE_TIMEOUT: &str = "15s";

fn default_route_timeout() -> String {
    DEFAULT_ROUTE_TIMEOUT.to_owned()
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawDirectResponse {
    /// `u64` so out-of-range numbers reach validation's range message.
    pub status: u64,
    #[serde(default)]
    pub body: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawRedirect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scheme: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
    #[serde(default = "default_redirect_code")]
    pub response_code: u64,
}

fn default_redirect_code() -> u64 {
    301
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawHeaderValue {
    pub name: String,
    pub value: String,
}

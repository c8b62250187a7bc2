//! How a cluster finds its endpoints (Envoy's cluster `type`): as written
//! (`static`), or by resolving hostnames again and again (`strict_dns`).
use std::time::Duration;

/// Envoy's `dns_refresh_rate` default.
pub const DEFAULT_DNS_REFRESH_RATE: &str = "5s";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Discovery {
    /// Endpoints are IP addresses, used as written.
    Static,
    /// Each `host:port` endpoint becomes one endpoint per address the name
    /// resolves to, re-resolved every `refresh_rate`.
    StrictDns(DnsConfig),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DnsConfig {
    pub refresh_rate: Duration,
    pub lookup_family: LookupFamily,
}

/// Which addresses of a name become endpoints.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LookupFamily {
    V4Only,
    V6Only,
    /// IPv4 addresses when the name has any, else IPv6 ones (Envoy's
    /// `V4_PREFERRED`; Envoy's `AUTO` prefers IPv6, which would send
    /// `localhost` to `::1` where most local upstreams do not listen).
    Auto,
}

impl LookupFamily {
    /// The name as written in the config, for `/clusters`.
    pub fn name(self) -> &'static str {
        match self {
            LookupFamily::V4Only => "v4_only",
            LookupFamily::V6Only => "v6_only",
            LookupFamily::Auto => "auto",
        }
    }
}

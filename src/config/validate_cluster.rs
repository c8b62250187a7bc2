//! Validation of clusters: endpoints and weights, the load-balancing
//! policy and the settings that only some policies read.
//!
//! A setting the chosen policy would ignore (`ring_hash` sizes on a
//! round-robin cluster, a `hash_policy` on `random`) is an error rather
//! than silently accepted, as for `detect_timeout` on listeners.
use super::raw::{
    RawCluster, RawDiscovery, RawEndpoint, RawHashPolicy, RawLbPolicy, RawLookupFamily,
    RawRingHash, DEFAULT_DNS_REFRESH_RATE,
};
use super::validate::{positive_duration, Issues};
use super::validate_health;
use super::values::{check_endpoint, check_header_name, check_name};
use super::{
    ClusterConfig, Discovery, DnsConfig, EndpointConfig, HashPolicy, LbPolicy, LookupFamily,
    RingHashConfig, MAGLEV_TABLE_SIZE, MAX_ENDPOINT_WEIGHT,
};

/// Envoy's upper bound for both ring sizes.
const MAX_RING_SIZE: u64 = 8 * 1024 * 1024;

pub(crate) fn cluster(v: &mut Issues, p: String, raw: &RawCluster) -> Option<ClusterConfig> {
    let name = v.check(format!("{p}.name"), check_name(&raw.name));
    let connect_timeout = v.check(
        format!("{p}.connect_timeout"),
        positive_duration(&raw.connect_timeout),
    );
    let endpoints = endpoints(v, &p, raw);
    let lb_policy = lb_policy(v, &p, raw);
    let hash_policy = match &raw.hash_policy {
        None => Some(None),
        Some(hp) => hash_policy(v, &format!("{p}.hash_policy"), hp).map(Some),
    };
    if raw.hash_policy.is_some()
        && !matches!(raw.lb_policy, RawLbPolicy::RingHash | RawLbPolicy::Maglev)
    {
        v.add(
            format!("{p}.hash_policy"),
            format!(
                "hash_policy only applies to lb_policy ring_hash or maglev (this cluster is {})",
                policy_name(raw.lb_policy)
            ),
        );
    }
    let p = p.as_str();
    let health_check = match &raw.health_check {
        None => Some(None),
        Some(hc) => validate_health::health_check(v, &format!("{p}.health_check"), hc).map(Some),
    };
    let outlier_detection = match &raw.outlier_detection {
        None => Some(None),
        Some(od) => validate_health::outlier(v, &format!("{p}.outlier_detection"), od).map(Some),
    };
    let panic_threshold = v.check(
        format!("{p}.healthy_panic_threshold"),
        validate_health::percent_value(raw.healthy_panic_threshold),
    );
    let discovery = discovery(v, p, raw);
    let tls = match &raw.tls {
        None => Some(None),
        Some(tls) => super::validate_tls::upstream(v, &format!("{p}.tls"), tls).map(Some),
    };
    let circuit_breakers = super::validate_retry::circuit_breakers(
        v,
        &format!("{p}.circuit_breakers"),
        raw.circuit_breakers.as_ref(),
    );
    Some(ClusterConfig {
        name: name.map(|()| raw.name.clone())?,
        protocol: raw.protocol.into(),
        connect_timeout: connect_timeout?,
        lb_policy: lb_policy?,
        hash_policy: hash_policy?,
        endpoints: endpoints?,
        health_check: health_check?,
        outlier_detection: outlier_detection?,
        healthy_panic_threshold: panic_threshold?,
        circuit_breakers: circuit_breakers?,
        discovery: discovery?,
        tls: tls?,
    })
}

/// The cluster type and its DNS settings. `static` takes IP addresses
/// only, as in Envoy: a hostname there would be resolved once at connect
/// time and never again, which is what `strict_dns` exists to avoid.
fn discovery(v: &mut Issues, p: &str, raw: &RawCluster) -> Option<Discovery> {
    if raw.discovery() == RawDiscovery::StrictDns {
        let rate = raw.dns_refresh_rate.as_deref();
        let refresh_rate = v.check(
            format!("{p}.dns_refresh_rate"),
            positive_duration(rate.unwrap_or(DEFAULT_DNS_REFRESH_RATE)),
        )?;
        let lookup_family = match raw.dns_lookup_family.unwrap_or_default() {
            RawLookupFamily::V4Only => LookupFamily::V4Only,
            RawLookupFamily::V6Only => LookupFamily::V6Only,
            RawLookupFamily::Auto => LookupFamily::Auto,
        };
        return Some(Discovery::StrictDns(DnsConfig {
            refresh_rate,
            lookup_family,
        }));
    }
    let mut ok = true;
    for (field, given) in [
        ("dns_refresh_rate", raw.dns_refresh_rate.is_some()),
        ("dns_lookup_family", raw.dns_lookup_family.is_some()),
    ] {
        if given {
            v.add(
                format!("{p}.{field}"),
                format!("{field} only applies to type strict_dns (this cluster is static)"),
            );
            ok = false;
        }
    }
    for (i, endpoint) in raw.endpoints.iter().enumerate() {
        let literal = endpoint.address.parse::<std::net::SocketAddr>().is_ok();
        if !literal && check_endpoint(&endpoint.address).is_ok() {
            let path = match endpoint.weight {
                Some(_) => format!("{p}.endpoints[{i}].address"),
                None => format!("{p}.endpoints[{i}]"),
            };
            v.add(
                path,
                format!(
                    "type static needs an IP address, got hostname \"{}\"; use type: strict_dns to resolve it",
                    endpoint.address
                ),
            );
            ok = false;
        }
    }
    ok.then_some(Discovery::Static)
}

fn endpoints(v: &mut Issues, p: &str, raw: &RawCluster) -> Option<Vec<EndpointConfig>> {
    if raw.endpoints.is_empty() {
        v.add(
            format!("{p}.endpoints"),
            "at least one endpoint is required",
        );
    }
    let mut out = Some(Vec::with_capacity(raw.endpoints.len()));
    for (i, endpoint) in raw.endpoints.iter().enumerate() {
        let ep = format!("{p}.endpoints[{i}]");
        let path = match endpoint.weight {
            Some(_) => format!("{ep}.address"),
            None => ep.clone(),
        };
        let address = v.check(path.as_str(), check_endpoint(&endpoint.address));
        let weight = v.check(format!("{ep}.weight"), weight(endpoint));
        if raw.endpoints[..i]
            .iter()
            .any(|e| e.address == endpoint.address)
        {
            v.add(path, format!("duplicate endpoint \"{}\"", endpoint.address));
        }
        match (address, weight, out.as_mut()) {
            (Some(()), Some(weight), Some(list)) => list.push(EndpointConfig {
                address: endpoint.address.clone(),
                weight,
            }),
            _ => out = None,
        }
    }
    if raw.lb_policy == RawLbPolicy::Maglev && raw.endpoints.len() > MAGLEV_TABLE_SIZE {
        v.add(
            format!("{p}.endpoints"),
            format!("maglev supports at most {MAGLEV_TABLE_SIZE} endpoints"),
        );
        out = None;
    }
    out
}

fn weight(endpoint: &RawEndpoint) -> Result<u32, String> {
    match endpoint.weight {
        None => Ok(1),
        Some(w) if (1..=u64::from(MAX_ENDPOINT_WEIGHT)).contains(&w) => Ok(w as u32),
        Some(w) => Err(format!(
            "weight must be between 1 and {MAX_ENDPOINT_WEIGHT}, got {w}"
        )),
    }
}

fn lb_policy(v: &mut Issues, p: &str, raw: &RawCluster) -> Option<LbPolicy> {
    match (raw.lb_policy, raw.ring_hash) {
        (RawLbPolicy::RingHash, sizes) => {
            ring_hash(v, &format!("{p}.ring_hash"), sizes.unwrap_or_default())
                .map(LbPolicy::RingHash)
        }
        (other, Some(_)) => {
            v.add(
                format!("{p}.ring_hash"),
                format!(
                    "ring_hash only applies to lb_policy ring_hash (this cluster is {})",
                    policy_name(other)
                ),
            );
            None
        }
        (RawLbPolicy::RoundRobin, None) => Some(LbPolicy::RoundRobin),
        (RawLbPolicy::LeastRequest, None) => Some(LbPolicy::LeastRequest),
        (RawLbPolicy::Random, None) => Some(LbPolicy::Random),
        (RawLbPolicy::Maglev, None) => Some(LbPolicy::Maglev),
    }
}

fn ring_hash(v: &mut Issues, p: &str, raw: RawRingHash) -> Option<RingHashConfig> {
    let mut size = |field: &str, value: u64| {
        v.check(
            format!("{p}.{field}"),
            if (1..=MAX_RING_SIZE).contains(&value) {
                Ok(value as usize)
            } else {
                Err(format!(
                    "must be between 1 and {MAX_RING_SIZE}, got {value}"
                ))
            },
        )
    };
    let minimum = size("minimum_ring_size", raw.minimum_ring_size);
    let maximum = size("maximum_ring_size", raw.maximum_ring_size);
    let (minimum_ring_size, maximum_ring_size) = minimum.zip(maximum)?;
    if minimum_ring_size > maximum_ring_size {
        v.add(
            format!("{p}.minimum_ring_size"),
            format!(
                "minimum_ring_size {minimum_ring_size} is larger than maximum_ring_size {maximum_ring_size}"
            ),
        );
        return None;
    }
    Some(RingHashConfig {
        minimum_ring_size,
        maximum_ring_size,
    })
}

fn hash_policy(v: &mut Issues, p: &str, raw: &RawHashPolicy) -> Option<HashPolicy> {
    let given: Vec<&str> = [
        raw.header.as_ref().map(|_| "header"),
        raw.cookie.as_ref().map(|_| "cookie"),
        raw.source_ip.map(|_| "source_ip"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() != 1 {
        let found = match given.as_slice() {
            [] => "none".to_owned(),
            several => several.join(" and "),
        };
        v.add(
            p,
            format!("exactly one of header, cookie, source_ip is required (found {found})"),
        );
        return None;
    }
    if let Some(header) = &raw.header {
        v.check(format!("{p}.header"), check_header_name(header))?;
        return http::HeaderName::from_lowercase(header.as_bytes())
            .ok()
            .map(HashPolicy::Header);
    }
    if let Some(cookie) = &raw.cookie {
        return v
            .check(format!("{p}.cookie"), check_cookie_name(cookie))
            .map(|()| HashPolicy::Cookie(cookie.clone()));
    }
    if raw.source_ip == Some(false) {
        v.add(
            format!("{p}.source_ip"),
            "source_ip: false hashes nothing; write source_ip: true or remove hash_policy",
        );
        return None;
    }
    Some(HashPolicy::SourceIp)
}

/// A cookie name is an HTTP token (RFC 6265 §4.1.1).
fn check_cookie_name(name: &str) -> Result<(), String> {
    let separator = |b: u8| b"()<>@,;:\\\"/[]?={} \t".contains(&b);
    let ok = !name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && !separator(b));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "invalid cookie name \"{name}\": expected an HTTP token such as session_id"
        ))
    }
}

fn policy_name(p: RawLbPolicy) -> &'static str {
    match p {
        RawLbPolicy::RoundRobin => "round_robin",
        RawLbPolicy::LeastRequest => "least_request",
        RawLbPolicy::Random => "random",
        RawLbPolicy::RingHash => "ring_hash",
        RawLbPolicy::Maglev => "maglev",
    }
}

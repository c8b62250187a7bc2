//! The hash key of a request for `ring_hash` and `maglev`.
//!
//! A hash policy names what to hash (a header, a cookie, the client's IP);
//! when the request lacks it there is no key and the balancer picks at
//! random, as Envoy does. Only the client IP exists on the TCP path.
use crate::config::HashPolicy;
use http::HeaderMap;
use std::hash::Hasher;
use std::net::IpAddr;
use twox_hash::XxHash64;

/// What a pick can read from the request or connection being balanced.
#[derive(Clone, Copy)]
pub enum HashSource<'a> {
    Http {
        headers: &'a HeaderMap,
        peer: IpAddr,
    },
    Connection {
        peer: IpAddr,
    },
}

impl HashSource<'_> {
    fn peer(&self) -> IpAddr {
        match *self {
            HashSource::Http { peer, .. } | HashSource::Connection { peer } => peer,
        }
    }
}

/// The request's key under `policy`, or `None` when it has none.
pub fn hash_key(policy: &HashPolicy, source: HashSource) -> Option<u64> {
    match (policy, source) {
        (HashPolicy::SourceIp, source) => Some(match source.peer() {
            IpAddr::V4(ip) => XxHash64::oneshot(0, &ip.octets()),
            IpAddr::V6(ip) => XxHash64::oneshot(0, &ip.octets()),
        }),
        (HashPolicy::Header(name), HashSource::Http { headers, .. }) => {
            let mut values = headers.get_all(name).iter().peekable();
            values.peek()?;
            // Several values hash together, each ended by a separator so
            // that ("ab", "c") and ("a", "bc") differ.
            let mut hasher = XxHash64::with_seed(0);
            for value in values {
                hasher.write(value.as_bytes());
                hasher.write_u8(0);
            }
            Some(hasher.finish())
        }
        (HashPolicy::Cookie(name), HashSource::Http { headers, .. }) => {
            let value = cookie(headers, name)?;
            Some(XxHash64::oneshot(0, value.as_bytes()))
        }
        (HashPolicy::Header(_) | HashPolicy::Cookie(_), HashSource::Connection { .. }) => None,
    }
}

/// The first value of cookie `name` in the `cookie` headers (RFC 6265:
/// `a=1; b=2`, possibly split over several headers by HTTP/2 clients).
fn cookie<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|line| line.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: IpAddr = IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 2, 3));

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, http::HeaderValue::from_static(value));
        }
        map
    }

    fn http_key(policy: &HashPolicy, pairs: &[(&'static str, &'static str)]) -> Option<u64> {
        let headers = headers(pairs);
        hash_key(
            policy,
            HashSource::Http {
                headers: &headers,
                peer: PEER,
            },
        )
    }

    #[test]
    fn header_values_are_the_key() {
        let policy = HashPolicy::Header(http::HeaderName::from_static("x-user"));
        let alice = http_key(&policy, &[("x-user", "alice")]);
        assert!(alice.is_some());
        assert_eq!(alice, http_key(&policy, &[("x-user", "alice")]));
        assert_ne!(alice, http_key(&policy, &[("x-user", "bob")]));
        assert_eq!(http_key(&policy, &[("x-other", "alice")]), None);
        assert_ne!(
            http_key(&policy, &[("x-user", "ab"), ("x-user", "c")]),
            http_key(&policy, &[("x-user", "a"), ("x-user", "bc")])
        );
    }

    #[test]
    fn cookie_is_found_among_others_and_across_headers() {
        let policy = HashPolicy::Cookie("session".into());
        let key = http_key(&policy, &[("cookie", "a=1; session=s1; b=2")]);
        assert!(key.is_some());
        assert_eq!(
            key,
            http_key(&policy, &[("cookie", "a=1"), ("cookie", "session=\"s1\"")])
        );
        assert_eq!(http_key(&policy, &[("cookie", "sessionid=s1")]), None);
        assert_eq!(http_key(&policy, &[]), None);
    }

    #[test]
    fn source_ip_applies_to_both_paths_and_headers_only_to_http() {
        let ip = hash_key(&HashPolicy::SourceIp, HashSource::Connection { peer: PEER });
        assert_eq!(ip, http_key(&HashPolicy::SourceIp, &[]));
        let other = IpAddr::V4(std::net::Ipv4Addr::new(10, 1, 2, 4));
        assert_ne!(
            ip,
            hash_key(
                &HashPolicy::SourceIp,
                HashSource::Connection { peer: other }
            )
        );
        let header = HashPolicy::Header(http::HeaderName::from_static("x-user"));
        assert_eq!(
            hash_key(&header, HashSource::Connection { peer: PEER }),
            None
        );
    }
}

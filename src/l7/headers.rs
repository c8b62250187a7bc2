//! Header rules every proxied request and response goes through: hop-by-hop
//! headers removed (RFC 9110 §7.6.1), `x-forwarded-for` appended,
//! `x-request-id` set when absent.
use bytes::Bytes;
use http::header::{
    HeaderMap, HeaderName, HeaderValue, CONNECTION, HOST, TE, TRANSFER_ENCODING, UPGRADE,
};
use std::cell::{Cell, RefCell};
use std::net::IpAddr;

static KEEP_ALIVE: HeaderName = HeaderName::from_static("keep-alive");
static PROXY_CONNECTION: HeaderName = HeaderName::from_static("proxy-connection");
static X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");
static X_FORWARDED_PROTO: HeaderName = HeaderName::from_static("x-forwarded-proto");
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Remove hop-by-hop headers, including any the `Connection` header names.
/// `te: trailers` survives towards HTTP/2 upstreams: gRPC requires it.
///
/// Most messages carry none but `Connection` (nginx answers with
/// `keep-alive`): one pass over the names decides, instead of a hashed
/// removal per hop-by-hop name, and the names `Connection` lists are
/// removed as `&str`, never allocated as `HeaderName`s.
pub fn strip_hop_by_hop(headers: &mut HeaderMap, keep_te_trailers: bool) {
    let present = headers
        .keys()
        .fold(0u8, |present, name| present | hop_by_hop_bit(name));
    if present == 0 {
        return;
    }
    if present & CONNECTION_BIT != 0 {
        // Values cloned (reference counts) to remove while reading them; a
        // repeated `Connection` field is rare enough for its `Vec`.
        let mut values = headers.get_all(CONNECTION).iter();
        let first = values.next().cloned();
        let more: Vec<HeaderValue> = values.cloned().collect();
        for value in first.iter().chain(&more) {
            for name in value.to_str().unwrap_or("").split(',') {
                let name = name.trim();
                if !name.is_empty() {
                    headers.remove(name);
                }
            }
        }
    }
    let te_trailers = keep_te_trailers
        && present & TE_BIT != 0
        && headers
            .get(TE)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"trailers"));
    for (bit, name) in HOP_BY_HOP {
        if present & bit != 0 {
            headers.remove(name);
        }
    }
    if te_trailers {
        headers.insert(TE, HeaderValue::from_static("trailers"));
    }
}

/// Puts back the two fields an allowed upgrade needs on the next hop,
/// after [`strip_hop_by_hop`] took them with the rest.
pub fn keep_upgrade(headers: &mut HeaderMap, upgrade: HeaderValue) {
    headers.insert(CONNECTION, HeaderValue::from_static("upgrade"));
    headers.insert(UPGRADE, upgrade);
}

const CONNECTION_BIT: u8 = 1;
const TE_BIT: u8 = 2;

/// The hop-by-hop fields (RFC 9110 §7.6.1, and two pre-standard ones),
/// each with its bit in `strip_hop_by_hop`'s set of those present.
static HOP_BY_HOP: [(u8, &HeaderName); 6] = [
    (CONNECTION_BIT, &CONNECTION),
    (TE_BIT, &TE),
    (4, &TRANSFER_ENCODING),
    (8, &UPGRADE),
    (16, &KEEP_ALIVE),
    (32, &PROXY_CONNECTION),
];

fn hop_by_hop_bit(name: &HeaderName) -> u8 {
    HOP_BY_HOP
        .iter()
        .find(|(_, hop)| *hop == name)
        .map_or(0, |(bit, _)| *bit)
}

/// Appends the peer to `x-forwarded-for`. The value for a peer is formatted
/// once and kept per thread (a connection's requests all come from one
/// peer), so most requests share it instead of allocating their own.
pub fn append_forwarded_for(headers: &mut HeaderMap, peer: IpAddr) {
    let Some(ip) = peer_value(peer) else {
        return;
    };
    let value = match headers.get(&X_FORWARDED_FOR) {
        Some(existing) => {
            HeaderValue::from_bytes(&[existing.as_bytes(), b", ", ip.as_bytes()].concat())
        }
        None => Ok(ip),
    };
    if let Ok(value) = value {
        headers.insert(X_FORWARDED_FOR.clone(), value);
    }
}

thread_local! {
    static LAST_PEER: RefCell<Option<(IpAddr, HeaderValue)>> = const { RefCell::new(None) };
}

/// `peer` as a header value; a clone (a reference count) of the last one
/// this thread formatted when the peer is the same.
fn peer_value(peer: IpAddr) -> Option<HeaderValue> {
    LAST_PEER.with(|last| {
        let mut last = last.borrow_mut();
        if let Some((ip, value)) = last.as_ref() {
            if *ip == peer {
                return Some(value.clone());
            }
        }
        use std::io::Write;
        let mut text = [0u8; 48];
        let mut cursor = std::io::Cursor::new(&mut text[..]);
        write!(cursor, "{peer}").ok()?;
        let len = cursor.position() as usize;
        // Shared from the start, so that clones only count references.
        let value = HeaderValue::from_maybe_shared(Bytes::copy_from_slice(&text[..len])).ok()?;
        *last = Some((peer, value.clone()));
        Some(value)
    })
}

/// A plaintext listener says `http` unless a hop in front (a TLS
/// terminator) already said.
pub fn ensure_forwarded_proto(headers: &mut HeaderMap) {
    if !headers.contains_key(&X_FORWARDED_PROTO) {
        headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static("http"));
    }
}

/// A listener that terminated TLS itself knows the scheme: whatever the
/// client wrote is replaced, as Envoy replaces it at the edge.
pub fn set_forwarded_proto_https(headers: &mut HeaderMap) {
    headers.insert(X_FORWARDED_PROTO.clone(), HeaderValue::from_static("https"));
}

pub fn ensure_request_id(headers: &mut HeaderMap) {
    if !headers.contains_key(&X_REQUEST_ID) {
        headers.insert(X_REQUEST_ID.clone(), new_request_id());
    }
}

/// HTTP/2 carries the host in `:authority`; an HTTP/1.1 upstream needs it
/// as `Host`, or it would see the endpoint's address instead.
pub fn ensure_host(headers: &mut HeaderMap, authority: Option<&http::uri::Authority>) {
    if headers.contains_key(HOST) {
        return;
    }
    if let Some(value) = authority.and_then(|a| HeaderValue::from_str(a.as_str()).ok()) {
        headers.insert(HOST, value);
    }
}

thread_local! {
    static RNG: Cell<u64> = Cell::new(seed());
}

fn seed() -> u64 {
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    let local = 0u8;
    (time ^ (&local as *const u8 as u64).rotate_left(32)) | 1
}

/// xorshift64*: request ids need to be unique, not unpredictable.
fn next_random() -> u64 {
    RNG.with(|state| {
        let mut x = state.get();
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        state.set(x);
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    })
}

/// A UUID-v4-shaped id, as Envoy generates: 16 random bytes, version and
/// variant bits set, written two hex digits a byte.
fn new_request_id() -> HeaderValue {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = [0u8; 16];
    bytes[..8].copy_from_slice(&next_random().to_be_bytes());
    bytes[8..].copy_from_slice(&next_random().to_be_bytes());
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let mut out = [b'-'; 36];
    let mut at = 0;
    for (i, byte) in bytes.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            at += 1;
        }
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0xf)];
        at += 2;
    }
    HeaderValue::from_bytes(&out).unwrap_or_else(|_| HeaderValue::from_static("0"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connection_named_headers_are_removed() {
        let mut headers = HeaderMap::new();
        headers.insert(CONNECTION, HeaderValue::from_static("close, x-secret"));
        headers.insert("x-secret", HeaderValue::from_static("1"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        headers.insert(TE, HeaderValue::from_static("trailers"));
        strip_hop_by_hop(&mut headers, false);
        assert!(!headers.contains_key("x-secret"));
        assert!(!headers.contains_key(CONNECTION));
        assert!(!headers.contains_key(TE));
        assert!(headers.contains_key("x-kept"));
    }

    #[test]
    fn every_connection_field_and_listed_name_goes() {
        let mut headers = HeaderMap::new();
        headers.append(CONNECTION, HeaderValue::from_static("keep-alive, x-a"));
        headers.append(CONNECTION, HeaderValue::from_static(" X-B ,"));
        headers.insert("x-a", HeaderValue::from_static("1"));
        headers.insert("x-b", HeaderValue::from_static("1"));
        headers.insert("keep-alive", HeaderValue::from_static("timeout=5"));
        headers.insert("proxy-connection", HeaderValue::from_static("close"));
        headers.insert(UPGRADE, HeaderValue::from_static("h2c"));
        headers.insert("x-kept", HeaderValue::from_static("1"));
        strip_hop_by_hop(&mut headers, true);
        let left: Vec<&str> = headers.keys().map(|k| k.as_str()).collect();
        assert_eq!(left, ["x-kept"]);
    }

    #[test]
    fn messages_without_hop_by_hop_fields_are_untouched() {
        let mut headers = HeaderMap::new();
        headers.insert("x-a", HeaderValue::from_static("1"));
        headers.insert(HOST, HeaderValue::from_static("h"));
        let before = headers.clone();
        strip_hop_by_hop(&mut headers, false);
        assert_eq!(headers, before);
    }

    #[test]
    fn the_forwarded_for_value_follows_the_peer() {
        for peer in ["10.1.2.3", "::1", "10.1.2.3", "192.168.0.1"] {
            let mut headers = HeaderMap::new();
            append_forwarded_for(&mut headers, peer.parse().expect("ip"));
            assert_eq!(headers["x-forwarded-for"], peer);
        }
    }

    #[test]
    fn te_trailers_is_kept_for_h2() {
        let mut headers = HeaderMap::new();
        headers.insert(TE, HeaderValue::from_static("trailers"));
        strip_hop_by_hop(&mut headers, true);
        assert_eq!(headers[TE], "trailers");
    }

    #[test]
    fn forwarded_for_is_appended() {
        let mut headers = HeaderMap::new();
        headers.insert("x-forwarded-for", HeaderValue::from_static("10.0.0.1"));
        append_forwarded_for(&mut headers, "127.0.0.1".parse().expect("ip"));
        assert_eq!(headers["x-forwarded-for"], "10.0.0.1, 127.0.0.1");
    }

    #[test]
    fn request_ids_are_uuid_shaped_and_distinct() {
        let a = new_request_id();
        let b = new_request_id();
        assert_ne!(a, b);
        let text = a.to_str().expect("ascii");
        assert_eq!(text.len(), 36);
        for (i, c) in text.bytes().enumerate() {
            match i {
                8 | 13 | 18 | 23 => assert_eq!(c, b'-', "{text}"),
                14 => assert_eq!(c, b'4', "{text}"),
                19 => assert!(b"89ab".contains(&c), "{text}"),
                _ => assert!(c.is_ascii_hexdigit() && !c.is_ascii_uppercase(), "{text}"),
            }
        }
    }
}

//! Protocol detection from the first bytes a client sends.
//!
//! Each probe answers `Yes`, `No`, or `Maybe` (a valid prefix: wait for more
//! bytes). Probes run in a fixed order, exact magic before heuristics, and
//! the first probe that does not say `No` decides. A probe's answer on a
//! prefix is never contradicted by more bytes (`No` stays `No`, `Yes` looks
//! at a fixed prefix), so a verdict never flips once given; the runtime
//! bounds how long it waits on `NeedMore`.
//!
//! Only client-first protocols are detected: for server-first protocols the
//! client says nothing, and the runtime's timeout fallback handles them.

use crate::event::{Direction, Protocol};
use crate::http1::{is_tchar, MAX_HEAD_BYTES};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detection {
    Protocol(Protocol),
    NeedMore,
    Unknown,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    Yes,
    No,
    Maybe,
}

type ProbeFn = fn(&[u8]) -> Probe;

/// HTTP/2 connection preface (RFC 9113 §3.4).
pub const HTTP2_PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// Classifies a connection by the first bytes seen in `dir`.
pub fn detect(dir: Direction, first: &[u8]) -> Detection {
    if dir == Direction::ServerToClient {
        return Detection::Unknown;
    }
    let probes: [(ProbeFn, Protocol); 4] = [
        (http2, Protocol::Http2),
        (tls, Protocol::Tls),
        (mongodb, Protocol::Mongodb),
        (http1, Protocol::Http1),
    ];
    for (probe, protocol) in probes {
        match probe(first) {
            Probe::No => {}
            Probe::Maybe => return Detection::NeedMore,
            Probe::Yes => return Detection::Protocol(protocol),
        }
    }
    Detection::Unknown
}

/// `Yes` once `first` holds all of `magic`, `Maybe` while it is a prefix.
fn exact(magic: &[u8], first: &[u8]) -> Probe {
    if first.starts_with(magic) {
        Probe::Yes
    } else if magic.starts_with(first) {
        Probe::Maybe
    } else {
        Probe::No
    }
}

fn http2(first: &[u8]) -> Probe {
    exact(HTTP2_PREFACE, first)
}

/// Byte `i` satisfies `ok`, or has not arrived yet.
fn byte_ok(b: &[u8], i: usize, ok: impl Fn(u8) -> bool) -> bool {
    b.get(i).is_none_or(|&x| ok(x))
}

/// Largest TLS record a ClientHello may come in (2^14 plaintext plus the
/// expansion RFC 8446 §5.2 allows); anything bigger is not TLS.
const MAX_TLS_RECORD: u16 = (1 << 14) + 2048;

/// Handshake record (0x16), legacy version 3.0–3.4, a plausible record
/// length, handshake type 1 (ClientHello).
fn tls(b: &[u8]) -> Probe {
    let shape = byte_ok(b, 0, |x| x == 0x16)
        && byte_ok(b, 1, |x| x == 0x03)
        && byte_ok(b, 2, |x| x <= 0x04)
        && byte_ok(b, 3, |x| u16::from(x) <= MAX_TLS_RECORD >> 8)
        && byte_ok(b, 5, |x| x == 0x01);
    let length_ok = match (b.get(3), b.get(4)) {
        (Some(&hi), Some(&lo)) => (4..=MAX_TLS_RECORD).contains(&u16::from_be_bytes([hi, lo])),
        _ => true,
    };
    match (shape && length_ok, b.len() >= 6) {
        (false, _) => Probe::No,
        (true, true) => Probe::Yes,
        (true, false) => Probe::Maybe,
    }
}

/// mongod's own limit on a message (maxMessageSizeBytes).
const MAX_MONGO_MESSAGE: u32 = 48_000_000;

/// OP_REPLY, the legacy 2001–2007 range (OP_QUERY is 2004), OP_COMPRESSED
/// and OP_MSG.
const MONGO_OPCODES: [u32; 10] = [1, 2001, 2002, 2003, 2004, 2005, 2006, 2007, 2012, 2013];

/// The 16-byte standard message header: little-endian messageLength,
/// requestID, responseTo (0 for a client's first message), opCode.
fn mongodb(b: &[u8]) -> Probe {
    let length_ok = match b.get(..4) {
        Some(&[a, b1, c, d]) => {
            (16..=MAX_MONGO_MESSAGE).contains(&u32::from_le_bytes([a, b1, c, d]))
        }
        _ => byte_ok(b, 3, |x| u32::from(x) <= MAX_MONGO_MESSAGE >> 24),
    };
    let response_to_zero = b.iter().skip(8).take(4).all(|&x| x == 0);
    let op_seen = b.get(12..).unwrap_or_default();
    let op_seen = op_seen.get(..4).unwrap_or(op_seen);
    let op_ok = MONGO_OPCODES
        .iter()
        .any(|op| op.to_le_bytes().starts_with(op_seen));
    match (length_ok && response_to_zero && op_ok, b.len() >= 16) {
        (false, _) => Probe::No,
        (true, true) => Probe::Yes,
        (true, false) => Probe::Maybe,
    }
}

/// Longest method token taken for HTTP: real ones (including WebDAV's
/// `VERSION-CONTROL`) are far shorter; longer runs of letters are text.
const MAX_METHOD: usize = 24;

/// A request line up to its version: `token SP target SP "HTTP/1."`. A known
/// method is just a token that happens to be listed, so one rule covers both.
fn http1(b: &[u8]) -> Probe {
    let method = b.iter().take_while(|&&c| is_tchar(c)).count();
    if method > MAX_METHOD {
        return Probe::No;
    }
    let Some(after_method) = b.get(method..).filter(|r| !r.is_empty()) else {
        return Probe::Maybe;
    };
    if method == 0 || after_method.first() != Some(&b' ') {
        return Probe::No;
    }
    let rest = after_method.get(1..).unwrap_or_default();
    let target = rest.iter().take_while(|&&c| c > b' ' && c != 0x7f).count();
    if target > MAX_HEAD_BYTES {
        return Probe::No;
    }
    match rest.get(target..).filter(|r| !r.is_empty()) {
        None => Probe::Maybe,
        Some(_) if target == 0 => Probe::No,
        Some(version) => exact(b" HTTP/1.", version),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Direction = Direction::ClientToServer;
    const S: Direction = Direction::ServerToClient;

    /// Every prefix is `NeedMore` or the right answer, the right answer
    /// once given stays, and the whole sample gets it.
    fn assert_detects(sample: &[u8], want: Protocol) {
        let mut decided = false;
        for len in 0..=sample.len() {
            match detect(C, &sample[..len]) {
                Detection::NeedMore => assert!(!decided, "{want:?}: back to NeedMore at {len}"),
                Detection::Protocol(p) if p == want => decided = true,
                other => panic!("{want:?}: prefix of {len} bytes gave {other:?}"),
            }
        }
        assert!(decided, "{want:?} never decided");
        assert_eq!(
            detect(S, sample),
            Detection::Unknown,
            "server bytes are not probed"
        );
    }

    #[test]
    fn http2_preface() {
        let mut sample = HTTP2_PREFACE.to_vec();
        // Followed by an empty SETTINGS frame.
        sample.extend_from_slice(&[0, 0, 0, 4, 0, 0, 0, 0, 0]);
        assert_detects(&sample, Protocol::Http2);
        assert_eq!(detect(C, b"PRI * HTTP/2.0\r\n"), Detection::NeedMore);
    }

    #[test]
    fn tls_client_hello() {
        let hello = [
            0x16, // handshake record
            0x03, 0x01, // legacy record version TLS 1.0
            0x02, 0x00, // record length 512
            0x01, // ClientHello
            0x00, 0x01, 0xfc, // handshake length
            0x03, 0x03, // client version TLS 1.2
        ];
        assert_detects(&hello, Protocol::Tls);
        // A ServerHello (type 2) or an alert record (0x15) is not a client start.
        // (Probed alone: 6 bytes could still be the start of a MongoDB header.)
        assert_eq!(tls(&[0x16, 0x03, 0x03, 0x00, 0x40, 0x02]), Probe::No);
        assert_eq!(tls(&[0x15, 0x03, 0x03, 0x00, 0x02, 0x02, 0x28]), Probe::No);
        // Record length 0 or above 2^14+2048; version 3.5.
        assert_eq!(tls(&[0x16, 0x03, 0x01, 0x00, 0x00, 0x01]), Probe::No);
        assert_eq!(tls(&[0x16, 0x03, 0x01, 0x48, 0x01, 0x01]), Probe::No);
        assert_eq!(tls(&[0x16, 0x03, 0x05]), Probe::No);
        assert_eq!(tls(&[0x16, 0x03, 0x01, 0x02]), Probe::Maybe);
    }

    fn mongo_header(length: u32, response_to: u32, op: u32) -> Vec<u8> {
        [length, 7, response_to, op]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect()
    }

    #[test]
    fn mongodb_headers() {
        for op in MONGO_OPCODES {
            let mut msg = mongo_header(91, 0, op);
            msg.extend_from_slice(&[0, 0, 0, 0, 0]); // flagBits, section kind
            assert_detects(&msg, Protocol::Mongodb);
        }
        // A reply to something (responseTo != 0), an unknown opcode, absurd lengths.
        assert_eq!(detect(C, &mongo_header(91, 5, 2013)), Detection::Unknown);
        assert_eq!(detect(C, &mongo_header(91, 0, 2000)), Detection::Unknown);
        assert_eq!(detect(C, &mongo_header(15, 0, 2013)), Detection::Unknown);
        assert_eq!(
            detect(C, &mongo_header(48_000_001, 0, 2013)),
            Detection::Unknown
        );
    }

    #[test]
    fn http1_request_lines() {
        for sample in [
            &b"GET / HTTP/1.1\r\nHost: example.com\r\n\r\n"[..],
            b"POST /api?x=1 HTTP/1.0\r\n",
            b"CONNECT example.com:443 HTTP/1.1\r\n",
            b"OPTIONS * HTTP/1.1\r\n",
            b"PROPFIND /dav/ HTTP/1.1\r\n",
            // Shares "PRI " with the HTTP/2 preface, then leaves it.
            b"PRI /x HTTP/1.1\r\n",
        ] {
            assert_detects(sample, Protocol::Http1);
        }
    }

    #[test]
    fn garbage_is_unknown() {
        for garbage in [
            &b"SSH-2.0-OpenSSH_9.6\r\n"[..],
            b"*1\r\n$4\r\nPING\r\n",               // Redis
            &[0, 0, 0, 8, 0x04, 0xd2, 0x16, 0x2f], // Postgres SSLRequest
            b"hello world\n",
            b"GET / HTTP/2.0\r\n",
            b"GET  / HTTP/1.1\r\n",
            b"\r\nGET / HTTP/1.1\r\n",
            b"AVERYLONGTOKENTHATISNOTAMETHOD / HTTP/1.1\r\n",
            &[0xff; 32],
        ] {
            assert_eq!(detect(C, garbage), Detection::Unknown, "{garbage:?}");
        }
        assert_eq!(detect(C, b""), Detection::NeedMore);
    }

    #[test]
    fn pseudo_random_inputs_never_flip() {
        let mut rng = crate::fuzzing::Rng::new(3);
        for _ in 0..2000 {
            let len = rng.below(40);
            let bytes: Vec<u8> = (0..len).map(|_| rng.below(256) as u8).collect();
            crate::fuzzing::detect_input(&bytes);
        }
    }
}

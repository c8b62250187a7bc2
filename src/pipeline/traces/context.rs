//! W3C trace context (`traceparent`) and the ids of one Periscope span.
//!
//! Parsing is strict (version `00` layout, lowercase hex, non-zero ids) so a
//! malformed or hostile header starts a new trace instead of being carried
//! on; formatting writes into a fixed buffer, no allocation.
use opentelemetry::trace::{SpanId, TraceId};
use opentelemetry_sdk::trace::{IdGenerator, RandomIdGenerator};

/// The ids of the span Periscope records for one exchange.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SpanIds {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    /// The caller's span, from an incoming `traceparent`.
    pub parent: Option<SpanId>,
    /// Exported only when sampled; the flag travels upstream either way.
    pub sampled: bool,
}

/// An incoming `traceparent`: the remote parent of Periscope's span.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Parent {
    pub trace_id: TraceId,
    pub span_id: SpanId,
    pub sampled: bool,
}

impl SpanIds {
    /// A new span: child of `parent` (keeping its trace and sampled flag),
    /// or the root of a new trace sampled at `ratio`.
    pub fn start(parent: Option<Parent>, ratio: f64) -> SpanIds {
        let ids = RandomIdGenerator::default();
        match parent {
            Some(parent) => SpanIds {
                trace_id: parent.trace_id,
                span_id: ids.new_span_id(),
                parent: Some(parent.span_id),
                sampled: parent.sampled,
            },
            None => {
                let trace_id = ids.new_trace_id();
                SpanIds {
                    trace_id,
                    span_id: ids.new_span_id(),
                    parent: None,
                    sampled: sampled_by_ratio(trace_id, ratio),
                }
            }
        }
    }

    /// `00-<trace id>-<span id>-<flags>`, 55 bytes.
    pub fn traceparent(&self) -> [u8; 55] {
        let mut out = [b'-'; 55];
        out[0] = b'0';
        out[1] = b'0';
        hex_into(&mut out[3..35], &self.trace_id.to_bytes());
        hex_into(&mut out[36..52], &self.span_id.to_bytes());
        out[53] = b'0';
        out[54] = if self.sampled { b'1' } else { b'0' };
        out
    }
}

/// The same decision as OpenTelemetry's `TraceIdRatioBased`: the low 63
/// bits of the trace id against the ratio, so every service sampling by
/// ratio agrees on a trace.
pub fn sampled_by_ratio(trace_id: TraceId, ratio: f64) -> bool {
    if ratio >= 1.0 {
        return true;
    }
    if ratio <= 0.0 {
        return false;
    }
    let bytes = trace_id.to_bytes();
    let mut low = [0u8; 8];
    low.copy_from_slice(&bytes[8..]);
    let x = u64::from_be_bytes(low) >> 1;
    x < (ratio * (1u64 << 63) as f64) as u64
}

/// Parses a `traceparent` header value; `None` for anything malformed.
pub fn parse_traceparent(value: &[u8]) -> Option<Parent> {
    // Version 00 is exactly 55 bytes; later versions may append fields
    // after another dash, which we ignore (W3C §3.2.4).
    let (head, rest) = value.split_at_checked(55)?;
    if !(rest.is_empty() || rest.first() == Some(&b'-')) {
        return None;
    }
    let [v0, v1, b'-', ..] = head else {
        return None;
    };
    let version = hex_byte(*v0, *v1)?;
    if version == 0xff || (version == 0 && !rest.is_empty()) {
        return None;
    }
    if head.get(35) != Some(&b'-') || head.get(52) != Some(&b'-') {
        return None;
    }
    let trace_id = TraceId::from_bytes(hex_array::<16>(head.get(3..35)?)?);
    let span_id = SpanId::from_bytes(hex_array::<8>(head.get(36..52)?)?);
    let flags = hex_byte(*head.get(53)?, *head.get(54)?)?;
    if trace_id == TraceId::INVALID || span_id == SpanId::INVALID {
        return None;
    }
    Some(Parent {
        trace_id,
        span_id,
        sampled: flags & 1 == 1,
    })
}

fn hex_array<const N: usize>(text: &[u8]) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    if text.len() != 2 * N {
        return None;
    }
    for (byte, pair) in out.iter_mut().zip(text.chunks_exact(2)) {
        *byte = hex_byte(pair[0], pair[1])?;
    }
    Some(out)
}

fn hex_byte(hi: u8, lo: u8) -> Option<u8> {
    Some(nibble(hi)? << 4 | nibble(lo)?)
}

/// Lowercase only, as the W3C grammar requires.
fn nibble(c: u8) -> Option<u8> {
    match c {
        b'0'..=b'9' => Some(c - b'0'),
        b'a'..=b'f' => Some(c - b'a' + 10),
        _ => None,
    }
}

fn hex_into(out: &mut [u8], bytes: &[u8]) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (pair, byte) in out.chunks_exact_mut(2).zip(bytes) {
        pair[0] = HEX[usize::from(byte >> 4)];
        pair[1] = HEX[usize::from(byte & 0xf)];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEADER: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn parses_and_continues_an_incoming_traceparent() {
        let parent = parse_traceparent(HEADER.as_bytes()).expect("valid");
        assert_eq!(
            format!("{:032x}", parent.trace_id),
            "4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert!(parent.sampled);
        let ids = SpanIds::start(Some(parent), 0.0);
        assert_eq!(ids.trace_id, parent.trace_id);
        assert_eq!(ids.parent, Some(parent.span_id));
        assert!(ids.sampled, "a sampled parent wins over the ratio");
        let out = ids.traceparent();
        let text = std::str::from_utf8(&out).expect("ascii");
        assert!(text.starts_with("00-4bf92f3577b34da6a3ce929d0e0e4736-"));
        assert!(text.ends_with("-01"));
        assert_eq!(
            parse_traceparent(&out).map(|p| p.span_id),
            Some(ids.span_id)
        );
    }

    #[test]
    fn rejects_malformed_headers() {
        for bad in [
            "",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7",
            "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-extra",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(parse_traceparent(bad.as_bytes()), None, "{bad:?}");
        }
        let future = "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00-what";
        assert!(parse_traceparent(future.as_bytes()).is_some_and(|p| !p.sampled));
    }

    #[test]
    fn ratio_sampling_is_all_or_nothing_at_the_ends() {
        for _ in 0..100 {
            assert!(SpanIds::start(None, 1.0).sampled);
            assert!(!SpanIds::start(None, 0.0).sampled);
        }
        let kept = (0..10_000)
            .filter(|_| SpanIds::start(None, 0.25).sampled)
            .count();
        assert!((2_000..3_000).contains(&kept), "{kept}");
    }
}

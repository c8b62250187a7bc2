//! Skips message bodies without holding them: only counts bytes and tracks
//! where the body ends (RFC 9112 §6.3, §7.1). A caller that wants the
//! payload (the DynamoDB refiner's bounded prefix) passes an observer to
//! [`Body::feed_observed`] and is handed each de-chunked data slice in place;
//! nothing is copied here.

use super::head::MAX_HEAD;
use super::line::LineBuf;
use super::wire::{self, HeaderLine};
use crate::ErrorReason;

/// Longest chunk-size line (size plus extensions). Extensions carry nothing
/// we report, and servers cap them far lower; the cap keeps a hostile sender
/// from parking bytes in our line buffer.
pub const MAX_CHUNK_LINE: usize = 4 * 1024;

/// How the current body ends.
#[derive(Debug)]
pub enum Body {
    /// `Content-Length`: this many bytes are still to come.
    Fixed(u64),
    Chunked(Chunked),
    /// No length given: the body runs until the sender closes.
    UntilClose,
}

/// What one call to [`Body::feed`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    /// Input bytes taken (including a partial line now buffered).
    pub consumed: usize,
    /// Body bytes to add to the message's count. A line is counted when it
    /// completes, not while buffered, so the total after an error is the
    /// same however the input was split.
    pub counted: u64,
    pub done: bool,
}

/// The body broke the protocol; `counted` is what was good before that.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failed {
    pub counted: u64,
    pub reason: ErrorReason,
}

impl Body {
    pub fn chunked() -> Body {
        Body::Chunked(Chunked::default())
    }

    pub fn buffered(&self) -> usize {
        match self {
            Body::Chunked(c) => c.line.buffered(),
            _ => 0,
        }
    }

    #[cfg(test)]
    pub fn feed(&mut self, input: &[u8]) -> Result<Step, Failed> {
        self.feed_observed(input, &mut |_| {})
    }

    /// As `feed`, handing every payload slice (chunk framing removed) to
    /// `on_data` as it is passed over.
    pub fn feed_observed(
        &mut self,
        input: &[u8],
        on_data: &mut dyn FnMut(&[u8]),
    ) -> Result<Step, Failed> {
        match self {
            Body::Fixed(remaining) => {
                let take = clamp(*remaining, input.len());
                *remaining -= take as u64;
                if take > 0 {
                    on_data(&input[..take]);
                }
                Ok(Step {
                    consumed: take,
                    counted: take as u64,
                    done: *remaining == 0,
                })
            }
            Body::Chunked(c) => {
                let mut step = Step {
                    consumed: 0,
                    counted: 0,
                    done: false,
                };
                match c.feed(input, &mut step, on_data) {
                    Ok(()) => Ok(step),
                    Err(reason) => Err(Failed {
                        counted: step.counted,
                        reason,
                    }),
                }
            }
            Body::UntilClose => {
                on_data(input);
                Ok(Step {
                    consumed: input.len(),
                    counted: input.len() as u64,
                    done: false,
                })
            }
        }
    }
}

/// `min(remaining, available)` without a lossy cast either way.
fn clamp(remaining: u64, available: usize) -> usize {
    usize::try_from(remaining).map_or(available, |r| r.min(available))
}

#[derive(Debug, Default)]
enum Phase {
    #[default]
    Size,
    Data(u64),
    /// The CRLF after chunk data; `true` once the CR was seen.
    DataEnd(bool),
    Trailers,
}

/// Chunked transfer coding, one state per piece of framing.
#[derive(Debug, Default)]
pub struct Chunked {
    phase: Phase,
    line: LineBuf,
    trailer_len: usize,
}

impl Chunked {
    /// Advances through `input`, recording progress in `step` as it goes so
    /// that the caller keeps the count even when an error cuts it short.
    fn feed(
        &mut self,
        input: &[u8],
        step: &mut Step,
        on_data: &mut dyn FnMut(&[u8]),
    ) -> Result<(), ErrorReason> {
        while let Some(rest) = input.get(step.consumed..).filter(|r| !r.is_empty()) {
            match self.phase {
                Phase::Size => {
                    let taken = self.line.next_line(
                        rest,
                        MAX_CHUNK_LINE,
                        ErrorReason::HeadTooLarge,
                        |l| {
                            wire::chunk_size_line(l)
                                .map(|(_, size)| size)
                                .map_err(|e| wire::reason_of(&e))
                        },
                    )?;
                    step.consumed += taken.consumed;
                    let Some(size) = taken.line else { break };
                    self.phase = match size? {
                        0 => Phase::Trailers,
                        size => Phase::Data(size),
                    };
                    step.counted += taken.line_len as u64;
                }
                Phase::Data(remaining) => {
                    let take = clamp(remaining, rest.len());
                    on_data(&rest[..take]);
                    step.consumed += take;
                    step.counted += take as u64;
                    let left = remaining - take as u64;
                    self.phase = if left == 0 {
                        Phase::DataEnd(false)
                    } else {
                        Phase::Data(left)
                    };
                }
                Phase::DataEnd(seen_cr) => {
                    step.consumed += 1;
                    self.phase = match rest.first() {
                        Some(b'\r') if !seen_cr => Phase::DataEnd(true),
                        Some(b'\n') => Phase::Size,
                        _ => return Err(ErrorReason::Malformed),
                    };
                    step.counted += 1;
                }
                Phase::Trailers => {
                    let budget = MAX_HEAD - self.trailer_len;
                    let taken =
                        self.line
                            .next_line(rest, budget, ErrorReason::HeadTooLarge, |l| {
                                wire::header_line(l)
                                    .map(|(_, h)| h == HeaderLine::End)
                                    .map_err(|e| wire::reason_of(&e))
                            })?;
                    step.consumed += taken.consumed;
                    let Some(end) = taken.line else { break };
                    let end = end?;
                    self.trailer_len += taken.line_len;
                    step.counted += taken.line_len as u64;
                    if end {
                        *self = Chunked::default();
                        step.done = true;
                        return Ok(());
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Feeds `input` in pieces of `step` bytes; returns bytes used in total
    /// and whether the body ended.
    fn run(body: &mut Body, input: &[u8], step: usize) -> Result<(usize, bool), ErrorReason> {
        let mut used = 0;
        for piece in input.chunks(step) {
            let mut off = 0;
            while off < piece.len() {
                let s = body.feed(&piece[off..]).map_err(|f| f.reason)?;
                off += s.consumed;
                used += s.consumed;
                if s.done {
                    return Ok((used, true));
                }
            }
        }
        Ok((used, false))
    }

    const CHUNKED: &[u8] = b"4;ext=1\r\n\
        Wiki\r\n\
        5\r\n\
        pedia\r\n\
        0\r\n\
        Expires: never\r\n\
        \r\n\
        NEXT";

    #[test]
    fn chunked_ends_after_trailers_at_every_split() {
        for step in 1..=CHUNKED.len() {
            let (used, done) = run(&mut Body::chunked(), CHUNKED, step).unwrap();
            assert!(done, "step {step}");
            assert_eq!(used, CHUNKED.len() - 4, "step {step}: NEXT is not body");
        }
    }

    #[test]
    fn observer_sees_the_payload_without_framing_at_every_split() {
        for step in 1..=CHUNKED.len() {
            let mut body = Body::chunked();
            let mut seen = Vec::new();
            let mut used = 0;
            for piece in CHUNKED.chunks(step) {
                let mut off = 0;
                while off < piece.len() && used < CHUNKED.len() - 4 {
                    let s = body
                        .feed_observed(&piece[off..], &mut |d| seen.extend_from_slice(d))
                        .expect("valid");
                    off += s.consumed;
                    used += s.consumed;
                    if s.done {
                        break;
                    }
                }
            }
            assert_eq!(seen, b"Wikipedia", "step {step}");
        }
        let mut seen = Vec::new();
        let mut fixed = Body::Fixed(3);
        let s = fixed
            .feed_observed(b"abcdef", &mut |d| seen.extend_from_slice(d))
            .expect("valid");
        assert_eq!((s.consumed, seen.as_slice()), (3, &b"abc"[..]));
    }

    #[test]
    fn chunked_with_bare_lf_and_no_trailers() {
        let input = b"3\nabc\n0\n\n";
        assert_eq!(run(&mut Body::chunked(), input, 1), Ok((input.len(), true)));
    }

    fn step(consumed: usize, done: bool) -> Result<Step, Failed> {
        Ok(Step {
            consumed,
            counted: consumed as u64,
            done,
        })
    }

    #[test]
    fn fixed_counts_and_stops() {
        let mut body = Body::Fixed(3);
        assert_eq!(body.feed(b"ab"), step(2, false));
        assert_eq!(body.feed(b"cdef"), step(1, true));
        let mut huge = Body::Fixed(u64::MAX);
        assert_eq!(huge.feed(b"xyz"), step(3, false));
    }

    /// What was counted before an error must not depend on how the input
    /// was cut: a line is counted when it completes, never half.
    #[test]
    fn count_before_an_error_is_split_invariant() {
        let input = b"3\r\nabc\r\nzz;bad\r\n";
        for cut in 1..input.len() {
            let mut body = Body::chunked();
            let mut counted = 0;
            let mut failed = None;
            for piece in input.chunks(cut) {
                match body.feed(piece) {
                    Ok(s) => counted += s.counted,
                    Err(f) => {
                        counted += f.counted;
                        failed = Some(f.reason);
                        break;
                    }
                }
            }
            assert_eq!(
                (counted, failed),
                (8, Some(ErrorReason::Malformed)),
                "cut {cut}"
            );
        }
    }

    #[test]
    fn chunked_errors() {
        let hostile = b"ffffffffffffffffff\r\n";
        assert_eq!(
            run(&mut Body::chunked(), hostile, 1),
            Err(ErrorReason::LengthTooLarge)
        );
        // Data longer than announced: no CRLF where one must be.
        assert_eq!(
            run(&mut Body::chunked(), b"2\r\nabc\r\n", 3),
            Err(ErrorReason::Malformed)
        );
        assert_eq!(
            run(&mut Body::chunked(), b"zz\r\n", 4),
            Err(ErrorReason::Malformed)
        );
        let long_ext = [b"1;".as_slice(), &[b'x'; MAX_CHUNK_LINE]].concat();
        assert_eq!(
            run(&mut Body::chunked(), &long_ext, 100),
            Err(ErrorReason::HeadTooLarge)
        );
        assert_eq!(
            run(&mut Body::chunked(), b"0\r\nbad trailer\r\n\r\n", 5),
            Err(ErrorReason::Malformed)
        );
    }

    #[test]
    fn huge_chunk_is_skipped_not_held() {
        let mut body = Body::chunked();
        assert_eq!(body.feed(b"ffffffffffffffff\r\n"), step(18, false));
        assert_eq!(body.feed(&[0u8; 1000]), step(1000, false));
        assert_eq!(body.buffered(), 0);
    }
}

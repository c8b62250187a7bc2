//! Skips message bodies without holding them: only counts bytes and tracks
//! where the body ends (RFC 9112 §6.3, §7.1).

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
    pub consumed: usize,
    pub done: bool,
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

    pub fn feed(&mut self, input: &[u8]) -> Result<Step, ErrorReason> {
        match self {
            Body::Fixed(remaining) => {
                let take = clamp(*remaining, input.len());
                *remaining -= take as u64;
                Ok(Step {
                    consumed: take,
                    done: *remaining == 0,
                })
            }
            Body::Chunked(c) => c.feed(input),
            Body::UntilClose => Ok(Step {
                consumed: input.len(),
                done: false,
            }),
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
    fn feed(&mut self, input: &[u8]) -> Result<Step, ErrorReason> {
        let mut used = 0;
        while let Some(rest) = input.get(used..).filter(|r| !r.is_empty()) {
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
                    used += taken.consumed;
                    match taken.line {
                        None => break,
                        Some(Ok(0)) => self.phase = Phase::Trailers,
                        Some(Ok(size)) => self.phase = Phase::Data(size),
                        Some(Err(reason)) => return Err(reason),
                    }
                }
                Phase::Data(remaining) => {
                    let take = clamp(remaining, rest.len());
                    used += take;
                    let left = remaining - take as u64;
                    self.phase = if left == 0 {
                        Phase::DataEnd(false)
                    } else {
                        Phase::Data(left)
                    };
                }
                Phase::DataEnd(seen_cr) => {
                    used += 1;
                    self.phase = match rest.first() {
                        Some(b'\r') if !seen_cr => Phase::DataEnd(true),
                        Some(b'\n') => Phase::Size,
                        _ => return Err(ErrorReason::Malformed),
                    };
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
                    used += taken.consumed;
                    self.trailer_len += taken.line_len;
                    match taken.line {
                        None => break,
                        Some(Ok(true)) => {
                            *self = Chunked::default();
                            return Ok(Step {
                                consumed: used,
                                done: true,
                            });
                        }
                        Some(Ok(false)) => {}
                        Some(Err(reason)) => return Err(reason),
                    }
                }
            }
        }
        Ok(Step {
            consumed: used,
            done: false,
        })
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
                let s = body.feed(&piece[off..])?;
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
    fn chunked_with_bare_lf_and_no_trailers() {
        let input = b"3\nabc\n0\n\n";
        assert_eq!(run(&mut Body::chunked(), input, 1), Ok((input.len(), true)));
    }

    #[test]
    fn fixed_counts_and_stops() {
        let mut body = Body::Fixed(3);
        assert_eq!(
            body.feed(b"ab"),
            Ok(Step {
                consumed: 2,
                done: false
            })
        );
        assert_eq!(
            body.feed(b"cdef"),
            Ok(Step {
                consumed: 1,
                done: true
            })
        );
        let mut huge = Body::Fixed(u64::MAX);
        assert_eq!(
            huge.feed(b"xyz"),
            Ok(Step {
                consumed: 3,
                done: false
            })
        );
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
        assert_eq!(body.feed(b"ffffffffffffffff\r\n").unwrap().consumed, 18);
        assert_eq!(
            body.feed(&[0u8; 1000]),
            Ok(Step {
                consumed: 1000,
                done: false
            })
        );
        assert_eq!(body.buffered(), 0);
    }
}

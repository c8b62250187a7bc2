//! Cuts one direction's byte stream into messages.
//!
//! The 16-byte header is collected first and checked (length bounds,
//! opcode) before any body byte is buffered. A message up to the buffering
//! cap is then collected whole — or, when a feed already holds all of it,
//! handed out straight from the feed without a copy. A longer one (still
//! within MongoDB's 48 MB) is counted and skipped: the next header follows
//! it, so parsing resynchronises there.

use super::wire::{self, Header, HEADER_LEN};
use crate::event::Timestamp;
use crate::ErrorReason;

/// Buffers above this are released once their message is done, so one big
/// message does not pin its memory for the life of the connection.
const KEEP_CAPACITY: usize = 1 << 20;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    Header,
    Body { need: usize },
    Skip { remaining: usize },
}

/// Where a finished message's body is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// The last `n` bytes of what this step consumed from the feed.
    Input(usize),
    /// [`Framer::buffered`].
    Buffer,
    /// Too large: skipped, not kept.
    Skipped,
}

/// A message whose last byte this step consumed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Frame {
    pub header: Header,
    pub source: Source,
    /// Timestamp of the feed that carried the message's first byte.
    pub started: Timestamp,
}

#[derive(Debug)]
pub struct Framer {
    phase: Phase,
    head: [u8; HEADER_LEN],
    head_len: usize,
    header: Option<Header>,
    buf: Vec<u8>,
    started: Timestamp,
}

impl Default for Framer {
    fn default() -> Self {
        Framer {
            phase: Phase::Header,
            head: [0; HEADER_LEN],
            head_len: 0,
            header: None,
            buf: Vec::new(),
            started: Timestamp::default(),
        }
    }
}

impl Framer {
    /// Consumes from `input` up to the end of the next message. Returns the
    /// bytes consumed and the message if one ended.
    pub fn step(
        &mut self,
        input: &[u8],
        at: Timestamp,
        max_message: usize,
    ) -> Result<(usize, Option<Frame>), ErrorReason> {
        let mut used = 0;
        if self.phase == Phase::Header {
            if self.head_len == 0 && !input.is_empty() {
                self.started = at;
            }
            let want = HEADER_LEN - self.head_len;
            let n = want.min(input.len());
            let (dst, src) = (
                self.head.get_mut(self.head_len..self.head_len + n),
                input.get(..n),
            );
            if let (Some(dst), Some(src)) = (dst, src) {
                dst.copy_from_slice(src);
            }
            self.head_len += n;
            used += n;
            if self.head_len < HEADER_LEN {
                return Ok((used, None));
            }
            let header = wire::header(&self.head)?;
            self.header = Some(header);
            let body = header.length - HEADER_LEN;
            self.phase = if header.length <= max_message {
                if self.buf.capacity() > KEEP_CAPACITY {
                    self.buf = Vec::new();
                }
                self.buf.clear();
                Phase::Body { need: body }
            } else {
                Phase::Skip { remaining: body }
            };
        }
        let rest = input.get(used..).unwrap_or_default();
        let Some(header) = self.header else {
            return Err(ErrorReason::Malformed);
        };
        match self.phase {
            Phase::Header => Ok((used, None)),
            Phase::Body { need } => {
                if self.buf.is_empty() && rest.len() >= need {
                    // Whole body in this feed: no copy.
                    return Ok((used + need, Some(self.finish(header, Source::Input(need)))));
                }
                let n = (need - self.buf.len()).min(rest.len());
                self.buf
                    .extend_from_slice(rest.get(..n).unwrap_or_default());
                used += n;
                if self.buf.len() == need {
                    Ok((used, Some(self.finish(header, Source::Buffer))))
                } else {
                    Ok((used, None))
                }
            }
            Phase::Skip { remaining } => {
                let n = remaining.min(rest.len());
                used += n;
                if n == remaining {
                    Ok((used, Some(self.finish(header, Source::Skipped))))
                } else {
                    self.phase = Phase::Skip {
                        remaining: remaining - n,
                    };
                    Ok((used, None))
                }
            }
        }
    }

    fn finish(&mut self, header: Header, source: Source) -> Frame {
        self.phase = Phase::Header;
        self.head_len = 0;
        self.header = None;
        Frame {
            header,
            source,
            started: self.started,
        }
    }

    /// The body collected for the last [`Source::Buffer`] frame.
    pub fn buffered(&self) -> &[u8] {
        &self.buf
    }

    /// Bytes held: a partial header plus a partial (or just finished) body.
    pub fn held(&self) -> usize {
        self.head_len + self.buf.len()
    }
}

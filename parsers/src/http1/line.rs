//! Gathers one line at a time out of arbitrarily split input.
//!
//! This is the only place HTTP/1 bytes are buffered: the partial line at the
//! end of a feed. `memchr` finds the `\n`; a line that is whole inside the
//! feed is handed out as a borrowed slice with no copy, and only a line cut
//! by a feed boundary is copied. The caller's byte budget is checked *before*
//! anything is appended, so a hostile peer cannot grow the buffer past it.

use crate::ErrorReason;

/// Past this capacity the buffer is dropped once its line is used, so that
/// one huge head does not pin 64 KiB per idle connection.
const KEEP_CAPACITY: usize = 4 * 1024;

#[derive(Debug, Default)]
pub struct LineBuf {
    partial: Vec<u8>,
}

/// What one call to [`LineBuf::next_line`] did.
pub struct Taken<R> {
    /// Input bytes used (all of them when no line ended).
    pub consumed: usize,
    /// Length of the completed line, counting what was buffered before.
    pub line_len: usize,
    /// The callback's result when a line was completed.
    pub line: Option<R>,
}

impl LineBuf {
    /// Bytes held right now.
    pub fn buffered(&self) -> usize {
        self.partial.len()
    }

    /// Takes bytes from `input` up to and including the next `\n` and calls
    /// `on_line` with the whole line (`\n` included). A line longer than
    /// `budget` is `over` before it is buffered.
    pub fn next_line<R>(
        &mut self,
        input: &[u8],
        budget: usize,
        over: ErrorReason,
        on_line: impl FnOnce(&[u8]) -> R,
    ) -> Result<Taken<R>, ErrorReason> {
        let held = self.partial.len();
        let Some(nl) = memchr::memchr(b'\n', input) else {
            if held + input.len() > budget {
                return Err(over);
            }
            self.partial.extend_from_slice(input);
            return Ok(Taken {
                consumed: input.len(),
                line_len: 0,
                line: None,
            });
        };
        let consumed = nl + 1;
        let line_len = held + consumed;
        if line_len > budget {
            return Err(over);
        }
        let piece = input.get(..consumed).unwrap_or(input);
        let result = if held == 0 {
            on_line(piece)
        } else {
            self.partial.extend_from_slice(piece);
            let r = on_line(&self.partial);
            self.partial.clear();
            if self.partial.capacity() > KEEP_CAPACITY {
                self.partial = Vec::new();
            }
            r
        };
        Ok(Taken {
            consumed,
            line_len,
            line: Some(result),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn take(
        buf: &mut LineBuf,
        input: &[u8],
        budget: usize,
    ) -> Result<(usize, Option<Vec<u8>>), ErrorReason> {
        buf.next_line(input, budget, ErrorReason::HeadTooLarge, |l| l.to_vec())
            .map(|t| (t.consumed, t.line))
    }

    #[test]
    fn whole_line_in_one_feed_is_not_copied_into_the_buffer() {
        let mut buf = LineBuf::default();
        // "ab\n" then "cd" left for the next call.
        assert_eq!(
            take(&mut buf, b"ab\ncd", 100),
            Ok((3, Some(b"ab\n".to_vec())))
        );
        assert_eq!(buf.buffered(), 0);
    }

    #[test]
    fn line_across_feeds_is_joined() {
        let mut buf = LineBuf::default();
        assert_eq!(take(&mut buf, b"ab", 100), Ok((2, None)));
        assert_eq!(buf.buffered(), 2);
        assert_eq!(
            take(&mut buf, b"c\nz", 100),
            Ok((2, Some(b"abc\n".to_vec())))
        );
        assert_eq!(buf.buffered(), 0);
    }

    #[test]
    fn budget_is_checked_before_buffering() {
        let mut buf = LineBuf::default();
        assert_eq!(take(&mut buf, b"abcd", 3), Err(ErrorReason::HeadTooLarge));
        assert_eq!(buf.buffered(), 0);
        assert_eq!(take(&mut buf, b"ab", 3), Ok((2, None)));
        // "ab" + "c\n" is 4 bytes: over a budget of 3.
        assert_eq!(take(&mut buf, b"c\n", 3), Err(ErrorReason::HeadTooLarge));
    }
}

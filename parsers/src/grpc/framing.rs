//! gRPC length-prefixed messages (PROTOCOL-HTTP2.md, "Length-Prefixed-
//! Message"): a 1-byte compressed flag, a 4-byte big-endian length, then
//! the message. DATA frames cut this stream anywhere, so the counter is a
//! small state machine fed chunk by chunk; message bodies are skipped,
//! never held, and a hostile length only means a long skip.

/// Where the counter is in the message stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// `have` bytes of the 5-byte prefix seen, kept in `prefix`.
    Prefix { have: u8, prefix: [u8; 5] },
    /// Skipping the rest of a message body.
    Body { remaining: u32 },
}

/// Counts gRPC messages in one direction of one call. Cheap (24 bytes,
/// no allocation) and shared by the L4 HTTP/2 parser and the L7 path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MessageCounter {
    phase: Phase,
    messages: u64,
    compressed: u64,
    message_bytes: u64,
}

impl Default for MessageCounter {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageCounter {
    pub const fn new() -> MessageCounter {
        MessageCounter {
            phase: Phase::Prefix {
                have: 0,
                prefix: [0; 5],
            },
            messages: 0,
            compressed: 0,
            message_bytes: 0,
        }
    }

    /// Messages whose prefix was seen (a message counts as soon as its
    /// prefix is complete, even if its body is cut short).
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Messages with the compressed flag set.
    pub fn compressed(&self) -> u64 {
        self.compressed
    }

    /// Sum of the declared message lengths (prefixes excluded).
    pub fn message_bytes(&self) -> u64 {
        self.message_bytes
    }

    /// True between messages: the stream ended cleanly if this holds
    /// when the DATA ends.
    pub fn at_boundary(&self) -> bool {
        matches!(self.phase, Phase::Prefix { have: 0, .. })
    }

    /// Feeds the next bytes of the DATA stream.
    pub fn feed(&mut self, mut data: &[u8]) {
        while !data.is_empty() {
            match &mut self.phase {
                Phase::Body { remaining } => {
                    let take = data.len().min(*remaining as usize);
                    *remaining -= take as u32;
                    data = data.get(take..).unwrap_or_default();
                    if *remaining == 0 {
                        self.phase = Phase::Prefix {
                            have: 0,
                            prefix: [0; 5],
                        };
                    }
                }
                Phase::Prefix { have, prefix } => {
                    let need = 5 - usize::from(*have);
                    let take = need.min(data.len());
                    let (head, rest) = data.split_at(take);
                    if let Some(dst) = prefix.get_mut(usize::from(*have)..usize::from(*have) + take)
                    {
                        dst.copy_from_slice(head);
                    }
                    *have += take as u8;
                    data = rest;
                    if *have == 5 {
                        let [flag, a, b, c, d] = *prefix;
                        let len = u32::from_be_bytes([a, b, c, d]);
                        self.messages += 1;
                        if flag & 1 != 0 {
                            self.compressed += 1;
                        }
                        self.message_bytes = self.message_bytes.saturating_add(u64::from(len));
                        self.phase = if len == 0 {
                            Phase::Prefix {
                                have: 0,
                                prefix: [0; 5],
                            }
                        } else {
                            Phase::Body { remaining: len }
                        };
                    }
                }
            }
        }
    }
}

/// Encodes one message (tests, benches and samples build DATA with it).
pub fn encode_message(compressed: bool, body: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(5 + body.len());
    out.push(u8::from(compressed));
    out.extend_from_slice(&(body.len() as u32).to_be_bytes());
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_messages_across_every_split() {
        let mut stream = encode_message(false, b"hello");
        stream.extend(encode_message(true, &[7; 300]));
        stream.extend(encode_message(false, b""));
        stream.extend(encode_message(false, b"x"));
        for cut in 0..=stream.len() {
            let mut c = MessageCounter::new();
            let (a, b) = stream.split_at(cut);
            c.feed(a);
            c.feed(b);
            assert_eq!(
                (c.messages(), c.compressed(), c.message_bytes()),
                (4, 1, 306)
            );
            assert!(c.at_boundary());
        }
        let mut c = MessageCounter::new();
        for b in &stream {
            c.feed(std::slice::from_ref(b));
        }
        assert_eq!(c.messages(), 4);
    }

    #[test]
    fn hostile_length_is_skipped_not_buffered() {
        let mut c = MessageCounter::new();
        c.feed(&[0, 0xff, 0xff, 0xff, 0xff]);
        c.feed(&[0; 10_000]);
        assert_eq!(c.messages(), 1);
        assert!(!c.at_boundary());
        assert_eq!(c.message_bytes(), u64::from(u32::MAX));
        assert!(std::mem::size_of::<MessageCounter>() <= 40);
    }
}

//! A small, tolerant JSON scanner over a byte prefix.
//!
//! The refiner only ever sees a bounded prefix of a body, so this scanner is
//! built around one idea: stop cleanly. Every method returns
//! [`Stop::EndedEarly`] when the bytes run out before the value does, so the
//! caller keeps whatever it already took and reports the cut; malformed input
//! is [`Stop::Invalid`] with a static reason. Nothing allocates except
//! [`Scanner::string`] decoding a value the caller asked for, and that is
//! bounded by the caller's `max` argument.
//!
//! Nesting is capped at [`MAX_DEPTH`] (recursion depth of [`Scanner::skip_value`]
//! is therefore bounded too) and numbers at [`MAX_NUMBER_LEN`] bytes. Values
//! are skipped in place: counting the members of an array of a million items
//! costs one pass and no memory.
//!
//! Usage: the caller drives objects and arrays itself —
//! [`Scanner::begin_object`] then [`Scanner::next_key`] until `None`, reading
//! or skipping each value; [`Scanner::begin_array`] then
//! [`Scanner::next_element`] until `false`.

/// Deepest nesting accepted; DynamoDB itself allows 32 levels in items.
pub const MAX_DEPTH: u32 = 64;
/// Longest number token accepted.
pub const MAX_NUMBER_LEN: usize = 64;

/// Why a scan stopped before the value ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Stop {
    /// The prefix ended inside a value (truncated body, or a short one).
    EndedEarly,
    /// Nesting deeper than [`MAX_DEPTH`].
    TooDeep,
    /// Not JSON; the reason is a short static label.
    Invalid(&'static str),
}

impl Stop {
    /// Bounded label for metrics (`ended_early`, `too_deep`, or the reason).
    pub fn as_str(&self) -> &'static str {
        match self {
            Stop::EndedEarly => "ended_early",
            Stop::TooDeep => "too_deep",
            Stop::Invalid(reason) => reason,
        }
    }
}

pub type Result<T> = std::result::Result<T, Stop>;

/// The kind of the next value, from its first byte.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Object,
    Array,
    String,
    Number,
    Bool,
    Null,
}

/// A cursor over a JSON prefix.
#[derive(Debug, Clone)]
pub struct Scanner<'a> {
    buf: &'a [u8],
    pos: usize,
    depth: u32,
}

impl<'a> Scanner<'a> {
    pub fn new(buf: &'a [u8]) -> Scanner<'a> {
        Scanner {
            buf,
            pos: 0,
            depth: 0,
        }
    }

    /// Bytes consumed so far.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Current nesting depth.
    pub fn depth(&self) -> u32 {
        self.depth
    }

    fn ws(&mut self) {
        while let Some(&b) = self.buf.get(self.pos) {
            if matches!(b, b' ' | b'\t' | b'\n' | b'\r') {
                self.pos += 1;
            } else {
                break;
            }
        }
    }

    fn peek_byte(&mut self) -> Result<u8> {
        self.ws();
        self.buf.get(self.pos).copied().ok_or(Stop::EndedEarly)
    }

    fn expect(&mut self, byte: u8, reason: &'static str) -> Result<()> {
        if self.peek_byte()? == byte {
            self.pos += 1;
            Ok(())
        } else {
            Err(Stop::Invalid(reason))
        }
    }

    /// Whether only whitespace remains.
    pub fn at_end(&mut self) -> bool {
        self.ws();
        self.pos >= self.buf.len()
    }

    /// The kind of the next value, without consuming it.
    pub fn peek(&mut self) -> Result<Kind> {
        Ok(match self.peek_byte()? {
            b'{' => Kind::Object,
            b'[' => Kind::Array,
            b'"' => Kind::String,
            b'-' | b'0'..=b'9' => Kind::Number,
            b't' | b'f' => Kind::Bool,
            b'n' => Kind::Null,
            _ => return Err(Stop::Invalid("unexpected byte")),
        })
    }

    fn enter(&mut self) -> Result<()> {
        if self.depth >= MAX_DEPTH {
            return Err(Stop::TooDeep);
        }
        self.depth += 1;
        Ok(())
    }

    /// Consumes `{`. Follow with [`Scanner::next_key`] until it says `None`.
    pub fn begin_object(&mut self) -> Result<()> {
        self.expect(b'{', "expected object")?;
        self.enter()
    }

    /// Consumes `[`. Follow with [`Scanner::next_element`] until `false`.
    pub fn begin_array(&mut self) -> Result<()> {
        self.expect(b'[', "expected array")?;
        self.enter()
    }

    /// The next member's raw key (escapes not decoded: DynamoDB's own keys
    /// never need them), leaving the cursor at its value, which the caller
    /// must read or skip. `None` after consuming the closing `}`. `first`
    /// tracks the comma and must start `true` for each object.
    pub fn next_key(&mut self, first: &mut bool) -> Result<Option<&'a [u8]>> {
        if self.peek_byte()? == b'}' {
            self.pos += 1;
            self.depth = self.depth.saturating_sub(1);
            return Ok(None);
        }
        if !*first {
            self.expect(b',', "expected comma")?;
        }
        *first = false;
        let key = self.raw_string()?;
        self.expect(b':', "expected colon")?;
        // A value must follow; surface a cut here rather than later.
        self.peek_byte()?;
        Ok(Some(key))
    }

    /// Whether another element follows (cursor left at it) or the array
    /// ended (`]` consumed).
    pub fn next_element(&mut self, first: &mut bool) -> Result<bool> {
        if self.peek_byte()? == b']' {
            self.pos += 1;
            self.depth = self.depth.saturating_sub(1);
            return Ok(false);
        }
        if !*first {
            self.expect(b',', "expected comma")?;
        }
        *first = false;
        self.peek_byte()?;
        Ok(true)
    }

    /// A string's raw bytes between the quotes (escapes left as written).
    pub fn raw_string(&mut self) -> Result<&'a [u8]> {
        self.expect(b'"', "expected string")?;
        let start = self.pos;
        loop {
            let rest = self.buf.get(self.pos..).unwrap_or_default();
            match memchr::memchr2(b'"', b'\\', rest) {
                None => {
                    self.pos = self.buf.len();
                    return Err(Stop::EndedEarly);
                }
                Some(i) if rest[i] == b'"' => {
                    self.pos += i + 1;
                    return Ok(&self.buf[start..self.pos - 1]);
                }
                Some(i) => {
                    // Backslash: skip it and the byte it escapes.
                    if self.pos + i + 1 >= self.buf.len() {
                        self.pos = self.buf.len();
                        return Err(Stop::EndedEarly);
                    }
                    self.pos += i + 2;
                }
            }
        }
    }

    /// A string decoded (escapes, `\u` pairs; invalid UTF-8 replaced),
    /// keeping at most `max` characters. The whole string is consumed.
    pub fn string(&mut self, max: usize) -> Result<String> {
        let raw = self.raw_string()?;
        Ok(unescape(raw, max))
    }

    /// A number's token, checked for shape.
    pub fn number(&mut self) -> Result<&'a [u8]> {
        self.ws();
        let start = self.pos;
        while let Some(&b) = self.buf.get(self.pos) {
            if matches!(b, b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9') {
                self.pos += 1;
                if self.pos - start > MAX_NUMBER_LEN {
                    return Err(Stop::Invalid("number too long"));
                }
            } else {
                break;
            }
        }
        if self.pos >= self.buf.len() {
            // The digits may go on past the cut.
            return Err(Stop::EndedEarly);
        }
        let token = &self.buf[start..self.pos];
        let ok = !token.is_empty()
            && std::str::from_utf8(token)
                .ok()
                .and_then(|s| s.parse::<f64>().ok())
                .is_some();
        if ok {
            Ok(token)
        } else {
            Err(Stop::Invalid("bad number"))
        }
    }

    /// A number as `f64`.
    pub fn f64(&mut self) -> Result<f64> {
        let token = self.number()?;
        std::str::from_utf8(token)
            .ok()
            .and_then(|s| s.parse::<f64>().ok())
            .ok_or(Stop::Invalid("bad number"))
    }

    /// A number as `u64`, when it is a non-negative integer that fits;
    /// otherwise `None` (the token is consumed either way).
    pub fn u64(&mut self) -> Result<Option<u64>> {
        let token = self.number()?;
        Ok(std::str::from_utf8(token)
            .ok()
            .and_then(|s| s.parse::<u64>().ok()))
    }

    /// `true` / `false`.
    pub fn bool(&mut self) -> Result<bool> {
        if self.peek_byte()? == b't' {
            self.literal(b"true").map(|()| true)
        } else {
            self.literal(b"false").map(|()| false)
        }
    }

    fn literal(&mut self, word: &[u8]) -> Result<()> {
        self.ws();
        let rest = self.buf.get(self.pos..).unwrap_or_default();
        let n = rest.len().min(word.len());
        if rest[..n] != word[..n] {
            return Err(Stop::Invalid("bad literal"));
        }
        if n < word.len() {
            self.pos = self.buf.len();
            return Err(Stop::EndedEarly);
        }
        self.pos += n;
        Ok(())
    }

    /// Skips one value of any kind, however large, within the depth cap.
    pub fn skip_value(&mut self) -> Result<()> {
        match self.peek()? {
            Kind::Object => {
                self.begin_object()?;
                let mut first = true;
                while self.next_key(&mut first)?.is_some() {
                    self.skip_value()?;
                }
                Ok(())
            }
            Kind::Array => {
                self.begin_array()?;
                let mut first = true;
                while self.next_element(&mut first)? {
                    self.skip_value()?;
                }
                Ok(())
            }
            Kind::String => self.raw_string().map(drop),
            Kind::Number => self.number().map(drop),
            Kind::Bool => self.bool().map(drop),
            Kind::Null => self.literal(b"null"),
        }
    }

    /// Counts the members of the array or object at the cursor without
    /// decoding them. On a cut, `count` holds the members seen complete.
    pub fn count_members(&mut self, count: &mut u32) -> Result<()> {
        let mut first = true;
        match self.peek()? {
            Kind::Array => {
                self.begin_array()?;
                while self.next_element(&mut first)? {
                    self.skip_value()?;
                    *count = count.saturating_add(1);
                }
            }
            Kind::Object => {
                self.begin_object()?;
                while self.next_key(&mut first)?.is_some() {
                    self.skip_value()?;
                    *count = count.saturating_add(1);
                }
            }
            _ => {
                self.skip_value()?;
            }
        }
        Ok(())
    }
}

/// Decodes JSON string escapes, keeping at most `max` characters.
pub fn unescape(raw: &[u8], max: usize) -> String {
    if !raw.contains(&b'\\') {
        let s = String::from_utf8_lossy(raw);
        return s.chars().take(max).collect();
    }
    let mut bytes = Vec::with_capacity(raw.len().min(max.saturating_mul(4)));
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            bytes.push(b);
            i += 1;
            continue;
        }
        let Some(&e) = raw.get(i + 1) else { break };
        i += 2;
        let c = match e {
            b'"' => '"',
            b'\\' => '\\',
            b'/' => '/',
            b'b' => '\u{8}',
            b'f' => '\u{c}',
            b'n' => '\n',
            b'r' => '\r',
            b't' => '\t',
            b'u' => {
                let hi = hex4(raw.get(i..i + 4));
                i += 4;
                match hi {
                    Some(h @ 0xd800..=0xdbff) => {
                        let lo = if raw.get(i..i + 2) == Some(b"\\u") {
                            hex4(raw.get(i + 2..i + 6))
                        } else {
                            None
                        };
                        match lo {
                            Some(l @ 0xdc00..=0xdfff) => {
                                i += 6;
                                char::from_u32(0x10000 + ((h - 0xd800) << 10) + (l - 0xdc00))
                                    .unwrap_or('\u{fffd}')
                            }
                            _ => '\u{fffd}',
                        }
                    }
                    Some(h) => char::from_u32(h).unwrap_or('\u{fffd}'),
                    None => '\u{fffd}',
                }
            }
            _ => '\u{fffd}',
        };
        let mut tmp = [0u8; 4];
        bytes.extend_from_slice(c.encode_utf8(&mut tmp).as_bytes());
        if bytes.len() > max.saturating_mul(4) {
            break;
        }
    }
    String::from_utf8_lossy(&bytes).chars().take(max).collect()
}

fn hex4(digits: Option<&[u8]>) -> Option<u32> {
    let digits = digits?;
    let s = std::str::from_utf8(digits).ok()?;
    u32::from_str_radix(s, 16).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fuzzing::Rng;

    fn skip_all(buf: &[u8]) -> Result<usize> {
        let mut s = Scanner::new(buf);
        s.skip_value()?;
        Ok(s.position())
    }

    #[test]
    fn skips_values_and_counts_members() {
        let doc = br#" {"a": [1, 2.5e3, -0.1, "x\"y", true, false, null, {"b": []}], "c": {}} "#;
        assert_eq!(skip_all(doc), Ok(doc.len() - 1));
        let mut s = Scanner::new(br#"[1, [2, 3], {"a": 1}, "s"] "#);
        let mut n = 0;
        s.count_members(&mut n).unwrap();
        assert_eq!(n, 4);
        let mut s = Scanner::new(br#"{"a": 1, "b": [2], "c": {}} "#);
        let mut n = 0;
        s.count_members(&mut n).unwrap();
        assert_eq!(n, 3);
    }

    #[test]
    fn every_cut_ends_early_never_invalid() {
        let doc =
            br#"{"a": [1, 2.5e3, -0.1, "x\"y\u00e9", true, false, null, {"b": []}], "c": {}}"#;
        for cut in 0..doc.len() {
            assert_eq!(skip_all(&doc[..cut]), Err(Stop::EndedEarly), "cut {cut}");
        }
    }

    #[test]
    fn counts_complete_members_before_a_cut() {
        let doc = br#"[{"a":1},{"a":2},{"a":3}]"#;
        let mut last = 0;
        for cut in 0..doc.len() {
            let mut n = 0;
            let mut s = Scanner::new(&doc[..cut]);
            assert_eq!(s.count_members(&mut n), Err(Stop::EndedEarly));
            assert!(n >= last && n <= 3);
            last = n;
        }
    }

    #[test]
    fn hostile_inputs() {
        let deep = "[".repeat(100_000);
        assert_eq!(skip_all(deep.as_bytes()), Err(Stop::TooDeep));
        let deep_obj = r#"{"a":"#.repeat(10_000);
        assert_eq!(skip_all(deep_obj.as_bytes()), Err(Stop::TooDeep));
        let huge = format!("[{}]", "9".repeat(1000));
        assert_eq!(
            skip_all(huge.as_bytes()),
            Err(Stop::Invalid("number too long"))
        );
        assert_eq!(skip_all(b"\"unterminated"), Err(Stop::EndedEarly));
        assert_eq!(skip_all(b"\"ends in backslash\\"), Err(Stop::EndedEarly));
        assert_eq!(skip_all(b"[1 2]"), Err(Stop::Invalid("expected comma")));
        assert_eq!(skip_all(b"{\"a\" 1}"), Err(Stop::Invalid("expected colon")));
        assert_eq!(skip_all(b"[--]"), Err(Stop::Invalid("bad number")));
        assert_eq!(skip_all(b"[tru]"), Err(Stop::Invalid("bad literal")));
        assert_eq!(skip_all(b"@"), Err(Stop::Invalid("unexpected byte")));
        let mut s = Scanner::new(b"\"\xff\xfe ok\" ");
        assert_eq!(s.string(100).unwrap(), "\u{fffd}\u{fffd} ok");
    }

    #[test]
    fn unescapes() {
        assert_eq!(unescape(br#"a\"b\\c\/\n"#, 100), "a\"b\\c/\n");
        assert_eq!(unescape(br#"\u00e9\ud83d\ude00"#, 100), "é😀");
        assert_eq!(unescape(br#"\ud83d"#, 100), "\u{fffd}");
        assert_eq!(unescape(br#"\u12"#, 100), "\u{fffd}");
        assert_eq!(unescape(b"abcdef", 3), "abc");
        assert_eq!(unescape(br#"\n\n\n\n\n"#, 2), "\n\n");
    }

    #[test]
    fn random_bytes_never_panic() {
        let mut rng = Rng::new(5);
        let alphabet = b"{}[]\",:\\ 0123456789.eE-+truefalsn\xff\xc3u";
        for _ in 0..20_000 {
            let len = rng.below(64);
            let buf: Vec<u8> = (0..len)
                .map(|_| {
                    if rng.below(8) == 0 {
                        rng.next_u64() as u8
                    } else {
                        alphabet[rng.below(alphabet.len())]
                    }
                })
                .collect();
            let _ = skip_all(&buf);
            let mut s = Scanner::new(&buf);
            let mut n = 0;
            let _ = s.count_members(&mut n);
            let _ = unescape(&buf, 16);
        }
    }
}

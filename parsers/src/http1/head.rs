//! Reads one message head (start line and header fields) line by line and
//! keeps only what framing and the exchange need.
//!
//! No header map is built: every field line is looked at once, the handful
//! of names that matter (`Content-Length`, `Transfer-Encoding`, `Host`,
//! `Upgrade`) update a few scalars, and everything else is dropped. The only
//! allocations per message are the kept target and host strings, plus the
//! AWS fields the DynamoDB refiner reads (`X-Amz-Target`, `x-amzn-RequestId`,
//! `x-amz-crc32`) on the rare messages that carry them.

use super::line::LineBuf;
use super::wire::{self, HeaderLine};
use crate::event::{bounded_text, HttpMethod, HttpVersion, MAX_KEPT_TARGET};
use crate::ErrorReason;

/// Largest head (start line, fields, blank line) we follow. Servers cap
/// theirs at 8–64 KiB; past this the stream is either hostile or not HTTP.
pub const MAX_HEAD: usize = 64 * 1024;

/// Longest method kept in `method_original`: real extension methods are
/// short words, anything longer is noise not worth keeping.
const MAX_KEPT_METHOD: usize = 64;

/// Which start line a head begins with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Request,
    Response,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartLine {
    Request {
        method: HttpMethod,
        method_original: Option<String>,
        target: String,
        version: HttpVersion,
    },
    Status {
        code: u16,
    },
}

/// What the head says about the body that follows (RFC 9112 §6).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Framing {
    pub content_length: Option<u64>,
    /// A `Transfer-Encoding` field was present at all.
    pub has_transfer_encoding: bool,
    /// ... and its final coding is `chunked`.
    pub chunked: bool,
}

/// Longest AWS field value kept (targets and request ids are far shorter).
const MAX_AWS_FIELD: usize = 256;

/// What `Content-Type` said, reduced to what DynamoDB detection needs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum ContentType {
    #[default]
    Absent,
    AmzJson10,
    Other,
}

/// The few fields the DynamoDB refiner reads from a head. Values are kept
/// raw (bounded) so that the refiner, not the wire reader, interprets them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AwsFields {
    pub target: Option<Vec<u8>>,
    pub content_type: ContentType,
    /// `Content-Encoding` other than `identity`: the body is not JSON text.
    pub encoded: bool,
    pub request_id: Option<Vec<u8>>,
    pub crc32: Option<Vec<u8>>,
}

impl AwsFields {
    /// The fields as `(name, value)` pairs, the shape the refiner takes.
    pub fn pairs(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let request_id = self
            .request_id
            .as_deref()
            .map(|v| (&b"x-amzn-requestid"[..], v));
        let crc32 = self.crc32.as_deref().map(|v| (&b"x-amz-crc32"[..], v));
        let encoding = self
            .encoded
            .then_some((&b"content-encoding"[..], &b"encoded"[..]));
        request_id.into_iter().chain(crc32).chain(encoding)
    }

    fn field(&mut self, name: &[u8], value: &[u8]) {
        let keep = |v: &[u8]| v[..v.len().min(MAX_AWS_FIELD)].to_vec();
        match name.len() {
            11 if name.eq_ignore_ascii_case(b"x-amz-crc32") => self.crc32 = Some(keep(value)),
            12 if name.eq_ignore_ascii_case(b"x-amz-target") => {
                self.target.get_or_insert_with(|| keep(value));
            }
            12 if name.eq_ignore_ascii_case(b"content-type") => {
                let media = value.split(|&b| b == b';').next().unwrap_or_default();
                self.content_type = if media
                    .trim_ascii()
                    .eq_ignore_ascii_case(crate::dynamodb::CONTENT_TYPE)
                {
                    ContentType::AmzJson10
                } else {
                    ContentType::Other
                };
            }
            16 if name.eq_ignore_ascii_case(b"content-encoding") => {
                let v = value.trim_ascii();
                self.encoded = !v.is_empty() && !v.eq_ignore_ascii_case(b"identity");
            }
            16 if name.eq_ignore_ascii_case(b"x-amzn-requestid")
                || (self.request_id.is_none()
                    && name.eq_ignore_ascii_case(b"x-amz-request-id")) =>
            {
                self.request_id = Some(keep(value));
            }
            _ => {}
        }
    }
}

/// A complete head, reduced to what we keep.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub start: StartLine,
    pub framing: Framing,
    pub host: Option<String>,
    /// The request asked to switch protocols (`Upgrade` field).
    pub upgrade: bool,
    pub aws: AwsFields,
    /// Wire bytes of the head, blank line included.
    pub len: u64,
}

#[derive(Debug)]
struct Acc {
    kind: Kind,
    len: usize,
    start: Option<StartLine>,
    framing: Framing,
    host: Option<String>,
    upgrade: bool,
    aws: AwsFields,
    done: bool,
}

/// Incremental head reader; reused across messages of one direction.
#[derive(Debug)]
pub struct HeadReader {
    line: LineBuf,
    acc: Acc,
}

impl HeadReader {
    pub fn new(kind: Kind) -> Self {
        HeadReader {
            line: LineBuf::default(),
            acc: Acc {
                kind,
                len: 0,
                start: None,
                framing: Framing::default(),
                host: None,
                upgrade: false,
                aws: AwsFields::default(),
                done: false,
            },
        }
    }

    pub fn buffered(&self) -> usize {
        self.line.buffered()
    }

    /// Consumes head bytes from `input`. Returns how many were used and, once
    /// the blank line is reached, the head; the reader is then ready for the
    /// next message.
    pub fn feed(&mut self, input: &[u8]) -> Result<(usize, Option<Head>), ErrorReason> {
        let mut used = 0;
        while let Some(rest) = input.get(used..).filter(|r| !r.is_empty()) {
            let budget = MAX_HEAD - self.acc.len;
            let acc = &mut self.acc;
            let taken = self
                .line
                .next_line(rest, budget, ErrorReason::HeadTooLarge, |l| acc.line(l))?;
            used += taken.consumed;
            match taken.line {
                None => break,
                Some(result) => {
                    result?;
                    self.acc.len += taken.line_len;
                    if self.acc.done {
                        return Ok((used, Some(self.acc.finish())));
                    }
                }
            }
        }
        Ok((used, None))
    }
}

impl Acc {
    fn line(&mut self, line: &[u8]) -> Result<(), ErrorReason> {
        if self.start.is_none() {
            self.start = Some(self.start_line(line)?);
            return Ok(());
        }
        match wire::header_line(line).map_err(|e| wire::reason_of(&e))?.1 {
            HeaderLine::End => self.done = true,
            HeaderLine::Field { name, value } => self.field(name, value)?,
        }
        Ok(())
    }

    fn start_line(&self, line: &[u8]) -> Result<StartLine, ErrorReason> {
        match self.kind {
            Kind::Request => {
                let (_, l) = wire::request_line(line).map_err(|e| wire::reason_of(&e))?;
                let method = HttpMethod::from_bytes(l.method);
                Ok(StartLine::Request {
                    method,
                    method_original: (method == HttpMethod::Other)
                        .then(|| bounded_text(l.method, MAX_KEPT_METHOD)),
                    target: bounded_text(l.target, MAX_KEPT_TARGET),
                    version: l.version,
                })
            }
            Kind::Response => {
                let (_, s) = wire::status_line(line).map_err(|e| wire::reason_of(&e))?;
                Ok(StartLine::Status { code: s.code })
            }
        }
    }

    /// Dispatch on length first so that the common uninteresting field costs
    /// one integer compare, not a case-insensitive string compare.
    fn field(&mut self, name: &[u8], value: &[u8]) -> Result<(), ErrorReason> {
        match name.len() {
            // The first Host wins; a repeated one is the client's problem.
            4 if self.host.is_none() && name.eq_ignore_ascii_case(b"host") => {
                self.host = Some(bounded_text(value, MAX_KEPT_TARGET));
            }
            7 if name.eq_ignore_ascii_case(b"upgrade") => self.upgrade |= !value.is_empty(),
            14 if name.eq_ignore_ascii_case(b"content-length") => {
                merge_content_length(&mut self.framing.content_length, value)?;
            }
            17 if name.eq_ignore_ascii_case(b"transfer-encoding") => {
                self.framing.has_transfer_encoding = true;
                // Codings from repeated fields concatenate (RFC 9110 §5.3),
                // so only the last non-empty element decides.
                if let Some(last) = list_elements(value).last() {
                    self.framing.chunked = last.eq_ignore_ascii_case(b"chunked");
                }
            }
            11 | 12 | 16 => self.aws.field(name, value),
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self) -> Head {
        let head = Head {
            start: self.start.take().unwrap_or(StartLine::Status { code: 0 }),
            framing: std::mem::take(&mut self.framing),
            host: self.host.take(),
            upgrade: std::mem::take(&mut self.upgrade),
            aws: std::mem::take(&mut self.aws),
            len: self.len as u64,
        };
        self.len = 0;
        self.done = false;
        head
    }
}

fn list_elements(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(|e| e.trim_ascii())
        .filter(|e| !e.is_empty())
}

/// A Content-Length may repeat or be a list only if every value agrees
/// (RFC 9110 §8.6); anything else is the classic smuggling ambiguity, so it
/// is malformed rather than guessed at.
fn merge_content_length(current: &mut Option<u64>, value: &[u8]) -> Result<(), ErrorReason> {
    let mut any = false;
    for part in value.split(|&b| b == b',') {
        let n = parse_decimal(part.trim_ascii())?;
        if current.is_some_and(|c| c != n) {
            return Err(ErrorReason::Malformed);
        }
        *current = Some(n);
        any = true;
    }
    if any {
        Ok(())
    } else {
        Err(ErrorReason::Malformed)
    }
}

fn parse_decimal(digits: &[u8]) -> Result<u64, ErrorReason> {
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return Err(ErrorReason::Malformed);
    }
    digits.iter().try_fold(0u64, |acc, &d| {
        acc.checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(d - b'0')))
            .ok_or(ErrorReason::LengthTooLarge)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(kind: Kind, input: &[u8]) -> Result<(usize, Option<Head>), ErrorReason> {
        HeadReader::new(kind).feed(input)
    }

    #[test]
    fn request_head_keeps_only_what_matters() {
        let input = b"PUT /x?y HTTP/1.1\r\n\
            Host: example.com\r\n\
            X-Other: ignored\r\n\
            Content-Length: 12\r\n\
            \r\nBODY";
        let (used, head) = read_all(Kind::Request, input).unwrap();
        assert_eq!(used, input.len() - 4, "stops right after the blank line");
        let head = head.unwrap();
        assert_eq!(head.len, used as u64);
        assert_eq!(head.host.as_deref(), Some("example.com"));
        assert_eq!(head.framing.content_length, Some(12));
        assert!(!head.framing.chunked);
        match head.start {
            StartLine::Request {
                method,
                method_original,
                target,
                version,
            } => {
                assert_eq!(method, HttpMethod::Put);
                assert_eq!(method_original, None);
                assert_eq!(target, "/x?y");
                assert_eq!(version, HttpVersion::Http11);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn aws_fields_are_kept_for_the_dynamodb_refiner() {
        let input = b"POST / HTTP/1.1\r\n\
            X-Amz-Target: DynamoDB_20120810.GetItem\r\n\
            Content-Type: application/x-amz-json-1.0; charset=utf-8\r\n\
            Content-Length: 2\r\n\
            \r\n";
        let head = read_all(Kind::Request, input).unwrap().1.unwrap();
        assert_eq!(
            head.aws.target.as_deref(),
            Some(&b"DynamoDB_20120810.GetItem"[..])
        );
        assert_eq!(head.aws.content_type, ContentType::AmzJson10);
        assert_eq!(head.framing.content_length, Some(2));
        let input = b"HTTP/1.1 200 OK\r\n\
            x-amzn-RequestId: ABC\r\n\
            x-amz-crc32: 123\r\n\
            Content-Encoding: gzip\r\n\
            Content-Type: text/plain\r\n\
            \r\n";
        let head = read_all(Kind::Response, input).unwrap().1.unwrap();
        let pairs: Vec<_> = head.aws.pairs().collect();
        assert_eq!(
            pairs,
            [
                (&b"x-amzn-requestid"[..], &b"ABC"[..]),
                (&b"x-amz-crc32"[..], &b"123"[..]),
                (&b"content-encoding"[..], &b"encoded"[..]),
            ]
        );
        assert_eq!(head.aws.content_type, ContentType::Other);
    }

    #[test]
    fn other_method_is_kept_as_sent() {
        let (_, head) = read_all(Kind::Request, b"PURGE /c HTTP/1.1\r\n\r\n").unwrap();
        let Some(Head {
            start:
                StartLine::Request {
                    method,
                    method_original,
                    ..
                },
            ..
        }) = head
        else {
            panic!()
        };
        assert_eq!(
            (method, method_original.as_deref()),
            (HttpMethod::Other, Some("PURGE"))
        );
    }

    #[test]
    fn transfer_encoding_final_coding_decides() {
        let h = |te: &str| {
            let input = format!("HTTP/1.1 200 OK\r\n{te}\r\n\r\n");
            read_all(Kind::Response, input.as_bytes())
                .unwrap()
                .1
                .unwrap()
                .framing
        };
        assert!(h("Transfer-Encoding: chunked").chunked);
        assert!(h("transfer-encoding: gzip, CHUNKED").chunked);
        assert!(!h("Transfer-Encoding: chunked, gzip").chunked);
        assert!(h("Transfer-Encoding: gzip\r\nTransfer-Encoding: chunked").chunked);
        assert!(h("Transfer-Encoding: gzip").has_transfer_encoding);
    }

    #[test]
    fn content_length_rules() {
        let cl = |v: &str| {
            let input = format!("HTTP/1.1 200 OK\r\n{v}\r\n\r\n");
            read_all(Kind::Response, input.as_bytes())
                .map(|(_, h)| h.unwrap().framing.content_length)
        };
        assert_eq!(cl("Content-Length: 5"), Ok(Some(5)));
        assert_eq!(cl("Content-Length: 5, 5"), Ok(Some(5)));
        assert_eq!(cl("Content-Length: 5\r\nContent-Length: 5"), Ok(Some(5)));
        assert_eq!(
            cl("Content-Length: 5\r\nContent-Length: 6"),
            Err(ErrorReason::Malformed)
        );
        assert_eq!(cl("Content-Length: 5, 6"), Err(ErrorReason::Malformed));
        assert_eq!(cl("Content-Length: +5"), Err(ErrorReason::Malformed));
        assert_eq!(cl("Content-Length: "), Err(ErrorReason::Malformed));
        assert_eq!(cl("Content-Length: 0x10"), Err(ErrorReason::Malformed));
        assert_eq!(
            cl("Content-Length: 18446744073709551615"),
            Ok(Some(u64::MAX))
        );
        assert_eq!(
            cl("Content-Length: 99999999999999999999"),
            Err(ErrorReason::LengthTooLarge)
        );
    }

    #[test]
    fn head_cap_is_enforced_before_buffering() {
        let mut reader = HeadReader::new(Kind::Request);
        let mut flood = b"GET / HTTP/1.1\r\n".to_vec();
        while flood.len() <= MAX_HEAD {
            flood.extend_from_slice(b"X-Flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n");
        }
        assert_eq!(reader.feed(&flood), Err(ErrorReason::HeadTooLarge));
        // One endless line is refused without being held.
        let mut reader = HeadReader::new(Kind::Request);
        let long = vec![b'A'; MAX_HEAD + 1];
        assert_eq!(reader.feed(&long), Err(ErrorReason::HeadTooLarge));
        assert_eq!(reader.buffered(), 0);
    }

    #[test]
    fn reader_is_reusable_after_a_head() {
        let mut reader = HeadReader::new(Kind::Response);
        let two = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nUpgrade: x\r\n\r\n";
        let (used, first) = reader.feed(two).unwrap();
        assert_eq!(first.unwrap().start, StartLine::Status { code: 100 });
        let (_, second) = reader.feed(&two[used..]).unwrap();
        let second = second.unwrap();
        assert_eq!(second.start, StartLine::Status { code: 200 });
        assert!(second.upgrade);
        assert_eq!(second.len, (two.len() - used) as u64);
    }
}

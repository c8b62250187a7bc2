//! Field rules both sides of our HTTP/1.1 share: heads' fields as slices
//! of one buffer, `Content-Length` as RFC 9110 §8.6 reads it, connection
//! tokens and persistence, field lines and decimal lengths written.
use bytes::Bytes;
use http::header::{HeaderName, CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderValue, Version};
use std::cell::RefCell;
use std::mem::MaybeUninit;

/// More fields than this in a head is refused (hyper's and Envoy's limit).
pub const MAX_HEADERS: usize = 100;

/// Fields a proxied request gains on its way through (`x-forwarded-for`,
/// `x-forwarded-proto`, `x-request-id`): [`FieldSpans::header_map`] makes
/// room for them, so that adding them does not grow the map.
pub const REQUEST_ADDS: usize = 3;

/// `httparse`'s field array, left uninitialised: zeroing 100 fields (3 KiB)
/// for every head cost more than parsing a small one.
pub type Fields<'b> = [MaybeUninit<httparse::Header<'b>>; MAX_HEADERS];

/// A field array for `httparse`'s `*_with_uninit_headers` parsers.
pub fn fields<'b>() -> Fields<'b> {
    [const { MaybeUninit::uninit() }; MAX_HEADERS]
}

thread_local! {
    /// [`FieldSpans`]' storage: one per thread, reused by every head, so
    /// no head zeroes, moves or allocates an array of spans.
    static SPANS: RefCell<Vec<(u32, u32, u32, u32)>> =
        RefCell::new(Vec::with_capacity(MAX_HEADERS));
}

/// Where `httparse` found each field in the read buffer, kept so that the
/// fields can become slices of the head once it is split off and frozen:
/// one allocation for the whole head, however many fields it has. The
/// spans live in this thread's scratch space until [`Self::header_map`].
pub struct FieldSpans(());

impl FieldSpans {
    /// `base` is the start of the buffer `fields` were parsed from.
    pub fn of(fields: &[httparse::Header<'_>], base: *const u8) -> FieldSpans {
        let base = base as usize;
        SPANS.with_borrow_mut(|spans| {
            spans.clear();
            spans.extend(fields.iter().map(|field| {
                let name = field.name.as_ptr() as usize - base;
                let value = field.value.as_ptr() as usize - base;
                (
                    name as u32,
                    field.name.len() as u32,
                    value as u32,
                    field.value.len() as u32,
                )
            }));
        });
        FieldSpans(())
    }

    /// The fields, their values slices of `head`, in a map with room for
    /// `more`, and what their `Connection` fields said. `Err` names what was
    /// bad.
    ///
    /// Hop-by-hop fields that only concern this hop never enter the map:
    /// `Keep-Alive`, and a `Connection` listing nothing but `close` and
    /// `keep-alive` (nginx answers every request with one). The next hop
    /// would not get them anyway, and three hashed lookups a message (read
    /// for persistence, listed names removed, the field removed) were the
    /// price of keeping them. A `Connection` naming anything else
    /// (`upgrade`, a field to drop) is kept for the rules that read it.
    ///
    /// Room is not free: a map's entries are about 100 bytes each, and past
    /// 1 KiB an allocation misses glibc's per-thread cache.
    pub fn header_map(self, head: &Bytes, more: usize) -> Result<Mapped, &'static str> {
        SPANS.with_borrow(|spans| {
            let mut headers = HeaderMap::with_capacity(spans.len() + more);
            let mut connection = ConnectionOptions::default();
            let mut lengths = Lengths::default();
            let mut close_field = false;
            for &(name, name_len, value, value_len) in spans {
                let name = head
                    .get(name as usize..(name + name_len) as usize)
                    .ok_or("header name")?;
                let name = HeaderName::from_bytes(name).map_err(|_| "header name")?;
                let value = head.slice(value as usize..(value + value_len) as usize);
                if name == CONTENT_LENGTH {
                    lengths.content_length = lengths
                        .content_length
                        .and_then(|seen| add_length(seen, &value));
                } else if name == TRANSFER_ENCODING {
                    lengths.transfer_encoding = true;
                } else if name == CONNECTION {
                    if connection.read(&value) {
                        continue;
                    }
                } else if name.as_str() == "keep-alive" {
                    continue;
                } else if name.as_str() == "close" {
                    close_field = true;
                }
                let value = HeaderValue::from_maybe_shared(value).map_err(|_| "header value")?;
                headers.append(name, value);
            }
            if close_field && connection.close {
                // `Connection: close` names a field too (RFC 9110 §7.6.1).
                headers.remove("close");
            }
            Ok(Mapped {
                headers,
                connection,
                lengths,
            })
        })
    }
}

/// A head's fields, what its `Connection` fields said, and its length
/// fields as read while mapping them (each lookup after would hash the
/// name again).
pub struct Mapped {
    pub headers: HeaderMap,
    pub connection: ConnectionOptions,
    pub lengths: Lengths,
}

/// The length fields of a head.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Lengths {
    /// As [`content_length`] reads it.
    pub content_length: Result<Option<u64>, ()>,
    /// Whether there was a `Transfer-Encoding` field.
    pub transfer_encoding: bool,
}

impl Lengths {
    /// Whether there was a `Content-Length` field, valid or not (every
    /// field gives a length or an error: an empty one is an error).
    pub fn has_content_length(&self) -> bool {
        self.content_length != Ok(None)
    }
}

impl Default for Lengths {
    fn default() -> Lengths {
        Lengths {
            content_length: Ok(None),
            transfer_encoding: false,
        }
    }
}

/// The `close` and `keep-alive` options of a head's `Connection` fields,
/// all of them, kept in the map or not.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ConnectionOptions {
    pub close: bool,
    pub keep_alive: bool,
}

impl ConnectionOptions {
    /// Reads one `Connection` field's options; true when it lists no other.
    fn read(&mut self, value: &[u8]) -> bool {
        let mut only_these = true;
        for option in value.split(|&b| b == b',') {
            let option = option.trim_ascii();
            if option.eq_ignore_ascii_case(b"close") {
                self.close = true;
            } else if option.eq_ignore_ascii_case(b"keep-alive") {
                self.keep_alive = true;
            } else if !option.is_empty() {
                only_these = false;
            }
        }
        only_these
    }
}

/// Whether a message lets its connection carry another one (RFC 9112
/// §9.3, `close` first): HTTP/1.1 unless `Connection: close`, HTTP/1.0
/// only with `Connection: keep-alive` and without `close`.
pub fn persists(version: Version, connection: ConnectionOptions) -> bool {
    match version {
        Version::HTTP_10 => connection.keep_alive && !connection.close,
        _ => !connection.close,
    }
}

/// One `name: value` field line.
pub fn write_field(dst: &mut Vec<u8>, name: &[u8], value: &[u8]) {
    dst.extend_from_slice(name);
    dst.extend_from_slice(b": ");
    dst.extend_from_slice(value);
    dst.extend_from_slice(b"\r\n");
}

/// The message's `Content-Length`: `Ok(None)` when absent; `Err` when
/// malformed or when repeated values disagree (`5, 5` is one length).
pub fn content_length(headers: &HeaderMap) -> Result<Option<u64>, ()> {
    headers
        .get_all(CONTENT_LENGTH)
        .iter()
        .try_fold(None, |seen, value| add_length(seen, value.as_bytes()))
}

/// Adds one `Content-Length` field (`5`, or a list `5, 5`) to the length
/// the fields before it gave. Digits only, at most 19 of them (no
/// overflow): no sign, no hexadecimal, no empty element.
fn add_length(mut seen: Option<u64>, value: &[u8]) -> Result<Option<u64>, ()> {
    for part in value.split(|&b| b == b',') {
        let part = part.trim_ascii();
        if part.is_empty() || part.len() > 19 {
            return Err(());
        }
        let mut n: u64 = 0;
        for &digit in part {
            if !digit.is_ascii_digit() {
                return Err(());
            }
            n = n * 10 + u64::from(digit - b'0');
        }
        if seen.is_some_and(|seen| seen != n) {
            return Err(());
        }
        seen = Some(n);
    }
    Ok(seen)
}

/// `n` in decimal, in `buf`.
pub fn format_u64(mut n: u64, buf: &mut [u8; 20]) -> &[u8] {
    let mut at = buf.len();
    loop {
        at -= 1;
        buf[at] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            return &buf[at..];
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderValue;

    #[test]
    fn content_length_is_one_agreed_decimal() {
        let with = |values: &[&'static str]| {
            let mut headers = HeaderMap::new();
            for v in values {
                headers.append(CONTENT_LENGTH, HeaderValue::from_static(v));
            }
            content_length(&headers)
        };
        assert_eq!(with(&[]), Ok(None));
        assert_eq!(with(&["12"]), Ok(Some(12)));
        assert_eq!(with(&["5, 5", "5"]), Ok(Some(5)));
        for bad in [
            &["5", "6"][..],
            &["-1"],
            &["+1"],
            &["0x10"],
            &[""],
            &["99999999999999999999"],
        ] {
            assert_eq!(with(bad), Err(()), "{bad:?}");
        }
    }

    #[test]
    fn numbers() {
        let mut buf = [0u8; 20];
        assert_eq!(format_u64(0, &mut buf), b"0");
        assert_eq!(format_u64(u64::MAX, &mut buf), b"18446744073709551615");
    }

    /// Maps a head's fields as the parsers do.
    fn mapped(fields: &[(&str, &str)]) -> Mapped {
        let mut wire = Vec::new();
        for (name, value) in fields {
            write_field(&mut wire, name.as_bytes(), value.as_bytes());
        }
        wire.extend_from_slice(b"\r\n");
        let mut parsed = [httparse::EMPTY_HEADER; 8];
        let httparse::Status::Complete((_, found)) =
            httparse::parse_headers(&wire, &mut parsed).unwrap()
        else {
            panic!("partial");
        };
        let spans = FieldSpans::of(found, wire.as_ptr());
        spans.header_map(&Bytes::from(wire.clone()), 0).unwrap()
    }

    #[test]
    fn connection_options_are_read_from_every_connection_field() {
        let m = mapped(&[("Connection", " Keep-Alive ,"), ("connection", "CLOSE")]);
        assert_eq!(
            m.connection,
            ConnectionOptions {
                close: true,
                keep_alive: true
            }
        );
        assert!(m.headers.is_empty(), "only this hop's options: not kept");
        assert!(!persists(Version::HTTP_11, m.connection));
        assert!(!persists(Version::HTTP_10, m.connection), "close wins");
        let keep = mapped(&[("Connection", "keep-alive")]).connection;
        assert!(persists(Version::HTTP_10, keep));
        let none = mapped(&[("Host", "a")]).connection;
        assert!(persists(Version::HTTP_11, none) && !persists(Version::HTTP_10, none));
    }

    #[test]
    fn a_connection_field_naming_more_is_kept_and_keep_alive_never() {
        let m = mapped(&[
            ("Keep-Alive", "timeout=5"),
            ("Connection", "keep-alive, Upgrade"),
            ("Upgrade", "websocket"),
        ]);
        assert!(m.connection.keep_alive && !m.connection.close);
        assert!(!m.headers.contains_key("keep-alive"));
        assert_eq!(m.headers[CONNECTION], "keep-alive, Upgrade");
        assert_eq!(m.headers["upgrade"], "websocket");
        // A field to drop is named: kept for strip_hop_by_hop, `close` read.
        let m = mapped(&[("Connection", "close, X-A"), ("X-A", "1")]);
        assert!(m.connection.close);
        assert_eq!(m.headers[CONNECTION], "close, X-A");
        // `Keep-Alive` alone is this hop's too.
        let m = mapped(&[("Keep-Alive", "timeout=5"), ("Host", "a")]);
        assert_eq!(m.connection, ConnectionOptions::default());
        assert_eq!(m.headers.len(), 1);
        // Options are read as bytes: one not UTF-8 hides no `close`.
        let m = mapped(&[("Connection", "close, x\u{e9}")]);
        assert!(m.connection.close);
    }

    #[test]
    fn length_fields_are_read_while_mapping_as_content_length_reads_them() {
        let m = mapped(&[("Content-Length", "5, 5"), ("content-length", "5")]);
        assert_eq!(m.lengths.content_length, Ok(Some(5)));
        assert_eq!(m.lengths.content_length, content_length(&m.headers));
        assert!(m.lengths.has_content_length() && !m.lengths.transfer_encoding);
        let m = mapped(&[("Content-Length", "5"), ("Content-Length", "x")]);
        assert_eq!(m.lengths.content_length, Err(()));
        assert!(m.lengths.has_content_length());
        let m = mapped(&[("Content-Length", "")]);
        assert!(m.lengths.has_content_length(), "an empty one is there too");
        let m = mapped(&[("Transfer-Encoding", "chunked")]);
        assert!(m.lengths.transfer_encoding && !m.lengths.has_content_length());
        assert_eq!(
            m.lengths,
            Lengths {
                transfer_encoding: true,
                ..Lengths::default()
            }
        );
    }

    #[test]
    fn a_field_named_by_connection_close_is_dropped_wherever_it_stands() {
        let m = mapped(&[("Close", "1"), ("Connection", "close"), ("X-Kept", "2")]);
        assert!(m.connection.close);
        assert!(!m.headers.contains_key("close"));
        assert_eq!(m.headers["x-kept"], "2");
        // Without `Connection: close` a field named `close` is an ordinary one.
        assert!(mapped(&[("Close", "1")]).headers.contains_key("close"));
    }
}

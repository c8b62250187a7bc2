//! One direction's byte stream cut into frames: the client preface, frame
//! headers, and payloads read in place. Nothing is buffered but a partial
//! frame header, a frame's fixed prefix (≤ 8 bytes), a partial SETTINGS
//! entry, and header-block fragments up to [`MAX_HEADER_BLOCK`]; DATA is
//! handed on as it arrives and padding is skipped.

use super::state::Conn;
use super::wire::{
    self, frame_header, setting, stream_id_at, Body, FrameHeader, Layout, CONTINUATION, DATA,
    END_HEADERS, END_STREAM, GOAWAY, HEADERS, HEADER_LEN, PREFACE, PUSH_PROMISE, RST_STREAM,
};
use crate::event::{Direction, Timestamp};
use crate::{ErrorReason, Sink};

/// Largest header block (HEADERS/PUSH_PROMISE + CONTINUATIONs, encoded)
/// we gather before decoding it.
pub const MAX_HEADER_BLOCK: usize = 64 * 1024;

/// A header block being gathered.
#[derive(Debug, Clone, Copy)]
pub struct BlockMeta {
    pub stream: u32,
    pub end_stream: bool,
    /// Set for PUSH_PROMISE: the promised stream.
    pub promised: Option<u32>,
    /// Frame bytes on the wire, headers included.
    pub wire: u64,
    /// When its first frame's header was read.
    pub at: Timestamp,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    h: FrameHeader,
    layout: Layout,
    read: u32,
    prefix: [u8; 8],
    pad: u32,
}

/// Where in a frame's payload a byte falls.
enum Region {
    Prefix,
    Body,
    Padding,
}

#[derive(Debug, Clone, Copy)]
enum Phase {
    /// Bytes of the client preface matched so far.
    Preface(usize),
    Header,
    Payload(Frame),
}

#[derive(Debug)]
pub struct Reader {
    dir: Direction,
    phase: Phase,
    head: [u8; HEADER_LEN],
    head_len: usize,
    settings: [u8; 6],
    settings_len: usize,
    block: Vec<u8>,
    pending: Option<BlockMeta>,
}

impl Reader {
    pub fn new(dir: Direction, preface: bool) -> Reader {
        Reader {
            dir,
            phase: if preface {
                Phase::Preface(0)
            } else {
                Phase::Header
            },
            head: [0; HEADER_LEN],
            head_len: 0,
            settings: [0; 6],
            settings_len: 0,
            block: Vec::new(),
            pending: None,
        }
    }

    pub fn buffered(&self) -> usize {
        self.head_len + self.settings_len + self.block.len()
    }

    pub fn feed(
        &mut self,
        mut input: &[u8],
        conn: &mut Conn,
        at: Timestamp,
        sink: &mut dyn Sink,
    ) -> Result<(), ErrorReason> {
        while !input.is_empty() {
            let used = match self.phase {
                Phase::Preface(matched) => {
                    let want = PREFACE.get(matched..).unwrap_or_default();
                    let n = want.len().min(input.len());
                    if input.get(..n) != want.get(..n) {
                        return Err(ErrorReason::Malformed);
                    }
                    self.phase = if matched + n == PREFACE.len() {
                        Phase::Header
                    } else {
                        Phase::Preface(matched + n)
                    };
                    n
                }
                Phase::Header => self.header(input, conn, at, sink)?,
                Phase::Payload(frame) => self.payload(frame, input, conn, at, sink)?,
            };
            input = input.get(used..).unwrap_or_default();
        }
        Ok(())
    }

    fn header(
        &mut self,
        input: &[u8],
        conn: &mut Conn,
        at: Timestamp,
        sink: &mut dyn Sink,
    ) -> Result<usize, ErrorReason> {
        let (h, used) = if self.head_len == 0 && input.len() >= HEADER_LEN {
            match frame_header(input) {
                Ok((_, h)) => (h, HEADER_LEN),
                Err(_) => return Err(ErrorReason::Malformed),
            }
        } else {
            let n = (HEADER_LEN - self.head_len).min(input.len());
            if let (Some(dst), Some(src)) = (
                self.head.get_mut(self.head_len..self.head_len + n),
                input.get(..n),
            ) {
                dst.copy_from_slice(src);
            }
            self.head_len += n;
            if self.head_len < HEADER_LEN {
                return Ok(n);
            }
            self.head_len = 0;
            match frame_header(&self.head) {
                Ok((_, h)) => (h, n),
                Err(_) => return Err(ErrorReason::Malformed),
            }
        };
        self.start(h, conn, at, sink)?;
        Ok(used)
    }

    /// Checks a frame header and sets up reading its payload.
    fn start(
        &mut self,
        h: FrameHeader,
        conn: &mut Conn,
        at: Timestamp,
        sink: &mut dyn Sink,
    ) -> Result<(), ErrorReason> {
        let layout = wire::layout(&h, conn.max_frame(self.dir))?;
        let wire_bytes = HEADER_LEN as u64 + u64::from(h.len);
        // A header block is one unit: only its CONTINUATIONs may follow.
        match (&mut self.pending, h.kind) {
            (Some(p), CONTINUATION) if p.stream == h.stream => p.wire += wire_bytes,
            (Some(_), _) | (None, CONTINUATION) => return Err(ErrorReason::Malformed),
            (None, HEADERS | PUSH_PROMISE) => {
                self.block.clear();
                self.pending = Some(BlockMeta {
                    stream: h.stream,
                    end_stream: h.kind == HEADERS && h.has(END_STREAM),
                    promised: None,
                    wire: wire_bytes,
                    at,
                });
            }
            (None, DATA) => conn.data_frame(self.dir, h.stream, wire_bytes),
            (None, _) => {}
        }
        if layout.body == Body::Block {
            let fragment = (h.len - u32::from(layout.prefix)) as usize;
            if self.block.len().saturating_add(fragment) > MAX_HEADER_BLOCK {
                return Err(ErrorReason::HeadTooLarge);
            }
        }
        let frame = Frame {
            h,
            layout,
            read: 0,
            prefix: [0; 8],
            pad: 0,
        };
        self.phase = Phase::Payload(frame);
        if h.len == 0 {
            self.phase = Phase::Header;
            self.end(frame, conn, at, sink)?;
        }
        Ok(())
    }

    fn payload(
        &mut self,
        mut f: Frame,
        input: &[u8],
        conn: &mut Conn,
        at: Timestamp,
        sink: &mut dyn Sink,
    ) -> Result<usize, ErrorReason> {
        let mut used = 0;
        let prefix = u32::from(f.layout.prefix);
        while f.read < f.h.len {
            let Some(rest) = input.get(used..).filter(|r| !r.is_empty()) else {
                break;
            };
            let (region_end, region) = if f.read < prefix {
                (prefix, Region::Prefix)
            } else if f.read < f.h.len - f.pad {
                (f.h.len - f.pad, Region::Body)
            } else {
                (f.h.len, Region::Padding)
            };
            let n = ((region_end - f.read) as usize).min(rest.len());
            let chunk = rest.get(..n).unwrap_or_default();
            let start = f.read as usize;
            f.read += n as u32;
            match region {
                Region::Prefix => {
                    if let Some(dst) = f.prefix.get_mut(start..start + n) {
                        dst.copy_from_slice(chunk);
                    }
                    if f.read == prefix {
                        self.prefix_done(&mut f)?;
                    }
                }
                Region::Body => self.body(&f, chunk, conn)?,
                Region::Padding => {}
            }
            used += n;
        }
        if f.read == f.h.len {
            self.phase = Phase::Header;
            self.end(f, conn, at, sink)?;
        } else {
            self.phase = Phase::Payload(f);
        }
        Ok(used)
    }

    /// The fixed leading fields are in: the pad length and the promised
    /// stream are needed before the rest can be read.
    fn prefix_done(&mut self, f: &mut Frame) -> Result<(), ErrorReason> {
        if f.layout.padded {
            f.pad = u32::from(f.prefix[0]);
            if f.pad > f.h.len - u32::from(f.layout.prefix) {
                return Err(ErrorReason::Malformed);
            }
        }
        if f.h.kind == PUSH_PROMISE {
            let promised = stream_id_at(&f.prefix, usize::from(f.layout.padded));
            if let Some(p) = &mut self.pending {
                p.promised = Some(promised);
            }
        }
        Ok(())
    }

    fn body(&mut self, f: &Frame, chunk: &[u8], conn: &mut Conn) -> Result<(), ErrorReason> {
        match f.layout.body {
            Body::Data => conn.data(self.dir, f.h.stream, chunk),
            Body::Block => self.block.extend_from_slice(chunk),
            Body::Settings => {
                for &b in chunk {
                    if let Some(slot) = self.settings.get_mut(self.settings_len) {
                        *slot = b;
                    }
                    self.settings_len += 1;
                    if self.settings_len == 6 {
                        self.settings_len = 0;
                        let (id, value) = setting(self.settings);
                        conn.setting(self.dir, id, value)?;
                    }
                }
            }
            Body::Skip => {}
        }
        Ok(())
    }

    fn end(
        &mut self,
        f: Frame,
        conn: &mut Conn,
        at: Timestamp,
        sink: &mut dyn Sink,
    ) -> Result<(), ErrorReason> {
        match f.h.kind {
            DATA if f.h.has(END_STREAM) => conn.end_stream(self.dir, f.h.stream, at, sink),
            HEADERS | PUSH_PROMISE | CONTINUATION if f.h.has(END_HEADERS) => {
                if let Some(meta) = self.pending.take() {
                    let result = conn.block(self.dir, meta, &self.block, at, sink);
                    self.block.clear();
                    result?;
                }
            }
            RST_STREAM => conn.reset(f.h.stream, at, sink),
            GOAWAY => conn.goaway(self.dir, stream_id_at(&f.prefix, 0), at, sink),
            _ => {}
        }
        Ok(())
    }
}

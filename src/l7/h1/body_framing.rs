//! The framing of one HTTP/1 body being read, shared by request bodies
//! (server side) and response bodies (client side): each step takes the
//! next frame off the read buffer, as a slice, or asks for more bytes.
use super::chunked::{ChunkError, ChunkedDecoder, Decoded};
use bytes::{Bytes, BytesMut};
use http_body::{Frame, SizeHint};

#[derive(Debug)]
pub enum BodyFraming {
    /// This many bytes left.
    Length(u64),
    Chunked(ChunkedDecoder),
    /// Until the peer closes (responses only).
    UntilClose,
    Done,
}

pub enum Step {
    Frame(Frame<Bytes>),
    /// The body ended; bytes after it stay in the buffer.
    End,
    /// Read more, then step again.
    NeedMore,
}

impl BodyFraming {
    pub fn chunked() -> BodyFraming {
        BodyFraming::Chunked(ChunkedDecoder::default())
    }

    /// The next frame from `buf`. After the last frame (the last bytes of
    /// a length, or trailers) the framing is already `Done`, so the
    /// caller can release its connection with that frame.
    pub fn step(&mut self, buf: &mut BytesMut) -> Result<Step, ChunkError> {
        match self {
            BodyFraming::Done | BodyFraming::Length(0) => {
                *self = BodyFraming::Done;
                Ok(Step::End)
            }
            BodyFraming::Length(left) if !buf.is_empty() => {
                let n = (buf.len() as u64).min(*left) as usize;
                let data = buf.split_to(n).freeze();
                *left -= n as u64;
                if *left == 0 {
                    *self = BodyFraming::Done;
                }
                Ok(Step::Frame(Frame::data(data)))
            }
            BodyFraming::UntilClose if !buf.is_empty() => {
                Ok(Step::Frame(Frame::data(buf.split().freeze())))
            }
            BodyFraming::Length(_) | BodyFraming::UntilClose => Ok(Step::NeedMore),
            BodyFraming::Chunked(decoder) => Ok(match decoder.decode(buf)? {
                Decoded::Data(data) => Step::Frame(Frame::data(data)),
                Decoded::Trailers(trailers) => {
                    // The trailers end the body.
                    *self = BodyFraming::Done;
                    Step::Frame(Frame::trailers(trailers))
                }
                Decoded::Done => {
                    *self = BodyFraming::Done;
                    Step::End
                }
                Decoded::NeedMore => Step::NeedMore,
            }),
        }
    }

    pub fn is_done(&self) -> bool {
        matches!(self, BodyFraming::Done)
    }

    pub fn is_end_stream(&self) -> bool {
        matches!(self, BodyFraming::Done | BodyFraming::Length(0))
    }

    pub fn size_hint(&self) -> SizeHint {
        match self {
            BodyFraming::Length(n) => SizeHint::with_exact(*n),
            BodyFraming::Done => SizeHint::with_exact(0),
            BodyFraming::Chunked(_) | BodyFraming::UntilClose => SizeHint::default(),
        }
    }
}

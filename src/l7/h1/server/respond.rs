//! Writing one response to an HTTP/1.x client: the head, then the body as
//! it streams, framed by length, by chunks, or by the close.
//!
//! Whatever the body has ready when the head is written goes out in the
//! same write (a small proxied answer is one `writev`); after that, what
//! is ready is gathered before each write, so a body never costs a write
//! per frame when frames come faster than the socket takes them.
use super::head::{self, ResponseFraming};
use crate::l7::body::ResponseBody;
use crate::l7::h1::chunked;
use crate::l7::h1::framing::write_field;
use crate::pipeline::ListenerMetrics;
use bytes::Bytes;
use http::{Method, Response, Version};
use http_body::Body;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::sync::Arc;
use std::task::Poll;
use tokio::io::AsyncWrite;
use tokio::net::tcp::OwnedWriteHalf;

/// Body frames smaller than this are copied next to the head and chunk
/// lines; larger ones are written from where they are.
const COPY_BELOW: usize = 16 * 1024;
/// Gathered bytes are written once this many are queued, ready or not.
const FLUSH_AT: usize = 64 * 1024;

/// How the response ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ending {
    /// Whole and framed: the connection can carry another request.
    KeepAlive,
    /// Whole, but delimited by the close (or the client's socket failed).
    Close,
    /// The body failed mid-way: the client sees the connection end early.
    Broken,
}

struct Writer<'a> {
    write: &'a mut OwnedWriteHalf,
    metrics: &'a ListenerMetrics,
    out: Vec<u8>,
    /// A large frame waiting behind `out`.
    large: Option<Bytes>,
    /// Data frames go out as chunks.
    chunked: bool,
}

impl Writer<'_> {
    /// Queues one data frame (with its chunk framing). Returns whether it
    /// was large, and so waits, uncopied, for a flush of its own.
    fn data(&mut self, data: Bytes) -> bool {
        if self.chunked {
            chunked::size_line(data.len(), &mut self.out);
        }
        if data.len() >= COPY_BELOW {
            self.large = Some(data);
            return true;
        }
        self.out.extend_from_slice(&data);
        if self.chunked {
            self.out.extend_from_slice(b"\r\n");
        }
        false
    }

    fn pending(&self) -> bool {
        !self.out.is_empty() || self.large.is_some()
    }

    /// Writes everything queued (`out`, then the large frame and its
    /// chunk's CRLF).
    async fn flush(&mut self) -> io::Result<()> {
        let large = self.large.take().unwrap_or_default();
        let tail: &[u8] = if self.chunked && !large.is_empty() {
            b"\r\n"
        } else {
            b""
        };
        let parts = [&self.out[..], &large[..], tail];
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut written = 0;
        while written < total {
            let n = std::future::poll_fn(|cx| {
                let (slices, count) = remaining(&parts, written);
                let write = Pin::new(&mut *self.write);
                // One slice (a small answer, copied in whole) goes out with
                // `send`: a shorter kernel path than `writev`'s.
                match count {
                    1 => write.poll_write(cx, &slices[0]),
                    _ => write.poll_write_vectored(cx, &slices[..count]),
                }
            })
            .await?;
            if n == 0 {
                return Err(io::ErrorKind::WriteZero.into());
            }
            written += n;
        }
        self.metrics.bytes_sent.inc_by(total as u64);
        self.out.clear();
        Ok(())
    }
}

/// The unwritten rest of `parts` after `skip` bytes, as `writev` slices.
fn remaining<'p>(parts: &[&'p [u8]; 3], mut skip: usize) -> ([IoSlice<'p>; 3], usize) {
    let mut slices = [IoSlice::new(&[]); 3];
    let mut count = 0;
    for part in parts {
        if skip >= part.len() {
            skip -= part.len();
            continue;
        }
        slices[count] = IoSlice::new(&part[skip..]);
        count += 1;
        skip = 0;
    }
    (slices, count)
}

/// Writes `response` for a request with this method and version.
pub async fn write(
    write: &mut OwnedWriteHalf,
    metrics: &Arc<ListenerMetrics>,
    response: Response<ResponseBody>,
    request: (&Method, Version),
    close: bool,
) -> Ending {
    let (parts, body) = response.into_parts();
    let size = match body.is_end_stream() {
        true => Some(0),
        false => body.size_hint().exact(),
    };
    let mut writer = Writer {
        write,
        metrics,
        out: Vec::with_capacity(512),
        large: None,
        chunked: false,
    };
    let framing = head::encode_response(
        parts.status,
        &parts.headers,
        request,
        size,
        close,
        &mut writer.out,
    );
    let keep = match close || framing == ResponseFraming::UntilClose {
        true => Ending::Close,
        false => Ending::KeepAlive,
    };
    if framing == ResponseFraming::NoBody {
        drop(body);
        return match writer.flush().await {
            Ok(()) => keep,
            Err(_) => Ending::Close,
        };
    }
    writer.chunked = framing == ResponseFraming::Chunked;
    let mut left = match framing {
        ResponseFraming::Length(n) => Some(n),
        _ => None,
    };
    let mut body = std::pin::pin!(body);
    loop {
        // What is ready now joins the queue; otherwise flush and wait.
        let polled = std::future::poll_fn(|cx| Poll::Ready(body.as_mut().poll_frame(cx))).await;
        let frame = match polled {
            Poll::Ready(frame) => frame,
            Poll::Pending => {
                if writer.pending() && writer.flush().await.is_err() {
                    return Ending::Close;
                }
                std::future::poll_fn(|cx| body.as_mut().poll_frame(cx)).await
            }
        };
        match frame {
            Some(Ok(frame)) => match frame.into_data() {
                Ok(data) if data.is_empty() => {}
                Ok(data) => {
                    if let Some(left) = left.as_mut() {
                        if data.len() as u64 > *left {
                            // More than the declared length: cut.
                            let _ = writer.flush().await;
                            return Ending::Broken;
                        }
                        *left -= data.len() as u64;
                    }
                    let large = writer.data(data);
                    if (large || writer.out.len() >= FLUSH_AT) && writer.flush().await.is_err() {
                        return Ending::Close;
                    }
                }
                // Trailers go out only in a chunked body's last chunk.
                Err(frame) => {
                    if let (true, Ok(trailers)) = (writer.chunked, frame.into_trailers()) {
                        writer.out.extend_from_slice(b"0\r\n");
                        for (name, value) in &trailers {
                            write_field(
                                &mut writer.out,
                                name.as_str().as_bytes(),
                                value.as_bytes(),
                            );
                        }
                        writer.out.extend_from_slice(b"\r\n");
                        return finish(&mut writer, keep, false).await;
                    }
                }
            },
            Some(Err(_)) => {
                // The upstream broke off (or the stream idle timeout cut it):
                // what arrived is sent, and the connection ends unframed.
                let _ = writer.flush().await;
                return Ending::Broken;
            }
            None => {
                if left.is_some_and(|left| left > 0) {
                    let _ = writer.flush().await;
                    return Ending::Broken;
                }
                let last_chunk = writer.chunked;
                return finish(&mut writer, keep, last_chunk).await;
            }
        }
    }
}

async fn finish(writer: &mut Writer<'_>, keep: Ending, last_chunk: bool) -> Ending {
    if last_chunk {
        writer.out.extend_from_slice(b"0\r\n\r\n");
    }
    match writer.flush().await {
        Ok(()) => keep,
        Err(_) => Ending::Close,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_partial_write_resumes_where_it_stopped() {
        let parts: [&[u8]; 3] = [b"head", b"body", b"\r\n"];
        let (slices, count) = remaining(&parts, 6);
        let rest: Vec<&[u8]> = slices[..count].iter().map(|s| &s[..]).collect();
        assert_eq!(rest, [&b"dy"[..], b"\r\n"]);
        assert_eq!(remaining(&parts, 10).1, 0);
    }
}

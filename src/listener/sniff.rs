//! Read a connection's first bytes and decide its protocol.
//!
//! Detection reads (rather than peeks) so that waiting for more bytes parks
//! the task instead of spinning; the bytes read are replayed to whichever
//! path takes the connection (see `DownstreamIo` and the L4 relay).
use bytes::BytesMut;
use periscope_parsers::{detect, Detection, Direction, Protocol};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt};

/// Detection may need a whole HTTP/1 request line, which may take a whole
/// head; beyond that the client is not speaking HTTP: relay as TCP.
const MAX_SNIFF: usize = periscope_parsers::http1::MAX_HEAD_BYTES;

pub struct Sniffed {
    pub protocol: Protocol,
    /// Bytes consumed from the socket, to be replayed first.
    pub prefix: BytesMut,
    /// The client sent nothing within the wait: a server-speaks-first
    /// protocol (or an idle client).
    pub silent: bool,
}

pub async fn sniff<S: AsyncRead + Unpin>(
    stream: &mut S,
    wait: Duration,
) -> std::io::Result<Sniffed> {
    let mut prefix = BytesMut::with_capacity(1024);
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let read = tokio::time::timeout_at(deadline, stream.read_buf(&mut prefix)).await;
        let protocol = match read {
            Err(_elapsed) => {
                let silent = prefix.is_empty();
                return Ok(Sniffed {
                    protocol: Protocol::Unknown,
                    prefix,
                    silent,
                });
            }
            Ok(Err(err)) => return Err(err),
            Ok(Ok(0)) => Some(Protocol::Unknown),
            Ok(Ok(_)) => match detect(Direction::ClientToServer, &prefix) {
                Detection::Protocol(protocol) => Some(protocol),
                Detection::Unknown => Some(Protocol::Unknown),
                Detection::NeedMore if prefix.len() >= MAX_SNIFF => Some(Protocol::Unknown),
                Detection::NeedMore => None,
            },
        };
        if let Some(protocol) = protocol {
            return Ok(Sniffed {
                protocol,
                prefix,
                silent: false,
            });
        }
        if prefix.capacity() == prefix.len() {
            prefix.reserve(prefix.len());
        }
    }
}

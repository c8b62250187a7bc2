//! The relay when either side is not a plain socket: TLS from a client (a
//! listener's `tls:`) or to an upstream (a cluster's `tls:`). The tap
//! reads the plaintext, the same bytes as on a plaintext relay.
//!
//! A TLS stream has no readiness to wait on without a buffer, so each
//! direction reads into a buffer it keeps while the connection lives; a
//! read that did not fill it gives a large one back to the worker's pool
//! and goes on with a small one of its own, so an idle TLS relay holds two
//! [`MIN_READ`] buffers (and rustls's own).
use super::buffers;
use super::relay::{
    both_ways, end_of_stream, forward, write_early, Counters, Early, MAX_READ, MIN_READ,
};
use super::tap::Tap;
use crate::cluster::tls::UpstreamIo;
use crate::pipeline::clock;
use periscope_parsers::Direction;
use prometheus::IntCounter;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite};
use tokio::net::TcpStream;

/// A downstream connection, plaintext or TLS.
pub enum Downstream {
    Plain(TcpStream),
    /// Boxed: the TLS state is large.
    Tls(Box<tokio_rustls::server::TlsStream<TcpStream>>),
}

/// [`super::relay`] between a client and an upstream connection, either
/// plaintext or TLS; two sockets take the relay made for them.
pub async fn relay_io(
    client: &mut Downstream,
    upstream: &mut UpstreamIo,
    early: Early<'_>,
    tap: Option<Tap>,
    counters: &Counters,
    idle_timeout: Option<Duration>,
) -> std::io::Result<()> {
    let (idle, c) = (idle_timeout, counters);
    // The TLS relays are boxed: inline, the largest would size the
    // plaintext relay's future too.
    match (client, upstream) {
        (Downstream::Plain(client), UpstreamIo::Plain(tcp)) => {
            super::relay(client, tcp, early, tap, c, idle).await
        }
        // Each boxed in a statement of its own: see `HttpListener::serve`.
        (Downstream::Plain(client), UpstreamIo::Tls(tls)) => {
            let relaying = Box::pin(relay_stream(client, tls.as_mut(), early, tap, c, idle));
            relaying.await
        }
        (Downstream::Tls(client), UpstreamIo::Plain(tcp)) => {
            let relaying = Box::pin(relay_stream(client.as_mut(), tcp, early, tap, c, idle));
            relaying.await
        }
        (Downstream::Tls(client), UpstreamIo::Tls(tls)) => {
            let relaying = Box::pin(relay_stream(
                client.as_mut(),
                tls.as_mut(),
                early,
                tap,
                c,
                idle,
            ));
            relaying.await
        }
    }
}

async fn relay_stream<C, U>(
    client: &mut C,
    upstream: &mut U,
    early: Early<'_>,
    tap: Option<Tap>,
    counters: &Counters,
    idle_timeout: Option<Duration>,
) -> std::io::Result<()>
where
    C: AsyncRead + AsyncWrite + Unpin,
    U: AsyncRead + AsyncWrite + Unpin,
{
    let tap = Mutex::new(tap);
    write_early(client, upstream, &early, &tap, counters, idle_timeout).await?;
    let last_read = AtomicU64::new(clock::now().0);
    let (client_read, client_write) = tokio::io::split(client);
    let (upstream_read, upstream_write) = tokio::io::split(upstream);
    let to_server = pump(
        client_read,
        upstream_write,
        Direction::ClientToServer,
        &tap,
        &counters.from_client,
        &last_read,
    );
    let to_client = pump(
        upstream_read,
        client_write,
        Direction::ServerToClient,
        &tap,
        &counters.to_client,
        &last_read,
    );
    both_ways(
        to_server,
        to_client,
        &tap,
        &last_read,
        counters,
        idle_timeout,
    )
    .await
}

/// Copies one direction until its end of stream.
async fn pump<R: AsyncRead + Unpin, W: AsyncWrite + Unpin>(
    mut reader: R,
    mut writer: W,
    dir: Direction,
    tap: &Mutex<Option<Tap>>,
    counter: &IntCounter,
    last_read: &AtomicU64,
) -> std::io::Result<()> {
    let mut read_size = MIN_READ;
    let mut buffer: Vec<u8> = Vec::new();
    loop {
        if buffer.capacity() < read_size {
            buffers::give_back(std::mem::take(&mut buffer), MAX_READ);
            // The pool's buffers are large: a small read gets its own, so
            // a relay waiting idle holds no pooled buffer.
            buffer = match read_size {
                MIN_READ => Vec::with_capacity(MIN_READ),
                _ => buffers::take(read_size),
            };
        }
        let n = match reader.read_buf(&mut buffer).await {
            Ok(n) => n,
            // A TLS peer that closed its socket without close_notify: an
            // end of stream like any other, as Envoy takes it (half-close
            // and the tap's end of stream follow).
            Err(err) if err.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(err) => return Err(err),
        };
        last_read.store(clock::now().0, Ordering::Relaxed);
        if n == 0 {
            end_of_stream(&mut writer, dir, tap).await;
            return Ok(());
        }
        forward(&buffer, &mut writer, dir, tap, counter).await?;
        if n == buffer.capacity() {
            read_size = (read_size * 2).min(MAX_READ);
        } else if buffer.capacity() > MIN_READ {
            // Caught up: the next wait may be long.
            buffers::give_back(std::mem::take(&mut buffer), MAX_READ);
            read_size = MIN_READ;
        }
        buffer.clear();
    }
}

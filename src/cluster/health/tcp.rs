//! TCP health check: connect; with a payload, send it and read until every
//! expected block has been seen in order (Envoy's fuzzy match: blocks need
//! not be adjacent), the peer closes, or the read cap is reached.
//!
//! With `reuse_connection` a connection whose check passed is kept and the
//! next check sends its payload on it again, as Envoy does. Connect-only
//! checks always connect anew: connecting is what they test.
use super::{connect_tcp, CheckResult, Target};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Most bytes read looking for the expected blocks.
const READ_CAP: usize = 256 * 1024;

pub async fn check(
    kept: &mut Option<TcpStream>,
    to: Target<'_>,
    send: &[u8],
    receive: &[Vec<u8>],
) -> CheckResult {
    // A kept connection the server closed meanwhile fails before any reply
    // byte: the check is then made on a fresh one, not counted as failed.
    if let Some(stream) = kept.take().and_then(still_open) {
        match exchange(stream, send, receive).await {
            (Exchange::Lost(_), _) => {}
            (Exchange::Done(result), stream) => {
                *kept = stream;
                return result;
            }
        }
    }
    // Plaintext: validation keeps payload checks off TLS clusters, and a
    // connect-only check needs no handshake.
    let stream = match connect_tcp(&to.endpoint.address).await {
        Ok(stream) => stream,
        Err(failed) => return failed,
    };
    if send.is_empty() {
        return CheckResult::Success;
    }
    match exchange(stream, send, receive).await {
        (Exchange::Lost(result), _) => result,
        (Exchange::Done(result), stream) => {
            *kept = stream;
            result
        }
    }
}

enum Exchange {
    Done(CheckResult),
    /// The connection failed before a byte of the reply came: on a kept
    /// connection, the server closed it meanwhile.
    Lost(CheckResult),
}

/// Sends the payload and reads the reply; gives the connection back when
/// the check passed on it.
async fn exchange(
    mut stream: TcpStream,
    send: &[u8],
    receive: &[Vec<u8>],
) -> (Exchange, Option<TcpStream>) {
    if let Err(e) = stream.write_all(send).await {
        let failed = CheckResult::NetworkFailure(format!("send: {e}"));
        return (Exchange::Lost(failed), None);
    }
    if receive.is_empty() {
        return (Exchange::Done(CheckResult::Success), Some(stream));
    }
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if matches_in_order(&seen, receive) {
            return (Exchange::Done(CheckResult::Success), Some(stream));
        }
        if seen.len() >= READ_CAP {
            let why = format!("expected bytes not in the first {READ_CAP} bytes");
            return (Exchange::Done(CheckResult::Failure(why)), None);
        }
        let failed = match stream.read(&mut buf).await {
            Ok(n) if n > 0 => {
                seen.extend_from_slice(&buf[..n]);
                continue;
            }
            Ok(_) => CheckResult::Failure(format!(
                "reply of {} bytes lacks the expected bytes",
                seen.len()
            )),
            Err(e) => CheckResult::NetworkFailure(format!("receive: {e}")),
        };
        if seen.is_empty() {
            return (Exchange::Lost(failed), None);
        }
        return (Exchange::Done(failed), None);
    }
}

/// A kept connection, unless the server has closed it. Bytes it sent
/// after the reply that passed (none, from a request-reply protocol) are
/// dropped, so they cannot pass the next check in its stead.
fn still_open(stream: TcpStream) -> Option<TcpStream> {
    let mut buf = [0u8; 4096];
    // A server that keeps sending is not one to keep a check connection to.
    for _ in 0..16 {
        match stream.try_read(&mut buf) {
            Ok(0) => return None,
            Ok(_) => continue,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => return Some(stream),
            Err(_) => return None,
        }
    }
    None
}

/// Each block found after the end of the previous one.
pub fn matches_in_order(haystack: &[u8], blocks: &[Vec<u8>]) -> bool {
    let mut rest = haystack;
    for block in blocks {
        match rest
            .windows(block.len())
            .position(|w| w == block.as_slice())
        {
            Some(at) => rest = &rest[at + block.len()..],
            None => return false,
        }
    }
    true
}

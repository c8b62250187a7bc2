//! TCP health check: connect; with a payload, send it and read until every
//! expected block has been seen in order (Envoy's fuzzy match: blocks need
//! not be adjacent), the peer closes, or the read cap is reached.
//!
//! With `reuse_connection` a connection whose check passed is kept and the
//! next check sends its payload on it again, as Envoy does. Connect-only
//! checks always connect anew (with the TLS handshake on a TLS cluster):
//! connecting is what they test.
//! A payload goes over the cluster's TLS when it has one.
use super::{connect, connect_tcp, CheckResult, Target};
use crate::cluster::tls::{Alpn, UpstreamIo};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Most bytes read looking for the expected blocks.
const READ_CAP: usize = 256 * 1024;

pub async fn check(
    kept: &mut Option<UpstreamIo>,
    to: Target<'_>,
    send: &[u8],
    receive: &[Vec<u8>],
) -> CheckResult {
    // A kept connection the server closed meanwhile fails before any reply
    // byte: the check is then made on a fresh one, not counted as failed.
    if let Some(stream) = kept
        .take()
        .filter(|_| !send.is_empty())
        .and_then(still_open)
    {
        match exchange(stream, send, receive).await {
            (Exchange::Lost(_), _) => {}
            (Exchange::Done(result), stream) => {
                *kept = stream;
                return result;
            }
        }
    }
    if send.is_empty() {
        // Connecting is the check; on a TLS cluster that includes the
        // handshake, as Envoy's does.
        let connected = match to.tls {
            Some(_) => connect(to, Alpn::Relay).await.map(drop),
            None => connect_tcp(&to.endpoint.address).await.map(drop),
        };
        return match connected {
            Ok(()) => CheckResult::Success,
            Err(failed) => failed,
        };
    }
    let stream = match connect(to, Alpn::Relay).await {
        Ok(stream) => stream,
        Err(failed) => return failed,
    };
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
    mut stream: UpstreamIo,
    send: &[u8],
    receive: &[Vec<u8>],
) -> (Exchange, Option<UpstreamIo>) {
    let sent = async {
        stream.write_all(send).await?;
        stream.flush().await
    };
    if let Err(e) = sent.await {
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

/// A kept connection, unless the server has closed it or sent something
/// unasked (which could pass the next check in its reply's stead).
fn still_open(mut stream: UpstreamIo) -> Option<UpstreamIo> {
    stream.is_reusable().then_some(stream)
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

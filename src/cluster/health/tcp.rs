//! TCP health check: connect; with a payload, send it and read until every
//! expected block has been seen in order (Envoy's fuzzy match: blocks need
//! not be adjacent), the peer closes, or the read cap is reached.
use super::{connect, CheckResult};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Most bytes read looking for the expected blocks.
const READ_CAP: usize = 256 * 1024;

pub async fn check(address: &str, send: &[u8], receive: &[Vec<u8>]) -> CheckResult {
    let mut stream = match connect(address).await {
        Ok(stream) => stream,
        Err(failed) => return failed,
    };
    if send.is_empty() {
        return CheckResult::Success;
    }
    if let Err(e) = stream.write_all(send).await {
        return CheckResult::NetworkFailure(format!("send: {e}"));
    }
    if receive.is_empty() {
        return CheckResult::Success;
    }
    let mut seen = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        if matches_in_order(&seen, receive) {
            return CheckResult::Success;
        }
        if seen.len() >= READ_CAP {
            return CheckResult::Failure(format!(
                "expected bytes not in the first {READ_CAP} bytes"
            ));
        }
        match stream.read(&mut buf).await {
            Ok(0) => {
                return CheckResult::Failure(format!(
                    "reply of {} bytes lacks the expected bytes",
                    seen.len()
                ))
            }
            Ok(n) => seen.extend_from_slice(&buf[..n]),
            Err(e) => return CheckResult::NetworkFailure(format!("receive: {e}")),
        }
    }
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

//! HTTP health check: `GET path` over a fresh HTTP/1.1 connection; the
//! status decides. The body is not read: the connection is closed as soon
//! as the head has arrived.
use super::{connect, CheckResult};
use bytes::Bytes;
use http::{header, Request};
use http_body_util::Empty;
use hyper_util::rt::TokioIo;

pub const USER_AGENT: &str = "periscope-health-check";

pub async fn check(address: &str, path: &str, host: &str, expected: &[(u16, u16)]) -> CheckResult {
    let stream = match connect(address).await {
        Ok(stream) => stream,
        Err(failed) => return failed,
    };
    let (mut sender, conn) = match hyper::client::conn::http1::handshake(TokioIo::new(stream)).await
    {
        Ok(pair) => pair,
        Err(e) => return CheckResult::NetworkFailure(format!("http handshake: {e}")),
    };
    let request = Request::get(path)
        .header(header::HOST, host)
        .header(header::USER_AGENT, USER_AGENT)
        .header(header::CONNECTION, "close")
        .body(Empty::<Bytes>::new());
    let request = match request {
        Ok(request) => request,
        Err(e) => return CheckResult::Failure(format!("cannot build the request: {e}")),
    };
    // The connection must be polled for the request to make progress. It
    // may finish in the same poll that delivers the response (the server
    // closes after it), so its end is not a failure by itself.
    let mut sent = std::pin::pin!(sender.send_request(request));
    let response = tokio::select! {
        response = &mut sent => response,
        closed = conn => match closed {
            Ok(()) => sent.await,
            Err(e) => return CheckResult::NetworkFailure(format!("http: {e}")),
        },
    };
    match response {
        Ok(response) => status_result(response.status().as_u16(), expected),
        Err(e) => CheckResult::NetworkFailure(format!("http: {e}")),
    }
}

pub fn status_result(status: u16, expected: &[(u16, u16)]) -> CheckResult {
    if expected
        .iter()
        .any(|&(start, end)| (start..end).contains(&status))
    {
        CheckResult::Success
    } else {
        CheckResult::Failure(format!("http status {status}"))
    }
}

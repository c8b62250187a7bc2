//! HTTP health check: `GET path` over HTTP/1.1; the status decides. With
//! `reuse_connection` one connection serves an endpoint's checks for as
//! long as it stays open: the body is read (up to [`MAX_REUSED_BODY`]) so
//! that the next check can follow on it. A failure, a timeout,
//! `Connection: close` or a larger body drops it, and the next check
//! connects afresh.
use super::{connect, CheckResult, Driven, Target};
use crate::cluster::tls::Alpn;
use bytes::Bytes;
use http::{header, Request};
use http_body_util::{BodyExt, Empty, Limited};
use hyper::client::conn::http1::SendRequest;
use hyper_util::rt::TokioIo;

pub const USER_AGENT: &str = "periscope-health-check";

/// A health answer's body larger than this is not read: the connection is
/// closed instead of kept.
const MAX_REUSED_BODY: usize = 64 * 1024;

/// One kept HTTP/1.1 connection.
pub type Conn = Driven<SendRequest<Empty<Bytes>>>;

pub async fn check(
    kept: &mut Option<Conn>,
    to: Target<'_>,
    path: &str,
    host: &str,
    expected: &[(u16, u16)],
) -> CheckResult {
    // A kept connection the server has closed in the meantime (its idle
    // timeout) fails to carry the request: the check is then made on a
    // fresh one, not counted as a failure.
    if let Some(mut conn) = kept.take() {
        if conn.sender.ready().await.is_ok() {
            if let Ok(result) = exchange(conn, kept, path, host, expected).await {
                return result;
            }
        }
    }
    let conn = match open(to).await {
        Ok(conn) => conn,
        Err(failed) => return failed,
    };
    exchange(conn, kept, path, host, expected)
        .await
        .unwrap_or_else(|e| CheckResult::NetworkFailure(format!("http: {e}")))
}

/// One request on `conn`, or the error that kept it from an answer. The
/// connection goes back to `kept` when the answer was whole and the
/// server keeps it open.
async fn exchange(
    mut conn: Conn,
    kept: &mut Option<Conn>,
    path: &str,
    host: &str,
    expected: &[(u16, u16)],
) -> Result<CheckResult, hyper::Error> {
    let request = Request::get(path)
        .header(header::HOST, host)
        .header(header::USER_AGENT, USER_AGENT)
        .body(Empty::<Bytes>::new());
    let request = match request {
        Ok(request) => request,
        Err(e) => {
            return Ok(CheckResult::Failure(format!(
                "cannot build the request: {e}"
            )))
        }
    };
    let response = conn.sender.send_request(request).await?;
    let result = status_result(response.status().as_u16(), expected);
    let closing = (response.headers().get_all(header::CONNECTION).iter())
        .any(|v| v.as_bytes().eq_ignore_ascii_case(b"close"));
    let body = Limited::new(response.into_body(), MAX_REUSED_BODY);
    if !closing && body.collect().await.is_ok() {
        *kept = Some(conn);
    }
    Ok(result)
}

/// A fresh HTTP/1.1 connection, driven by its own task.
async fn open(to: Target<'_>) -> Result<Conn, CheckResult> {
    let stream = connect(to, Alpn::Http1).await?;
    let (sender, connection) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
        .await
        .map_err(|e| CheckResult::NetworkFailure(format!("http handshake: {e}")))?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Driven::new(sender, task))
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

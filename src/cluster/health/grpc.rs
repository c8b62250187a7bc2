//! gRPC health check: `grpc.health.v1.Health/Check` over h2c; healthy when
//! the call succeeds and the serving status is SERVING. With
//! `reuse_connection` an endpoint's calls follow one another on one kept
//! connection, as Envoy's do. The two messages are a single optional field
//! each, so they are written and read by hand rather than through
//! generated code.
use super::{connect, CheckResult, Driven, Target};
use crate::cluster::tls::Alpn;
use bytes::{BufMut, Bytes, BytesMut};
use http::{header, Request};
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http2::SendRequest;
use hyper_util::rt::{TokioExecutor, TokioIo};

const PATH: &str = "/grpc.health.v1.Health/Check";
/// `HealthCheckResponse.ServingStatus.SERVING`.
const SERVING: u64 = 1;

/// One kept h2c connection.
pub type Conn = Driven<SendRequest<Full<Bytes>>>;

pub async fn check(
    kept: &mut Option<Conn>,
    to: Target<'_>,
    authority: &str,
    service: &str,
) -> CheckResult {
    // A kept connection the server has closed (or sent GOAWAY on) carries
    // no call: the check is then made on a fresh one, not counted failed.
    if let Some(mut conn) = kept.take() {
        if conn.sender.ready().await.is_ok() {
            if let Ok(result) = call(conn, kept, to, authority, service).await {
                return result;
            }
        }
    }
    let conn = match open(to).await {
        Ok(conn) => conn,
        Err(failed) => return failed,
    };
    call(conn, kept, to, authority, service)
        .await
        .unwrap_or_else(|e| CheckResult::NetworkFailure(format!("h2: {e}")))
}

/// One `Check` call on `conn`, or the error that kept it from an answer.
/// The connection goes back to `kept` once the call is whole.
async fn call(
    mut conn: Conn,
    kept: &mut Option<Conn>,
    to: Target<'_>,
    authority: &str,
    service: &str,
) -> Result<CheckResult, hyper::Error> {
    let address = to.endpoint.address.as_str();
    let scheme = if to.tls.is_some() { "https" } else { "http" };
    // An authority that is not a valid URI authority (a cluster name with
    // an underscore is fine; a space is not) falls back to the address.
    let uri = format!("{scheme}://{authority}{PATH}")
        .parse::<http::Uri>()
        .or_else(|_| format!("{scheme}://{address}{PATH}").parse());
    let request = uri.map_err(|e| e.to_string()).and_then(|uri| {
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/grpc")
            .header(header::TE, "trailers")
            .header(header::USER_AGENT, super::http::USER_AGENT)
            .body(Full::new(request_frame(service)))
            .map_err(|e| e.to_string())
    });
    let request = match request {
        Ok(request) => request,
        Err(e) => {
            return Ok(CheckResult::Failure(format!(
                "cannot build the request: {e}"
            )))
        }
    };
    let response = conn.sender.send_request(request).await?;
    let (parts, body) = response.into_parts();
    if parts.status != http::StatusCode::OK {
        let status = parts.status.as_u16();
        return Ok(CheckResult::Failure(format!("http status {status}")));
    }
    let collected = match body.collect().await {
        Ok(collected) => collected,
        Err(e) => return Ok(CheckResult::NetworkFailure(format!("h2 body: {e}"))),
    };
    let trailers = collected.trailers().cloned().unwrap_or_default();
    let status = (trailers.get("grpc-status"))
        .or_else(|| parts.headers.get("grpc-status"))
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    *kept = Some(conn);
    Ok(verdict(&status, &collected.to_bytes()))
}

/// A fresh h2c connection, driven by its own task.
async fn open(to: Target<'_>) -> Result<Conn, CheckResult> {
    let stream = connect(to, Alpn::H2).await?;
    let handshake =
        hyper::client::conn::http2::handshake(TokioExecutor::new(), TokioIo::new(stream));
    let (sender, connection) = handshake
        .await
        .map_err(|e| CheckResult::NetworkFailure(format!("h2 handshake: {e}")))?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok(Driven::new(sender, task))
}

/// The call's outcome: grpc-status 0 and a SERVING response.
pub fn verdict(status: &str, body: &[u8]) -> CheckResult {
    if status != "0" {
        let status = if status.is_empty() { "missing" } else { status };
        return CheckResult::Failure(format!("grpc-status {status}"));
    }
    match body.get(5..).and_then(serving_status) {
        Some(SERVING) => CheckResult::Success,
        Some(other) => CheckResult::Failure(format!("serving status {}", status_name(other))),
        None => CheckResult::Failure("unreadable HealthCheckResponse".to_owned()),
    }
}

fn status_name(status: u64) -> String {
    match status {
        0 => "UNKNOWN".to_owned(),
        2 => "NOT_SERVING".to_owned(),
        3 => "SERVICE_UNKNOWN".to_owned(),
        other => other.to_string(),
    }
}

/// A length-prefixed, uncompressed `HealthCheckRequest { service }`.
pub fn request_frame(service: &str) -> Bytes {
    let mut message = BytesMut::new();
    if !service.is_empty() {
        message.put_u8(0x0a); // field 1, length-delimited
        put_varint(&mut message, service.len() as u64);
        message.put_slice(service.as_bytes());
    }
    let mut frame = BytesMut::with_capacity(5 + message.len());
    frame.put_u8(0);
    frame.put_u32(message.len() as u32);
    frame.put_slice(&message);
    frame.freeze()
}

fn put_varint(out: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        out.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    out.put_u8(value as u8);
}

/// Field 1 (`status`, a varint) of a `HealthCheckResponse`; absent means
/// 0 (UNKNOWN) in proto3. Other fields are skipped.
pub fn serving_status(mut message: &[u8]) -> Option<u64> {
    let mut status = 0;
    while !message.is_empty() {
        let key = varint(&mut message)?;
        match key & 7 {
            0 => {
                let value = varint(&mut message)?;
                if key >> 3 == 1 {
                    status = value;
                }
            }
            2 => {
                let len = usize::try_from(varint(&mut message)?).ok()?;
                message = message.get(len..)?;
            }
            1 => message = message.get(8..)?,
            5 => message = message.get(4..)?,
            _ => return None,
        }
    }
    Some(status)
}

fn varint(input: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for shift in (0..64).step_by(7) {
        let (&byte, rest) = input.split_first()?;
        *input = rest;
        value |= u64::from(byte & 0x7f) << shift;
        if byte & 0x80 == 0 {
            return Some(value);
        }
    }
    None
}

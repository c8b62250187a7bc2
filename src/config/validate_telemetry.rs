//! Validation of the telemetry outputs: `tracing:` and `access_log:`.
use super::raw::{RawAccessLog, RawLogFormat, RawOtlpProtocol, RawTracing};
use super::validate::Issues;
use super::{AccessLogConfig, LogFormat, LogPath, OtlpProtocol, TracingConfig};
use crate::pipeline::access_log::{TextFormat, DEFAULT_TEXT_FORMAT};

/// Most spans any deployment should hold in memory while the collector lags.
pub const MAX_TRACE_QUEUE: u64 = 1_000_000;

pub(crate) fn tracing(v: &mut Issues, raw: Option<&RawTracing>) -> Option<TracingConfig> {
    let default = RawTracing::default();
    let raw = raw.unwrap_or(&default);
    let endpoint = match &raw.endpoint {
        Some(url) => v.check("tracing.endpoint", check_endpoint(url)).map(Some),
        None => Some(None),
    };
    if raw.service_name.trim().is_empty() {
        v.add("tracing.service_name", "must not be empty");
    }
    let ratio = raw.sampling_ratio;
    if !(0.0..=1.0).contains(&ratio) {
        v.add(
            "tracing.sampling_ratio",
            format!("must be between 0 and 1, got {ratio}"),
        );
    }
    let queue = raw.queue_size;
    if !(1..=MAX_TRACE_QUEUE).contains(&queue) {
        v.add(
            "tracing.queue_size",
            format!("must be between 1 and {MAX_TRACE_QUEUE}, got {queue}"),
        );
    }
    for (name, value) in &raw.headers {
        if http::HeaderName::from_bytes(name.as_bytes()).is_err() {
            v.add(
                format!("tracing.headers.{name}"),
                format!("\"{name}\" is not a valid header name"),
            );
        } else if http::HeaderValue::from_str(value).is_err() {
            v.add(
                format!("tracing.headers.{name}"),
                "header values must be visible ASCII",
            );
        }
    }
    Some(TracingConfig {
        endpoint: endpoint?,
        protocol: match raw.protocol {
            RawOtlpProtocol::Grpc => OtlpProtocol::Grpc,
            RawOtlpProtocol::HttpProtobuf => OtlpProtocol::HttpProtobuf,
        },
        headers: raw.headers.clone().into_iter().collect(),
        service_name: raw.service_name.clone(),
        resource_attributes: raw.resource_attributes.clone().into_iter().collect(),
        sampling_ratio: ratio.clamp(0.0, 1.0),
        queue_size: usize::try_from(queue.clamp(1, MAX_TRACE_QUEUE)).unwrap_or(1),
    })
}

/// An OTLP endpoint: `http://` or `https://` with a host.
pub fn check_endpoint(url: &str) -> Result<String, String> {
    let uri: http::Uri = url
        .parse()
        .map_err(|_| format!("\"{url}\" is not a URL (expected e.g. http://127.0.0.1:4317)"))?;
    match (uri.scheme_str(), uri.authority()) {
        (Some("http" | "https"), Some(_)) => Ok(url.to_owned()),
        _ => Err(format!(
            "\"{url}\" must be an http:// or https:// URL with a host (e.g. http://127.0.0.1:4317)"
        )),
    }
}

/// `None` when invalid (issues recorded); `Some(None)` when absent.
pub(crate) fn access_log(
    v: &mut Issues,
    p: &str,
    raw: Option<&RawAccessLog>,
) -> Option<Option<AccessLogConfig>> {
    let Some(raw) = raw else { return Some(None) };
    let p = format!("{p}.access_log");
    let path = match raw.path.as_str() {
        "" => {
            v.add(format!("{p}.path"), "must be `stdout` or a file path");
            None
        }
        "stdout" => Some(LogPath::Stdout),
        file => Some(LogPath::File(file.into())),
    };
    let format = match (raw.format, &raw.text_format) {
        (RawLogFormat::Json, None) => Some(LogFormat::Json),
        (RawLogFormat::Json, Some(_)) => {
            v.add(
                format!("{p}.text_format"),
                "text_format only applies to format text (this log is json)",
            );
            None
        }
        (RawLogFormat::Text, text) => v
            .check(
                format!("{p}.text_format"),
                TextFormat::parse(text.as_deref().unwrap_or(DEFAULT_TEXT_FORMAT)),
            )
            .map(LogFormat::Text),
    };
    Some(Some(AccessLogConfig {
        path: path?,
        format: format?,
    }))
}

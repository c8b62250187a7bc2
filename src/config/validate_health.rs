//! Validation of a cluster's `health_check`, `outlier_detection` and
//! `healthy_panic_threshold`.
//!
//! Every value is checked and reported under its own path (so the error
//! names its line), and a check kind's fields are checked even when a
//! sibling kind is also given, so one run reports everything.
use super::raw::{RawGrpcCheck, RawHealthCheck, RawHttpCheck, RawOutlierDetection, RawPayload};
use super::validate::{positive_duration, Issues};
use super::values::{check_authority, check_header_value, parse_duration};
use super::{
    FailurePercentageDetector, HealthCheckConfig, HealthCheckKind, OutlierConfig,
    SuccessRateDetector,
};

/// Upper bound of the check thresholds: beyond it a flap would take hours
/// to register at any sensible interval; almost surely a typo.
const MAX_THRESHOLD: u64 = 1000;
/// Cap on a TCP check's `send` and each `receive` block.
const MAX_PAYLOAD: usize = 64 * 1024;

pub(crate) fn health_check(
    v: &mut Issues,
    p: &str,
    raw: &RawHealthCheck,
) -> Option<HealthCheckConfig> {
    let interval = v.check(format!("{p}.interval"), positive_duration(&raw.interval));
    let jitter = v.check(
        format!("{p}.interval_jitter"),
        parse_duration(&raw.interval_jitter),
    );
    let timeout = v.check(format!("{p}.timeout"), positive_duration(&raw.timeout));
    let mut optional = |field: &str, text: &Option<String>| match text {
        Some(text) => v
            .check(format!("{p}.{field}"), positive_duration(text))
            .map(Some),
        None => Some(None),
    };
    let unhealthy_interval = optional("unhealthy_interval", &raw.unhealthy_interval);
    let unhealthy_edge = optional("unhealthy_edge_interval", &raw.unhealthy_edge_interval);
    let healthy_edge = optional("healthy_edge_interval", &raw.healthy_edge_interval);
    let unhealthy = v.check(
        format!("{p}.unhealthy_threshold"),
        threshold(raw.unhealthy_threshold),
    );
    let healthy = v.check(
        format!("{p}.healthy_threshold"),
        threshold(raw.healthy_threshold),
    );
    let given: Vec<&str> = [
        raw.http.as_ref().map(|_| "http"),
        raw.tcp.as_ref().map(|_| "tcp"),
        raw.grpc.as_ref().map(|_| "grpc"),
    ]
    .into_iter()
    .flatten()
    .collect();
    let http = raw.http.as_ref().map(|h| http(v, &format!("{p}.http"), h));
    let tcp = raw.tcp.as_ref().map(|t| {
        let send = t
            .send
            .as_ref()
            .map(|s| payload(v, &format!("{p}.tcp.send"), s));
        let receive: Vec<_> = (t.receive.iter().enumerate())
            .map(|(i, r)| payload(v, &format!("{p}.tcp.receive[{i}]"), r))
            .collect();
        if t.send.is_none() && !t.receive.is_empty() {
            v.add(
                format!("{p}.tcp.receive"),
                "receive needs send: a server that speaks first is not awaited",
            );
            return None;
        }
        Some(HealthCheckKind::Tcp {
            send: send.unwrap_or(Some(Vec::new()))?,
            receive: receive.into_iter().collect::<Option<_>>()?,
        })
    });
    let grpc = raw.grpc.as_ref().map(|g| grpc(v, &format!("{p}.grpc"), g));
    if given.len() != 1 {
        let found = match given.as_slice() {
            [] => "none".to_owned(),
            several => several.join(" and "),
        };
        v.add(
            p,
            format!("exactly one of http, tcp, grpc is required (found {found})"),
        );
        return None;
    }
    let interval = interval?;
    let unhealthy_interval = unhealthy_interval?.unwrap_or(interval);
    Some(HealthCheckConfig {
        interval,
        unhealthy_interval,
        unhealthy_edge_interval: unhealthy_edge?.unwrap_or(unhealthy_interval),
        healthy_edge_interval: healthy_edge?.unwrap_or(interval),
        interval_jitter: jitter?,
        timeout: timeout?,
        unhealthy_threshold: unhealthy?,
        healthy_threshold: healthy?,
        reuse_connection: raw.reuse_connection,
        kind: http.or(tcp).or(grpc).flatten()?,
    })
}

fn threshold(value: u64) -> Result<u32, String> {
    if (1..=MAX_THRESHOLD).contains(&value) {
        Ok(value as u32)
    } else {
        Err(format!(
            "must be between 1 and {MAX_THRESHOLD}, got {value}"
        ))
    }
}

fn http(v: &mut Issues, p: &str, raw: &RawHttpCheck) -> Option<HealthCheckKind> {
    let path_ok = raw.path.starts_with('/')
        && raw.path.parse::<http::uri::PathAndQuery>().is_ok()
        && !raw.path.contains(['#', ' ']);
    let path = v.check(
        format!("{p}.path"),
        if path_ok {
            Ok(())
        } else {
            Err(format!(
                "invalid path \"{}\": expected an absolute path such as /healthz",
                raw.path
            ))
        },
    );
    let host = match &raw.host {
        Some(host) => v.check(format!("{p}.host"), check_header_value(host)),
        None => Some(()),
    };
    if raw.expected_statuses.is_empty() {
        v.add(
            format!("{p}.expected_statuses"),
            "at least one status range is required",
        );
    }
    let mut expected = Some(Vec::new());
    for (i, range) in raw.expected_statuses.iter().enumerate() {
        let ok = (100..600).contains(&range.start) && range.start < range.end && range.end <= 600;
        if ok {
            if let Some(list) = expected.as_mut() {
                list.push((range.start as u16, range.end as u16));
            }
        } else {
            v.add(
                format!("{p}.expected_statuses[{i}]"),
                format!(
                    "invalid status range [{}, {}): expected 100 <= start < end <= 600 (end excluded)",
                    range.start, range.end
                ),
            );
            expected = None;
        }
    }
    path?;
    host?;
    Some(HealthCheckKind::Http {
        path: raw.path.clone(),
        host: raw.host.clone(),
        expected: expected.filter(|e| !e.is_empty())?,
    })
}

fn payload(v: &mut Issues, p: &str, raw: &RawPayload) -> Option<Vec<u8>> {
    let bytes = match (&raw.text, &raw.hex) {
        (Some(text), None) => Ok(text.as_bytes().to_vec()),
        (None, Some(hex)) => decode_hex(hex),
        (None, None) => Err("exactly one of text, hex is required (found none)".to_owned()),
        (Some(_), Some(_)) => {
            Err("exactly one of text, hex is required (found text and hex)".to_owned())
        }
    };
    let bytes = bytes.and_then(|b| match b.len() {
        0 => Err("the payload is empty".to_owned()),
        n if n > MAX_PAYLOAD => Err(format!("at most {MAX_PAYLOAD} bytes, got {n}")),
        _ => Ok(b),
    });
    v.check(p, bytes)
}

fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let digits: Vec<u8> = text.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    let bad = || format!("invalid hex \"{text}\": expected pairs of hex digits such as 50494e47");
    if digits.len() % 2 != 0 {
        return Err(bad());
    }
    (digits.chunks(2))
        .map(|pair| {
            let pair = std::str::from_utf8(pair).map_err(|_| bad())?;
            u8::from_str_radix(pair, 16).map_err(|_| bad())
        })
        .collect()
}

fn grpc(v: &mut Issues, p: &str, raw: &RawGrpcCheck) -> Option<HealthCheckKind> {
    if let Some(authority) = &raw.authority {
        v.check(format!("{p}.authority"), check_authority(authority))?;
    }
    Some(HealthCheckKind::Grpc {
        service_name: raw.service_name.clone(),
        authority: raw.authority.clone(),
    })
}

pub(crate) fn outlier(v: &mut Issues, p: &str, raw: &RawOutlierDetection) -> Option<OutlierConfig> {
    let mut count = |field: &str, value: u64| v.check(format!("{p}.{field}"), threshold(value));
    let consecutive_5xx = count("consecutive_5xx", raw.consecutive_5xx);
    let gateway = count(
        "consecutive_gateway_failure",
        raw.consecutive_gateway_failure,
    );
    let local = count(
        "consecutive_local_origin_failure",
        raw.consecutive_local_origin_failure,
    );
    let mut percent =
        |field: &str, value: u64| v.check(format!("{p}.{field}"), percent_value(value));
    let enforcing_5xx = percent("enforcing_consecutive_5xx", raw.enforcing_consecutive_5xx);
    let enforcing_gateway = percent(
        "enforcing_consecutive_gateway_failure",
        raw.enforcing_consecutive_gateway_failure,
    );
    let enforcing_local = percent(
        "enforcing_consecutive_local_origin_failure",
        raw.enforcing_consecutive_local_origin_failure,
    );
    let max_percent = percent("max_ejection_percent", raw.max_ejection_percent);
    let enforcing_success_rate = percent("enforcing_success_rate", raw.enforcing_success_rate);
    let failure_threshold = percent(
        "failure_percentage_threshold",
        raw.failure_percentage_threshold,
    );
    let enforcing_failure = percent(
        "enforcing_failure_percentage",
        raw.enforcing_failure_percentage,
    );
    let mut count = |field: &str, value: u64| v.check(format!("{p}.{field}"), volume(value));
    let success_hosts = count("success_rate_minimum_hosts", raw.success_rate_minimum_hosts);
    let success_volume = count(
        "success_rate_request_volume",
        raw.success_rate_request_volume,
    );
    let failure_hosts = count(
        "failure_percentage_minimum_hosts",
        raw.failure_percentage_minimum_hosts,
    );
    let failure_volume = count(
        "failure_percentage_request_volume",
        raw.failure_percentage_request_volume,
    );
    let stdev_factor = v.check(
        format!("{p}.success_rate_stdev_factor"),
        stdev_factor(raw.success_rate_stdev_factor),
    );
    let mut duration =
        |field: &str, text: &str| v.check(format!("{p}.{field}"), positive_duration(text));
    let interval = duration("interval", &raw.interval);
    let base = duration("base_ejection_time", &raw.base_ejection_time);
    let max = duration("max_ejection_time", &raw.max_ejection_time);
    Some(OutlierConfig {
        consecutive_5xx: consecutive_5xx?,
        consecutive_gateway_failure: gateway?,
        consecutive_local_origin_failure: local?,
        enforcing_consecutive_5xx: enforcing_5xx?,
        enforcing_consecutive_gateway_failure: enforcing_gateway?,
        enforcing_consecutive_local_origin_failure: enforcing_local?,
        interval: interval?,
        base_ejection_time: base?,
        max_ejection_time: max?,
        max_ejection_percent: max_percent?,
        successful_active_health_check_uneject_host: raw
            .successful_active_health_check_uneject_host,
        success_rate: SuccessRateDetector {
            minimum_hosts: success_hosts?,
            request_volume: success_volume?,
            stdev_factor: stdev_factor?,
            enforcing: enforcing_success_rate?,
        },
        failure_percentage: FailurePercentageDetector {
            minimum_hosts: failure_hosts?,
            request_volume: failure_volume?,
            threshold: failure_threshold?,
            enforcing: enforcing_failure?,
        },
    })
}

/// Hosts or requests a statistical detector needs before it judges; 0 as
/// in Envoy (no minimum; a request volume of 0 counts from one request).
fn volume(value: u64) -> Result<u32, String> {
    if value <= 1_000_000 {
        Ok(value as u32)
    } else {
        Err(format!("must be between 0 and 1000000, got {value}"))
    }
}

/// Thousandths of a standard deviation: Envoy's 1900 is 1.9.
fn stdev_factor(value: u64) -> Result<u32, String> {
    if value <= 100_000 {
        Ok(value as u32)
    } else {
        Err(format!(
            "must be between 0 and 100000 (thousandths of a standard deviation), got {value}"
        ))
    }
}

pub(crate) fn percent_value(value: u64) -> Result<u8, String> {
    if value <= 100 {
        Ok(value as u8)
    } else {
        Err(format!(
            "a percentage must be between 0 and 100, got {value}"
        ))
    }
}

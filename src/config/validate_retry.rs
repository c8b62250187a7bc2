//! Validation of retry policies and circuit breakers into the typed model.
use super::raw_retry::{RawCircuitBreakers, RawRetryPolicy};
use super::validate::{positive_duration, Issues};
use super::{CircuitBreakersConfig, RetryOn, RetryPolicyConfig};

/// Most retries of one request: more would only amplify an outage.
const MAX_NUM_RETRIES: u64 = 10;
const MAX_RETRY_BODY_BYTES: u64 = 16 << 20;

pub(crate) fn retry_policy(
    v: &mut Issues,
    p: &str,
    raw: &RawRetryPolicy,
) -> Option<RetryPolicyConfig> {
    let on = v.check(format!("{p}.retry_on"), retry_on(&raw.retry_on));
    let num_retries = v.check(
        format!("{p}.num_retries"),
        match raw.num_retries {
            n @ 1..=MAX_NUM_RETRIES => Ok(n as u32),
            n => Err(format!("must be between 1 and {MAX_NUM_RETRIES}, got {n}")),
        },
    );
    let per_try_timeout = match &raw.per_try_timeout {
        None => Some(None),
        Some(t) => v
            .check(format!("{p}.per_try_timeout"), positive_duration(t))
            .map(Some),
    };
    let codes: Vec<Option<u16>> = (raw.retriable_status_codes.iter().enumerate())
        .map(|(i, &code)| {
            v.check(
                format!("{p}.retriable_status_codes[{i}]"),
                match u16::try_from(code) {
                    Ok(c) if (100..=599).contains(&c) => Ok(c),
                    _ => Err(format!("must be an HTTP status (100-599), got {code}")),
                },
            )
        })
        .collect();
    let base = v.check(
        format!("{p}.retry_back_off.base_interval"),
        positive_duration(&raw.retry_back_off.base_interval),
    );
    let max = match (&raw.retry_back_off.max_interval, base) {
        (Some(m), _) => v.check(
            format!("{p}.retry_back_off.max_interval"),
            positive_duration(m).and_then(|max| match base {
                Some(b) if max < b => Err(format!(
                    "must not be shorter than base_interval ({}ms)",
                    b.as_millis()
                )),
                _ => Ok(max),
            }),
        ),
        (None, Some(b)) => Some(b * 10),
        (None, None) => None,
    };
    let max_body_bytes = v.check(
        format!("{p}.max_body_bytes"),
        match raw.max_body_bytes {
            n if n <= MAX_RETRY_BODY_BYTES => Ok(n as usize),
            n => Err(format!(
                "must be at most {MAX_RETRY_BODY_BYTES} (16 MiB), got {n}"
            )),
        },
    );
    let on = on?;
    let codes: Vec<u16> = codes.into_iter().collect::<Option<_>>()?;
    if on.retriable_status_codes && codes.is_empty() {
        v.add(
            format!("{p}.retriable_status_codes"),
            "retry_on names retriable-status-codes but no codes are listed",
        );
        return None;
    }
    Some(RetryPolicyConfig {
        on,
        num_retries: num_retries?,
        per_try_timeout: per_try_timeout?,
        retriable_status_codes: codes,
        base_interval: base?,
        max_interval: max?,
        max_body_bytes: max_body_bytes?,
    })
}

fn retry_on(text: &str) -> Result<RetryOn, String> {
    let mut on = RetryOn::default();
    let mut any = false;
    for condition in text.split(',').map(str::trim).filter(|c| !c.is_empty()) {
        any = true;
        match condition {
            "5xx" => on.five_xx = true,
            "gateway-error" => on.gateway_error = true,
            "reset" => on.reset = true,
            "connect-failure" => on.connect_failure = true,
            "retriable-status-codes" => on.retriable_status_codes = true,
            "cancelled" => on.grpc_cancelled = true,
            "deadline-exceeded" => on.grpc_deadline_exceeded = true,
            "internal" => on.grpc_internal = true,
            "resource-exhausted" => on.grpc_resource_exhausted = true,
            "unavailable" => on.grpc_unavailable = true,
            other => {
                return Err(format!(
                    "unknown condition \"{other}\" (known: 5xx, gateway-error, reset, \
                     connect-failure, retriable-status-codes, cancelled, deadline-exceeded, \
                     internal, resource-exhausted, unavailable)"
                ))
            }
        }
    }
    if any {
        Ok(on)
    } else {
        Err("at least one condition is required".to_owned())
    }
}

pub(crate) fn circuit_breakers(
    v: &mut Issues,
    p: &str,
    raw: Option<&RawCircuitBreakers>,
) -> Option<CircuitBreakersConfig> {
    let default = RawCircuitBreakers::default();
    let raw = raw.unwrap_or(&default);
    let mut count = |field: &str, value: u64| {
        v.check(
            format!("{p}.{field}"),
            match value {
                n @ 1..=1_000_000 => Ok(n as usize),
                n => Err(format!("must be between 1 and 1000000, got {n}")),
            },
        )
    };
    let max_connections = count("max_connections", raw.max_connections);
    let max_pending_requests = count("max_pending_requests", raw.max_pending_requests);
    let max_requests = count("max_requests", raw.max_requests);
    let max_retries = count("max_retries", raw.max_retries);
    let budget = match &raw.retry_budget {
        None => Some(None),
        Some(b) => {
            let percent = v.check(
                format!("{p}.retry_budget.budget_percent"),
                if (0.0..=100.0).contains(&b.budget_percent) {
                    Ok(b.budget_percent)
                } else {
                    Err(format!(
                        "must be between 0 and 100, got {}",
                        b.budget_percent
                    ))
                },
            );
            let min = v.check(
                format!("{p}.retry_budget.min_retry_concurrency"),
                usize::try_from(b.min_retry_concurrency).map_err(|e| e.to_string()),
            );
            Some(Some((percent?, min?)))
        }
    };
    Some(CircuitBreakersConfig {
        max_connections: max_connections?,
        max_pending_requests: max_pending_requests?,
        max_requests: max_requests?,
        max_retries: max_retries?,
        retry_budget: budget?,
    })
}

//! When a failed attempt is tried again, and after how long (Envoy's
//! route `retry_policy`). Pure decisions: the attempt loop in `forward.rs`
//! asks, this module answers.
use crate::config::{RetryOn, RetryPolicyConfig};
use crate::pipeline::UpstreamFailure;
use std::time::Duration;

/// How one attempt ended, as far as retrying cares.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Attempt {
    /// Response headers arrived: the status, and the `grpc-status` of a
    /// trailers-only answer if there was one.
    Answered {
        status: u16,
        grpc_status: Option<u8>,
    },
    /// No response: why.
    Failed(UpstreamFailure),
    /// The per-try timeout expired before response headers.
    TimedOut,
}

impl Attempt {
    /// Whether the policy says to try again after this attempt.
    pub fn retriable(&self, policy: &RetryPolicyConfig) -> bool {
        let on = &policy.on;
        match *self {
            Attempt::Answered {
                status,
                grpc_status,
            } => {
                let gateway = matches!(status, 502..=504);
                (on.five_xx && status >= 500)
                    || (on.gateway_error && gateway)
                    || (on.retriable_status_codes
                        && policy.retriable_status_codes.contains(&status))
                    || grpc_status.is_some_and(|code| grpc_retriable(on, code))
            }
            // Connect failures are also "5xx" and "gateway-error" (Envoy).
            Attempt::Failed(UpstreamFailure::ConnectFailure) => {
                on.connect_failure || on.five_xx || on.gateway_error
            }
            Attempt::Failed(UpstreamFailure::Reset | UpstreamFailure::Protocol) => {
                on.reset || on.five_xx || on.gateway_error
            }
            // A route-level timeout ends everything; it never reaches here.
            Attempt::Failed(UpstreamFailure::Timeout) | Attempt::TimedOut => {
                on.reset || on.five_xx || on.gateway_error
            }
        }
    }
}

/// gRPC status codes by number (grpc/doc/statuscodes.md).
fn grpc_retriable(on: &RetryOn, code: u8) -> bool {
    match code {
        1 => on.grpc_cancelled,
        4 => on.grpc_deadline_exceeded,
        8 => on.grpc_resource_exhausted,
        13 => on.grpc_internal,
        14 => on.grpc_unavailable,
        _ => false,
    }
}

/// Envoy's fully jittered exponential back-off: before retry `n` (1-based),
/// a random wait in `[0, min(base * 2^(n-1), max))`.
pub fn back_off(policy: &RetryPolicyConfig, retry: u32, random: u64) -> Duration {
    let shift = retry.saturating_sub(1).min(20);
    let ceiling = policy
        .base_interval
        .saturating_mul(1 << shift)
        .min(policy.max_interval);
    let nanos = u64::try_from(ceiling.as_nanos()).unwrap_or(u64::MAX);
    if nanos == 0 {
        return Duration::ZERO;
    }
    Duration::from_nanos(random % nanos)
}

/// The `grpc-status` header of a trailers-only answer.
pub fn grpc_status_of(headers: &http::HeaderMap) -> Option<u8> {
    headers
        .get("grpc-status")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(retry_on: RetryOn) -> RetryPolicyConfig {
        RetryPolicyConfig {
            on: retry_on,
            num_retries: 2,
            per_try_timeout: None,
            retriable_status_codes: vec![409],
            base_interval: Duration::from_millis(25),
            max_interval: Duration::from_millis(250),
            max_body_bytes: 1024,
        }
    }

    fn answered(status: u16) -> Attempt {
        Attempt::Answered {
            status,
            grpc_status: None,
        }
    }

    #[test]
    fn conditions_follow_envoy() {
        let five_xx = policy(RetryOn {
            five_xx: true,
            ..RetryOn::default()
        });
        assert!(answered(500).retriable(&five_xx));
        assert!(answered(503).retriable(&five_xx));
        assert!(!answered(404).retriable(&five_xx));
        assert!(Attempt::Failed(UpstreamFailure::ConnectFailure).retriable(&five_xx));
        assert!(Attempt::TimedOut.retriable(&five_xx));

        let gateway = policy(RetryOn {
            gateway_error: true,
            ..RetryOn::default()
        });
        assert!(answered(502).retriable(&gateway));
        assert!(!answered(500).retriable(&gateway));

        let connect = policy(RetryOn {
            connect_failure: true,
            ..RetryOn::default()
        });
        assert!(Attempt::Failed(UpstreamFailure::ConnectFailure).retriable(&connect));
        assert!(!Attempt::Failed(UpstreamFailure::Reset).retriable(&connect));
        assert!(!answered(503).retriable(&connect));

        let codes = policy(RetryOn {
            retriable_status_codes: true,
            ..RetryOn::default()
        });
        assert!(answered(409).retriable(&codes));
        assert!(!answered(500).retriable(&codes));

        let grpc = policy(RetryOn {
            grpc_unavailable: true,
            ..RetryOn::default()
        });
        let status = |code| Attempt::Answered {
            status: 200,
            grpc_status: Some(code),
        };
        assert!(status(14).retriable(&grpc));
        assert!(!status(13).retriable(&grpc));
        assert!(!status(0).retriable(&grpc));
    }

    #[test]
    fn back_off_is_jittered_exponential_and_capped() {
        let p = policy(RetryOn::default());
        for random in [0, 1, 12_345_678, u64::MAX] {
            assert!(back_off(&p, 1, random) < Duration::from_millis(25));
            assert!(back_off(&p, 2, random) < Duration::from_millis(50));
            assert!(back_off(&p, 9, random) < Duration::from_millis(250));
        }
        assert_eq!(back_off(&p, 1, 0), Duration::ZERO);
    }

    #[test]
    fn grpc_status_from_headers() {
        let mut headers = http::HeaderMap::new();
        assert_eq!(grpc_status_of(&headers), None);
        headers.insert("grpc-status", http::HeaderValue::from_static("14"));
        assert_eq!(grpc_status_of(&headers), Some(14));
    }
}

//! Retry policies and circuit breakers: defaults, and errors that name the
//! file, line and field.
use super::problems;

fn with_retry(policy: &str, cluster_extra: &str) -> String {
    format!(
        "listeners:\n\
         \x20 - name: l\n\
         \x20   address: 127.0.0.1:1\n\
         \x20   protocol: http\n\
         \x20   virtual_hosts:\n\
         \x20     - name: v\n\
         \x20       routes:\n\
         \x20         - {{ name: r, match: {{ prefix: / }}, route: {{ cluster: web, retry_policy: {policy} }} }}\n\
         clusters:\n\
         \x20 - {{ name: web, endpoints: [\"h:1\"]{cluster_extra} }}\n"
    )
}

#[test]
fn a_policy_takes_envoys_defaults() {
    let config = crate::config::load_str("t.yaml", &with_retry("{ retry_on: \"5xx, reset\" }", ""))
        .expect("valid");
    let route = &config.listeners[0].virtual_hosts[0].routes[0];
    let policy = route.retry_policy.as_ref().expect("a policy");
    assert!(policy.on.five_xx && policy.on.reset && !policy.on.connect_failure);
    assert_eq!(policy.num_retries, 1);
    assert_eq!(policy.base_interval, std::time::Duration::from_millis(25));
    assert_eq!(policy.max_interval, std::time::Duration::from_millis(250));
    assert_eq!(policy.max_body_bytes, 64 * 1024);
    let breakers = &config.clusters[0].circuit_breakers;
    assert_eq!(
        (
            breakers.max_connections,
            breakers.max_requests,
            breakers.max_retries
        ),
        (1024, 1024, 3)
    );
    assert_eq!(breakers.max_pending_requests, 1024);
}

#[test]
fn max_pending_requests_is_read_and_bounded() {
    let config = crate::config::load_str(
        "t.yaml",
        &with_retry(
            "{ retry_on: reset }",
            ", circuit_breakers: { max_connections: 2, max_pending_requests: 7 }",
        ),
    )
    .expect("valid");
    let breakers = &config.clusters[0].circuit_breakers;
    assert_eq!(
        (breakers.max_connections, breakers.max_pending_requests),
        (2, 7)
    );
    let got = problems(&with_retry(
        "{ retry_on: reset }",
        ", circuit_breakers: { max_pending_requests: 0 }",
    ));
    let want =
        "clusters[0].circuit_breakers.max_pending_requests: must be between 1 and 1000000, got 0";
    assert!(got.iter().any(|g| g.contains(want)), "{got:#?}");
}

#[test]
fn bad_policies_and_thresholds_name_line_and_field() {
    let got = problems(&with_retry(
        "{ retry_on: \"5xx,sometimes\", num_retries: 0, per_try_timeout: 0s }",
        ", circuit_breakers: { max_requests: 0, retry_budget: { budget_percent: 150 } }",
    ));
    let p = "listeners[0].virtual_hosts[0].routes[0].route.retry_policy";
    let expect = [
        format!("{p}.retry_on: unknown condition \"sometimes\""),
        format!("{p}.num_retries: must be between 1 and 10, got 0"),
        format!("{p}.per_try_timeout:"),
        "clusters[0].circuit_breakers.max_requests: must be between 1 and 1000000, got 0"
            .to_owned(),
        "clusters[0].circuit_breakers.retry_budget.budget_percent: must be between 0 and 100, got 150"
            .to_owned(),
    ];
    for want in expect {
        assert!(
            got.iter().any(|g| g.contains(&want)),
            "missing {want:?} in {got:#?}"
        );
    }
    assert!(got.iter().all(|g| g.starts_with("t.yaml:")), "{got:#?}");
    let got = problems(&with_retry("{ retry_on: retriable-status-codes }", ""));
    assert!(
        got.iter()
            .any(|g| g.contains("retry_policy.retriable_status_codes: retry_on names")),
        "{got:#?}"
    );
}

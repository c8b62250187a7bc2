//! Cluster load balancing in the config: policies, weighted endpoints,
//! ring sizes and hash policies, with exact message, line, column and path.
use super::{assert_problem, cluster, load, problems};
use crate::config::{
    EndpointConfig, FailurePercentageDetector, HashPolicy, HealthCheckKind, LbPolicy,
    RingHashConfig, SuccessRateDetector,
};
use std::time::Duration;

#[test]
fn endpoints_as_strings_or_weighted_maps() {
    let c = load(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            lb_policy: least_request
            endpoints:
              - "h:1"
              - { address: "h:2", weight: 5 }
              - address: h:3
        "#,
    )
    .expect("valid");
    let c = cluster(&c, "c").expect("cluster");
    assert_eq!(c.lb_policy, LbPolicy::LeastRequest);
    let endpoint = |address: &str, weight| EndpointConfig {
        address: address.into(),
        weight,
    };
    assert_eq!(
        c.endpoints,
        [endpoint("h:1", 1), endpoint("h:2", 5), endpoint("h:3", 1)]
    );
}

#[test]
fn every_policy_by_name() {
    for (name, expected) in [
        ("round_robin", LbPolicy::RoundRobin),
        ("least_request", LbPolicy::LeastRequest),
        ("random", LbPolicy::Random),
        ("maglev", LbPolicy::Maglev),
    ] {
        let c = load(&format!(
            "listeners: [ {{ name: l, address: 127.0.0.1:1, cluster: c }} ]\n\
             clusters: [ {{ name: c, lb_policy: {name}, endpoints: [\"h:1\"] }} ]\n"
        ))
        .expect("valid");
        assert_eq!(c.clusters[0].lb_policy, expected);
        assert_eq!(c.clusters[0].lb_policy.name(), name);
    }
}

#[test]
fn ring_hash_sizes_default_to_envoy_s_and_show_in_the_dump() {
    let c = load(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            lb_policy: ring_hash
            hash_policy: { header: x-user }
            endpoints: ["h:1", { address: "h:2", weight: 2 }]
        "#,
    )
    .expect("valid");
    let sizes = RingHashConfig {
        minimum_ring_size: 1024,
        maximum_ring_size: 8_388_608,
    };
    assert_eq!(c.clusters[0].lb_policy, LbPolicy::RingHash(sizes));
    assert_eq!(
        c.clusters[0].hash_policy,
        Some(HashPolicy::Header(http::HeaderName::from_static("x-user")))
    );
    let dumped = &c.effective["clusters"][0];
    assert_eq!(dumped["ring_hash"]["minimum_ring_size"], 1024);
    assert_eq!(dumped["ring_hash"]["maximum_ring_size"], 8_388_608);
    assert_eq!(dumped["endpoints"][0], "h:1");
    assert_eq!(dumped["endpoints"][1]["weight"], 2);
    let again = crate::config::load_str("dump.json", &c.effective.to_string()).expect("dump");
    assert_eq!(again.effective, c.effective);
}

#[test]
fn cookie_and_source_ip_hash_policies() {
    let c = load(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: a } ]
        clusters:
          - { name: a, lb_policy: maglev, hash_policy: { cookie: session }, endpoints: ["h:1"] }
          - { name: b, lb_policy: maglev, hash_policy: { source_ip: true }, endpoints: ["h:1"] }
        "#,
    )
    .expect("valid");
    assert_eq!(
        c.clusters[0].hash_policy,
        Some(HashPolicy::Cookie("session".into()))
    );
    assert_eq!(c.clusters[1].hash_policy, Some(HashPolicy::SourceIp));
}

#[test]
fn weight_out_of_range_names_the_weight() {
    assert_eq!(
        problems(
            r#"
            listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
            clusters:
              - name: c
                endpoints:
                  - { address: "h:1", weight: 0 }
                  - address: "h:2"
                    weight: 129
            "#
        ),
        [
            "t.yaml:5:35: clusters[0].endpoints[0].weight: weight must be between 1 and 128, got 0",
            "t.yaml:7:17: clusters[0].endpoints[1].weight: weight must be between 1 and 128, got 129",
        ]
    );
}

#[test]
fn weighted_endpoint_address_is_checked_and_duplicates_found() {
    assert_eq!(
        problems(
            r#"
            listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
            clusters:
              - name: c
                endpoints: ["h:1", { address: "h", weight: 2 }, { address: "h:1", weight: 3 }]
            "#
        ),
        [
            "t.yaml:4:35: clusters[0].endpoints[1].address: invalid endpoint \"h\": missing port; \
             expected host:port such as 127.0.0.1:8080, localhost:8080 or [::1]:8080",
            "t.yaml:4:64: clusters[0].endpoints[2].address: duplicate endpoint \"h:1\"",
        ]
    );
}

#[test]
fn unknown_field_in_a_weighted_endpoint() {
    assert_problem(
        r#"
        clusters:
          - name: c
            endpoints: [ { address: "h:1", wieght: 2 } ]
        "#,
        "t.yaml:3:36: clusters[0].endpoints[0].wieght: unknown field `wieght`, \
         expected one of address, weight",
    );
}

#[test]
fn endpoint_of_the_wrong_shape() {
    assert_problem(
        r#"
        clusters:
          - name: c
            endpoints: [ [ "h:1" ] ]
        "#,
        "t.yaml:3:18: clusters[0].endpoints[0]: invalid type: sequence, expected an endpoint: \
         \"host:port\" or { address: \"host:port\", weight: N }",
    );
}

#[test]
fn unknown_policy_lists_the_known_ones() {
    assert_problem(
        r#"
        clusters: [ { name: c, lb_policy: least_conn, endpoints: ["h:1"] } ]
        "#,
        "t.yaml:1:35: clusters[0].lb_policy: unknown variant `least_conn`, expected one of \
         round_robin, least_request, random, ring_hash, maglev",
    );
}

#[test]
fn settings_the_policy_would_ignore_are_rejected() {
    assert_eq!(
        problems(
            r#"
            listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
            clusters:
              - name: c
                lb_policy: random
                ring_hash: { minimum_ring_size: 64 }
                hash_policy: { header: x-user }
                endpoints: ["h:1"]
            "#
        ),
        [
            "t.yaml:5:16: clusters[0].ring_hash: ring_hash only applies to lb_policy ring_hash \
             (this cluster is random)",
            "t.yaml:6:18: clusters[0].hash_policy: hash_policy only applies to lb_policy \
             ring_hash or maglev (this cluster is random)",
        ]
    );
}

#[test]
fn ring_sizes_are_bounded_and_ordered() {
    assert_eq!(
        problems(
            r#"
            listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
            clusters:
              - name: c
                lb_policy: ring_hash
                ring_hash: { minimum_ring_size: 0, maximum_ring_size: 9000000 }
                endpoints: ["h:1"]
              - name: d
                lb_policy: ring_hash
                ring_hash: { minimum_ring_size: 4096, maximum_ring_size: 1024 }
                endpoints: ["h:1"]
            "#
        ),
        [
            "t.yaml:5:37: clusters[0].ring_hash.minimum_ring_size: must be between 1 and 8388608, got 0",
            "t.yaml:5:59: clusters[0].ring_hash.maximum_ring_size: must be between 1 and 8388608, got 9000000",
            "t.yaml:9:37: clusters[1].ring_hash.minimum_ring_size: minimum_ring_size 4096 is larger \
             than maximum_ring_size 1024",
        ]
    );
}

#[test]
fn hash_policy_needs_exactly_one_valid_source() {
    assert_eq!(
        problems(
            r#"
            listeners: [ { name: l, address: 127.0.0.1:1, cluster: a } ]
            clusters:
              - { name: a, lb_policy: maglev, hash_policy: { header: x-u, cookie: s }, endpoints: ["h:1"] }
              - { name: b, lb_policy: maglev, hash_policy: {}, endpoints: ["h:1"] }
              - { name: c, lb_policy: maglev, hash_policy: { header: X-User }, endpoints: ["h:1"] }
              - { name: d, lb_policy: maglev, hash_policy: { cookie: "a b" }, endpoints: ["h:1"] }
              - { name: e, lb_policy: maglev, hash_policy: { source_ip: false }, endpoints: ["h:1"] }
            "#
        ),
        [
            "t.yaml:3:48: clusters[0].hash_policy: exactly one of header, cookie, source_ip is \
             required (found header and cookie)",
            "t.yaml:4:48: clusters[1].hash_policy: exactly one of header, cookie, source_ip is \
             required (found none)",
            "t.yaml:5:58: clusters[2].hash_policy.header: header name \"X-User\" must be lowercase: \"x-user\"",
            "t.yaml:6:58: clusters[3].hash_policy.cookie: invalid cookie name \"a b\": expected an \
             HTTP token such as session_id",
            "t.yaml:7:61: clusters[4].hash_policy.source_ip: source_ip: false hashes nothing; \
             write source_ip: true or remove hash_policy",
        ]
    );
}

#[test]
fn unknown_field_in_hash_policy() {
    assert_problem(
        r#"
        clusters:
          - name: c
            lb_policy: maglev
            hash_policy: { headers: x-user }
            endpoints: ["h:1"]
        "#,
        "t.yaml:4:20: clusters[0].hash_policy.headers: unknown field `headers`, \
         expected one of header, cookie, source_ip",
    );
}

#[test]
fn health_check_and_outlier_defaults_are_envoy_s_and_show_in_the_dump() {
    let c = load(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            endpoints: ["h:1"]
            health_check: { http: { path: /healthz } }
            outlier_detection: {}
        "#,
    )
    .expect("valid");
    let cl = cluster(&c, "c").expect("cluster");
    let hc = cl.health_check.as_ref().expect("health check");
    assert_eq!(hc.interval, Duration::from_secs(5));
    assert_eq!(hc.timeout, Duration::from_secs(1));
    assert_eq!((hc.unhealthy_threshold, hc.healthy_threshold), (3, 2));
    assert_eq!(hc.interval_jitter, Duration::ZERO);
    assert!(
        hc.reuse_connection,
        "Envoy keeps check connections by default"
    );
    let secs = Duration::from_secs;
    let intervals = [
        hc.unhealthy_interval,
        hc.unhealthy_edge_interval,
        hc.healthy_edge_interval,
    ];
    assert_eq!(intervals, [secs(5), secs(5), secs(5)]);
    assert_eq!(
        hc.kind,
        HealthCheckKind::Http {
            path: "/healthz".into(),
            host: None,
            expected: vec![(200, 201)],
        }
    );
    let od = cl.outlier_detection.expect("outlier detection");
    assert_eq!(od.consecutive_5xx, 5);
    assert_eq!(od.enforcing_consecutive_gateway_failure, 0);
    assert_eq!(od.interval, Duration::from_secs(10));
    assert_eq!(od.base_ejection_time, Duration::from_secs(30));
    assert_eq!(od.max_ejection_time, Duration::from_secs(300));
    assert_eq!(od.max_ejection_percent, 10);
    assert_eq!(
        od.success_rate,
        SuccessRateDetector {
            minimum_hosts: 5,
            request_volume: 100,
            stdev_factor: 1900,
            enforcing: 100,
        }
    );
    assert_eq!(
        od.failure_percentage,
        FailurePercentageDetector {
            minimum_hosts: 5,
            request_volume: 50,
            threshold: 85,
            enforcing: 0,
        }
    );
    assert_eq!(cl.healthy_panic_threshold, 50);
    let dumped = &c.effective["clusters"][0];
    assert_eq!(dumped["health_check"]["interval"], "5s");
    assert_eq!(
        dumped["health_check"]["http"]["expected_statuses"][0]["end"],
        201
    );
    assert_eq!(dumped["outlier_detection"]["base_ejection_time"], "30s");
    assert_eq!(dumped["healthy_panic_threshold"], 50);
    let again = crate::config::load_str("dump.json", &c.effective.to_string()).expect("dump");
    assert_eq!(again.effective, c.effective);
}

#[test]
fn tcp_and_grpc_checks() {
    let c = load(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: t } ]
        clusters:
          - name: t
            endpoints: ["h:1"]
            health_check:
              interval: 2s
              interval_jitter: 500ms
              tcp: { send: { hex: "50 49 4e 47" }, receive: [ { text: "PONG" } ] }
          - name: g
            endpoints: ["h:1"]
            healthy_panic_threshold: 0
            health_check: { grpc: { service_name: periscope.test.Greeter } }
        "#,
    )
    .expect("valid");
    let t = cluster(&c, "t")
        .and_then(|c| c.health_check.clone())
        .expect("tcp");
    assert_eq!(t.interval_jitter, Duration::from_millis(500));
    assert_eq!(
        t.kind,
        HealthCheckKind::Tcp {
            send: b"PING".to_vec(),
            receive: vec![b"PONG".to_vec()],
        }
    );
    let g = cluster(&c, "g").expect("grpc");
    assert_eq!(g.healthy_panic_threshold, 0);
    assert_eq!(
        g.health_check.as_ref().map(|h| h.kind.clone()),
        Some(HealthCheckKind::Grpc {
            service_name: "periscope.test.Greeter".into(),
            authority: None,
        })
    );
}

#[test]
fn health_check_errors_name_the_field() {
    assert_eq!(
        problems(
            r#"
            listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
            clusters:
              - name: c
                endpoints: ["h:1"]
                healthy_panic_threshold: 101
                health_check:
                  timeout: 0s
                  unhealthy_threshold: 0
                  http: { path: healthz, expected_statuses: [ { start: 300, end: 200 } ] }
                  tcp: { send: { hex: "zz" } }
            "#
        ),
        [
            "t.yaml:5:30: clusters[0].healthy_panic_threshold: a percentage must be between 0 and 100, got 101",
            "t.yaml:7:7: clusters[0].health_check: exactly one of http, tcp, grpc is required (found http and tcp)",
            "t.yaml:7:16: clusters[0].health_check.timeout: duration \"0s\" must be greater than 0",
            "t.yaml:8:28: clusters[0].health_check.unhealthy_threshold: must be between 1 and 1000, got 0",
            "t.yaml:9:21: clusters[0].health_check.http.path: invalid path \"healthz\": expected an absolute path such as /healthz",
            "t.yaml:9:51: clusters[0].health_check.http.expected_statuses[0]: invalid status range [300, 200): expected 100 <= start < end <= 600 (end excluded)",
            "t.yaml:10:20: clusters[0].health_check.tcp.send: invalid hex \"zz\": expected pairs of hex digits such as 50494e47",
        ]
    );
}

#[test]
fn outlier_detection_errors_name_the_field() {
    assert_eq!(
        problems(
            r#"
            listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
            clusters:
              - name: c
                endpoints: ["h:1"]
                outlier_detection:
                  consecutive_5xx: 0
                  max_ejection_percent: 150
                  base_ejection_time: soon
                  success_rate_stdev_factor: 100001
                  failure_percentage_threshold: 101
                  success_rate_request_volume: 2000000
            "#
        ),
        [
            "t.yaml:6:24: clusters[0].outlier_detection.consecutive_5xx: must be between 1 and 1000, got 0",
            "t.yaml:7:29: clusters[0].outlier_detection.max_ejection_percent: a percentage must be between 0 and 100, got 150",
            "t.yaml:8:27: clusters[0].outlier_detection.base_ejection_time: invalid duration \"soon\": expected a number with a unit (ms, s, m, h), e.g. 250ms, 5s, 1m30s",
            "t.yaml:9:34: clusters[0].outlier_detection.success_rate_stdev_factor: must be between 0 and 100000 (thousandths of a standard deviation), got 100001",
            "t.yaml:10:37: clusters[0].outlier_detection.failure_percentage_threshold: a percentage must be between 0 and 100, got 101",
            "t.yaml:11:36: clusters[0].outlier_detection.success_rate_request_volume: must be between 0 and 1000000, got 2000000",
        ]
    );
    assert_problem(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            endpoints: ["h:1"]
            health_check: { tcp: { receive: [ { text: "+OK" } ] } }
        "#,
        "t.yaml:5:37: clusters[0].health_check.tcp.receive: receive needs send: a server that speaks first is not awaited",
    );
}

/// Envoy's per-state check intervals: each edge defaults to the interval of
/// the state it enters, and the next wait follows the endpoint's state.
#[test]
fn health_check_intervals_follow_the_endpoint_s_state() {
    let c = load(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            endpoints: ["h:1"]
            health_check:
              interval: 10s
              unhealthy_interval: 30s
              healthy_edge_interval: 1s
              http: { path: /healthz }
        "#,
    )
    .expect("valid");
    let hc = cluster(&c, "c")
        .and_then(|cl| cl.health_check.clone())
        .expect("health check");
    let secs = Duration::from_secs;
    assert_eq!(hc.next_interval(None, true), secs(10));
    assert_eq!(hc.next_interval(None, false), secs(30));
    assert_eq!(
        hc.next_interval(Some(false), false),
        secs(30),
        "edge = unhealthy_interval"
    );
    assert_eq!(hc.next_interval(Some(true), true), secs(1));
    assert_problem(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            endpoints: ["h:1"]
            health_check: { unhealthy_edge_interval: 0s, http: { path: /healthz } }
        "#,
        "t.yaml:5:46: clusters[0].health_check.unhealthy_edge_interval: duration \"0s\" must be greater than 0",
    );
}

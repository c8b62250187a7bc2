//! Cluster load balancing in the config: policies, weighted endpoints,
//! ring sizes and hash policies, with exact message, line, column and path.
use super::{assert_problem, cluster, load, problems};
use crate::config::{EndpointConfig, HashPolicy, LbPolicy, RingHashConfig};

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

//! Top-level, listener and cluster validation rules: exact message, line,
//! column and path for each.
use super::{assert_problem, problems};

#[test]
fn unknown_cluster_lists_known_ones() {
    assert_problem(
        r#"
        listeners:
          - name: edge
            address: 127.0.0.1:10000
            cluster: webb
        clusters:
          - { name: web, endpoints: ["h:1"] }
          - { name: db, endpoints: ["h:2"] }
        "#,
        r#"t.yaml:4:14: listeners[0].cluster: unknown cluster "webb" (known: web, db)"#,
    );
}

#[test]
fn unknown_cluster_when_none_are_defined() {
    assert_problem(
        r#"
        listeners:
          - { name: edge, address: 127.0.0.1:10000, cluster: web }
        "#,
        r#"t.yaml:2:54: listeners[0].cluster: unknown cluster "web" (no clusters are defined)"#,
    );
}

#[test]
fn duplicate_names() {
    assert_eq!(
        problems(
            r#"
            listeners:
              - { name: a, address: 127.0.0.1:1, cluster: c }
              - { name: a, address: 127.0.0.1:2, cluster: c }
            clusters:
              - { name: c, endpoints: ["h:1"] }
              - { name: c, endpoints: ["h:2"] }
            "#
        ),
        vec![
            r#"t.yaml:3:13: listeners[1].name: listener name "a" is already used by listeners[0]"#,
            r#"t.yaml:6:13: clusters[1].name: cluster name "c" is already used by clusters[0]"#,
        ]
    );
}

#[test]
fn invalid_name() {
    assert_problem(
        r#"
        listeners: [ { name: "my listener", address: 127.0.0.1:1, cluster: c } ]
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
        r#"t.yaml:1:22: listeners[0].name: invalid name "my listener": use 1-64 characters from a-z, A-Z, 0-9, '_', '-', '.'"#,
    );
}

#[test]
fn listener_address_must_be_ip_and_port() {
    assert_problem(
        r#"
        listeners:
          - name: l
            address: localhost:10000
            cluster: c
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
        r#"t.yaml:3:14: listeners[0].address: invalid address "localhost:10000": expected ip:port such as 127.0.0.1:10000 or [::1]:10000"#,
    );
}

#[test]
fn admin_address_must_parse() {
    assert_problem(
        r#"
        admin: { address: "9901" }
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
        r#"t.yaml:1:19: admin.address: invalid address "9901": expected ip:port such as 127.0.0.1:10000 or [::1]:10000"#,
    );
}

#[test]
fn two_listeners_on_one_address() {
    assert_problem(
        r#"
        listeners:
          - { name: a, address: 127.0.0.1:10000, cluster: c }
          - { name: b, address: 0.0.0.0:10000, cluster: c }
          - { name: d, address: 127.0.0.1:0, cluster: c }
          - { name: e, address: 127.0.0.1:0, cluster: c }
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
        r#"t.yaml:3:25: listeners[1].address: address 0.0.0.0:10000 conflicts with 127.0.0.1:10000 of listener "a""#,
    );
}

#[test]
fn listener_on_the_admin_address() {
    assert_problem(
        r#"
        listeners: [ { name: a, address: 127.0.0.1:9901, cluster: c } ]
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
        r#"t.yaml:1:34: listeners[0].address: address 127.0.0.1:9901 conflicts with 127.0.0.1:9901 of the admin server"#,
    );
}

#[test]
fn tcp_listener_needs_a_cluster_and_no_virtual_hosts() {
    assert_eq!(
        problems(
            r#"
            listeners:
              - name: t
                address: 127.0.0.1:1
                protocol: tcp
                virtual_hosts:
                  - { name: v, routes: [ { name: r, match: { prefix: / }, direct_response: { status: 204 } } ] }
            "#
        ),
        vec![
            "t.yaml:2:5: listeners[0]: a tcp listener needs `cluster`, the upstream to relay to",
            "t.yaml:6:7: listeners[0].virtual_hosts: virtual_hosts need protocol http or auto (this listener is tcp)",
        ]
    );
}

#[test]
fn http_and_auto_listeners_need_a_target() {
    assert_eq!(
        problems(
            r#"
            listeners:
              - { name: h, address: 127.0.0.1:1, protocol: http }
              - { name: a, address: 127.0.0.1:2 }
            "#
        ),
        vec![
            "t.yaml:2:5: listeners[0]: an http listener needs `virtual_hosts` or `cluster` (the target for every request)",
            "t.yaml:3:5: listeners[1]: an auto listener needs `virtual_hosts` or `cluster` (the target for every request)",
        ]
    );
}

#[test]
fn http_listener_with_virtual_hosts_rejects_an_unused_cluster() {
    assert_problem(
        r#"
        listeners:
          - name: h
            address: 127.0.0.1:1
            protocol: http
            cluster: c
            virtual_hosts:
              - { name: v, routes: [ { name: r, match: { prefix: / }, route: { cluster: c } } ] }
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
        "t.yaml:5:14: listeners[0].cluster: cluster is never used: an http listener with virtual_hosts \
         routes every request through them (remove it, or use protocol auto to relay non-HTTP traffic to it)",
    );
}

#[test]
fn sniff_off_only_on_tcp_listeners() {
    assert_eq!(
        problems(
            r#"
            listeners:
              - { name: t, address: 127.0.0.1:1, protocol: tcp, cluster: c, sniff: false }
              - { name: a, address: 127.0.0.1:2, cluster: c, sniff: false }
            clusters: [ { name: c, endpoints: ["h:1"] } ]
            "#
        ),
        vec![
            "t.yaml:3:57: listeners[1].sniff: sniff: false applies to tcp listeners only \
             (this listener is auto, which must read HTTP to route it)",
        ]
    );
}

#[test]
fn detect_timeout_only_on_auto_and_positive() {
    assert_eq!(
        problems(
            r#"
            listeners:
              - { name: t, address: 127.0.0.1:1, protocol: tcp, cluster: c, detect_timeout: 1s }
              - { name: a, address: 127.0.0.1:2, cluster: c, detect_timeout: 0ms }
              - { name: b, address: 127.0.0.1:3, cluster: c, detect_timeout: 5 }
            clusters: [ { name: c, endpoints: ["h:1"] } ]
            "#
        ),
        vec![
            "t.yaml:2:81: listeners[0].detect_timeout: detect_timeout only applies to protocol auto (this listener is tcp)",
            r#"t.yaml:3:66: listeners[1].detect_timeout: duration "0ms" must be greater than 0"#,
            r#"t.yaml:4:66: listeners[2].detect_timeout: invalid duration "5": expected a number with a unit (ms, s, m, h), e.g. 250ms, 5s, 1m30s"#,
        ]
    );
}

#[test]
fn workers_range() {
    for (workers, column) in [("0", 10), ("1025", 10)] {
        assert_problem(
            &format!(
                "
                workers: {workers}
                listeners: [ {{ name: l, address: 127.0.0.1:1, cluster: c }} ]
                clusters: [ {{ name: c, endpoints: [\"h:1\"] }} ]
                "
            ),
            &format!("t.yaml:1:{column}: workers: workers must be 1-1024, got {workers}"),
        );
    }
}

#[test]
fn at_least_one_listener() {
    assert_problem(
        "listeners: []\n",
        "t.yaml:1:12: listeners: at least one listener is required",
    );
    assert_problem(
        "admin: {}\n",
        "t.yaml:1:1: listeners: at least one listener is required",
    );
}

#[test]
fn cluster_endpoints() {
    assert_eq!(
        problems(
            r#"
            listeners: [ { name: l, address: 127.0.0.1:1, cluster: a } ]
            clusters:
              - name: a
                endpoints: []
              - name: b
                endpoints:
                  - "localhost"
                  - "h:99999"
                  - "h:1"
                  - "h:1"
              - name: c
            "#
        ),
        vec![
            "t.yaml:4:16: clusters[0].endpoints: at least one endpoint is required",
            r#"t.yaml:7:9: clusters[1].endpoints[0]: invalid endpoint "localhost": missing port; expected host:port such as 127.0.0.1:8080, localhost:8080 or [::1]:8080"#,
            r#"t.yaml:8:9: clusters[1].endpoints[1]: invalid endpoint "h:99999": invalid port "99999": expected 1-65535"#,
            r#"t.yaml:10:9: clusters[1].endpoints[3]: duplicate endpoint "h:1""#,
            "t.yaml:11:5: clusters[2].endpoints: at least one endpoint is required",
        ]
    );
}

#[test]
fn cluster_connect_timeout() {
    assert_problem(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters: [ { name: c, connect_timeout: 5x, endpoints: ["h:1"] } ]
        "#,
        r#"t.yaml:2:41: clusters[0].connect_timeout: invalid duration "5x": expected a number with a unit (ms, s, m, h), e.g. 250ms, 5s, 1m30s"#,
    );
}

#[test]
fn several_errors_are_reported_at_once_in_source_order() {
    assert_eq!(
        problems(
            r#"
            workers: 0
            listeners:
              - name: edge
                address: nowhere
                cluster: webb
              - name: edge
                address: 127.0.0.1:2
                protocol: tcp
            clusters:
              - name: web
                connect_timeout: forever
            "#
        ),
        vec![
            "t.yaml:1:10: workers: workers must be 1-1024, got 0",
            r#"t.yaml:4:14: listeners[0].address: invalid address "nowhere": expected ip:port such as 127.0.0.1:10000 or [::1]:10000"#,
            r#"t.yaml:5:14: listeners[0].cluster: unknown cluster "webb" (known: web)"#,
            "t.yaml:6:5: listeners[1]: a tcp listener needs `cluster`, the upstream to relay to",
            r#"t.yaml:6:11: listeners[1].name: listener name "edge" is already used by listeners[0]"#,
            "t.yaml:10:5: clusters[0].endpoints: at least one endpoint is required",
            r#"t.yaml:11:22: clusters[0].connect_timeout: invalid duration "forever": expected a number with a unit (ms, s, m, h), e.g. 250ms, 5s, 1m30s"#,
        ]
    );
}

#[test]
fn label_limits_must_be_positive_and_bounded() {
    assert_eq!(
        problems(
            r#"
            listeners:
              - name: db
                address: 127.0.0.1:1
                protocol: tcp
                cluster: c
                label_limits: { collections: 0, status_codes: 100001 }
            clusters: [ { name: c, endpoints: ["h:1"] } ]
            "#
        ),
        vec![
            "t.yaml:6:34: listeners[0].label_limits.collections: must be between 1 and 100000, got 0",
            "t.yaml:6:51: listeners[0].label_limits.status_codes: must be between 1 and 100000, got 100001",
        ]
    );
}

#[test]
fn label_limits_default_and_override() {
    let config = crate::config::load_str(
        "t.yaml",
        r#"
        listeners:
          - { name: a, address: 127.0.0.1:1, protocol: tcp, cluster: c }
          - { name: b, address: 127.0.0.1:2, protocol: tcp, cluster: c, label_limits: { collections: 2 } }
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
    )
    .expect("valid config");
    let limits: Vec<_> = config.listeners.iter().map(|l| l.label_limits).collect();
    assert_eq!(limits[0].collections, 500);
    assert_eq!(limits[0].namespaces, 100);
    assert_eq!(limits[1].collections, 2);
    assert_eq!(limits[1].status_codes, 100);
}

#[test]
fn mongodb_query_text_is_opt_in() {
    let config = crate::config::load_str(
        "t.yaml",
        r#"
        listeners:
          - { name: a, address: 127.0.0.1:1, protocol: tcp, cluster: c }
          - { name: b, address: 127.0.0.1:2, protocol: tcp, cluster: c, mongodb: { query_text: true } }
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
    )
    .expect("valid config");
    let opted: Vec<bool> = config
        .listeners
        .iter()
        .map(|l| l.mongodb_query_text)
        .collect();
    assert_eq!(opted, [false, true]);
    assert_problem(
        r#"
        listeners: [ { name: a, address: 127.0.0.1:1, protocol: tcp, cluster: c, mongodb: { querytext: true } } ]
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
        "t.yaml:1:85: listeners[0].mongodb.querytext: unknown field `querytext`, expected one of query_text",
    );
}

#[test]
fn dynamodb_body_prefix_defaults_to_one_mebibyte_and_is_bounded() {
    let config = crate::config::load_str(
        "t.yaml",
        r#"
        listeners:
          - { name: a, address: 127.0.0.1:1, cluster: c }
          - { name: b, address: 127.0.0.1:2, cluster: c, dynamodb: { max_body_bytes: 0 } }
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
    )
    .expect("valid config");
    let kept: Vec<usize> = config
        .listeners
        .iter()
        .map(|l| l.dynamodb_body_bytes)
        .collect();
    assert_eq!(kept, [1 << 20, 0]);
    assert_problem(
        r#"
        listeners: [ { name: a, address: 127.0.0.1:1, cluster: c, dynamodb: { max_body_bytes: 99999999 } } ]
        clusters: [ { name: c, endpoints: ["h:1"] } ]
        "#,
        "t.yaml:1:87: listeners[0].dynamodb.max_body_bytes: must be at most 16777216 (16 MiB), got 99999999",
    );
}

//! Errors found while reading YAML into the raw model: syntax, unknown
//! fields, wrong types. Each still names file, line, column and path.
use super::{assert_problem, load};

#[test]
fn unknown_field_names_line_and_allowed_fields() {
    assert_problem(
        r#"
        listeners:
          - name: edge
            address: 127.0.0.1:10000
            clusterr: web
        "#,
        "t.yaml:4:5: listeners[0].clusterr: unknown field `clusterr`, expected one of \
         name, address, protocol, detect_timeout, cluster, virtual_hosts, label_limits, access_log, mongodb, dynamodb, sniff, tcp_idle_timeout, http_idle_timeout, stream_idle_timeout, max_connection_duration, upgrade_configs, tls",
    );
}

#[test]
fn unknown_field_deep_in_a_route() {
    assert_problem(
        r#"
        listeners:
          - name: l
            address: 127.0.0.1:1
            virtual_hosts:
              - name: v
                routes:
                  - name: r
                    match: { prefix: / }
                    route: { cluster: c, timout: 5s }
        "#,
        "t.yaml:9:34: listeners[0].virtual_hosts[0].routes[0].route.timout: unknown field `timout`, \
         expected one of cluster, timeout, retry_policy, upgrade_configs",
    );
}

#[test]
fn unknown_enum_value_lists_the_allowed_ones() {
    assert_problem(
        r#"
        listeners:
          - { name: l, address: 127.0.0.1:1, protocol: htp, cluster: c }
        "#,
        "t.yaml:2:48: listeners[0].protocol: unknown variant `htp`, expected one of auto, http, tcp",
    );
}

#[test]
fn wrong_type() {
    assert_problem(
        r#"
        listeners:
          - name: [a, b]
            address: 127.0.0.1:1
        "#,
        "t.yaml:2:11: listeners[0].name: expected string scalar",
    );
    assert_problem(
        "workers: many\nlisteners: []\n",
        "t.yaml:1:10: workers: invalid u64",
    );
    assert_problem(
        "listeners: {}\n",
        "t.yaml:1:12: listeners: expected sequence start",
    );
}

#[test]
fn missing_required_field() {
    assert_problem(
        r#"
        listeners:
          - address: 127.0.0.1:1
        "#,
        "t.yaml:2:5: listeners[0]: missing field `name`",
    );
}

#[test]
fn bad_yaml_syntax() {
    assert_problem(
        "listeners:\n  - name: \"a\n    address: x\n",
        "t.yaml:2:11: listeners[0]: unclosed quote",
    );
    assert_problem(
        "listeners:\n  - name: a\n    address: x\n  bad\n",
        "t.yaml:4:3: listeners[0]: simple key expected ':'",
    );
    assert_problem(
        "listeners:\n\t- name: a\n",
        "t.yaml:2:2: tabs disallowed within this context (block indentation)",
    );
    assert_problem(
        "listeners:\n  - name: a\n    address: x\n   bad: x\n",
        "t.yaml:4:4: listeners: while parsing a block collection, did not find expected '-' indicator",
    );
}

#[test]
fn duplicate_keys_are_errors() {
    assert_problem(
        "listeners: []\nlisteners: []\n",
        "t.yaml:2:1: duplicate mapping key `listeners` is not allowed here",
    );
}

#[test]
fn empty_documents() {
    let expected = "t.yaml:1:1: the config is empty: expected a mapping with at least `listeners`";
    assert_problem("", expected);
    assert_problem("# only a comment\n", expected);
}

#[test]
fn more_than_one_document() {
    let err = load("listeners: []\n---\nlisteners: []\n").unwrap_err();
    let text = err.to_string();
    assert!(text.starts_with("t.yaml:2:1: "), "{text}");
}

#[test]
fn a_scalar_document() {
    let err = load("hello\n").unwrap_err().to_string();
    assert!(err.starts_with("t.yaml:1:1: "), "{err}");
}

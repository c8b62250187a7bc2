//! Hostile input: the loader must fail fast with a clear message, never
//! exhaust memory or stack, never panic.
use std::time::{Duration, Instant};

use super::super::load_str;

/// Generous bound for a debug build on a loaded 2-core machine; each case
/// takes microseconds to a few milliseconds in practice.
const FAST: Duration = Duration::from_secs(2);

fn fails_fast(yaml: &str) -> String {
    let start = Instant::now();
    let result = load_str("h.yaml", yaml);
    let took = start.elapsed();
    assert!(took < FAST, "took {took:?}");
    match result {
        Ok(_) => panic!("hostile input accepted"),
        Err(e) => e.to_string(),
    }
}

/// Classic billion laughs: 9 levels of 9 aliases, 10^9 strings if expanded.
fn billion_laughs(target: &str) -> String {
    let mut yaml =
        String::from("listeners:\n  - name: a\n    address: 127.0.0.1:1\n    cluster: c\n");
    yaml.push_str("clusters:\n  - name: c\n    endpoints: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    for i in 1..10 {
        let p = i - 1;
        yaml.push_str(&format!(
            "  - name: c{i}\n    endpoints: &a{i} [*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p},*a{p}]\n"
        ));
    }
    yaml.push_str(&format!("  - name: boom\n    endpoints: {target}\n"));
    yaml
}

#[test]
fn billion_laughs_fails_fast() {
    let err = fails_fast(&billion_laughs("*a9"));
    assert_eq!(
        err,
        "h.yaml:9:21: clusters[1].endpoints[0]: invalid type: sequence, expected an endpoint: \
         \"host:port\" or { address: \"host:port\", weight: N }"
    );
}

#[test]
fn alias_flood_hits_the_alias_budget() {
    let mut yaml = String::from(
        "listeners: [ { name: a, address: 127.0.0.1:1, cluster: c } ]\n\
         clusters:\n  - name: c\n    endpoints: [ &e \"h:1\"",
    );
    for _ in 0..5_000 {
        yaml.push_str(", *e");
    }
    yaml.push_str(" ]\n");
    let err = fails_fast(&yaml);
    assert_eq!(
        err,
        "h.yaml:4:4028: clusters[0].endpoints: config too large or too complex: more than 1000 aliases (*name)"
    );
}

#[test]
fn deep_flow_nesting_fails_fast() {
    let depth = 100_000;
    let yaml = format!("listeners: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    let err = fails_fast(&yaml);
    assert_eq!(err, "h.yaml:1:267: listeners: recursion limit exceeded");
}

#[test]
fn deep_block_nesting_fails_fast() {
    // Nothing in the schema nests freely, so deep input fails at the first
    // level where a type is wrong; the parser's depth budget is the backstop.
    let yaml: String = (0..2_000)
        .map(|i| format!("{}- \n", " ".repeat(i)))
        .collect();
    let err = fails_fast(&format!("listeners:\n{yaml}"));
    assert_eq!(err, "h.yaml:3:2: listeners[0]: expected mapping start");
    let mappings: String = (0..2_000)
        .map(|i| format!("{}k{i}:\n", " ".repeat(i + 1)))
        .collect();
    let err = fails_fast(&format!("admin:\n{mappings}"));
    assert_eq!(
        err,
        "h.yaml:2:2: admin.k0: unknown field `k0`, expected one of address, watch_config"
    );
}

#[test]
fn oversized_config_is_rejected_before_parsing() {
    let yaml = format!(
        "# {}\nlisteners: []\n",
        "x".repeat(super::super::parse::MAX_CONFIG_BYTES)
    );
    let err = fails_fast(&yaml);
    assert_eq!(
        err,
        format!(
            "h.yaml: config is {} bytes; the limit is 4194304",
            yaml.len()
        )
    );
}

#[test]
fn control_characters_and_garbage() {
    for yaml in [
        "\u{0}\u{1}",
        "{{{{",
        "listeners: \"\\x00\n",
        "- - - -",
        "? [a]\n: b\n",
        "&a *a",
    ] {
        fails_fast(yaml);
    }
}

#[test]
fn hostile_regex_is_rejected() {
    let yaml = "listeners:\n  - name: l\n    address: 127.0.0.1:1\n    virtual_hosts:\n      - name: v\n        routes:\n          - { name: r, match: { regex: \"(a{1000}){1000}\" }, direct_response: { status: 200 } }\n";
    let err = fails_fast(yaml);
    assert!(err.contains("too large"), "{err}");
}

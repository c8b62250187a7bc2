//! Cluster types in the config: `static` and `strict_dns`, the default
//! chosen from the endpoints, and the DNS settings, with exact positions.
use super::{assert_problem, cluster, load};
use crate::config::{Discovery, DnsConfig, LookupFamily};
use std::time::Duration;

const LISTENER: &str = "listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]\n";

#[test]
fn ip_addresses_default_to_static_and_hostnames_to_strict_dns() {
    let c = load(&format!(
        "{LISTENER}clusters: [ {{ name: c, endpoints: [\"127.0.0.1:80\", \"[::1]:80\"] }} ]\n"
    ))
    .expect("valid");
    assert_eq!(c.clusters[0].discovery, Discovery::Static);
    let dump = &c.effective["clusters"][0];
    assert_eq!(dump["type"], "static");
    assert!(dump.get("dns_refresh_rate").is_none());

    let c = load(&format!(
        "{LISTENER}clusters: [ {{ name: c, endpoints: [\"127.0.0.1:80\", \"web:80\"] }} ]\n"
    ))
    .expect("valid");
    let expected = DnsConfig {
        refresh_rate: Duration::from_secs(5),
        lookup_family: LookupFamily::Auto,
    };
    assert_eq!(
        cluster(&c, "c").expect("c").discovery,
        Discovery::StrictDns(expected)
    );
    let dump = &c.effective["clusters"][0];
    assert_eq!(dump["type"], "strict_dns");
    assert_eq!(dump["dns_refresh_rate"], "5s");
    assert_eq!(dump["dns_lookup_family"], "auto");
}

#[test]
fn strict_dns_settings_as_written() {
    let c = load(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            type: strict_dns
            dns_refresh_rate: 250ms
            dns_lookup_family: v6_only
            endpoints: [ "127.0.0.1:80" ]
        "#,
    )
    .expect("valid");
    let expected = DnsConfig {
        refresh_rate: Duration::from_millis(250),
        lookup_family: LookupFamily::V6Only,
    };
    assert_eq!(c.clusters[0].discovery, Discovery::StrictDns(expected));
}

#[test]
fn static_rejects_a_hostname_and_says_what_to_write() {
    assert_problem(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            type: static
            endpoints:
              - 127.0.0.1:80
              - { address: "web:80", weight: 2 }
        "#,
        "t.yaml:7:20: clusters[0].endpoints[1].address: type static needs an IP address, \
         got hostname \"web:80\"; use type: strict_dns to resolve it",
    );
}

#[test]
fn dns_settings_on_a_static_cluster_are_errors() {
    assert_problem(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            dns_refresh_rate: 1s
            endpoints: [ "127.0.0.1:80" ]
        "#,
        "t.yaml:4:23: clusters[0].dns_refresh_rate: dns_refresh_rate only applies to type \
         strict_dns (this cluster is static)",
    );
}

#[test]
fn a_bad_refresh_rate_or_family_is_located() {
    assert_problem(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            dns_refresh_rate: 0s
            endpoints: [ "web:80" ]
        "#,
        "t.yaml:4:23: clusters[0].dns_refresh_rate: duration \"0s\" must be greater than 0",
    );
    assert_problem(
        r#"
        listeners: [ { name: l, address: 127.0.0.1:1, cluster: c } ]
        clusters:
          - name: c
            type: logical_dns
            endpoints: [ "web:80" ]
        "#,
        "t.yaml:4:11: clusters[0].type: unknown variant `logical_dns`, \
         expected one of static, strict_dns",
    );
}

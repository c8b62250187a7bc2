use super::*;

fn v4(text: &str) -> SocketAddr {
    text.parse().expect("address")
}

fn config(hosts: &[(&str, u32)]) -> ClusterConfig {
    let yaml = format!(
        "listeners: [ {{ name: l, address: 127.0.0.1:1, cluster: c }} ]\n\
         clusters: [ {{ name: c, type: strict_dns, endpoints: [{}] }} ]\n",
        (hosts.iter())
            .map(|(h, w)| format!("{{ address: \"{h}\", weight: {w} }}"))
            .collect::<Vec<_>>()
            .join(", ")
    );
    let config = crate::config::load_str("t.yaml", &yaml).expect("valid");
    config.clusters[0].clone()
}

#[test]
fn a_static_cluster_keeps_its_endpoints_and_has_no_status() {
    let mut c = config(&[("127.0.0.1:80", 2)]);
    c.discovery = Discovery::Static;
    assert!(DnsStatus::for_cluster(&c).is_none());
    let expected = ResolvedEndpoint {
        address: "127.0.0.1:80".into(),
        weight: 2,
        hostname: None,
    };
    assert_eq!(endpoints(&c, None), [expected]);
}

#[test]
fn each_address_is_an_endpoint_with_its_host_s_weight_and_duplicates_go() {
    let c = config(&[("a:80", 3), ("b:80", 1), ("c:80", 1)]);
    let status = DnsStatus::for_cluster(&c).expect("strict_dns");
    status.set_addresses(vec![
        Some(vec![v4("10.0.0.1:80"), v4("10.0.0.2:80")]),
        Some(vec![v4("10.0.0.2:80"), v4("10.0.0.3:80")]),
        None,
    ]);
    let got: Vec<(String, u32, Option<String>)> = (endpoints(&c, Some(&status)).into_iter())
        .map(|e| (e.address, e.weight, e.hostname))
        .collect();
    let e = |a: &str, w, h: &str| (a.to_owned(), w, Some(h.to_owned()));
    assert_eq!(
        got,
        [
            e("10.0.0.1:80", 3, "a:80"),
            e("10.0.0.2:80", 3, "a:80"),
            e("10.0.0.3:80", 1, "b:80"),
            // Never resolved: as written, resolved at connect time.
            e("c:80", 1, "c:80"),
        ]
    );
    assert_eq!(status.address_count(), 3);
}

#[test]
fn auto_prefers_ipv4_and_falls_back_to_ipv6() {
    let both = vec![v4("[::1]:80"), v4("127.0.0.1:80")];
    assert_eq!(
        pick_family(both.clone(), LookupFamily::Auto),
        [v4("127.0.0.1:80")]
    );
    assert_eq!(
        pick_family(both.clone(), LookupFamily::V6Only),
        [v4("[::1]:80")]
    );
    assert_eq!(
        pick_family(both, LookupFamily::V4Only),
        [v4("127.0.0.1:80")]
    );
    let v6 = vec![v4("[::1]:80")];
    assert_eq!(pick_family(v6, LookupFamily::Auto), [v4("[::1]:80")]);
}

#[tokio::test]
async fn a_failed_lookup_keeps_the_last_good_addresses_and_says_why() {
    let c = config(&[
        ("127.0.0.1:80", 1),
        ("periscope-no-such-name.invalid:80", 1),
    ]);
    let status = DnsStatus::for_cluster(&c).expect("strict_dns");
    status.set_addresses(vec![None, Some(vec![v4("10.0.0.9:80")])]);
    let round = status.resolve().await;
    assert_eq!((round.successes, round.failures), (1, 1));
    let (before, after) = round.changed.expect("the literal resolved");
    assert_eq!(before, [v4("10.0.0.9:80")]);
    assert_eq!(after, [v4("10.0.0.9:80"), v4("127.0.0.1:80")]);
    let snapshot = status.snapshot();
    assert!(snapshot.last_resolution_unix_seconds.is_some());
    let error = snapshot.last_error.expect("an error");
    assert!(
        error.starts_with("periscope-no-such-name.invalid:80: "),
        "{error}"
    );
    // Nothing new: no change reported.
    assert!(status.resolve().await.changed.is_none());
}

#[tokio::test]
async fn localhost_resolves_through_the_hosts_file() {
    let addresses = lookup("localhost:8080", LookupFamily::V4Only)
        .await
        .expect("localhost");
    assert_eq!(addresses, [v4("127.0.0.1:8080")]);
    let err = lookup("127.0.0.1:8080", LookupFamily::V6Only).await;
    assert_eq!(err, Err("no v6_only address".to_owned()));
}

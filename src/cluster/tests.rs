//! A cluster's picks as the proxy paths see them: policy, hash source,
//! active-request accounting and rebalancing over a subset.
use super::*;
use crate::config::EndpointConfig;
use std::net::Ipv4Addr;

const PEER: IpAddr = IpAddr::V4(Ipv4Addr::LOCALHOST);

fn cluster_with(
    lb_policy: LbPolicy,
    hash_policy: Option<HashPolicy>,
    endpoints: &[(&str, u32)],
) -> Cluster {
    let config = ClusterConfig {
        circuit_breakers: Default::default(),
        name: "web".into(),
        protocol: UpstreamProtocol::Auto,
        connect_timeout: Duration::from_secs(1),
        lb_policy,
        hash_policy,
        endpoints: (endpoints.iter())
            .map(|&(address, weight)| EndpointConfig {
                address: address.into(),
                weight,
            })
            .collect(),
        health_check: None,
        outlier_detection: None,
        healthy_panic_threshold: 50,
        discovery: crate::config::Discovery::Static,
        tls: None,
    };
    Cluster::new(&config, &Families::new()).expect("valid cluster")
}

fn cluster(endpoints: &[&str]) -> Cluster {
    let weighted: Vec<_> = endpoints.iter().map(|&e| (e, 1)).collect();
    cluster_with(LbPolicy::RoundRobin, None, &weighted)
}

fn pick_address(cluster: &Cluster, source: HashSource) -> String {
    let picked = cluster.pick(source).expect("an endpoint");
    picked.endpoint.address.clone()
}

fn with_user(user: &'static str) -> http::HeaderMap {
    let mut headers = http::HeaderMap::new();
    headers.insert("x-user", http::HeaderValue::from_static(user));
    headers
}

#[test]
fn round_robin_visits_every_endpoint_in_turn() {
    let cluster = cluster(&["127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"]);
    let picked: Vec<_> = (0..6)
        .map(|_| pick_address(&cluster, HashSource::Connection { peer: PEER }))
        .collect();
    assert_eq!(
        picked,
        [
            "127.0.0.1:1",
            "127.0.0.1:2",
            "127.0.0.1:3",
            "127.0.0.1:1",
            "127.0.0.1:2",
            "127.0.0.1:3"
        ]
    );
}

#[test]
fn a_pick_is_an_active_request_until_dropped() {
    let cluster = cluster(&["127.0.0.1:1"]);
    let first = cluster.pick(HashSource::Connection { peer: PEER });
    let second = cluster.pick(HashSource::Connection { peer: PEER });
    assert_eq!(cluster.snapshot().endpoints[0].active_requests, 2);
    drop((first, second));
    assert_eq!(cluster.snapshot().endpoints[0].active_requests, 0);
}

#[test]
fn header_hash_keeps_a_user_on_one_endpoint() {
    let header = HashPolicy::Header(http::HeaderName::from_static("x-user"));
    let endpoints = [("10.0.0.1:80", 1), ("10.0.0.2:80", 1), ("10.0.0.3:80", 1)];
    for policy in [LbPolicy::Maglev, LbPolicy::RingHash(ring_sizes())] {
        let cluster = cluster_with(policy, Some(header.clone()), &endpoints);
        let mut homes = std::collections::HashSet::new();
        for user in ["alice", "bob", "carol", "dave", "erin", "frank", "grace"] {
            let headers = with_user(user);
            let source = HashSource::Http {
                headers: &headers,
                peer: PEER,
            };
            let home = pick_address(&cluster, source);
            assert!((0..20).all(|_| pick_address(&cluster, source) == home));
            homes.insert(home);
        }
        assert!(homes.len() > 1, "{policy:?}: every user on one endpoint");
    }
}

fn ring_sizes() -> crate::config::RingHashConfig {
    crate::config::RingHashConfig {
        minimum_ring_size: 1024,
        maximum_ring_size: 8 * 1024 * 1024,
    }
}

#[test]
fn rebalancing_takes_endpoints_out_of_rotation() {
    let cluster = cluster_with(
        LbPolicy::Random,
        None,
        &[("127.0.0.1:1", 1), ("127.0.0.1:2", 5)],
    );
    cluster.rebalance(|e| e.address != "127.0.0.1:2");
    for _ in 0..50 {
        assert_eq!(
            pick_address(&cluster, HashSource::Connection { peer: PEER }),
            "127.0.0.1:1"
        );
    }
    cluster.rebalance(|_| false);
    assert!(cluster
        .pick(HashSource::Connection { peer: PEER })
        .is_none());
}

#[test]
fn snapshot_names_policy_weights_and_hash_policy() {
    let cluster = cluster_with(
        LbPolicy::Maglev,
        Some(HashPolicy::Cookie("session".into())),
        &[("127.0.0.1:1", 3), ("127.0.0.1:2", 1)],
    );
    let snapshot = cluster.snapshot();
    assert_eq!(snapshot.lb_policy, "maglev");
    assert_eq!(snapshot.hash_policy.as_deref(), Some("cookie:session"));
    let weights: Vec<u32> = snapshot.endpoints.iter().map(|e| e.weight).collect();
    assert_eq!(weights, [3, 1]);
}

#[tokio::test]
async fn refused_connections_are_counted_and_not_left_active() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    drop(listener);
    let cluster = cluster(&[&address]);
    assert!(cluster.connect_tcp(PEER).await.is_err());
    assert_eq!(cluster.metrics.connect_failures.get(), 1);
    let endpoint = &cluster.snapshot().endpoints[0];
    assert_eq!(endpoint.connect_failures, 1);
    assert_eq!(endpoint.active_requests, 0);
}

#[tokio::test]
async fn a_relayed_connection_is_active_while_held() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    let cluster = cluster(&[&address]);
    let (stream, picked) = cluster.connect_tcp(PEER).await.expect("connected");
    assert_eq!(cluster.snapshot().endpoints[0].active_requests, 1);
    drop((stream, picked));
    assert_eq!(cluster.snapshot().endpoints[0].active_requests, 0);
}

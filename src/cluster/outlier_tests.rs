//! Outlier detection on a real `Cluster`: thresholds per kind, ejection
//! time growth and cap, the ejected share cap, the sweep, and the panic
//! threshold that puts ejected endpoints back when too many are out.
use super::*;
use crate::cluster::HashSource;
use crate::config::{
    ClusterConfig, EndpointConfig, FailurePercentageDetector, LbPolicy, SuccessRateDetector,
    UpstreamProtocol,
};
use crate::pipeline::Families;
use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr};

fn config(base: Duration) -> OutlierConfig {
    OutlierConfig {
        consecutive_5xx: 5,
        consecutive_gateway_failure: 3,
        consecutive_local_origin_failure: 2,
        enforcing_consecutive_5xx: 100,
        enforcing_consecutive_gateway_failure: 0,
        enforcing_consecutive_local_origin_failure: 100,
        interval: Duration::from_secs(10),
        base_ejection_time: base,
        max_ejection_time: Duration::from_secs(300),
        max_ejection_percent: 10,
        successful_active_health_check_uneject_host: true,
        success_rate: SuccessRateDetector {
            minimum_hosts: 5,
            request_volume: 100,
            stdev_factor: 1900,
            enforcing: 0,
        },
        failure_percentage: FailurePercentageDetector {
            minimum_hosts: 5,
            request_volume: 50,
            threshold: 85,
            enforcing: 0,
        },
    }
}

fn cluster(n: usize, outlier: OutlierConfig, panic_threshold: u8) -> Cluster {
    let config = ClusterConfig {
        circuit_breakers: Default::default(),
        name: "web".into(),
        protocol: UpstreamProtocol::Auto,
        connect_timeout: Duration::from_secs(1),
        lb_policy: LbPolicy::RoundRobin,
        hash_policy: None,
        endpoints: (0..n)
            .map(|i| EndpointConfig {
                address: format!("127.0.0.1:{}", i + 1),
                weight: 1,
            })
            .collect(),
        health_check: None,
        outlier_detection: Some(outlier),
        healthy_panic_threshold: panic_threshold,
        discovery: crate::config::Discovery::Static,
        tls: None,
    };
    Cluster::new(&config, &Families::new()).expect("cluster")
}

fn picked(cluster: &Cluster) -> HashSet<String> {
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    (0..20)
        .filter_map(|_| cluster.pick(HashSource::Connection { peer }))
        .map(|p| p.endpoint.address.clone())
        .collect()
}

fn ejected(cluster: &Cluster) -> Vec<usize> {
    (cluster.endpoints.iter())
        .filter(|e| e.health.has(EJECTED))
        .map(|e| e.index)
        .collect()
}

#[test]
fn five_consecutive_5xx_eject_and_a_success_resets_the_streak() {
    let c = cluster(4, config(Duration::from_secs(30)), 50);
    let e = &c.endpoints[1];
    for _ in 0..4 {
        c.observe(e, Observed::Status(500));
    }
    c.observe(e, Observed::Status(200));
    for _ in 0..4 {
        c.observe(e, Observed::Status(503));
    }
    assert!(ejected(&c).is_empty(), "the 200 broke the streak");
    c.observe(e, Observed::Status(500));
    assert_eq!(ejected(&c), [1]);
    assert!(!picked(&c).contains("127.0.0.1:2"));
    let snapshot = e.health.snapshot();
    assert_eq!(snapshot.state, crate::cluster::health::HealthState::Ejected);
    assert_eq!(snapshot.reason.as_deref(), Some("consecutive_5xx"));
    assert_eq!(snapshot.ejections, 1);
}

#[test]
fn gateway_failures_count_but_do_not_eject_by_default_and_connect_failures_do() {
    let c = cluster(4, config(Duration::from_secs(30)), 50);
    // Envoy's enforcing_consecutive_gateway_failure default is 0.
    for _ in 0..3 {
        c.observe(&c.endpoints[0], Observed::Status(502));
    }
    assert!(ejected(&c).is_empty());
    c.observe(&c.endpoints[2], Observed::ConnectFailure);
    c.observe(&c.endpoints[2], Observed::ConnectFailure);
    assert_eq!(ejected(&c), [2]);
    let reason = c.endpoints[2].health.snapshot().reason;
    assert_eq!(reason.as_deref(), Some("consecutive_local_origin_failure"));
}

#[test]
fn ejection_time_grows_with_each_ejection_up_to_the_cap() {
    let mut od = config(Duration::from_secs(30));
    od.max_ejection_time = Duration::from_secs(100);
    let secs = |n| ejection_time(&od, n).as_secs();
    let capped = [secs(1), secs(2), secs(3), secs(4), secs(9)];
    assert_eq!(capped, [30, 60, 90, 100, 100]);
    // A maximum below the base caps at the base.
    od.max_ejection_time = Duration::from_secs(10);
    assert_eq!(ejection_time(&od, 3).as_secs(), 30);
}

#[test]
fn at_most_max_ejection_percent_but_always_one() {
    assert!(may_eject(0, 3, 10), "the first ejection always happens");
    assert!(!may_eject(1, 3, 10));
    assert!(may_eject(1, 20, 10));
    assert!(!may_eject(2, 20, 10));
    assert!(may_eject(4, 10, 50));
    assert!(!may_eject(5, 10, 50));

    let c = cluster(4, config(Duration::from_secs(30)), 0);
    for e in &c.endpoints {
        c.observe(e, Observed::ConnectFailure);
        c.observe(e, Observed::ConnectFailure);
    }
    assert_eq!(ejected(&c), [0], "10% of 4 endpoints: only the first");
}

#[tokio::test]
async fn the_sweep_returns_endpoints_and_the_multiplier_decays() {
    let c = cluster(2, config(Duration::from_millis(1)), 0);
    let e = &c.endpoints[0];
    for round in 1..=3u32 {
        c.observe(e, Observed::ConnectFailure);
        c.observe(e, Observed::ConnectFailure);
        assert_eq!(ejected(&c), [0]);
        assert_eq!(e.health.detail().backoff, round);
        tokio::time::sleep(Duration::from_millis(5)).await;
        c.sweep();
        assert!(ejected(&c).is_empty());
    }
    c.sweep();
    c.sweep();
    assert_eq!(
        e.health.detail().backoff,
        1,
        "one step per interval in rotation"
    );
    assert_eq!(e.health.snapshot().ejections, 3);
    assert_eq!(picked(&c).len(), 2);
}

#[test]
fn below_the_panic_threshold_all_endpoints_take_traffic() {
    let mut od = config(Duration::from_secs(30));
    od.max_ejection_percent = 100;
    let c = cluster(4, od, 50);
    for e in &c.endpoints[..2] {
        c.observe(e, Observed::ConnectFailure);
        c.observe(e, Observed::ConnectFailure);
    }
    assert_eq!(ejected(&c), [0, 1]);
    assert_eq!(picked(&c).len(), 2, "2 of 4 eligible: 50% is not below 50%");
    assert!(!c.rotation.in_panic());
    c.observe(&c.endpoints[2], Observed::ConnectFailure);
    c.observe(&c.endpoints[2], Observed::ConnectFailure);
    assert!(c.rotation.in_panic());
    assert_eq!(picked(&c).len(), 4, "in panic every endpoint is picked");
    assert!(c.snapshot().panic);
}

#[test]
fn without_outlier_detection_nothing_is_counted() {
    let mut c = cluster(2, config(Duration::from_secs(30)), 50);
    c.outlier = None;
    for _ in 0..10 {
        c.observe(&c.endpoints[0], Observed::ConnectFailure);
    }
    assert!(ejected(&c).is_empty());
}

/// A cluster whose statistical detectors are on and whose consecutive
/// ones stay out of the way.
fn statistical(success_rate: u8, failure_percentage: u8) -> Cluster {
    let mut od = config(Duration::from_secs(30));
    od.consecutive_5xx = 1000;
    od.consecutive_local_origin_failure = 1000;
    od.max_ejection_percent = 50;
    od.success_rate.request_volume = 10;
    od.success_rate.enforcing = success_rate;
    od.failure_percentage.request_volume = 10;
    od.failure_percentage.enforcing = failure_percentage;
    cluster(6, od, 0)
}

/// Ten results per endpoint: `failing` of them answer 500 (or, for the
/// last endpoint, fail to connect).
fn one_interval(c: &Cluster, failing: &[(usize, usize)]) {
    for e in &c.endpoints {
        let failures = failing
            .iter()
            .find(|(i, _)| *i == e.index)
            .map_or(0, |f| f.1);
        for n in 0..10 {
            let failed = match (n < failures, e.index) {
                (false, _) => Observed::Status(200),
                (true, 5) => Observed::ConnectFailure,
                (true, _) => Observed::Status(500),
            };
            c.observe(e, failed);
        }
    }
}

#[test]
fn the_success_rate_detector_ejects_the_endpoint_far_below_its_peers() {
    let c = statistical(100, 0);
    one_interval(&c, &[(2, 10), (4, 1)]);
    c.sweep();
    assert_eq!(ejected(&c), [2]);
    let snapshot = c.endpoints[2].health.snapshot();
    assert_eq!(snapshot.reason.as_deref(), Some("success_rate"));
    // The next interval starts from zero: nothing is judged twice.
    c.sweep();
    assert_eq!(ejected(&c), [2]);
}

#[test]
fn the_failure_percentage_detector_is_off_by_default_and_counts_local_failures() {
    let c = statistical(0, 0);
    one_interval(&c, &[(0, 9), (5, 9)]);
    c.sweep();
    assert!(ejected(&c).is_empty(), "enforcing_failure_percentage is 0");

    let c = statistical(0, 100);
    one_interval(&c, &[(0, 9), (5, 9), (3, 8)]);
    c.sweep();
    assert_eq!(ejected(&c), [0, 5]);
    let reason = c.endpoints[5].health.snapshot().reason;
    assert_eq!(reason.as_deref(), Some("failure_percentage"));
}

#[test]
fn statistical_ejections_stay_within_max_ejection_percent() {
    let c = statistical(0, 100);
    // Four of six fail: 50% allows three.
    one_interval(&c, &[(0, 10), (1, 10), (2, 10), (3, 10)]);
    c.sweep();
    assert_eq!(ejected(&c).len(), 3);
}

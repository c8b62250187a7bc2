//! Load-balancing policies against three real nginx upstreams, each
//! answering `/port` with its own port: weights honoured by round robin,
//! random and least request; header hashing sticky for ring hash and
//! maglev; source-IP hashing on the TCP path; `/clusters` showing the
//! policy, weights and active requests.
mod common;

use common::configs::{admin_block, listen_addr};
use common::raw_http::http_get;
use common::{HyperClient, Nginx, Periscope, RawConn};
use http::Method;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

/// Weights of the three upstreams, in order.
const WEIGHTS: [u32; 3] = [3, 2, 1];
const REQUESTS: usize = 600;

/// One `http` listener per policy (named like its cluster), each cluster
/// over the same three upstreams, and a `tcp` listener hashing on the
/// client's IP.
fn config(upstreams: &[Nginx]) -> String {
    let weighted: String = (upstreams.iter().zip(WEIGHTS))
        .map(|(nginx, weight)| format!("{{ address: \"{}\", weight: {weight} }}, ", nginx.h1))
        .collect();
    let plain: String = (upstreams.iter())
        .map(|nginx| format!("\"{}\", ", nginx.h1))
        .collect();
    let clusters = [
        ("rr", "round_robin", "", &weighted),
        ("random", "random", "", &weighted),
        ("least", "least_request", "", &weighted),
        (
            "ring",
            "ring_hash",
            "hash_policy: { header: x-user }",
            &plain,
        ),
        (
            "maglev",
            "maglev",
            "hash_policy: { header: x-user }",
            &plain,
        ),
        (
            "by_ip",
            "maglev",
            "hash_policy: { source_ip: true }",
            &plain,
        ),
    ];
    let mut listeners = String::from("listeners:\n");
    let mut cluster_yaml = String::from("clusters:\n");
    for (name, policy, hash, endpoints) in clusters {
        let protocol = if name == "by_ip" { "tcp" } else { "http" };
        listeners.push_str(&format!(
            "  - {{ name: {name}, address: {}, protocol: {protocol}, cluster: {name} }}\n",
            listen_addr()
        ));
        cluster_yaml.push_str(&format!(
            "  - name: {name}\n    protocol: http1\n    lb_policy: {policy}\n    {hash}\n    \
             endpoints: [{endpoints}]\n"
        ));
    }
    format!("{}{listeners}{cluster_yaml}", admin_block())
}

fn start() -> (Vec<Nginx>, Periscope) {
    let upstreams: Vec<Nginx> = (0..3).map(|_| Nginx::start()).collect();
    let px = Periscope::start(|| config(&upstreams));
    (upstreams, px)
}

/// Which upstream (0, 1, 2) answered a `/port` body.
fn upstream_of(upstreams: &[Nginx], body: &str) -> usize {
    let port: u16 = body.trim().parse().unwrap_or_else(|_| panic!("{body:?}"));
    (upstreams.iter())
        .position(|nginx| nginx.h1.port() == port)
        .unwrap_or_else(|| panic!("port {port} is none of the upstreams"))
}

fn get(client: &HyperClient, px: &Periscope, listener: &str, user: Option<&str>) -> String {
    let headers: Vec<(&str, &str)> = user.map(|u| ("x-user", u)).into_iter().collect();
    let url = px.url(listener, "/port");
    let response = client.send(Method::GET, &url, &headers, Default::default());
    assert_eq!(response.status, 200, "{}", response.body_text());
    response.body_text()
}

fn counts(upstreams: &[Nginx], px: &Periscope, listener: &str) -> [usize; 3] {
    let client = HyperClient::http1();
    let mut counts = [0; 3];
    for _ in 0..REQUESTS {
        counts[upstream_of(upstreams, &get(&client, px, listener, None))] += 1;
    }
    counts
}

/// Each count within five standard deviations of its weighted share: a
/// false failure is a one-in-millions event.
fn assert_weighted(counts: [usize; 3], policy: &str) {
    let total: u32 = WEIGHTS.iter().sum();
    for (count, weight) in counts.iter().zip(WEIGHTS) {
        let p = f64::from(weight) / f64::from(total);
        let expected = p * REQUESTS as f64;
        let sd = (REQUESTS as f64 * p * (1.0 - p)).sqrt();
        assert!(
            (*count as f64 - expected).abs() <= 5.0 * sd,
            "{policy}: counts {counts:?} for weights {WEIGHTS:?}"
        );
    }
}

#[test]
fn weights_are_honoured_and_hash_keys_stick() {
    let (upstreams, px) = start();

    // Smooth round robin is exact over whole periods.
    assert_eq!(counts(&upstreams, &px, "rr"), [300, 200, 100]);
    assert_weighted(counts(&upstreams, &px, "random"), "random");
    // One request at a time: no endpoint is busier, so weights decide.
    assert_weighted(counts(&upstreams, &px, "least"), "least_request");

    let client = HyperClient::http1();
    for listener in ["ring", "maglev"] {
        let mut homes = HashSet::new();
        for user in 0..20 {
            let user = format!("user-{user}");
            let home = get(&client, &px, listener, Some(&user));
            for _ in 0..5 {
                assert_eq!(get(&client, &px, listener, Some(&user)), home, "{listener}");
            }
            homes.insert(home);
        }
        assert!(homes.len() > 1, "{listener}: 20 users all on one upstream");
        // Without the header there is no key: picks are random.
        let keyless: HashSet<String> = (0..30).map(|_| get(&client, &px, listener, None)).collect();
        assert!(keyless.len() > 1, "{listener}: keyless requests stuck");
    }

    let (status, body) = px.admin_get("/clusters");
    assert_eq!(status, 200, "{body}");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("json");
    let by_name: HashMap<&str, &serde_json::Value> = (doc["clusters"].as_array().expect("list"))
        .iter()
        .map(|c| (c["name"].as_str().unwrap_or_default(), c))
        .collect();
    assert_eq!(by_name["least"]["lb_policy"], "least_request");
    assert_eq!(by_name["ring"]["hash_policy"], "header:x-user");
    let weights: Vec<&serde_json::Value> = (by_name["rr"]["endpoints"].as_array())
        .into_iter()
        .flatten()
        .map(|e| &e["weight"])
        .collect();
    assert_eq!(weights, [3, 2, 1]);
    for upstream in &upstreams {
        px.wait_endpoint_stat("least", upstream.h1, "active_requests", 0);
    }
}

#[test]
fn tcp_connections_hash_on_the_client_ip_and_count_as_active() {
    let (upstreams, px) = start();
    let addr = px.addr("by_ip");
    // Every connection comes from 127.0.0.1: one upstream takes them all.
    let homes: HashSet<usize> = (0..12)
        .map(|_| {
            let (status, body) = http_get(addr, "/port").expect("relayed");
            assert_eq!(status, 200, "{body}");
            upstream_of(&upstreams, &body)
        })
        .collect();
    assert_eq!(homes.len(), 1, "{homes:?}");
    let home = upstreams[*homes.iter().next().expect("one")].h1;

    // An open relayed connection is an active request on its endpoint.
    let mut conn = RawConn::connect(addr);
    conn.send(b"GET /port HTTP/1.1\r\nHost: x\r\n\r\n");
    let _ = conn.read_at_least(1, Duration::from_secs(5));
    px.wait_endpoint_stat("by_ip", home, "active_requests", 1);
    drop(conn);
    px.wait_endpoint_stat("by_ip", home, "active_requests", 0);
}

//! The admin port: readiness, the effective config and the clusters, as a
//! dashboard or an operator would read them.
mod common;

use common::configs::proxy;
use common::{Nginx, Periscope};

#[test]
fn ready_says_ready() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let (status, body) = px.admin_get("/ready");
    assert_eq!((status, body.trim()), (200, "ready"));
}

#[test]
fn config_dump_is_json_of_the_effective_config() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let (status, body) = px.admin_get("/config_dump");
    assert_eq!(status, 200, "{body}");
    let dump: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let text = dump.to_string();
    for expected in [
        "edge",
        "web",
        &nginx.h1.to_string(),
        &px.addr("edge").to_string(),
    ] {
        assert!(
            text.contains(expected),
            "{expected} missing from /config_dump: {text}"
        );
    }
}

#[test]
fn clusters_lists_each_cluster_and_endpoint() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| proxy("http", "http1", nginx.h1));
    let (status, body) = px.admin_get("/clusters");
    assert_eq!(status, 200, "{body}");
    let clusters: serde_json::Value =
        serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    let text = clusters.to_string();
    assert!(text.contains("\"web\""), "{text}");
    assert!(text.contains(&nginx.h1.to_string()), "{text}");
}

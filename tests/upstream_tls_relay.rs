//! TLS to upstreams on the TCP relay: a `tcp` listener's cluster with
//! `tls:` in front of a real TLS endpoint (nginx terminating TLS before
//! nx-27017, as a managed MongoDB's endpoint does). pymongo speaks plain
//! MongoDB to Periscope, which sniffs it and speaks TLS upstream: every
//! operation succeeds and is counted exactly. TCP health checks with a
//! payload run over the same TLS.
mod common;

use common::configs::{admin_block, listen_addr};
use common::mongo_telemetry::telemetry_matches;
use common::tls_nginx::TlsNginx;
use common::{EchoServer, MongoServer, Periscope, RawConn, Workload};
use std::time::Duration;

fn relay_config(listener: &str, upstream: std::net::SocketAddr, tls: &str, extra: &str) -> String {
    format!(
        "{}listeners:\n  - {{ name: {listener}, address: {}, protocol: tcp, cluster: secure }}\n\
         clusters:\n  - name: secure\n    endpoints: [\"{upstream}\"]\n    tls: {tls}\n{extra}",
        admin_block(),
        listen_addr(),
    )
}

#[test]
fn pymongo_through_a_tls_upstream_is_sniffed_and_counted_exactly() {
    let mongo = MongoServer::start();
    let nginx = TlsNginx::terminating(mongo.addr);
    let upstream = nginx.tls_relay.expect("TLS relay address");
    let tls = format!("{{ trusted_ca: \"{}\" }}", nginx.ca.display());
    let px = Periscope::start(|| relay_config("edge", upstream, &tls, ""));
    let account = Workload::crud().run(px.addr("edge"));
    assert_eq!(account.count("getMore", "items"), 3, "{account:#?}");
    assert_eq!(account.failed_without_code, 0, "{account:#?}");
    telemetry_matches(&px, "edge", &account);
}

#[test]
fn a_relay_to_an_untrusted_certificate_is_refused_and_counted() {
    let echo = EchoServer::start();
    let nginx = TlsNginx::terminating(echo.addr);
    let upstream = nginx.tls_relay.expect("TLS relay address");
    let tls = format!("{{ trusted_ca: \"{}\" }}", nginx.other_ca.display());
    let px = Periscope::start(|| relay_config("edge", upstream, &tls, ""));
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(b"hello");
    assert!(conn.is_closed_by_peer(Duration::from_secs(5)));
    let failures = [("cluster", "secure"), ("reason", "connect_failure")];
    px.wait_metric("periscope_upstream_errors_total", &failures, 1.0);
    assert_eq!(echo.connections(), 0, "the echo server was reached");
}

/// A TCP check with a payload speaks it over TLS and keeps its
/// connection; the echo server behind nginx sees one connection from the
/// checks (the relayed client's is the second).
#[test]
fn tcp_checks_with_a_payload_run_over_tls() {
    let echo = EchoServer::start();
    let nginx = TlsNginx::terminating(echo.addr);
    let upstream = nginx.tls_relay.expect("TLS relay address");
    let tls = format!("{{ trusted_ca: \"{}\" }}", nginx.ca.display());
    let check = "    health_check: { interval: 50ms, timeout: 5s, \
                 tcp: { send: { text: PING }, receive: [ { text: PING } ] } }\n";
    let px = Periscope::start(|| relay_config("edge", upstream, &tls, check));
    let passed = [("cluster", "secure"), ("result", "success")];
    px.wait_metric_at_least("periscope_health_checks_total", &passed, 10.0);
    assert_eq!(echo.connections(), 1, "checks opened connections");
    let mut conn = RawConn::connect(px.addr("edge"));
    conn.send(b"relayed");
    assert_eq!(conn.read_at_least(7, Duration::from_secs(5)), b"relayed");
    assert_eq!(echo.connections(), 2);
}

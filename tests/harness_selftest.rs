//! Checks the harness itself against the real peers, without periscope:
//! if these fail, the proxy tests' failures say nothing about periscope.
mod common;

use common::metrics::Scrape;
use common::nginx::Nginx;
use common::raw_http::parse_responses;
use common::{h2load, promtool_check_metrics, Curl, EchoServer, HyperClient, RawConn};
use std::time::Duration;

#[test]
fn nginx_serves_every_endpoint_on_http1() {
    let nginx = Nginx::start();
    let root = Curl::get(&nginx.url("/")).run();
    assert_eq!((root.status, root.body_text().as_str()), (200, "ok\n"));
    for (name, len) in common::nginx::PAYLOADS {
        let r = Curl::get(&nginx.url(&format!("/bytes/{name}")))
            .discard_body()
            .run();
        assert_eq!(
            (r.status, r.bytes_downloaded),
            (200, len as u64),
            "/bytes/{name}"
        );
    }
    for code in [204, 404, 500, 503] {
        let r = Curl::get(&nginx.url(&format!("/status/{code}"))).run();
        assert_eq!(r.status, code);
    }
}

#[test]
fn nginx_reads_chunked_and_20_mib_uploads_on_post() {
    let nginx = Nginx::start();
    let dir = common::WorkDir::new("upload");
    let small = dir.write_filled("small", 300 * 1024, b'u');
    let r = Curl::post_file(&nginx.url("/post"), &small).chunked().run();
    assert_eq!(
        (r.status, r.body_text().as_str()),
        (200, "ok\n"),
        "{}",
        r.stderr
    );
    let large = dir.write_filled("large", 20 * 1024 * 1024, b'u');
    let r = Curl::post_file(&nginx.url("/post"), &large).run();
    assert_eq!(
        (r.status, r.body_text().as_str()),
        (200, "ok\n"),
        "{}",
        r.stderr
    );
}

#[test]
fn nginx_speaks_h2c_to_curl_hyper_and_h2load() {
    let nginx = Nginx::start();
    let r = Curl::get(&nginx.h2c_url("/")).http2_prior_knowledge().run();
    assert_eq!((r.status, r.http_version.as_str()), (200, "2"));

    let client = HyperClient::h2c();
    for _ in 0..3 {
        let r = client.get(&nginx.h2c_url("/bytes/1k"));
        assert_eq!((r.status.as_u16(), r.body.len()), (200, 1024));
        assert_eq!(r.version, http::Version::HTTP_2);
    }

    let report = h2load(&nginx.h2c_url("/"), 200, 2, 10);
    assert_eq!(report.succeeded, 200, "{}", report.output);
    assert_eq!(report.status_2xx, 200, "{}", report.output);
}

#[test]
fn hyper_http1_client_reuses_one_connection() {
    let nginx = Nginx::start();
    let client = HyperClient::http1();
    for _ in 0..5 {
        assert_eq!(client.get(&nginx.url("/")).body_text(), "ok\n");
    }
    let stub = client.get(&nginx.url("/stub_status")).body_text();
    // "Active connections: 1" = only our one keep-alive connection.
    assert!(stub.starts_with("Active connections: 1 "), "{stub}");
}

#[test]
fn raw_pipelined_requests_come_back_in_order() {
    let nginx = Nginx::start();
    let mut conn = RawConn::connect(nginx.h1);
    conn.send(
        b"GET /status/404 HTTP/1.1\r\nHost: a\r\n\r\n\
          GET / HTTP/1.1\r\nHost: a\r\n\r\n\
          GET /bytes/1k HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
    );
    let responses = conn.read_responses(3, Duration::from_secs(5));
    let got: Vec<(u16, usize)> = responses.iter().map(|r| (r.status, r.body.len())).collect();
    assert_eq!(got[0].0, 404);
    assert_eq!(got[1..], [(200, 3), (200, 1024)]);
}

#[test]
fn echo_and_banner_servers_record_what_they_get() {
    let echo = EchoServer::with_banner(b"HELLO\r\n");
    let mut conn = RawConn::connect(echo.addr);
    assert_eq!(conn.read_at_least(7, Duration::from_secs(2)), b"HELLO\r\n");
    conn.send(b"\x00\x01garbage");
    assert_eq!(
        conn.read_at_least(9, Duration::from_secs(2)),
        b"\x00\x01garbage"
    );
    assert_eq!(echo.received(), b"\x00\x01garbage");
    assert_eq!(echo.connections(), 1);
}

const SAMPLE: &str = r#"# HELP http_server_request_duration_seconds Duration of HTTP server requests.
# TYPE http_server_request_duration_seconds histogram
http_server_request_duration_seconds_bucket{listener="edge",route="a b",le="0.005"} 2
http_server_request_duration_seconds_bucket{listener="edge",route="a b",le="+Inf"} 3
http_server_request_duration_seconds_sum{listener="edge",route="a b"} 0.012
http_server_request_duration_seconds_count{listener="edge",route="a b"} 3
http_server_request_duration_seconds_count{listener="edge",route="q\"x\\y"} 4
# HELP periscope_detections_total Connections by detected protocol.
# TYPE periscope_detections_total counter
periscope_detections_total{listener="edge",protocol="http1"} 5
periscope_detections_total{listener="other",protocol="http1"} 1
"#;

#[test]
fn scrape_sums_samples_matching_a_label_subset() {
    let s = Scrape::parse(SAMPLE);
    let count = "http_server_request_duration_seconds_count";
    assert_eq!(s.value(count, &[("route", "a b")]), 3.0);
    assert_eq!(s.value(count, &[("route", "q\"x\\y")]), 4.0);
    assert_eq!(s.value(count, &[]), 7.0);
    assert_eq!(
        s.counter("periscope_detections_total", &[("protocol", "http1")]),
        6.0
    );
    assert_eq!(
        s.value("periscope_detections_total", &[("protocol", "tls")]),
        0.0
    );
    assert_eq!(
        s.value(
            "http_server_request_duration_seconds_bucket",
            &[("le", "+Inf")]
        ),
        3.0
    );
}

#[test]
fn scrape_lists_near_misses_when_nothing_matches() {
    let s = Scrape::parse(SAMPLE);
    let listing = s.near_misses("periscope_detections_total");
    assert!(listing.contains(r#"protocol="http1""#), "{listing}");
    let listing = s.near_misses("periscope_detection_total");
    assert!(listing.contains("periscope_detections_total"), "{listing}");
}

#[test]
fn promtool_accepts_good_and_rejects_bad_exposition() {
    promtool_check_metrics(SAMPLE).expect("sample is clean");
    let bad = "# HELP requests Requests.\n# TYPE requests counter\nrequests 1\n";
    assert!(
        promtool_check_metrics(bad).is_err(),
        "counter without _total must be flagged"
    );
}

#[test]
fn raw_response_parser_handles_chunked_and_empty_bodies() {
    let bytes = b"HTTP/1.1 204 No Content\r\n\r\n\
        HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n\
        HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n";
    let r = parse_responses(bytes);
    let got: Vec<(u16, &[u8])> = r.iter().map(|r| (r.status, r.body.as_slice())).collect();
    assert_eq!(got, [(204, &b""[..]), (200, b"abcde"), (400, b"")]);
    assert_eq!(r[2].header("connection"), Some("close"));
}

/// The benchmark report: medians, ratios, and requests per proxy
/// CPU-second (a rate divided by the cores its proxy used), from a few
/// synthetic result lines.
#[test]
fn bench_report_divides_rates_by_the_proxy_cores_used() {
    let dir = std::env::temp_dir().join(format!("bench-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let results = dir.join("results.jsonl");
    let line = |proxy: &str, rps: f64, cpu: Option<f64>| {
        let cpu = cpu.map_or(String::new(), |c| format!(", \"proxy_cpu\": {c}"));
        format!("{{\"workload\": \"http1_small\", \"proxy\": \"{proxy}\", \"round\": 1, \"rps\": {rps}{cpu}}}\n")
    };
    let lines = [
        line("direct", 90000.0, None),
        line("periscope", 80000.0, Some(0.8)),
        line("haproxy", 75000.0, Some(1.0)),
    ];
    std::fs::write(&results, lines.concat()).expect("results written");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/bench/report.py");
    let out = std::process::Command::new("python3")
        .arg(script)
        .arg(&results)
        .arg("--markdown")
        .output()
        .expect("report.py runs");
    let _ = std::fs::remove_dir_all(&dir);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let row = |label: &str| {
        text.lines()
            .find(|l| l.starts_with(&format!("| {label} |")))
            .unwrap_or_else(|| panic!("no {label} row in\n{text}"))
            .to_owned()
    };
    // 80000 / 0.8 = 100000 against 75000 / 1.0.
    assert!(
        row("HTTP/1.1 small, req per proxy CPU-second").ends_with("| 1.33 |"),
        "{text}"
    );
    assert!(row("HTTP/1.1 small, req/s").ends_with("| 1.07 |"), "{text}");
}

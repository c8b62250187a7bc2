//! OTLP traces end to end: real nginx and nx-27017 (MongoDB) behind a real
//! `periscope`, exporting to the tests' own OTLP receiver (grpcio +
//! opentelemetry-proto) over OTLP/gRPC and OTLP/HTTP protobuf. Spans are
//! asserted exactly: count, names, kinds, attributes, status, and the
//! parent/child links of W3C trace context.
mod common;
#[path = "common/otlp.rs"]
mod otlp;

use common::configs::{listen_addr, routed};
use common::grpc::{run_client, GreeterServer};
use common::{Curl, MongoServer, Nginx, Periscope, Python};
use otlp::{pretty, span, OtlpReceiver};
use serde_json::{json, Value};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const CALLER: &str = "00f067aa0ba902b7";

/// An `http` listener `edge` with route `echo` (prefix /) to cluster `web`.
fn http_config(upstream: std::net::SocketAddr, tracing: &str) -> String {
    let echo = [("echo", "/", "{ cluster: web }")];
    routed(&echo, "web", "http1", upstream, tracing)
}

fn attr<'a>(span: &'a Value, key: &str) -> &'a Value {
    &span["attributes"][key]
}

#[test]
fn http_spans_over_grpc_continue_and_inject_trace_context() {
    let nginx = Nginx::start();
    let otlp = OtlpReceiver::start();
    let tracing = format!(
        "tracing:\n  endpoint: {}\n  resource_attributes: {{ deployment.environment: test }}\n",
        otlp.grpc_url()
    );
    let px = Periscope::start(|| http_config(nginx.h1, &tracing));

    let traced = Curl::get(&px.url("edge", "/traceparent?x=1"))
        .header("traceparent", &format!("00-{TRACE}-{CALLER}-01"))
        .run();
    assert_eq!(traced.status, 200);
    let seen_upstream = traced.body_text().trim().to_owned();
    assert_eq!(Curl::get(&px.url("edge", "/status/500")).run().status, 500);
    // Not sampled by the caller: Periscope follows it, exports nothing,
    // and still hands the (unsampled) context on.
    let unsampled = Curl::get(&px.url("edge", "/traceparent"))
        .header("traceparent", &format!("00-{TRACE}-{CALLER}-00"))
        .run();
    let unsampled_upstream = unsampled.body_text().trim().to_owned();

    let spans = otlp.wait_spans(2);
    assert!(
        spans.iter().all(|s| s["via"] == "grpc"),
        "{}",
        pretty(&spans)
    );
    assert!(
        spans
            .iter()
            .all(|s| s["name"] == "GET echo" && s["kind"] == "SERVER"),
        "{}",
        pretty(&spans)
    );
    let ok = spans
        .iter()
        .find(|s| attr(s, "url.path") == "/traceparent")
        .expect("the traced request's span");
    let failed = spans
        .iter()
        .find(|s| attr(s, "url.path") == "/status/500")
        .expect("the 500's span");

    // Continued: same trace, the caller's span is the parent, and nginx saw
    // Periscope's span as its parent.
    assert_eq!(ok["trace_id"], TRACE);
    assert_eq!(ok["parent_span_id"], CALLER);
    let span_id = ok["span_id"].as_str().expect("span id");
    assert_eq!(seen_upstream, format!("00-{TRACE}-{span_id}-01"));
    assert_eq!(ok["status_code"], "UNSET");
    assert_eq!(ok["service"], "periscope");
    assert_eq!(ok["resource"]["deployment.environment"], "test");
    assert_eq!(ok["scope"], "periscope");
    let port = px.addr("edge").port();
    for (key, expected) in [
        ("http.request.method", json!("GET")),
        ("http.response.status_code", json!(200)),
        ("url.query", json!("x=1")),
        ("network.protocol.version", json!("1.1")),
        ("server.port", json!(port)),
        ("network.peer.address", json!("127.0.0.1")),
        ("periscope.listener", json!("edge")),
        ("periscope.route", json!("echo")),
        ("periscope.cluster", json!("web")),
        ("periscope.upstream.address", json!(nginx.h1.to_string())),
    ] {
        assert_eq!(attr(ok, key), &expected, "{key} in {ok}");
    }
    assert!(attr(ok, "http.request.header.x-request-id").is_string());
    let start = ok["start_ns"].as_u64().expect("start");
    let end = ok["end_ns"].as_u64().expect("end");
    assert!(start > 1_700_000_000_000_000_000 && end >= start, "{ok}");

    // A new root for the 500, which is an error.
    assert_eq!(failed["parent_span_id"], "");
    assert_ne!(failed["trace_id"], TRACE);
    assert_eq!(failed["status_code"], "ERROR");
    assert_eq!(attr(failed, "error.type"), "500");
    assert_eq!(attr(failed, "http.response.status_code"), 500);

    let unsampled_parts: Vec<&str> = unsampled_upstream.split('-').collect();
    assert_eq!(unsampled_parts.len(), 4, "{unsampled_upstream}");
    assert_eq!(unsampled_parts[1], TRACE);
    assert_ne!(unsampled_parts[2], CALLER);
    assert_eq!(unsampled_parts[3], "00");
}

#[test]
fn quick_mode_exports_over_otlp_http_with_the_standard_variables() {
    let nginx = Nginx::start();
    let otlp = OtlpReceiver::start();
    let listen = listen_addr();
    let upstream = nginx.h1.to_string();
    let px = Periscope::quick_with_env(
        &[
            "--listen",
            &listen,
            "--upstream",
            &upstream,
            "--otlp-endpoint",
            &otlp.http_url(),
            "--otlp-protocol",
            "http/protobuf",
        ],
        &[
            ("OTEL_SERVICE_NAME", "edge-proxy"),
            // The flag wins over the variable.
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9"),
        ],
    );
    for path in ["/", "/status/404"] {
        Curl::get(&px.url("quick", path)).run();
    }
    let spans = otlp.wait_spans(2);
    for s in &spans {
        assert_eq!(s["via"], "http");
        assert_eq!(s["service"], "edge-proxy");
        assert_eq!(s["name"], "GET default");
        assert_eq!(s["kind"], "SERVER");
        assert_eq!(s["status_code"], "UNSET", "4xx is not a server error: {s}");
    }
    let statuses: Vec<_> = spans
        .iter()
        .map(|s| attr(s, "http.response.status_code").clone())
        .collect();
    assert_eq!(statuses, vec![json!(200), json!(404)]);
}

#[test]
fn environment_alone_turns_tracing_on() {
    let nginx = Nginx::start();
    let otlp = OtlpReceiver::start();
    let listen = listen_addr();
    let upstream = nginx.h1.to_string();
    let px = Periscope::quick_with_env(
        &["--listen", &listen, "--upstream", &upstream],
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", otlp.grpc_url().as_str()),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ],
    );
    Curl::get(&px.url("quick", "/"))
        .http2_prior_knowledge()
        .run();
    let spans = otlp.wait_spans(1);
    assert_eq!(spans[0]["via"], "grpc");
    assert_eq!(attr(&spans[0], "network.protocol.version"), "2");
}

#[test]
fn mongodb_operations_are_client_spans() {
    let mongo = MongoServer::start();
    let otlp = OtlpReceiver::start();
    let tracing = format!(
        "tracing:\n  endpoint: {}\n  protocol: http/protobuf\n",
        otlp.http_url()
    );
    let px = Periscope::start(|| common::configs::mongo_proxy("tcp", mongo.addr, "") + &tracing);
    let uri = format!("mongodb://{}/", px.addr("edge"));
    let summary = Python::run("otlp/mongo_ops.py", &[&uri]);
    assert_eq!(summary.trim(), r#"{"found": true, "duplicate": true}"#);

    // Handshakes and heartbeats (hello, endSessions) are not operations.
    let spans = otlp.wait_spans(4);
    let names: Vec<_> = spans
        .iter()
        .map(|s| s["name"].as_str().unwrap_or(""))
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(
        sorted,
        [
            "find orders",
            "insert orders",
            "insert orders",
            "update orders"
        ]
    );
    for s in &spans {
        assert_eq!(s["kind"], "CLIENT", "{s}");
        assert_eq!(s["parent_span_id"], "");
        assert_eq!(attr(s, "db.system.name"), "mongodb");
        assert_eq!(attr(s, "db.namespace"), "shop");
        assert_eq!(attr(s, "db.collection.name"), "orders");
        assert_eq!(attr(s, "server.address"), "127.0.0.1");
        assert_eq!(attr(s, "server.port"), &json!(mongo.addr.port()));
        assert_eq!(attr(s, "network.peer.address"), "127.0.0.1");
        assert_eq!(attr(s, "periscope.cluster"), "mongo");
    }
    let find = span(&spans, "find orders");
    assert_eq!(find["status_code"], "UNSET");
    assert_eq!(attr(find, "db.operation.name"), "find");
    let inserts: Vec<_> = spans
        .iter()
        .filter(|s| s["name"] == "insert orders")
        .collect();
    let failed: Vec<_> = inserts
        .iter()
        .filter(|s| s["status_code"] == "ERROR")
        .collect();
    assert_eq!(failed.len(), 1, "{}", pretty(&spans));
    assert_eq!(attr(failed[0], "db.response.status_code"), "11000");
    assert!(inserts.iter().any(|s| s["status_code"] == "UNSET"));
    // The two update statements sent together are a batch; the inserts
    // and the find are not.
    let batches: Vec<_> = spans
        .iter()
        .map(|s| {
            (
                s["name"].clone(),
                attr(s, "db.operation.batch.size").clone(),
            )
        })
        .filter(|(_, size)| !size.is_null())
        .collect();
    assert_eq!(
        batches,
        [(json!("update orders"), json!(2))],
        "{}",
        pretty(&spans)
    );
}

/// gRPC calls of every shape, proxied (L7) and sniffed on a `tcp`
/// listener (L4): one SERVER span per call named by its method, the gRPC
/// status as the client saw it (so streaming spans run to the stream's
/// trailers), errors ERROR.
#[test]
fn grpc_calls_are_server_spans_named_by_method() {
    for protocol in ["auto", "tcp"] {
        let greeter = GreeterServer::start();
        let otlp = OtlpReceiver::start();
        let listen = listen_addr();
        let upstream = greeter.addr.to_string();
        let px = Periscope::quick(&[
            "--listen",
            &listen,
            "--upstream",
            &upstream,
            "--protocol",
            protocol,
            "--otlp-endpoint",
            &otlp.grpc_url(),
        ]);
        let calls = run_client(px.addr("quick"), "shapes");
        assert_eq!(calls.len(), 10, "{calls:?}");
        let spans = otlp.wait_spans(calls.len());
        let mut seen: Vec<(String, String)> = calls
            .iter()
            .map(|c| (c.method.clone(), c.code.clone()))
            .collect();
        let mut exported: Vec<(String, String)> = spans
            .iter()
            .map(|s| {
                assert_eq!(s["kind"], "SERVER", "{s}");
                assert_eq!(attr(s, "rpc.system.name"), "grpc", "{s}");
                assert_eq!(attr(s, "rpc.method"), &s["name"], "{s}");
                let code = attr(s, "rpc.response.status_code")
                    .as_str()
                    .unwrap_or("none")
                    .to_owned();
                let expected_status = if code == "OK" { "UNSET" } else { "ERROR" };
                assert_eq!(s["status_code"], expected_status, "{s}");
                (s["name"].as_str().unwrap_or("").to_owned(), code)
            })
            .collect();
        seen.sort();
        exported.sort();
        assert_eq!(exported, seen, "{protocol}:\n{}", pretty(&spans));
        let route = if protocol == "tcp" {
            Value::Null
        } else {
            json!("default")
        };
        assert!(spans.iter().all(|s| attr(s, "periscope.route") == &route));
    }
}

/// HTTP sniffed on a `tcp` listener (the L4 path): a root SERVER span named
/// by the method alone (no route), against the relayed upstream.
#[test]
fn sniffed_http_on_a_tcp_listener_is_a_server_span_without_route() {
    let nginx = Nginx::start();
    let otlp = OtlpReceiver::start();
    let tracing = format!("tracing:\n  endpoint: {}\n", otlp.grpc_url());
    let px = Periscope::start(|| common::configs::proxy("tcp", "auto", nginx.h1) + &tracing);
    // The caller's traceparent is continued only on the L7 path.
    let seen = Curl::get(&px.url("edge", "/traceparent"))
        .header("traceparent", &format!("00-{TRACE}-{CALLER}-01"))
        .run()
        .body_text();
    assert_eq!(
        seen.trim(),
        format!("00-{TRACE}-{CALLER}-01"),
        "relayed untouched"
    );
    let spans = otlp.wait_spans(1);
    let s = &spans[0];
    assert_eq!((&s["name"], &s["kind"]), (&json!("GET"), &json!("SERVER")));
    assert_eq!(s["parent_span_id"], "");
    assert_eq!(attr(s, "url.path"), "/traceparent");
    assert_eq!(attr(s, "http.response.status_code"), 200);
    assert_eq!(attr(s, "periscope.route"), &Value::Null);
    assert_eq!(attr(s, "periscope.cluster"), "web");
    assert_eq!(
        attr(s, "periscope.upstream.address"),
        &json!(nginx.h1.to_string())
    );
    px.wait_metric(
        "periscope_telemetry_dropped_total",
        &[("signal", "traces")],
        0.0,
    );
}

//! Access logs end to end: real nginx, nx-27017 and a TCP echo server behind
//! a real `periscope`; JSON lines to a file and Envoy-style text to stdout,
//! asserted line by line (exact counts and fields).
mod common;

use common::configs::{admin_block, listen_addr};
use common::{opaque_garbage, Curl, EchoServer, MongoServer, Nginx, Periscope, Python, RawConn};
use serde_json::{json, Value};
use std::path::Path;
use std::time::{Duration, Instant};

/// After the expected lines arrived: how long no further line may arrive.
const QUIET: Duration = Duration::from_millis(800);

fn lines_of(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_owned)
        .collect()
}

/// Waits for exactly `count` lines matching `keep` in what `read` returns.
fn wait_lines(
    what: &str,
    count: usize,
    read: impl Fn() -> Vec<String>,
    keep: impl Fn(&str) -> bool,
) -> Vec<String> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let lines: Vec<String> = read().into_iter().filter(|l| keep(l)).collect();
        if lines.len() >= count {
            std::thread::sleep(QUIET);
            let lines: Vec<String> = read().into_iter().filter(|l| keep(l)).collect();
            assert_eq!(lines.len(), count, "{what}:\n{}", lines.join("\n"));
            return lines;
        }
        assert!(
            Instant::now() < deadline,
            "{what}: {} of {count} lines:\n{}",
            lines.len(),
            lines.join("\n")
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn json_lines(path: &Path, count: usize) -> Vec<Value> {
    wait_lines(
        &path.display().to_string(),
        count,
        || lines_of(path),
        |_| true,
    )
    .iter()
    .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
    .collect()
}

/// The contract: every JSON line carries every field.
const FIELDS: [&str; 24] = [
    "timestamp",
    "kind",
    "listener",
    "route",
    "cluster",
    "protocol",
    "method",
    "path",
    "authority",
    "status",
    "grpc_status",
    "db_operation",
    "db_namespace",
    "db_collection",
    "db_status_code",
    "duration_ms",
    "bytes_received",
    "bytes_sent",
    "peer",
    "upstream",
    "request_id",
    "trace_id",
    "span_id",
    "complete",
];

fn assert_shape(line: &Value) {
    let object = line.as_object().expect("an object");
    let mut keys: Vec<_> = object.keys().map(String::as_str).collect();
    keys.sort();
    let mut expected = FIELDS.to_vec();
    expected.sort();
    assert_eq!(keys, expected, "{line}");
    let timestamp = line["timestamp"].as_str().expect("timestamp");
    // RFC 3339 UTC with milliseconds: 2026-11-24T05:17:47.123Z
    assert_eq!(timestamp.len(), 24, "{timestamp}");
    assert!(timestamp.ends_with('Z') && timestamp.as_bytes()[10] == b'T');
}

#[test]
fn json_lines_for_http_mongodb_and_opaque_tcp_to_files() {
    let nginx = Nginx::start();
    let mongo = MongoServer::start();
    let echo = EchoServer::start();
    let dir = common::WorkDir::new("access-logs");
    let http_log = dir.join("http.log");
    let tcp_log = dir.join("tcp.log");
    let px = Periscope::start(|| {
        format!(
            r#"{admin}listeners:
  - name: edge
    address: {edge}
    protocol: http
    access_log: {{ path: {http_log} }}
    virtual_hosts:
      - name: site
        domains: ["*"]
        routes:
          - name: echo
            match: {{ prefix: / }}
            route: {{ cluster: web }}
  - name: db
    address: {db}
    protocol: tcp
    cluster: mongo
    access_log: {{ path: {tcp_log}, format: json }}
  - name: raw
    address: {raw}
    protocol: auto
    cluster: echo
    access_log: {{ path: {tcp_log} }}
clusters:
  - {{ name: web, protocol: http1, endpoints: ["{nginx}"] }}
  - {{ name: mongo, endpoints: ["{mongo}"] }}
  - {{ name: echo, endpoints: ["{echo}"] }}
"#,
            admin = admin_block(),
            edge = listen_addr(),
            db = listen_addr(),
            raw = listen_addr(),
            http_log = http_log.display(),
            tcp_log = tcp_log.display(),
            nginx = nginx.h1,
            mongo = mongo.addr,
            echo = echo.addr,
        )
    });

    let ok = Curl::get(&px.url("edge", "/bytes/1k?a=b"))
        .header("x-request-id", "req-1")
        .run();
    assert_eq!((ok.status, ok.body.len()), (200, 1024));
    assert_eq!(Curl::get(&px.url("edge", "/status/404")).run().status, 404);
    let lines = json_lines(&http_log, 2);
    for line in &lines {
        assert_shape(line);
    }
    let first = &lines[0];
    for (key, expected) in [
        ("kind", json!("http")),
        ("listener", json!("edge")),
        ("route", json!("echo")),
        ("cluster", json!("web")),
        ("protocol", json!("http1")),
        ("method", json!("GET")),
        ("path", json!("/bytes/1k?a=b")),
        ("status", json!(200)),
        ("bytes_sent", json!(1024)),
        ("bytes_received", json!(0)),
        ("upstream", json!(nginx.h1.to_string())),
        ("request_id", json!("req-1")),
        ("trace_id", Value::Null),
        ("db_namespace", Value::Null),
        ("complete", json!(true)),
    ] {
        assert_eq!(first[key], expected, "{key} in {first}");
    }
    assert!(first["peer"]
        .as_str()
        .is_some_and(|p| p.starts_with("127.0.0.1:")));
    // The host without its port, as routing matches it.
    assert_eq!(first["authority"], "127.0.0.1");
    assert_eq!(lines[1]["status"], 404);
    assert_eq!(lines[1]["path"], "/status/404");

    // MongoDB: one line per operation, none for handshakes.
    let uri = format!("mongodb://{}/", px.addr("db"));
    let summary = Python::run("otlp/mongo_ops.py", &[&uri]);
    assert_eq!(summary.trim(), r#"{"found": true, "duplicate": true}"#);
    let ops = json_lines(&tcp_log, 4);
    let described: Vec<_> = ops
        .iter()
        .map(|l| {
            assert_shape(l);
            (
                l["kind"].clone(),
                l["listener"].clone(),
                l["method"].clone(),
                l["db_namespace"].clone(),
                l["db_collection"].clone(),
                l["db_status_code"].clone(),
                l["cluster"].clone(),
            )
        })
        .collect();
    let op = |method: &str, code: Value| {
        (
            json!("mongodb"),
            json!("db"),
            json!(method),
            json!("shop"),
            json!("orders"),
            code,
            json!("mongo"),
        )
    };
    assert_eq!(
        described,
        vec![
            op("insert", Value::Null),
            op("find", Value::Null),
            op("insert", json!("11000")),
            op("update", Value::Null)
        ]
    );
    assert_eq!(ops[0]["upstream"], mongo.addr.to_string());

    // Opaque TCP on an auto listener: one summary line when it closes.
    let payload = opaque_garbage(3000);
    let mut conn = RawConn::connect(px.addr("raw"));
    conn.send(&payload);
    assert_eq!(
        conn.read_at_least(payload.len(), Duration::from_secs(5))
            .len(),
        payload.len()
    );
    conn.shutdown_write();
    assert!(conn.is_closed_by_peer(Duration::from_secs(5)));
    let all = json_lines(&tcp_log, 5);
    let tcp = &all[4];
    assert_shape(tcp);
    for (key, expected) in [
        ("kind", json!("tcp")),
        ("listener", json!("raw")),
        ("protocol", json!("unknown")),
        ("cluster", json!("echo")),
        ("upstream", json!(echo.addr.to_string())),
        ("bytes_received", json!(3000)),
        ("bytes_sent", json!(3000)),
        ("method", Value::Null),
        ("status", Value::Null),
    ] {
        assert_eq!(tcp[key], expected, "{key} in {tcp}");
    }
    px.wait_metric(
        "periscope_telemetry_dropped_total",
        &[("signal", "access_log")],
        0.0,
    );
}

#[test]
fn text_lines_with_envoy_operators_to_stdout() {
    let nginx = Nginx::start();
    let format = "ACCESS %START_TIME% %REQ(:METHOD)% %PATH% %PROTOCOL% %RESPONSE_CODE% \
                  %BYTES_RECEIVED% %BYTES_SENT% %DOWNSTREAM_REMOTE_ADDRESS% %UPSTREAM_HOST% \
                  %ROUTE_NAME% %UPSTREAM_CLUSTER% %LISTENER_NAME% %REQ(X-REQUEST-ID)% \
                  %GRPC_STATUS% %TRACE_ID%";
    let px = Periscope::start(|| {
        format!(
            "{admin}listeners:\n  - name: edge\n    address: {edge}\n    cluster: web\n    \
             access_log:\n      path: stdout\n      format: text\n      text_format: \"{format}\"\n\
             clusters:\n  - {{ name: web, protocol: http1, endpoints: [\"{nginx}\"] }}\n",
            admin = admin_block(),
            edge = listen_addr(),
            nginx = nginx.h1,
        )
    });
    Curl::get(&px.url("edge", "/bytes/1k"))
        .header("x-request-id", "abc")
        .run();
    Curl::get(&px.url("edge", "/status/503"))
        .http2_prior_knowledge()
        .run();
    let lines = wait_lines(
        "stdout",
        2,
        || px.log().lines().map(str::to_owned).collect(),
        |l| l.starts_with("ACCESS "),
    );
    let fields: Vec<Vec<&str>> = lines.iter().map(|l| l.split(' ').collect()).collect();
    let upstream = nginx.h1.to_string();
    for (line, (method_path_protocol, status, sent, request_id)) in fields.iter().zip([
        (["GET", "/bytes/1k", "HTTP/1.1"], "200", "1024", "abc"),
        (["GET", "/status/503", "HTTP/2"], "503", "", ""),
    ]) {
        assert_eq!(line.len(), 16, "{line:?}");
        assert_eq!(line[1].len(), 24, "start time {}", line[1]);
        assert_eq!(&line[2..5], &method_path_protocol, "{line:?}");
        assert_eq!(line[5], status);
        assert_eq!(line[6], "0", "bytes received");
        if !sent.is_empty() {
            assert_eq!(line[7], sent);
        }
        assert!(line[8].starts_with("127.0.0.1:"), "{line:?}");
        assert_eq!(line[9], upstream);
        assert_eq!(&line[10..13], &["default", "web", "edge"]);
        if !request_id.is_empty() {
            assert_eq!(line[13], request_id);
        } else {
            assert_eq!(line[13].len(), 36, "a generated x-request-id: {line:?}");
        }
        assert_eq!(&line[14..], &["-", "-"], "no gRPC status, no trace");
    }
}

#[test]
fn default_text_format_reads_like_envoys() {
    let nginx = Nginx::start();
    let dir = common::WorkDir::new("access-logs");
    let log = dir.join("text.log");
    let px = Periscope::start(|| {
        format!(
            "{admin}listeners:\n  - name: edge\n    address: {edge}\n    cluster: web\n    \
             access_log: {{ path: {log}, format: text }}\n\
             clusters:\n  - {{ name: web, protocol: http1, endpoints: [\"{nginx}\"] }}\n",
            admin = admin_block(),
            edge = listen_addr(),
            log = log.display(),
            nginx = nginx.h1,
        )
    });
    Curl::get(&px.url("edge", "/status/404"))
        .header("x-request-id", "r-404")
        .run();
    let lines = wait_lines("text log", 1, || lines_of(&log), |_| true);
    let line = &lines[0];
    let expected_tail = format!(
        "\"GET /status/404 HTTP/1.1\" 404 0 {{SENT}} {{MS}} \"r-404\" \"127.0.0.1\" \"{}\" default",
        nginx.h1
    );
    assert!(line.starts_with('['), "{line}");
    let (_, rest) = line.split_once("] ").expect("start time in brackets");
    let parts: Vec<&str> = rest.split(' ').collect();
    let expected: Vec<&str> = expected_tail.split(' ').collect();
    assert_eq!(parts.len(), expected.len(), "{line}");
    for (got, want) in parts.iter().zip(&expected) {
        if !want.starts_with('{') {
            assert_eq!(got, want, "{line}");
        } else {
            assert!(got.parse::<u64>().is_ok(), "{got} in {line}");
        }
    }
}

/// gRPC calls: one `grpc` line per call, with the method path and the gRPC
/// status the client saw.
#[test]
fn grpc_calls_are_logged_with_their_status() {
    let greeter = common::grpc::GreeterServer::start();
    let dir = common::WorkDir::new("access-logs");
    let log = dir.join("grpc.log");
    let px = Periscope::start(|| {
        format!(
            "{admin}listeners:\n  - name: edge\n    address: {edge}\n    cluster: rpc\n    \
             access_log: {{ path: {log} }}\n\
             clusters:\n  - {{ name: rpc, protocol: h2c, endpoints: [\"{greeter}\"] }}\n",
            admin = admin_block(),
            edge = listen_addr(),
            log = log.display(),
            greeter = greeter.addr,
        )
    });
    let calls = common::grpc::run_client(px.addr("edge"), "shapes");
    let lines = json_lines(&log, calls.len());
    let mut seen: Vec<(String, String)> = calls
        .iter()
        .map(|c| (format!("/{}", c.method), c.code.clone()))
        .collect();
    let mut logged: Vec<(String, String)> = lines
        .iter()
        .map(|l| {
            assert_shape(l);
            assert_eq!(l["kind"], "grpc", "{l}");
            assert_eq!(l["method"], "POST", "{l}");
            assert_eq!(l["protocol"], "http2", "{l}");
            assert_eq!(l["status"], 200, "{l}");
            (
                l["path"].as_str().unwrap_or("").to_owned(),
                l["grpc_status"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    seen.sort();
    logged.sort();
    assert_eq!(logged, seen);
}

/// DynamoDB calls: one `dynamodb` line per call with the operation, the
/// tables it named and the error name, JSON on the L7 path and Envoy-style
/// text when sniffed on a `tcp` listener.
#[test]
fn dynamodb_calls_are_logged_with_operation_tables_and_error() {
    let db = common::DynamoServer::dynalite();
    let dir = common::WorkDir::new("access-logs");
    let json_log = dir.join("ddb.json.log");
    let text_log = dir.join("ddb.text.log");
    let px = Periscope::start(|| {
        format!(
            "{admin}listeners:\n\
             \x20 - {{ name: l7, address: {l7}, protocol: http, cluster: ddb, access_log: {{ path: {json} }} }}\n\
             \x20 - {{ name: l4, address: {l4}, protocol: tcp, cluster: ddb, access_log: {{ path: {text}, format: text, \
             text_format: \"%DB_OPERATION% %DB_COLLECTION% %DB_STATUS_CODE% %RESPONSE_CODE%\" }} }}\n\
             clusters:\n  - {{ name: ddb, protocol: http1, endpoints: [\"{db}\"] }}\n",
            admin = admin_block(),
            l7 = listen_addr(),
            l4 = listen_addr(),
            json = json_log.display(),
            text = text_log.display(),
            db = db.addr,
        )
    });
    // One line per call, exactly: boto3's own count of its calls.
    let calls = |listener: &str| {
        common::DynamoAccount::run(px.addr(listener), &format!("{listener}_")).requests as usize
    };
    let (l7_calls, l4_calls) = (calls("l7"), calls("l4"));
    let lines = json_lines(&json_log, l7_calls);
    let mut puts = 0;
    for l in &lines {
        assert_shape(l);
        assert_eq!(l["kind"], "dynamodb", "{l}");
        assert_eq!(l["method"], "POST", "{l}");
        assert_eq!(l["path"], "/", "{l}");
        if l["db_operation"] == "PutItem" {
            puts += 1;
            assert_eq!(l["db_collection"], "l7_Music", "{l}");
        }
    }
    assert_eq!(puts, 8, "seven puts and one refused by its condition");
    let batch = lines
        .iter()
        .find(|l| l["db_operation"] == "BatchWriteItem")
        .expect("a BatchWriteItem line");
    assert_eq!(batch["db_collection"], "l7_Music,l7_Accounts");
    let failed = lines
        .iter()
        .find(|l| l["db_status_code"] == "ConditionalCheckFailedException")
        .expect("the refused put");
    assert_eq!(
        (&failed["status"], failed["complete"].as_bool()),
        (&json!(400), Some(true))
    );
    let text = wait_lines("text log", l4_calls, || lines_of(&text_log), |_| true);
    assert!(
        text.contains(&"GetItem l4_Missing ResourceNotFoundException 400".to_owned()),
        "{}",
        text.join("\n")
    );
    assert!(
        text.contains(&"ListTables - - 200".to_owned()),
        "{}",
        text.join("\n")
    );
}

//! Tracing and access-log settings at the edges: bad values from the
//! environment and the command line, secrets kept out of `/config_dump`,
//! sampling, the last flush at shutdown, and log files that cannot open.
mod common;
#[path = "common/otlp.rs"]
mod otlp;

use common::configs::{admin_block, listen_addr};
use common::periscope::binary;
use common::{Curl, Nginx, Periscope};
use otlp::OtlpReceiver;
use std::process::{Command, Output, Stdio};
use std::time::Duration;

/// `periscope ARGS` with `env`, to completion.
fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new("timeout")
        .args(["--kill-after=2", "20", binary()])
        .args(args)
        .envs(env.iter().copied())
        .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
        .stdin(Stdio::null())
        .output()
        .expect("run periscope")
}

fn quick_args(listen: &str) -> Vec<String> {
    let admin = listen_addr();
    [
        "--listen",
        listen,
        "--upstream",
        "127.0.0.1:9",
        "--admin",
        &admin,
    ]
    .map(str::to_owned)
    .to_vec()
}

#[test]
fn bad_otlp_settings_from_env_and_flags_stop_startup_with_one_line() {
    let listen = listen_addr();
    let args = quick_args(&listen);
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&args, &[("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "OTEL_EXPORTER_OTLP_PROTOCOL: \"http/json\" is not supported (grpc or http/protobuf)\n"
    );
    let out = run(
        &[&args[..], &["--otlp-endpoint", "localhost:4317"]].concat(),
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "--otlp-endpoint: \"localhost:4317\" must be an http:// or https:// URL with a host \
         (e.g. http://127.0.0.1:4317)\n"
    );
    let out = run(&[&args[..], &["--otlp-protocol", "udp"]].concat(), &[]);
    assert_eq!(out.status.code(), Some(2), "clap rejects unknown values");
    assert!(String::from_utf8_lossy(&out.stderr).contains("[possible values: grpc, http/protobuf]"));
}

#[test]
fn config_dump_shows_tracing_without_header_values() {
    let px = Periscope::start(|| {
        format!(
            "{admin}listeners: [ {{ name: edge, address: \"{listen}\", cluster: web }} ]\n\
             clusters: [ {{ name: web, endpoints: [\"127.0.0.1:9\"] }} ]\n\
             tracing:\n  endpoint: http://127.0.0.1:9\n  headers: {{ x-api-key: s3cret }}\n",
            admin = admin_block(),
            listen = listen_addr(),
        )
    });
    let (status, body) = px.admin_get("/config_dump");
    assert_eq!(status, 200);
    assert!(!body.contains("s3cret"), "{body}");
    let dump: serde_json::Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(
        dump["tracing"],
        serde_json::json!({
            "endpoint": "http://127.0.0.1:9",
            "protocol": "grpc",
            "headers": { "x-api-key": "<redacted>" },
            "service_name": "periscope",
            "sampling_ratio": 1.0,
            "queue_size": 2048,
        })
    );
}

#[test]
fn ratio_zero_exports_nothing_but_still_propagates_context() {
    let nginx = Nginx::start();
    let otlp = OtlpReceiver::start();
    let px = Periscope::start(|| {
        format!(
            "{admin}listeners: [ {{ name: edge, address: \"{listen}\", cluster: web }} ]\n\
             clusters: [ {{ name: web, protocol: http1, endpoints: [\"{nginx}\"] }} ]\n\
             tracing: {{ endpoint: \"{otlp}\", sampling_ratio: 0 }}\n",
            admin = admin_block(),
            listen = listen_addr(),
            nginx = nginx.h1,
            otlp = otlp.grpc_url(),
        )
    });
    let seen = Curl::get(&px.url("edge", "/traceparent")).run().body_text();
    let parts: Vec<&str> = seen.trim().split('-').collect();
    assert_eq!(parts.len(), 4, "{seen}");
    assert_eq!(
        (parts[0], parts[1].len(), parts[2].len(), parts[3]),
        ("00", 32, 16, "00")
    );
    std::thread::sleep(Duration::from_millis(1500));
    assert!(otlp.spans().is_empty(), "{:?}", otlp.spans());
}

#[test]
fn spans_queued_at_shutdown_are_exported() {
    let nginx = Nginx::start();
    let otlp = OtlpReceiver::start();
    let mut px = Periscope::start(|| {
        format!(
            "{admin}listeners: [ {{ name: edge, address: \"{listen}\", cluster: web }} ]\n\
             clusters: [ {{ name: web, protocol: http1, endpoints: [\"{nginx}\"] }} ]\n\
             tracing: {{ endpoint: \"{otlp}\" }}\n",
            admin = admin_block(),
            listen = listen_addr(),
            nginx = nginx.h1,
            otlp = otlp.grpc_url(),
        )
    });
    for _ in 0..3 {
        assert_eq!(Curl::get(&px.url("edge", "/")).run().status, 200);
    }
    let status = px.terminate(Duration::from_secs(10));
    assert!(status.success(), "{status}");
    assert_eq!(otlp.wait_spans(3).len(), 3);
}

#[test]
fn an_access_log_that_cannot_open_stops_startup() {
    let dir = common::WorkDir::new("bad-log");
    let config = dir.write(
        "c.yaml",
        format!(
            "{admin}listeners:\n  - name: edge\n    address: \"{listen}\"\n    cluster: web\n    \
             access_log: {{ path: /nonexistent/dir/access.log }}\n\
             clusters: [ {{ name: web, endpoints: [\"127.0.0.1:9\"] }} ]\n",
            admin = admin_block(),
            listen = listen_addr(),
        ),
    );
    let out = run(&["--config", &config.display().to_string()], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "listener edge: cannot open access log /nonexistent/dir/access.log: \
         No such file or directory (os error 2)\n"
    );
}

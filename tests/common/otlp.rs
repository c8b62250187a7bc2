//! The tests' own OTLP receiver (`tests/otlp/receiver.py`: grpcio +
//! opentelemetry-proto from PyPI) as a child process: OTLP/gRPC and
//! OTLP/HTTP protobuf on free loopback ports, every received span written
//! as one JSON line.
//!
//!     let otlp = OtlpReceiver::start();
//!     // ... point periscope at otlp.grpc_url() or otlp.http_url(), send traffic
//!     let spans = otlp.wait_spans(3);
#![allow(dead_code)] // Not every test file uses every helper.

use crate::common::ports::{free_addr, looks_like_port_clash};
use crate::common::process::Supervised;
use crate::common::python::Python;
use crate::common::workdir::WorkDir;
use serde_json::Value;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::{Duration, Instant};

const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Periscope batches spans for up to 500 ms before exporting.
const SPAN_TIMEOUT: Duration = Duration::from_secs(10);
/// After the expected count arrived: how long no further span may arrive.
const QUIET: Duration = Duration::from_millis(1200);

pub struct OtlpReceiver {
    // Declared first so the process stops before its work dir is removed.
    process: Supervised,
    pub grpc: SocketAddr,
    pub http: SocketAddr,
    out: PathBuf,
    /// Holds the span file until the receiver is gone.
    _dir: WorkDir,
}

impl OtlpReceiver {
    pub fn start() -> OtlpReceiver {
        let mut last = String::new();
        for _ in 0..3 {
            let dir = WorkDir::new("otlp");
            let (grpc, http) = (free_addr(), free_addr());
            let out = dir.join("spans.jsonl");
            let mut cmd = Python::command("otlp/receiver.py");
            cmd.args(["--grpc-port", &grpc.port().to_string()])
                .args(["--http-port", &http.port().to_string()])
                .arg("--out")
                .arg(&out);
            let mut process = Supervised::spawn("otlp-receiver", cmd, &dir.join("receiver.log"));
            match process.wait_listening(&[grpc.port(), http.port()], START_TIMEOUT) {
                Ok(()) => {
                    return OtlpReceiver {
                        process,
                        grpc,
                        http,
                        out,
                        _dir: dir,
                    }
                }
                Err(e) => {
                    let log = process.log_text();
                    last = format!("{e}\n{log}");
                    if !looks_like_port_clash(&log) {
                        break;
                    }
                }
            }
        }
        panic!("OTLP receiver failed to start: {last}");
    }

    /// OTLP/gRPC base URL.
    pub fn grpc_url(&self) -> String {
        format!("http://{}", self.grpc)
    }

    /// OTLP/HTTP base URL (Periscope appends `/v1/traces`).
    pub fn http_url(&self) -> String {
        format!("http://{}", self.http)
    }

    /// Every span received so far, in arrival order.
    pub fn spans(&self) -> Vec<Value> {
        let text = std::fs::read_to_string(&self.out).unwrap_or_default();
        text.lines()
            .filter(|l| !l.trim().is_empty())
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad span line {l}: {e}")))
            .collect()
    }

    /// Waits until exactly `count` spans arrived and no more follow for a
    /// while; panics with what did arrive otherwise.
    pub fn wait_spans(&self, count: usize) -> Vec<Value> {
        let deadline = Instant::now() + SPAN_TIMEOUT;
        loop {
            let spans = self.spans();
            if spans.len() >= count {
                std::thread::sleep(QUIET);
                let spans = self.spans();
                assert_eq!(
                    spans.len(),
                    count,
                    "expected exactly {count} spans, got:\n{}",
                    pretty(&spans)
                );
                return spans;
            }
            if Instant::now() > deadline {
                panic!(
                    "{} of {count} spans after {SPAN_TIMEOUT:?}:\n{}\nreceiver log:\n{}",
                    spans.len(),
                    pretty(&spans),
                    self.process.log_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

pub fn pretty(spans: &[Value]) -> String {
    spans
        .iter()
        .map(|s| s.to_string())
        .collect::<Vec<_>>()
        .join("\n")
}

/// The one span named `name`; panics when there is not exactly one.
pub fn span<'a>(spans: &'a [Value], name: &str) -> &'a Value {
    let found: Vec<_> = spans.iter().filter(|s| s["name"] == name).collect();
    assert_eq!(
        found.len(),
        1,
        "spans named {name:?} in:\n{}",
        pretty(spans)
    );
    found[0]
}

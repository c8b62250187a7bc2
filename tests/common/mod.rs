//! Test harness shared by every integration test file (`mod common;`).
//!
//! Each test starts its own real peers (nginx, nx-27017, echo servers) and
//! its own `periscope` process on free loopback ports, drives them with real
//! clients (curl, h2load, hyper, pymongo, mongosh, raw sockets) and asserts
//! exact Prometheus telemetry.
//! Everything is killed on drop, so tests in one file can run in parallel.
//!
//! Not every test file uses every helper; that is expected, hence the allows.
#![allow(dead_code, unused_imports)]

pub mod bytes;
pub mod clients;
pub mod configs;
pub mod curl;
pub mod dynamo;
pub mod grpc;
pub mod hyper_client;
pub mod metrics;
pub mod mongo;
pub mod mongo_telemetry;
pub mod mongo_wire;
pub mod mongo_workload;
pub mod mongosh;
pub mod nginx;
pub mod periscope;
pub mod ports;
pub mod process;
pub mod prometheus;
pub mod python;
pub mod raw_http;
pub mod runtime;
pub mod scripted_http;
pub mod tcp_peers;
pub mod test_pki;
pub mod tls_nginx;
pub mod websocket;
pub mod workdir;

pub use bytes::opaque_garbage;
pub use clients::{h2load, promtool_check_metrics, require_tool};
pub use curl::Curl;
pub use dynamo::{DynamoAccount, DynamoServer};
pub use hyper_client::HyperClient;
pub use metrics::{metrics, Scrape, REQUESTS};
pub use mongo::{CompressionHop, MongoServer};
pub use mongo_workload::{Account, Workload};
pub use mongosh::Mongosh;
pub use nginx::Nginx;
pub use periscope::Periscope;
pub use ports::{closed_addr, free_port};
pub use python::Python;
pub use raw_http::RawConn;
pub use tcp_peers::EchoServer;
pub use workdir::WorkDir;

use std::time::{Duration, Instant};

/// Polls `check` every 20 ms until it returns `Some`, or panics with
/// `what` after `timeout`. Telemetry is recorded asynchronously (after the
/// response body finishes, when a connection closes), so exact assertions
/// wait for the value rather than sleeping a fixed time.
pub fn eventually<T>(what: &str, timeout: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + timeout;
    loop {
        if let Some(v) = check() {
            return v;
        }
        if Instant::now() >= deadline {
            panic!("timed out after {timeout:?} waiting for {what}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

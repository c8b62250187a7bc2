//! The gRPC peers of the tests: our greeter (tests/grpc/greeter_server.py)
//! and a scripted grpcio client that reports what it saw.
use super::process::{start_on_free_port, Supervised};
use super::python::Python;
use super::workdir::WorkDir;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

const START_TIMEOUT: Duration = Duration::from_secs(20);

pub struct GreeterServer {
    // Declared first so the process stops before its work dir is removed.
    process: Supervised,
    pub addr: SocketAddr,
    _dir: WorkDir,
}

impl GreeterServer {
    /// Starts the greeter on a free port; returns once it listens.
    pub fn start() -> GreeterServer {
        let hint = "run tests/install-peers.sh for grpcio";
        let started = start_on_free_port("greeter", hint, START_TIMEOUT, |addr, _| {
            let mut cmd = Python::command("grpc/greeter_server.py");
            cmd.arg(addr.port().to_string());
            cmd
        });
        GreeterServer {
            process: started.process,
            addr: started.addr,
            _dir: started.dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }
}

/// One call as the client saw it.
#[derive(Debug, Clone, PartialEq)]
pub struct SeenCall {
    pub method: String,
    pub code: String,
    pub sent: u64,
    pub received: u64,
}

/// Runs `greeter_client.py TARGET SCENARIO` and returns its calls.
pub fn run_client(target: SocketAddr, scenario: &str) -> Vec<SeenCall> {
    let out = Python::run("grpc/greeter_client.py", &[&target.to_string(), scenario]);
    let account: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("client output is not JSON ({e}): {out}"));
    account["calls"]
        .as_array()
        .expect("calls")
        .iter()
        .map(|call| SeenCall {
            method: call["method"].as_str().unwrap_or_default().to_owned(),
            code: call["code"].as_str().unwrap_or_default().to_owned(),
            sent: call["sent"].as_u64().unwrap_or_default(),
            received: call["received"].as_u64().unwrap_or_default(),
        })
        .collect()
}

//! The WebSocket peers of the tests: an echo server and a client, both the
//! Python `websockets` library (tests/websocket/*.py).
use super::process::{start_on_free_port, Supervised};
use super::python::Python;
use super::workdir::WorkDir;
use serde_json::Value;
use std::net::SocketAddr;
use std::time::Duration;

const START_TIMEOUT: Duration = Duration::from_secs(20);

pub struct WsEchoServer {
    // Declared first so the process stops before its work dir is removed.
    process: Supervised,
    pub addr: SocketAddr,
    _dir: WorkDir,
}

impl WsEchoServer {
    /// Starts the echo server on a free port; returns once it listens.
    pub fn start() -> WsEchoServer {
        let hint = "run tests/install-peers.sh for websockets";
        let started = start_on_free_port("ws-echo", hint, START_TIMEOUT, |addr, _| {
            let mut cmd = Python::command("websocket/echo_server.py");
            cmd.arg(addr.port().to_string());
            cmd
        });
        WsEchoServer {
            process: started.process,
            addr: started.addr,
            _dir: started.dir,
        }
    }

    /// Stops the server (SIGTERM: Python exits at once, its sockets close).
    pub fn kill(&mut self) {
        self.process.terminate(Duration::from_secs(2));
    }
}

/// What the client saw: the handshake's status, and on 101 the greetings
/// and the number of messages echoed intact.
#[derive(Debug)]
pub struct WsSession {
    pub status: u64,
    pub greetings: Vec<String>,
    pub echoed: u64,
}

/// Runs `client.py URL CONNECTIONS MESSAGES`.
pub fn run_client(url: &str, connections: u32, messages: u32) -> WsSession {
    run_client_trusting(url, connections, messages, None)
}

/// [`run_client`]; for a `wss://` URL, trusting the CA in this PEM file.
pub fn run_client_trusting(
    url: &str,
    connections: u32,
    messages: u32,
    ca: Option<&std::path::Path>,
) -> WsSession {
    let args = [url, &connections.to_string(), &messages.to_string()];
    let ca = ca.map(|path| path.display().to_string());
    let env: Vec<(&str, &str)> = ca.iter().map(|ca| ("SSL_CERT_FILE", ca.as_str())).collect();
    let out = Python::run_with_env("websocket/client.py", &args, &env);
    let seen: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("client output is not JSON ({e}): {out}"));
    WsSession {
        status: seen["status"].as_u64().unwrap_or_default(),
        greetings: seen["greetings"]
            .as_array()
            .map(|all| {
                let text = |g: &Value| g.as_str().unwrap_or_default().to_owned();
                all.iter().map(text).collect()
            })
            .unwrap_or_default(),
        echoed: seen["echoed"].as_u64().unwrap_or_default(),
    }
}

/// A client holding one upgraded connection open (`client.py URL hold S`)
/// until someone else closes it, or S seconds pass.
pub struct WsHolder(std::process::Child);

/// How a held connection ended.
#[derive(Debug)]
pub struct WsHeld {
    pub closed: bool,
    pub after_seconds: f64,
}

impl WsHolder {
    pub fn start(url: &str, seconds: u32) -> WsHolder {
        WsHolder::start_trusting(url, seconds, None)
    }

    /// [`WsHolder::start`]; for a `wss://` URL, trusting this CA file.
    pub fn start_trusting(url: &str, seconds: u32, ca: Option<&std::path::Path>) -> WsHolder {
        let mut cmd = Python::command("websocket/client.py");
        if let Some(ca) = ca {
            cmd.env("SSL_CERT_FILE", ca);
        }
        cmd.args([url, "hold", &seconds.to_string()])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::piped());
        WsHolder(cmd.spawn().expect("start the websocket client"))
    }

    /// Waits for the client (bounded by its own SECONDS) and reads its line.
    pub fn finish(self) -> WsHeld {
        let out = self.0.wait_with_output().expect("websocket client output");
        let text = String::from_utf8_lossy(&out.stdout);
        let seen: Value = serde_json::from_str(text.trim())
            .unwrap_or_else(|e| panic!("client output is not JSON ({e}): {text}"));
        WsHeld {
            closed: seen["closed"].as_bool().unwrap_or_default(),
            after_seconds: seen["after"].as_f64().unwrap_or_default(),
        }
    }
}

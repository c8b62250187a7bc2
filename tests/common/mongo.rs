//! Real MongoDB peers: the nx-27017 wire server (PyPI, SQLite in memory) and
//! our own compression hop (`tests/mongo/compression_hop.py`), which makes
//! drivers really send OP_COMPRESSED to a server that cannot negotiate it.
//!
//!     let mongo = MongoServer::start();
//!     let hop = CompressionHop::start(mongo.addr, "zlib");
//!     let px = Periscope::start(|| proxy("tcp", "auto", hop.addr));
//!     let account = Workload::crud().compressors("zlib").run(px.addr("edge"));
use super::process::{start_on_free_port, Supervised};
use super::python::Python;
use super::runtime::require_runtime;
use super::workdir::WorkDir;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

/// How long a peer may take to listen (nx-27017 imports a lot of Python).
const START_TIMEOUT: Duration = Duration::from_secs(20);

pub struct MongoServer {
    // Declared first so the process stops before its work dir is removed.
    process: Supervised,
    pub addr: SocketAddr,
    dir: WorkDir,
}

impl MongoServer {
    /// Starts nx-27017 with an in-memory database on a free port and returns
    /// once it listens. Retries on fresh ports if the port was taken.
    pub fn start() -> MongoServer {
        let binary = require_runtime("venv/bin/nx-27017", "nx-27017");
        let hint = "run tests/install-peers.sh";
        let started = start_on_free_port("nx-27017", hint, START_TIMEOUT, |addr, dir| {
            let mut cmd = Command::new(&binary);
            cmd.args(["--host", "127.0.0.1", "--db", "memory"])
                .args(["-p", &addr.port().to_string()])
                .arg("--log-file")
                .arg(dir.join("nx.log"))
                .arg("--pid-file")
                .arg(dir.join("nx.pid"));
            cmd
        });
        MongoServer {
            process: started.process,
            addr: started.addr,
            dir: started.dir,
        }
    }

    /// `mongodb://ADDR/` for clients that connect straight to the server.
    pub fn uri(&self) -> String {
        mongodb_uri(self.addr)
    }
}

/// `mongodb://ADDR/`
pub fn mongodb_uri(addr: SocketAddr) -> String {
    format!("mongodb://{addr}/")
}

/// A hop in front of a MongoDB server that answers the handshake with
/// `compression: [...]`, inflates what the client compresses and compresses
/// the replies. It binds a port of the kernel's choosing and says which.
pub struct CompressionHop {
    process: Supervised,
    pub addr: SocketAddr,
    dir: WorkDir,
}

impl CompressionHop {
    /// `compressors` is the hop's comma list (zlib, snappy, zstd): the first
    /// the client offers that is in it is agreed.
    pub fn start(upstream: SocketAddr, compressors: &str) -> CompressionHop {
        let dir = WorkDir::new("compression-hop");
        let mut cmd = Python::command("mongo/compression_hop.py");
        cmd.args(["--upstream", &upstream.to_string()])
            .args(["--compressors", compressors]);
        let mut process = Supervised::spawn("compression hop", cmd, &dir.join("hop.log"));
        let deadline = Instant::now() + START_TIMEOUT;
        let addr = loop {
            if let Some(addr) = listening_line(&process.log_text()) {
                break addr;
            }
            if let Some(status) = process.exited() {
                panic!("compression hop exited ({status}):\n{}", process.log_text());
            }
            if Instant::now() >= deadline {
                panic!("compression hop did not listen within {START_TIMEOUT:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        CompressionHop { process, addr, dir }
    }

    /// Frames the hop inflated (`direction` "request") or compressed
    /// ("reply") with `compressor`, as counted by the hop itself.
    pub fn compressed_frames(&self, direction: &str, compressor: &str) -> usize {
        let wanted = format!("compressed {direction} {compressor} ");
        self.process
            .log_text()
            .lines()
            .filter(|l| l.starts_with(&wanted))
            .count()
    }

    /// Wire bytes of the compressed replies the hop sent, summed by the
    /// (command, collection) of the request each one answers.
    pub fn compressed_reply_bytes(&self) -> BTreeMap<(String, String), u64> {
        let mut out = BTreeMap::new();
        for line in self.process.log_text().lines() {
            if !line.starts_with("compressed reply ") {
                continue;
            }
            let field = |key: &str| {
                line.split(' ')
                    .find_map(|w| w.strip_prefix(key))
                    .unwrap_or_else(|| panic!("hop log line without {key}: {line}"))
                    .to_string()
            };
            let bytes: u64 = field("bytes=").parse().expect("bytes=N");
            *out.entry((field("command="), field("collection=")))
                .or_insert(0) += bytes;
        }
        out
    }
}

/// The address in the hop's `listening 127.0.0.1:PORT` line.
fn listening_line(log: &str) -> Option<SocketAddr> {
    log.lines()
        .find_map(|l| l.strip_prefix("listening "))
        .and_then(|a| a.trim().parse().ok())
}

//! The pymongo workload (`tests/mongo/workload.py`) and the account it
//! prints of exactly what it did, taken from the driver's own command,
//! heartbeat and pool events. Telemetry tests compare Periscope's metrics
//! with this account, not with numbers guessed in Rust.
//!
//!     let account = Workload::crud().run(px.addr("edge"));
//!     assert_eq!(account.count("getMore", "items"), 3);
use super::mongo::mongodb_uri;
use super::python::Python;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// One group of commands: same name, database, collection and status.
#[derive(Debug, Clone, Deserialize)]
pub struct Operation {
    pub command: String,
    pub db: String,
    pub collection: String,
    /// "" on success, else the error code as a string.
    pub status: String,
    pub count: u64,
    /// Documents in cursor.firstBatch / nextBatch replies.
    pub documents: u64,
    /// Sizes of the reply messages, uncompressed.
    pub reply_bytes: u64,
    /// Commands of the group that carried documents or statements.
    pub writes: u64,
    /// Documents and update / delete statements those commands carried.
    pub sent_documents: u64,
}

/// What the driver did, as `workload.py` prints it.
#[derive(Debug, Clone, Deserialize)]
pub struct Account {
    /// The compressor the driver was asked for, "" for none.
    pub compressor: String,
    pub operations: Vec<Operation>,
    /// Handshake-class commands the application sent (endSessions, ping).
    pub handshake: BTreeMap<String, u64>,
    /// Pooled connections opened (each began with a handshake).
    pub connections: u64,
    /// Monitor checks (the first is the monitor connection's handshake).
    pub heartbeats: u64,
    pub cursors: BTreeMap<String, u64>,
    pub errors: BTreeMap<String, u64>,
    /// ok:0 replies that carried no `code`.
    pub failed_without_code: u64,
}

impl Account {
    /// Commands named `command` on `collection`, any status.
    pub fn count(&self, command: &str, collection: &str) -> u64 {
        self.operations
            .iter()
            .filter(|o| o.command == command && o.collection == collection)
            .map(|o| o.count)
            .sum()
    }

    /// Every operation command the driver sent.
    pub fn total_operations(&self) -> u64 {
        self.operations.iter().map(|o| o.count).sum()
    }

    /// Handshake, heartbeat and session commands on the wire: one opening
    /// handshake per connection (pooled and monitor), later heartbeats, and
    /// what the application sent (endSessions at close, ping).
    pub fn handshake_commands(&self) -> u64 {
        self.connections + self.heartbeats + self.handshake.values().sum::<u64>()
    }

    /// Connections the client opened: the pool's plus the monitor's.
    pub fn tcp_connections(&self) -> u64 {
        self.connections + 1
    }

    /// Operations grouped by (command, collection), the labels of the
    /// document histograms: count, documents both ways and reply bytes
    /// summed.
    pub fn by_command_and_collection(&self) -> BTreeMap<(String, String), Replies> {
        let mut out: BTreeMap<_, Replies> = BTreeMap::new();
        for o in &self.operations {
            let e = out
                .entry((o.command.clone(), o.collection.clone()))
                .or_default();
            e.count += o.count;
            e.documents += o.documents;
            e.bytes += o.reply_bytes;
            e.writes += o.writes;
            e.sent_documents += o.sent_documents;
        }
        out
    }
}

/// The replies to one (command, collection).
#[derive(Debug, Default, Clone, Copy)]
pub struct Replies {
    pub count: u64,
    pub documents: u64,
    pub bytes: u64,
    pub writes: u64,
    pub sent_documents: u64,
}

/// A scenario of `workload.py`, optionally with wire compression.
pub struct Workload {
    scenario: &'static str,
    compressors: Option<String>,
    /// Connect with TLS, trusting this CA file.
    tls_ca: Option<String>,
}

impl Workload {
    /// Every operation kind: CRUD, getMore, killCursors, bulk, aggregate,
    /// count, distinct, indexes, a duplicate key, a transaction.
    pub fn crud() -> Workload {
        Workload::scenario("crud")
    }

    /// Failures only: duplicate keys, a write error, an ok:0 command.
    pub fn errors() -> Workload {
        Workload::scenario("errors")
    }

    /// One insert into each of shop.first, shop.second, shop.third.
    pub fn three_collections() -> Workload {
        Workload::scenario("collections")
    }

    /// Connect, ping, close: driver traffic only.
    pub fn handshake_only() -> Workload {
        Workload::scenario("handshake")
    }

    fn scenario(scenario: &'static str) -> Workload {
        Workload {
            tls_ca: None,
            scenario,
            compressors: None,
        }
    }

    /// Connects with TLS, trusting the CA in this PEM file.
    pub fn tls(mut self, ca: &std::path::Path) -> Workload {
        self.tls_ca = Some(ca.display().to_string());
        self
    }

    /// Asks the driver to compress (zlib, snappy, zstd).
    pub fn compressed(mut self, compressor: &str) -> Workload {
        self.compressors = Some(compressor.to_string());
        self
    }

    /// Runs the scenario against `addr` and returns the driver's account.
    pub fn run(&self, addr: SocketAddr) -> Account {
        let mut uri = mongodb_uri(addr);
        if let Some(ca) = &self.tls_ca {
            uri.push_str(&format!("?tls=true&tlsCAFile={ca}"));
        }
        let mut args = vec![uri.as_str(), "--scenario", self.scenario];
        if let Some(c) = &self.compressors {
            args.extend(["--compressors", c]);
        }
        let out = Python::run("mongo/workload.py", &args);
        serde_json::from_str(&out)
            .unwrap_or_else(|e| panic!("workload.py printed no account ({e}):\n{out}"))
    }
}

//! Real DynamoDB peers and the boto3 workload's account.
//!
//! Two servers, because they differ where a sniffer can go wrong: dynalite
//! (npm) keeps connections alive and answers Transact* with
//! `UnknownOperationException`; moto (PyPI) has the full API and closes the
//! connection after every response.
//!
//!     let db = DynamoServer::moto();
//!     let px = Periscope::start(|| proxy("http", "http1", db.addr));
//!     let account = DynamoAccount::run(px.addr("edge"), "");
//!     account.assert_matches(&px, "edge");
use super::periscope::Periscope;
use super::ports::{free_addr, looks_like_port_clash};
use super::process::Supervised;
use super::python::Python;
use super::raw_http::RawConn;
use super::runtime::require_runtime;
use super::workdir::WorkDir;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

/// moto imports a lot of Python before it listens.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub const OPERATIONS: &str = "db_client_operation_duration_seconds_count";
pub const CAPACITY: &str = "periscope_dynamodb_consumed_capacity_units_total";
pub const BATCH_ITEMS_SUM: &str = "periscope_dynamodb_batch_items_sum";
pub const BATCH_ITEMS_COUNT: &str = "periscope_dynamodb_batch_items_count";
pub const BODY_ISSUES: &str = "periscope_dynamodb_body_issues_total";

pub struct DynamoServer {
    // Declared first so the process stops before its work dir is removed.
    process: Supervised,
    pub addr: SocketAddr,
    dir: WorkDir,
}

impl DynamoServer {
    /// dynalite with tables that are ACTIVE at once.
    pub fn dynalite() -> DynamoServer {
        let binary = require_runtime("node/node_modules/.bin/dynalite", "dynalite");
        DynamoServer::start("dynalite", |port| {
            let mut cmd = Command::new(&binary);
            cmd.args(["--host", "127.0.0.1", "--port", &port.to_string()])
                .args(["--createTableMs", "0", "--deleteTableMs", "0"])
                .args(["--updateTableMs", "0"]);
            cmd
        })
    }

    /// moto's server (werkzeug): one request per connection.
    pub fn moto() -> DynamoServer {
        let binary = require_runtime("venv/bin/moto_server", "moto[server]");
        DynamoServer::start("moto", |port| {
            let mut cmd = Command::new(&binary);
            cmd.args(["-H", "127.0.0.1", "-p", &port.to_string()]);
            cmd
        })
    }

    fn start(name: &str, command: impl Fn(u16) -> Command) -> DynamoServer {
        let mut last_error = String::new();
        for _ in 0..3 {
            let dir = WorkDir::new(name);
            let addr = free_addr();
            let mut process = Supervised::spawn(name, command(addr.port()), &dir.join("out.log"));
            match process.wait_listening(&[addr.port()], START_TIMEOUT) {
                Ok(()) => return DynamoServer { process, addr, dir },
                Err(e) => {
                    let log = process.log_text();
                    last_error = format!("{e}\n{log}");
                    if !looks_like_port_clash(&log) && !log.contains("EADDRINUSE") {
                        break;
                    }
                }
            }
        }
        panic!("{name} failed to start: {last_error}");
    }
}

#[derive(Debug, Clone, Deserialize)]
pub struct Call {
    pub operation: String,
    pub table: String,
    pub error: String,
    pub count: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Capacity {
    pub operation: String,
    pub table: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub units: f64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Batch {
    pub operation: String,
    pub table: String,
    pub count: u64,
    pub items: u64,
}

/// What `tests/dynamodb/workload.py` did, from boto3's side.
#[derive(Debug, Clone, Deserialize)]
pub struct DynamoAccount {
    pub calls: Vec<Call>,
    pub capacity: Vec<Capacity>,
    pub batch: Vec<Batch>,
    pub unprocessed: BTreeMap<String, BTreeMap<String, u64>>,
    pub pages: BTreeMap<String, u64>,
    /// Calls made, each one HTTP request.
    pub requests: u64,
}

impl DynamoAccount {
    /// Runs the workload against `endpoint`, tables named with `prefix`.
    pub fn run(endpoint: SocketAddr, prefix: &str) -> DynamoAccount {
        let url = format!("http://{endpoint}");
        let out = Python::run("dynamodb/workload.py", &[&url, "--tables", prefix]);
        serde_json::from_str(&out).unwrap_or_else(|e| panic!("workload output: {e}\n{out}"))
    }

    /// Operation series per table, one per table a call named.
    pub fn series(&self) -> u64 {
        self.calls.iter().map(|c| c.count).sum()
    }

    pub fn count(&self, operation: &str, table: &str, error: &str) -> u64 {
        self.calls
            .iter()
            .filter(|c| c.operation == operation && c.table == table && c.error == error)
            .map(|c| c.count)
            .sum()
    }

    /// Every series of the listener equals the account: operations by
    /// table and error, consumed capacity, items per batch; and nothing
    /// else was counted.
    pub fn assert_matches(&self, px: &Periscope, listener: &str) {
        let dynamo = [("listener", listener), ("db_system_name", "aws.dynamodb")];
        px.wait_metric(OPERATIONS, &dynamo, self.series() as f64);
        let scrape = px.scrape();
        for call in &self.calls {
            let labels = [
                ("listener", listener),
                ("db_system_name", "aws.dynamodb"),
                ("db_operation_name", call.operation.as_str()),
                ("db_collection_name", call.table.as_str()),
                ("error_type", call.error.as_str()),
            ];
            scrape.assert_value(OPERATIONS, &labels, call.count as f64);
        }
        let mut capacity_total = 0.0;
        for used in &self.capacity {
            let labels = [
                ("listener", listener),
                ("db_operation_name", used.operation.as_str()),
                ("db_collection_name", used.table.as_str()),
                ("capacity_type", used.kind.as_str()),
            ];
            scrape.assert_value(CAPACITY, &labels, used.units);
            capacity_total += used.units;
        }
        scrape.assert_value(CAPACITY, &[("listener", listener)], capacity_total);
        let (mut batches, mut items) = (0, 0);
        for batch in &self.batch {
            let labels = [
                ("listener", listener),
                ("db_operation_name", batch.operation.as_str()),
                ("db_collection_name", batch.table.as_str()),
            ];
            scrape.assert_value(BATCH_ITEMS_COUNT, &labels, batch.count as f64);
            scrape.assert_value(BATCH_ITEMS_SUM, &labels, batch.items as f64);
            batches += batch.count;
            items += batch.items;
        }
        let at = [("listener", listener)];
        scrape.assert_value(BATCH_ITEMS_COUNT, &at, batches as f64);
        scrape.assert_value(BATCH_ITEMS_SUM, &at, items as f64);
        scrape.assert_value(BODY_ISSUES, &at, 0.0);
    }
}

/// Sends one DynamoDB GetItem whose JSON body is broken and waits for the
/// answer: a call Periscope counts as a body issue (reason: the JSON's).
pub fn send_unreadable_dynamodb_request(to: SocketAddr) {
    let body = r#"{"TableName": ]"#;
    let mut conn = RawConn::connect(to);
    conn.send(
        format!(
            "POST / HTTP/1.1\r\nHost: d\r\nX-Amz-Target: DynamoDB_20120810.GetItem\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let _ = conn.read_responses(1, Duration::from_secs(5));
}

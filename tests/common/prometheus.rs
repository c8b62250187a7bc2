//! A real Prometheus (Debian package) scraping Periscope every second, for
//! running dashboard queries against what it stored.
use super::ports::free_addr;
use super::process::Supervised;
use super::workdir::WorkDir;
use serde_json::Value;
use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

pub struct Prometheus {
    // Declared first so the process stops before its work dir is removed.
    process: Supervised,
    pub addr: SocketAddr,
    _dir: WorkDir,
}

impl Prometheus {
    /// Starts Prometheus scraping `target` (an admin address) every second.
    pub fn scraping(target: SocketAddr) -> Prometheus {
        let found = Command::new("prometheus").arg("--version").output();
        assert!(
            found.is_ok_and(|o| o.status.success()),
            "prometheus not found: run tests/install-peers.sh (apt-get install prometheus)"
        );
        let dir = WorkDir::new("prometheus");
        let config = dir.write(
            "prometheus.yml",
            format!(
                "global: {{ scrape_interval: 1s, evaluation_interval: 1s }}\n\
                 scrape_configs:\n  - job_name: periscope\n    \
                 static_configs: [ {{ targets: [\"{target}\"] }} ]\n"
            ),
        );
        let addr = free_addr();
        let mut cmd = Command::new("prometheus");
        cmd.arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"));
        let mut process = Supervised::spawn("prometheus", cmd, &dir.join("prometheus.log"));
        if let Err(e) = process.wait_listening(&[addr.port()], Duration::from_secs(30)) {
            panic!("prometheus failed to start: {e}\n{}", process.log_text());
        }
        Prometheus {
            process,
            addr,
            _dir: dir,
        }
    }

    /// The result vector of an instant query (panics on a query error).
    pub fn query(&self, expr: &str) -> Vec<Value> {
        let out = Command::new("curl")
            .args(["-sS", "--get", "--data-urlencode"])
            .arg(format!("query={expr}"))
            .arg(format!("http://{}/api/v1/query", self.addr))
            .output()
            .expect("curl runs");
        let body = String::from_utf8_lossy(&out.stdout);
        let doc: Value = serde_json::from_str(&body)
            .unwrap_or_else(|e| panic!("query {expr}: not JSON ({e}): {body}"));
        assert_eq!(doc["status"], "success", "query {expr}: {body}");
        doc["data"]["result"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    pub fn log_tail(&self) -> String {
        self.process.log_tail(20)
    }

    /// Runs `traffic` in rounds while Prometheus scrapes, until every panel
    /// of `dashboards/<file>` (rows and the titles in `skip` aside) has at
    /// least one query returning data; panics naming the panels still empty
    /// after `within`.
    pub fn assert_every_panel_has_data(
        &self,
        file: &str,
        skip: &[&str],
        within: Duration,
        mut traffic: impl FnMut(),
    ) {
        let path = format!("{}/dashboards/{file}", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
        let dashboard: Value = serde_json::from_str(&text).expect("valid JSON");
        let panels: Vec<&Value> = dashboard["panels"]
            .as_array()
            .expect("panels")
            .iter()
            .filter(|p| p["type"] != "row" && !skip.contains(&p["title"].as_str().unwrap_or("")))
            .collect();
        let deadline = Instant::now() + within;
        let empty = loop {
            traffic();
            let empty: Vec<String> = panels
                .iter()
                .filter(|panel| {
                    let targets = panel["targets"].as_array().expect("targets");
                    !targets.iter().any(|t| {
                        let expr = as_prometheus(t["expr"].as_str().expect("expr"));
                        !self.query(&expr).is_empty()
                    })
                })
                .map(|panel| panel["title"].as_str().unwrap_or_default().to_owned())
                .collect();
            if empty.is_empty() || Instant::now() > deadline {
                break empty;
            }
            std::thread::sleep(Duration::from_millis(500));
        };
        assert!(
            empty.is_empty(),
            "{file}: panels without data: {empty:?}\n{}",
            self.log_tail()
        );
    }
}

/// Grafana's variables as Prometheus needs them (1 s scrapes: a 10 s
/// window holds several samples).
pub fn as_prometheus(expr: &str) -> String {
    expr.replace("$__rate_interval", "10s")
        .replace("$listener", ".*")
        .replace("$db_collection_name", ".*")
        .replace("$cluster", ".*")
}

//! A real Prometheus (Debian package) scraping Periscope every second, for
//! running dashboard queries against what it stored.
use super::ports::free_addr;
use super::process::Supervised;
use super::workdir::WorkDir;
use serde_json::Value;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

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
}

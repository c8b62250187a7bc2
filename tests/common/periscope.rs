//! The real `periscope` binary as a child process of the test.
//!
//!     let px = Periscope::start(|| format!("admin:\n  address: 127.0.0.1:{}\n...", free_port()));
//!     let r = Curl::get(&px.url("edge", "/")).run();
//!     px.wait_metric("http_server_request_duration_seconds_count", &[("route", "api")], 1.0);
//!
//! Listener and admin addresses are read back from the YAML, so tests name
//! listeners instead of juggling ports. Output goes to a log file that is
//! printed when the test fails.
use super::metrics::Scrape;
use super::ports::{free_port, looks_like_port_clash};
use super::process::Supervised;
use super::raw_http::http_get;
use super::workdir::WorkDir;
use std::net::SocketAddr;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long a started process may take to report `/ready`.
const READY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long an exact metric may take to settle after the traffic finished.
const METRIC_TIMEOUT: Duration = Duration::from_secs(5);

pub struct Periscope {
    // Declared first so the process stops before its work dir is removed.
    process: Supervised,
    pub admin: SocketAddr,
    listeners: Vec<(String, SocketAddr)>,
    dir: WorkDir,
}

/// Path of the binary cargo built for these tests.
pub fn binary() -> &'static str {
    env!("CARGO_BIN_EXE_periscope")
}

/// `periscope validate` on a file that must fail: asserts it did and
/// that its output holds each of `expected` (file:line prefixes, field
/// paths, messages).
pub fn assert_invalid(file: &std::path::Path, expected: &[&str]) {
    let out = periscope_cli(&["validate", file.to_str().expect("utf-8 path")]);
    let text =
        String::from_utf8_lossy(&out.stderr).into_owned() + &String::from_utf8_lossy(&out.stdout);
    assert!(!out.status.success(), "{text}");
    for expected in expected {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

/// Runs `periscope ARGS` to completion (20 s cap), for CLI tests.
pub fn periscope_cli(args: &[&str]) -> Output {
    let mut child = Command::new(binary())
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start periscope");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("try_wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("periscope {args:?} did not exit within 20 s");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    child.wait_with_output().expect("collect periscope output")
}

impl Periscope {
    /// Starts periscope with the YAML `make_config` returns and waits for
    /// `/ready`. If a port was taken meanwhile, calls `make_config` again
    /// (it should draw fresh ports with `free_port`) up to 3 times.
    pub fn start(make_config: impl Fn() -> String) -> Periscope {
        let mut last = String::new();
        for _ in 0..3 {
            match Periscope::try_start_with_config(&make_config(), &[]) {
                Ok(px) => return px,
                Err(log) if looks_like_port_clash(&log) => last = log,
                Err(log) => panic!("{log}"),
            }
        }
        panic!("{last}");
    }

    /// Starts periscope with exactly this YAML (one attempt).
    pub fn start_with_config(yaml: &str) -> Periscope {
        Periscope::start_with_flags(yaml, &[])
    }

    /// Starts periscope with this YAML and these command-line flags (one
    /// attempt).
    pub fn start_with_flags(yaml: &str, flags: &[&str]) -> Periscope {
        Periscope::try_start_with_config(yaml, flags).unwrap_or_else(|log| panic!("{log}"))
    }

    fn try_start_with_config(yaml: &str, flags: &[&str]) -> Result<Periscope, String> {
        let doc: serde_json::Value = serde_saphyr::from_str(yaml)
            .unwrap_or_else(|e| panic!("test config is not valid YAML: {e}\n{yaml}"));
        let admin = doc
            .pointer("/admin/address")
            .and_then(|a| a.as_str())
            .unwrap_or_else(|| {
                panic!("test configs must set admin.address (a free port):\n{yaml}")
            });
        let listeners = listeners_of(&doc);
        let dir = WorkDir::new("periscope");
        let config = dir.write("config.yaml", yaml);
        let mut cmd = Command::new(binary());
        cmd.arg("--config").arg(&config).args(flags);
        Periscope::launch(cmd, parse_addr(admin), listeners, dir)
    }

    /// Quick mode: `periscope --listen .. --upstream .. [...]`. Adds
    /// `--admin 127.0.0.1:<free>` unless given. The listener is named
    /// "quick" for `addr`/`url`.
    pub fn quick(args: &[&str]) -> Periscope {
        Periscope::quick_with_env(args, &[])
    }

    /// Quick mode with extra environment variables (e.g. PERISCOPE_WORKERS).
    pub fn quick_with_env(args: &[&str], env: &[(&str, &str)]) -> Periscope {
        let mut args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        if !args.iter().any(|a| a == "--admin") {
            args.extend(["--admin".into(), format!("127.0.0.1:{}", free_port())]);
        }
        let value_of = |flag: &str| {
            let i = args.iter().position(|a| a == flag)?;
            args.get(i + 1).map(|v| parse_addr(v))
        };
        let admin = value_of("--admin").expect("--admin value");
        let listeners = value_of("--listen")
            .map(|a| vec![("quick".to_string(), a)])
            .unwrap_or_default();
        let dir = WorkDir::new("periscope-quick");
        let mut cmd = Command::new(binary());
        cmd.args(&args).envs(env.iter().copied());
        Periscope::launch(cmd, admin, listeners, dir).unwrap_or_else(|log| panic!("{log}"))
    }

    fn launch(
        cmd: Command,
        admin: SocketAddr,
        listeners: Vec<(String, SocketAddr)>,
        dir: WorkDir,
    ) -> Result<Periscope, String> {
        let process = Supervised::spawn("periscope", cmd, &dir.join("periscope.log"));
        let mut px = Periscope {
            process,
            admin,
            listeners,
            dir,
        };
        px.wait_ready()?;
        Ok(px)
    }

    /// Waits until this process listens on the admin and every listener
    /// port, then polls `GET /ready` until 200. On failure returns the
    /// captured log.
    fn wait_ready(&mut self) -> Result<(), String> {
        let deadline = Instant::now() + READY_TIMEOUT;
        let mut ports: Vec<u16> = self.listeners.iter().map(|(_, a)| a.port()).collect();
        ports.push(self.admin.port());
        if let Err(e) = self.process.wait_listening(&ports, READY_TIMEOUT) {
            return Err(format!("{e}; periscope log:\n{}", self.process.log_text()));
        }
        loop {
            if let Some(status) = self.process.exited() {
                return Err(format!(
                    "periscope exited ({status}) before /ready; its log:\n{}",
                    self.process.log_text()
                ));
            }
            let last = match http_get(self.admin, "/ready") {
                Ok((200, _)) => return Ok(()),
                Ok((status, body)) => format!("{status} {body}"),
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                return Err(format!(
                    "periscope /ready on {} not 200 within {READY_TIMEOUT:?} (last: {last}); its log:\n{}",
                    self.admin,
                    self.process.log_text()
                ));
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Address of the listener named `name` in the config.
    pub fn addr(&self, name: &str) -> SocketAddr {
        self.listeners
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, a)| *a)
            .unwrap_or_else(|| panic!("no listener named {name:?} in {:?}", self.listeners))
    }

    /// `http://<listener address><path>`
    pub fn url(&self, listener: &str, path: &str) -> String {
        format!("http://{}{path}", self.addr(listener))
    }

    /// `GET` on the admin port.
    pub fn admin_get(&self, path: &str) -> (u16, String) {
        http_get(self.admin, path).unwrap_or_else(|e| panic!("admin GET {path}: {e}"))
    }

    /// The `/clusters` entry of `cluster`'s endpoint `address`: `requests`,
    /// `failures`, `connect_failures`, `connections`.
    pub fn endpoint_stats(&self, cluster: &str, address: SocketAddr) -> serde_json::Value {
        let (status, body) = self.admin_get("/clusters");
        assert_eq!(status, 200, "{body}");
        let doc: serde_json::Value =
            serde_json::from_str(&body).unwrap_or_else(|e| panic!("/clusters: {e}: {body}"));
        doc["clusters"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["name"] == cluster)
            .flat_map(|c| c["endpoints"].as_array().into_iter().flatten())
            .find(|e| e["address"] == address.to_string())
            .cloned()
            .unwrap_or_else(|| panic!("no endpoint {address} in cluster {cluster}: {body}"))
    }

    /// Waits until `/clusters` reports `expected` for `field` of the
    /// endpoint (counters are bumped as exchanges end).
    pub fn wait_endpoint_stat(
        &self,
        cluster: &str,
        address: SocketAddr,
        field: &str,
        expected: u64,
    ) {
        let deadline = Instant::now() + METRIC_TIMEOUT;
        loop {
            let stats = self.endpoint_stats(cluster, address);
            if stats[field] == expected {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "/clusters {cluster} {address} {field}: expected {expected}, got {stats}"
            );
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    pub fn scrape(&self) -> Scrape {
        Scrape::fetch(self.admin)
    }

    /// Current sum of the samples of `name` matching `labels`.
    pub fn metric(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.scrape().value(name, labels)
    }

    /// Waits until the metric equals `expected` exactly (telemetry may be
    /// recorded just after the client saw its response), then checks it
    /// stays there briefly so a late extra count is caught too.
    pub fn wait_metric(&self, name: &str, labels: &[(&str, &str)], expected: f64) {
        let deadline = Instant::now() + METRIC_TIMEOUT;
        loop {
            let scrape = self.scrape();
            if scrape.value(name, labels) == expected {
                std::thread::sleep(Duration::from_millis(50));
                self.scrape().assert_value(name, labels, expected);
                return;
            }
            if Instant::now() >= deadline {
                scrape.assert_value(name, labels, expected);
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Waits until the metric reaches at least `min` (byte counters, whose
    /// exact value includes header bytes); returns the value seen.
    pub fn wait_metric_at_least(&self, name: &str, labels: &[(&str, &str)], min: f64) -> f64 {
        let deadline = Instant::now() + METRIC_TIMEOUT;
        loop {
            let scrape = self.scrape();
            let value = scrape.value(name, labels);
            if value >= min {
                return value;
            }
            if Instant::now() >= deadline {
                panic!(
                    "{name} with {labels:?} = {value}, expected at least {min}\n{}",
                    scrape.near_misses(name)
                );
            }
            std::thread::sleep(Duration::from_millis(25));
        }
    }

    /// Threads of the process named as tokio worker threads in
    /// /proc/PID/task/*/comm: `tokio-rt-worker` (tokio 1.54 on), or
    /// `tokio-runtime-worker` cut to 15 bytes by the kernel (older tokio).
    pub fn tokio_worker_threads(&self) -> usize {
        let tasks = format!("/proc/{}/task", self.process.pid());
        std::fs::read_dir(&tasks)
            .unwrap_or_else(|e| panic!("read {tasks}: {e}"))
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|comm| matches!(comm.trim_end(), "tokio-rt-worker" | "tokio-runtime-w"))
            .count()
    }

    /// Resident set size of the process in KiB (VmRSS).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.process.pid()))
            .expect("read /proc/PID/status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next())
            .and_then(|kb| kb.parse().ok())
            .expect("VmRSS in /proc/PID/status")
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        self.process.exited().is_none()
    }

    pub fn log(&self) -> String {
        self.process.log_text()
    }

    pub fn work_dir(&self) -> &WorkDir {
        &self.dir
    }

    /// Replaces the config file the process was started with (it is not
    /// told: see `sighup`, `admin_post("/reload")`). If `yaml` parses, its
    /// listeners become what `addr` and `url` know; broken YAML is written
    /// as is, to test reload failures.
    pub fn rewrite_config(&mut self, yaml: &str) {
        if let Ok(doc) = serde_saphyr::from_str::<serde_json::Value>(yaml) {
            self.listeners = listeners_of(&doc);
        }
        // Write then rename, as editors and ConfigMap updates do, so a
        // reload never reads half a file.
        let path = self.dir.write("config.yaml.new", yaml);
        std::fs::rename(&path, self.dir.join("config.yaml")).expect("replace config.yaml");
    }

    /// The config file the process was started with.
    pub fn config_path(&self) -> std::path::PathBuf {
        self.dir.join("config.yaml")
    }

    /// SIGHUP: reload the configuration.
    pub fn sighup(&self) {
        self.process.sighup();
    }

    /// `POST` with an empty body on the admin port: (status, body).
    pub fn admin_post(&self, path: &str) -> (u16, String) {
        let url = format!("http://{}{path}", self.admin);
        let r = super::curl::Curl::get(&url).arg("-X").arg("POST").run();
        (r.status, r.body_text())
    }

    /// SIGTERM without waiting (to watch the drain from outside).
    pub fn sigterm(&self) {
        self.process.sigterm();
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// The exit status, once the process exits within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        self.process.wait_exit(timeout)
    }

    /// SIGTERM and wait (up to `grace`) for the exit status.
    pub fn terminate(&mut self, grace: Duration) -> std::process::ExitStatus {
        self.process.terminate(grace)
    }
}

/// `(name, address)` of each listener of a config document.
fn listeners_of(doc: &serde_json::Value) -> Vec<(String, SocketAddr)> {
    doc["listeners"]
        .as_array()
        .map(|ls| {
            ls.iter()
                .map(|l| (str_field(l, "name"), parse_addr(&str_field(l, "address"))))
                .collect()
        })
        .unwrap_or_default()
}

fn str_field(v: &serde_json::Value, key: &str) -> String {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("listener without {key}: {v}"))
        .to_string()
}

fn parse_addr(s: &str) -> SocketAddr {
    s.parse()
        .unwrap_or_else(|e| panic!("test configs use literal ip:port addresses, got {s:?}: {e}"))
}

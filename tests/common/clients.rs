//! Finding the real peer binaries, and the small command-line clients that
//! need no builder of their own (h2load, promtool).
//!
//! A missing peer is a failure, never a skip: the message names the package
//! and the installer that provides it.
use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// The path of `binary` (searched on PATH and the sbin dirs, where Debian
/// puts nginx), or a panic telling how to install `apt_package`.
pub fn require_tool(binary: &str, apt_package: &str) -> PathBuf {
    let path = std::env::var("PATH").unwrap_or_default();
    let dirs = path
        .split(':')
        .chain(["/usr/sbin", "/usr/local/sbin", "/sbin", "/usr/bin", "/bin"]);
    for dir in dirs.filter(|d| !d.is_empty()) {
        let candidate = PathBuf::from(dir).join(binary);
        if candidate.is_file() {
            return candidate;
        }
    }
    panic!("{binary} not found: run tests/install-peers.sh (apt-get install {apt_package})");
}

/// What h2load reported for one run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct H2loadReport {
    pub succeeded: u64,
    pub failed: u64,
    pub errored: u64,
    pub status_2xx: u64,
    /// Full output, for assertion messages.
    pub output: String,
}

/// Runs `h2load -n requests -c clients -m streams URL` (h2c prior knowledge)
/// and parses its summary lines.
pub fn h2load(url: &str, requests: u32, clients: u32, streams: u32) -> H2loadReport {
    let bin = require_tool("h2load", "nghttp2-client");
    let out = Command::new(bin)
        .args([
            "-n",
            &requests.to_string(),
            "-c",
            &clients.to_string(),
            "-m",
            &streams.to_string(),
            url,
        ])
        .stdin(Stdio::null())
        .output()
        .expect("run h2load");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    parse_h2load(&output)
}

/// Reads "requests: 200 total, 200 started, 200 done, 200 succeeded,
/// 0 failed, 0 errored, 0 timeout" and "status codes: 200 2xx, ...".
pub fn parse_h2load(output: &str) -> H2loadReport {
    let mut report = H2loadReport {
        output: output.to_string(),
        ..Default::default()
    };
    for line in output.lines() {
        let fields = |prefix: &str| -> Vec<(String, u64)> {
            line.trim()
                .strip_prefix(prefix)
                .map(|rest| {
                    rest.split(',')
                        .filter_map(|part| {
                            let mut it = part.split_whitespace();
                            let n = it.next()?.parse().ok()?;
                            Some((it.next()?.to_string(), n))
                        })
                        .collect()
                })
                .unwrap_or_default()
        };
        for (what, n) in fields("requests:") {
            match what.as_str() {
                "succeeded" => report.succeeded = n,
                "failed" => report.failed = n,
                "errored" => report.errored = n,
                _ => {}
            }
        }
        for (what, n) in fields("status codes:") {
            if what == "2xx" {
                report.status_2xx = n;
            }
        }
    }
    report
}

/// Feeds a scrape to `promtool check metrics`; `Err` carries its complaints.
pub fn promtool_check_metrics(text: &str) -> Result<(), String> {
    let bin = require_tool("promtool", "prometheus");
    let mut child = Command::new(bin)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start promtool");
    child
        .stdin
        .take()
        .expect("promtool stdin")
        .write_all(text.as_bytes())
        .expect("write to promtool");
    let out = child.wait_with_output().expect("wait for promtool");
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

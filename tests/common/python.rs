//! Python scripts under `tests/` run with the venv install-peers.sh builds
//! (`.runtime/venv`: pymongo and its codecs).
//!
//!     let json = Python::run("mongo/workload.py", &[&uri, "--scenario", "crud"]);
use super::runtime::{require_runtime, test_script};
use std::path::PathBuf;
use std::process::{Command, Stdio};

/// How long one script may run (coreutils `timeout`, then SIGKILL).
const SCRIPT_TIMEOUT_SECS: &str = "60";

pub struct Python;

impl Python {
    /// `.runtime/venv/bin/python`, or a panic saying how to install it.
    pub fn interpreter() -> PathBuf {
        require_runtime("venv/bin/python", "the Python venv with pymongo")
    }

    /// A command running `tests/<script>` with the venv's Python
    /// (unbuffered, so a supervised script's log is current).
    pub fn command(script: &str) -> Command {
        let mut cmd = Command::new(Python::interpreter());
        cmd.arg("-u").arg(test_script(script));
        cmd
    }

    /// Runs `tests/<script> ARGS` to completion and returns its stdout;
    /// panics with its stderr if it fails or runs past the timeout.
    pub fn run(script: &str, args: &[&str]) -> String {
        Python::run_with_env(script, args, &[])
    }

    /// [`Python::run`] with extra environment variables (e.g.
    /// `SSL_CERT_FILE`, which Python's default TLS context trusts).
    pub fn run_with_env(script: &str, args: &[&str], env: &[(&str, &str)]) -> String {
        let out = Command::new("timeout")
            .args(["--kill-after=5", SCRIPT_TIMEOUT_SECS])
            .arg(Python::interpreter())
            .arg(test_script(script))
            .args(args)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .output()
            .unwrap_or_else(|e| panic!("start {script}: {e}"));
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{script} {args:?} failed ({}; 124 = timed out after {SCRIPT_TIMEOUT_SECS} s):\n{}\n{stdout}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }
}

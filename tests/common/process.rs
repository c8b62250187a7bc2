//! Child processes that belong to one test: output captured to a log file,
//! terminated gently (SIGTERM, then SIGKILL) on drop, log tail printed when
//! the test failed.
//!
//! Readiness means "this child listens on the port", read from /proc, not
//! "something accepts on the port": when two test processes are handed the
//! same port, the loser must not mistake the winner's server for its own.
use std::collections::HashSet;
use std::fs::File;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

pub struct Supervised {
    name: String,
    child: Child,
    log: PathBuf,
}

impl Supervised {
    /// Spawns `cmd` with stdin closed and stdout+stderr appended to `log`.
    pub fn spawn(name: &str, mut cmd: Command, log: &Path) -> Supervised {
        let out = File::create(log).unwrap_or_else(|e| panic!("create {}: {e}", log.display()));
        let err = out.try_clone().expect("clone log handle");
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {name} ({cmd:?}): {e}"));
        Supervised {
            name: name.to_string(),
            child,
            log: log.to_path_buf(),
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn log_path(&self) -> &Path {
        &self.log
    }

    /// Everything the process printed so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// `Some(status)` once the process has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// Waits until this process listens on every port in `ports`. Returns
    /// an error message if it exits first or `timeout` passes.
    pub fn wait_listening(&mut self, ports: &[u16], timeout: Duration) -> Result<(), String> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Err(format!(
                    "{} exited ({status}) before listening on {ports:?}",
                    self.name
                ));
            }
            let listening = listening_ports(self.pid());
            if ports.iter().all(|p| listening.contains(p)) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                return Err(format!(
                    "{} did not listen on {ports:?} within {timeout:?} (listening on {listening:?})",
                    self.name
                ));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGTERM, up to `grace` for a clean exit, then SIGKILL. Returns the
    /// exit status. Signals go to this child's pid only.
    pub fn terminate(&mut self, grace: Duration) -> ExitStatus {
        if let Some(status) = self.exited() {
            return status;
        }
        self.sigterm();
        if let Some(status) = self.wait_exit(grace) {
            return status;
        }
        let _ = self.child.kill();
        self.child.wait().expect("wait after kill")
    }

    /// Sends SIGTERM to this child's pid and returns at once.
    pub fn sigterm(&self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.pid().to_string()])
            .stderr(Stdio::null())
            .status();
    }

    /// Sends SIGHUP (reload the configuration) to this child's pid.
    pub fn sighup(&self) {
        let _ = Command::new("kill")
            .args(["-HUP", &self.pid().to_string()])
            .stderr(Stdio::null())
            .status();
    }

    /// The exit status, once the process exits within `timeout`.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.exited() {
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    /// The last `lines` lines of the log, for failure messages.
    pub fn log_tail(&self, lines: usize) -> String {
        let text = self.log_text();
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

impl Drop for Supervised {
    fn drop(&mut self) {
        self.terminate(Duration::from_secs(3));
        if std::thread::panicking() {
            eprintln!(
                "----- {} log ({}) last lines -----\n{}\n-----",
                self.name,
                self.log.display(),
                self.log_tail(60)
            );
        }
    }
}

/// TCP ports process `pid` has in LISTEN state.
pub fn listening_ports(pid: u32) -> HashSet<u16> {
    tcp_sockets_of(pid)
        .into_iter()
        .filter(|s| s.state == "0A")
        .map(|s| s.local_port)
        .collect()
}

/// The socket inodes of process `pid`'s established connections to
/// `remote_port`: the same inode over time is the same connection.
pub fn established_to(pid: u32, remote_port: u16) -> HashSet<String> {
    tcp_sockets_of(pid)
        .into_iter()
        .filter(|s| s.state == "01" && s.remote_port == remote_port)
        .map(|s| s.inode)
        .collect()
}

struct TcpSocket {
    local_port: u16,
    remote_port: u16,
    /// As /proc/net/tcp writes it: "0A" LISTEN, "01" ESTABLISHED, ...
    state: String,
    inode: String,
}

/// Process `pid`'s TCP sockets: its socket inodes (from /proc/PID/fd)
/// matched against /proc/net/tcp{,6}.
fn tcp_sockets_of(pid: u32) -> Vec<TcpSocket> {
    let inodes: HashSet<String> = std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|dir| {
            dir.filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
                .filter_map(|target| {
                    let t = target.to_string_lossy();
                    Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
                })
                .collect()
        })
        .unwrap_or_default();
    let port =
        |address: &str| (address.rsplit(':').next()).and_then(|h| u16::from_str_radix(h, 16).ok());
    let mut sockets = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(table).unwrap_or_default();
        for line in text.lines().skip(1) {
            // sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() < 10 || !inodes.contains(f[9]) {
                continue;
            }
            if let (Some(local_port), Some(remote_port)) = (port(f[1]), port(f[2])) {
                sockets.push(TcpSocket {
                    local_port,
                    remote_port,
                    state: f[3].to_owned(),
                    inode: f[9].to_owned(),
                });
            }
        }
    }
    sockets
}

/// A server started by [`start_on_free_port`]: fields in drop order, the
/// process before its work dir.
pub struct Started {
    pub process: Supervised,
    pub addr: SocketAddr,
    pub dir: super::workdir::WorkDir,
}

/// Starts a server on a free port and returns once it listens there; when
/// another test took that port meanwhile, again on a fresh one (three tries
/// in all). `command` builds the server's command for its address and work
/// dir; its output goes to `<name>.log` there. Panics with the last try's
/// log, and `hint` (how to install the server).
pub fn start_on_free_port(
    name: &str,
    hint: &str,
    timeout: Duration,
    command: impl Fn(SocketAddr, &super::workdir::WorkDir) -> Command,
) -> Started {
    let mut last_error = String::new();
    for _ in 0..3 {
        let dir = super::workdir::WorkDir::new(name);
        let addr = super::ports::free_addr();
        let log = dir.join(&format!("{name}.log"));
        let mut process = Supervised::spawn(name, command(addr, &dir), &log);
        match process.wait_listening(&[addr.port()], timeout) {
            Ok(()) => return Started { process, addr, dir },
            Err(e) => {
                let log = process.log_text();
                last_error = format!("{e}\n{log}");
                if !super::ports::looks_like_port_clash(&log) {
                    break;
                }
            }
        }
    }
    panic!("{name} failed to start ({hint}): {last_error}");
}

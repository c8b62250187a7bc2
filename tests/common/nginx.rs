//! Real Debian nginx as the HTTP upstream: one HTTP/1.1 port and one h2c
//! (prior knowledge) port, with the endpoints the proxy tests need.
//!
//! Endpoints (both ports):
//!   /              200 "ok\n"
//!   /bytes/N       N bytes of 'x', N in 1k 64k 1m 20m (static files)
//!   /status/NNN    that status, NNN in 204 404 500 503
//!   POST /post     body read in full and discarded, then 200 "ok\n"
//!                  (nginx only reads a body for a proxied location, so /post
//!                  proxies to this same server's `/`)
//!   /stub_status   nginx's own counters (requests, connections)
//!   /close         no response: nginx closes the connection (its 444)
//!   POST /length   body read in full (proxied on, as for /post), then 200
//!                  with the number of body bytes received, e.g. "307200\n"
//!   /headers       the request headers the proxy may set or strip, one
//!                  `name=value` line each (see `ECHOED_HEADERS`)
//!   /port          the port that answered, e.g. "41234\n": which of
//!                  several nginx upstreams a balancer chose
//!   /addr          the address that answered, e.g. "127.0.0.2\n"
//!   /health        200 while `set_healthy(true)` (the default), else 503:
//!                  a health-check path the test flips
//!   /slow/N        /bytes/N sent at 256 KiB/s: a request that stays in
//!                  flight for seconds
use super::clients::require_tool;
use super::ports::{free_port, looks_like_port_clash};
use super::process::Supervised;
use super::workdir::WorkDir;
use std::net::SocketAddr;
use std::process::Command;
use std::time::Duration;

/// Static payloads served under /bytes/.
pub const PAYLOADS: [(&str, usize); 4] = [
    ("1k", 1024),
    ("64k", 64 * 1024),
    ("1m", 1024 * 1024),
    ("20m", 20 * 1024 * 1024),
];

/// The request headers `/headers` echoes, in order: the ones routes add or
/// remove, the ones the proxy sets, and the hop-by-hop ones it must strip
/// (`x-hop` is for a test that names it in `Connection`).
pub const ECHOED_HEADERS: [&str; 12] = [
    "x-via",
    "x-debug",
    "x-forwarded-for",
    "x-request-id",
    "x-forwarded-proto",
    "host",
    "connection",
    "keep-alive",
    "upgrade",
    "proxy-connection",
    "te",
    "x-hop",
];

pub struct Nginx {
    // Declared first so the process stops before its state dir is removed.
    process: Supervised,
    /// HTTP/1.1 port.
    pub h1: SocketAddr,
    /// HTTP/2 cleartext, prior knowledge only (nginx has no h2c Upgrade).
    pub h2c: SocketAddr,
    dir: WorkDir,
}

impl Nginx {
    /// Starts nginx on two free ports and returns once both accept.
    /// Retries on fresh ports if a port was taken in the meantime.
    pub fn start() -> Nginx {
        Nginx::start_with(|| SocketAddr::from(([127, 0, 0, 1], free_port())))
    }

    /// Starts nginx with its HTTP/1.1 port on `h1`, which may be another
    /// loopback address (127.0.0.2: several servers on one port, told
    /// apart by `/addr`).
    pub fn start_at(h1: SocketAddr) -> Nginx {
        Nginx::start_with(|| h1)
    }

    fn start_with(h1: impl Fn() -> SocketAddr) -> Nginx {
        let binary = require_tool("nginx", "nginx");
        let mut last_error = String::new();
        for _ in 0..3 {
            let dir = WorkDir::new("nginx");
            let h1 = h1();
            let h2c = SocketAddr::from(([127, 0, 0, 1], free_port()));
            write_site(&dir, h1, h2c);
            let mut process = spawn(&binary, &dir);
            let ready = process.wait_listening(&[h1.port(), h2c.port()], Duration::from_secs(10));
            match ready {
                Ok(()) => {
                    return Nginx {
                        process,
                        h1,
                        h2c,
                        dir,
                    }
                }
                Err(e) => {
                    let log = format!(
                        "{}\n{}",
                        process.log_text(),
                        std::fs::read_to_string(dir.join("logs/error.log")).unwrap_or_default()
                    );
                    last_error = format!("{e}\n{log}");
                    if !looks_like_port_clash(&log) {
                        break;
                    }
                }
            }
        }
        panic!("nginx failed to start: {last_error}");
    }

    /// `http://127.0.0.1:<h1 port><path>`
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.h1)
    }

    /// `http://127.0.0.1:<h2c port><path>`
    pub fn h2c_url(&self, path: &str) -> String {
        format!("http://{}{path}", self.h2c)
    }

    pub fn pid(&self) -> u32 {
        self.process.pid()
    }

    /// nginx's count of connections it has handled so far, read from
    /// `/stub_status` on a fresh connection of our own (which it counts
    /// too).
    pub fn handled_connections(&self) -> u64 {
        let stub = super::HyperClient::http1()
            .get(&self.url("/stub_status"))
            .body_text();
        // "Active connections: 1 \nserver accepts handled requests\n 5 5 9 \n..."
        let counts = stub.lines().nth(2).unwrap_or_default();
        counts
            .split_whitespace()
            .nth(1)
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no handled count in {stub:?}"))
    }

    /// Makes `/health` answer 200 (`true`) or 503.
    pub fn set_healthy(&self, healthy: bool) {
        let path = self.dir.join("html/health");
        if healthy {
            self.dir.write("html/health", "ok\n");
        } else {
            let _ = std::fs::remove_file(path);
        }
    }

    /// Stops this nginx (SIGTERM); its ports refuse connections until
    /// [`Nginx::restart`].
    pub fn stop(&mut self) {
        self.process.terminate(Duration::from_secs(5));
    }

    /// Starts it again on the same ports, with the same site.
    pub fn restart(&mut self) {
        self.process = spawn(&require_tool("nginx", "nginx"), &self.dir);
        let ports = [self.h1.port(), self.h2c.port()];
        if let Err(e) = self.process.wait_listening(&ports, Duration::from_secs(10)) {
            panic!("nginx did not restart: {e}\n{}", self.process.log_text());
        }
    }
}

fn spawn(binary: &std::path::Path, dir: &WorkDir) -> Supervised {
    let mut cmd = Command::new(binary);
    let prefix = format!("{}/", dir.path().display());
    cmd.args(["-p", &prefix, "-c", "nginx.conf", "-e", "logs/error.log"]);
    Supervised::spawn("nginx", cmd, &dir.join("nginx.out"))
}

/// Writes nginx.conf and the static payloads into `dir`.
fn write_site(dir: &WorkDir, h1: SocketAddr, h2c: SocketAddr) {
    for (name, len) in PAYLOADS {
        dir.write_filled(&format!("html/bytes/{name}"), len, b'x');
    }
    dir.write("html/health", "ok\n");
    for sub in ["logs", "tmp"] {
        std::fs::create_dir_all(dir.join(sub)).expect("create nginx state dir");
    }
    dir.write("nginx.conf", nginx_conf(dir, h1, h2c));
}

/// One single-process nginx (no master, so the child pid is the whole
/// server and dropping it leaves nothing behind), loopback only.
fn nginx_conf(dir: &WorkDir, h1: SocketAddr, h2c: SocketAddr) -> String {
    let state = dir.path().display();
    let echo: String = ECHOED_HEADERS
        .iter()
        .map(|name| format!("{name}=$http_{}\\n", name.replace('-', "_")))
        .collect();
    format!(
        r#"worker_processes 1;
daemon off;
master_process off;
pid {state}/nginx.pid;
error_log {state}/logs/error.log warn;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {state}/tmp/body;
  proxy_temp_path {state}/tmp/proxy;
  fastcgi_temp_path {state}/tmp/fastcgi;
  uwsgi_temp_path {state}/tmp/uwsgi;
  scgi_temp_path {state}/tmp/scgi;
  keepalive_requests 100000;
  keepalive_timeout 60s;
  default_type text/plain;
  server {{
    listen {h1};
    listen {h2c} http2;
    root {state}/html;
    # The body of POST /post is proxied on to `/`, whose own limit would
    # otherwise be the 1 MiB default.
    client_max_body_size 64m;
    location = / {{ return 200 "ok\n"; }}
    location /bytes/ {{ }}
    location = /status/204 {{ return 204; }}
    location = /status/404 {{ return 404; }}
    location = /status/500 {{ return 500; }}
    location = /status/503 {{ return 503; }}
    location = /stub_status {{ stub_status; }}
    location = /close {{ return 444; }}
    location = /headers {{ return 200 "{echo}"; }}
    location = /traceparent {{ return 200 "$http_traceparent\n"; }}
    location = /port {{ return 200 "$server_port\n"; }}
    location = /addr {{ return 200 "$server_addr\n"; }}
    location = /health {{ try_files /health =503; }}
    location /slow/ {{ alias {state}/html/bytes/; limit_rate 256k; }}
    location = /post {{
      client_body_buffer_size 1m;
      proxy_pass http://{h1}/;
    }}
    # nginx buffers the whole body, then sends it on with a Content-Length.
    location = /length {{
      client_body_buffer_size 1m;
      proxy_pass http://{h1}/received-length;
    }}
    location = /received-length {{ return 200 "$http_content_length\n"; }}
  }}
}}
"#
    )
}

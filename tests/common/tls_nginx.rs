//! nginx serving HTTPS (HTTP/1.1 and h2 by ALPN) with a certificate from
//! a [`TestPki`]. Optionally it also terminates TLS in front
//! of a TCP peer (its stream module), as a managed database's TLS
//! endpoint does.
use super::clients::require_tool;
use super::ports::free_port;
use super::process::Supervised;
pub use super::test_pki::{TestPki, SERVER_NAME};
use super::workdir::WorkDir;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

pub struct TlsNginx {
    _process: Supervised,
    pub addr: SocketAddr,
    /// With [`TlsNginx::terminating`]: TLS here, plaintext on to the peer.
    pub tls_relay: Option<SocketAddr>,
    /// HTTPS (HTTP/1.1 and h2) that closes a connection idle for a
    /// second; every path answers `brief`.
    pub brief: SocketAddr,
    /// HTTPS that requires a client certificate from the test CA;
    /// `/whoami` answers with the client's subject.
    pub mtls: SocketAddr,
    /// PEM of the CA that signed the server's certificate.
    pub ca: PathBuf,
    /// PEM of a CA that signed nothing here.
    pub other_ca: PathBuf,
    /// A client certificate (and key) `mtls` accepts.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    _pki: TestPki,
    _dir: WorkDir,
}

impl TlsNginx {
    pub fn start() -> TlsNginx {
        TlsNginx::launch(None)
    }

    /// Also terminates TLS in front of the TCP peer at `backend`.
    pub fn terminating(backend: SocketAddr) -> TlsNginx {
        TlsNginx::launch(Some(backend))
    }

    fn launch(backend: Option<SocketAddr>) -> TlsNginx {
        let dir = WorkDir::new("tls-nginx");
        let pki = TestPki::new();
        let nginx = require_tool("nginx", "nginx");
        let mut last_error = String::new();
        for _ in 0..3 {
            let addr = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let relay = backend.map(|to| (SocketAddr::from(([127, 0, 0, 1], free_port())), to));
            let inner = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let mtls = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let brief = SocketAddr::from(([127, 0, 0, 1], free_port()));
            let listens = (addr, inner, mtls, brief);
            dir.write("nginx.conf", conf(&dir, &pki, listens, relay));
            let mut ports = vec![addr.port(), inner.port(), mtls.port(), brief.port()];
            ports.extend(relay.map(|(listen, _)| listen.port()));
            let prefix = format!("{}/", dir.path().display());
            let mut cmd = Command::new(&nginx);
            cmd.args(["-p", &prefix, "-c", "nginx.conf", "-e", "error.log"]);
            let mut process = Supervised::spawn("tls-nginx", cmd, &dir.join("nginx.out"));
            match process.wait_listening(&ports, Duration::from_secs(10)) {
                Ok(()) => {
                    return TlsNginx {
                        _process: process,
                        addr,
                        tls_relay: relay.map(|(listen, _)| listen),
                        mtls,
                        brief,
                        ca: pki.ca.clone(),
                        other_ca: pki.other_ca.clone(),
                        client_cert: pki.client_cert.clone(),
                        client_key: pki.client_key.clone(),
                        _pki: pki,
                        _dir: dir,
                    }
                }
                Err(e) => {
                    let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
                    last_error = format!("{e}\n{}\n{log}", process.log_text());
                }
            }
        }
        panic!("TLS nginx failed to start: {last_error}");
    }
}

/// One single-process nginx; `/whoami` answers with what the connection
/// negotiated: the protocol, the SNI name it got, the scheme.
fn conf(
    dir: &WorkDir,
    pki: &TestPki,
    (addr, inner, mtls, brief): (SocketAddr, SocketAddr, SocketAddr, SocketAddr),
    relay: Option<(SocketAddr, SocketAddr)>,
) -> String {
    let state = dir.path().display();
    let (cert, key) = (pki.server_cert.display(), pki.server_key.display());
    let ca = pki.ca.display();
    let (module, stream) = match relay {
        Some((listen, to)) => (
            format!("load_module {STREAM_MODULE};"),
            format!(
                "stream {{ server {{ listen {listen} ssl; proxy_pass {to}; \
                 ssl_certificate {cert}; ssl_certificate_key {key}; }} }}"
            ),
        ),
        None => (String::new(), String::new()),
    };
    format!(
        r#"{module}
worker_processes 1;
daemon off;
master_process off;
pid {state}/nginx.pid;
error_log {state}/error.log warn;
events {{ worker_connections 256; }}
http {{
  access_log off;
  client_body_temp_path {state}/body;
  proxy_temp_path {state}/proxy;
  fastcgi_temp_path {state}/fastcgi;
  uwsgi_temp_path {state}/uwsgi;
  scgi_temp_path {state}/scgi;
  default_type text/plain;
  server {{
    listen {addr} ssl http2;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    location = / {{ return 200 "ok\n"; }}
    location = /health {{ return 200 "ok\n"; }}
    location = /whoami {{ return 200 "$server_protocol sni=$ssl_server_name\n"; }}
    # nginx reads a proxied body whole before it sends it on: the answer is
    # the length that arrived.
    # Refuses bodies over 1 KiB at once, without reading them (413).
    location = /small {{ client_max_body_size 1k; return 200 "small\n"; }}
    location = /upload {{
      client_max_body_size 64m;
      client_body_buffer_size 1m;
      proxy_pass http://{inner}/received-length;
    }}
  }}
  server {{
    listen {brief} ssl http2;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    keepalive_timeout 1s;
    location / {{ return 200 "brief\n"; }}
  }}
  server {{
    listen {mtls} ssl;
    ssl_certificate {cert};
    ssl_certificate_key {key};
    ssl_verify_client on;
    ssl_client_certificate {ca};
    location = /whoami {{ return 200 "client=$ssl_client_s_dn\n"; }}
  }}
  server {{
    listen {inner};
    client_max_body_size 64m;
    location = /received-length {{ return 200 "$http_content_length\n"; }}
  }}
}}
{stream}
"#
    )
}

/// Debian's libnginx-mod-stream (installed by tests/install-peers.sh).
const STREAM_MODULE: &str = "/usr/lib/nginx/modules/ngx_stream_module.so";

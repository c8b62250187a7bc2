//! A test CA and a server certificate from it, made with the openssl CLI
//! (installed by tests/install-peers.sh): the certificate names
//! `upstream.test` and 127.0.0.1. A second, unrelated CA is made too, for
//! handshakes that must fail.
use super::clients::require_tool;
use super::workdir::WorkDir;
use std::path::PathBuf;
use std::process::Command;

/// The DNS name in the server certificate.
pub const SERVER_NAME: &str = "upstream.test";

pub struct TestPki {
    /// PEM of the CA that signed the server's certificate.
    pub ca: PathBuf,
    /// PEM of a CA that signed nothing here.
    pub other_ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    /// A client certificate from `ca`, for mutual TLS.
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
    _dir: WorkDir,
}

impl TestPki {
    pub fn new() -> TestPki {
        let dir = WorkDir::new("pki");
        make_certificates(&dir);
        TestPki {
            ca: dir.join("ca.crt"),
            other_ca: dir.join("other-ca.crt"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            client_cert: dir.join("client.crt"),
            client_key: dir.join("client.key"),
            _dir: dir,
        }
    }
}

fn openssl(dir: &WorkDir, args: &[&str]) {
    let out = Command::new(require_tool("openssl", "openssl"))
        .args(args)
        .current_dir(dir.path())
        .output()
        .expect("run openssl");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Two CAs (P-256 keys, two days); from the first, a server certificate
/// with the names rustls checks (subjectAltName) and a client certificate.
fn make_certificates(dir: &WorkDir) {
    let key = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    for (name, subject) in [
        ("ca", "/CN=Periscope test CA"),
        ("other-ca", "/CN=Unrelated CA"),
    ] {
        let (key_file, cert_file) = (format!("{name}.key"), format!("{name}.crt"));
        let mut args = vec!["req", "-x509", "-days", "2", "-subj", subject];
        args.extend(key);
        args.extend(["-keyout", &key_file, "-out", &cert_file]);
        openssl(dir, &args);
    }
    let server_ext =
        format!("subjectAltName=DNS:{SERVER_NAME},IP:127.0.0.1\nextendedKeyUsage=serverAuth\n");
    issue(dir, &key, "server", "/CN=upstream.test", &server_ext);
    issue(
        dir,
        &key,
        "client",
        "/CN=periscope-test-client",
        "extendedKeyUsage=clientAuth\n",
    );
}

/// A key and a certificate `NAME.crt` signed by the first CA, with these
/// X.509 extensions.
fn issue(dir: &WorkDir, key: &[&str], name: &str, subject: &str, extensions: &str) {
    let (key_file, csr, ext, cert) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.ext"),
        format!("{name}.crt"),
    );
    let mut request = vec!["req", "-subj", subject];
    request.extend(key);
    request.extend(["-keyout", &key_file, "-out", &csr]);
    openssl(dir, &request);
    dir.write(&ext, extensions);
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &ext,
            "-out",
            &cert,
        ],
    );
}

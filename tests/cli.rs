//! The command line: `validate`, `--help`, quick mode, and a bad config
//! refusing to start.
mod common;

use common::periscope::periscope_cli;
use common::{free_port, Curl, Nginx, Periscope, WorkDir};
use std::path::PathBuf;
use std::process::Output;

fn text(out: &Output) -> (String, String) {
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A config whose line 10 has a bad duration (`clusters[0].connect_timeout`).
const BAD_DURATION: &str = "admin:
  address: 127.0.0.1:9901
listeners:
  - name: edge
    address: 127.0.0.1:10000
    protocol: http
    cluster: web
clusters:
  - name: web
    connect_timeout: soon
    endpoints: [\"127.0.0.1:18080\"]
";

/// A config whose line 6 names an unknown listener protocol.
const BAD_PROTOCOL: &str = "admin:
  address: 127.0.0.1:9901
listeners:
  - name: edge
    address: 127.0.0.1:10000
    protocol: htttp
    cluster: web
clusters:
  - name: web
    endpoints: [\"127.0.0.1:18080\"]
";

#[test]
fn help_describes_the_modes() {
    let out = periscope_cli(&["--help"]);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "{stderr}");
    for word in ["--config", "validate", "--listen", "--upstream"] {
        assert!(stdout.contains(word), "--help lacks {word}:\n{stdout}");
    }
}

#[test]
fn validate_accepts_every_shipped_config() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("config");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .collect::<Vec<_>>()
        })
        .unwrap_or_default()
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .map(|p| p.display().to_string())
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no config/*.yaml shipped in {}",
        dir.display()
    );
    let args: Vec<&str> = std::iter::once("validate")
        .chain(files.iter().map(String::as_str))
        .collect();
    let out = periscope_cli(&args);
    let (stdout, stderr) = text(&out);
    assert!(out.status.success(), "validate failed:\n{stdout}{stderr}");
    for f in &files {
        assert!(
            stdout.contains(&format!("{f}: ok")),
            "no '{f}: ok' in:\n{stdout}"
        );
    }
}

#[test]
fn validate_points_at_file_line_and_field() {
    let dir = WorkDir::new("cli");
    let duration = dir
        .write("duration.yaml", BAD_DURATION)
        .display()
        .to_string();
    let protocol = dir
        .write("protocol.yaml", BAD_PROTOCOL)
        .display()
        .to_string();
    for (file, line, field) in [
        (&duration, 10, "connect_timeout"),
        (&protocol, 6, "protocol"),
    ] {
        let out = periscope_cli(&["validate", file]);
        let (stdout, stderr) = text(&out);
        assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
        let error = stderr
            .lines()
            .find(|l| l.starts_with(&format!("{file}:{line}:")))
            .unwrap_or_else(|| panic!("no '{file}:{line}:' line in stderr:\n{stderr}"));
        assert!(error.contains(field), "field path missing: {error}");
    }
}

#[test]
fn validate_reports_each_file() {
    let dir = WorkDir::new("cli");
    let bad = dir.write("bad.yaml", BAD_DURATION).display().to_string();
    let good = dir
        .write("good.yaml", BAD_DURATION.replace("soon", "2s"))
        .display()
        .to_string();
    let out = periscope_cli(&["validate", &good, &bad]);
    let (stdout, stderr) = text(&out);
    assert_eq!(out.status.code(), Some(1), "{stdout}{stderr}");
    assert!(stdout.contains(&format!("{good}: ok")), "{stdout}");
    assert!(stderr.contains(&format!("{bad}:10:")), "{stderr}");
}

#[test]
fn broken_config_refuses_to_start() {
    let dir = WorkDir::new("cli");
    let bad = dir.write("bad.yaml", BAD_PROTOCOL).display().to_string();
    let out = periscope_cli(&["--config", &bad]);
    let (_, stderr) = text(&out);
    assert!(!out.status.success(), "started with a broken config");
    assert!(stderr.contains(&format!("{bad}:6:")), "{stderr}");
}

#[test]
fn quick_mode_proxies_to_the_upstream() {
    let nginx = Nginx::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let upstream = nginx.h1.to_string();
    let px = Periscope::quick(&[
        "--listen",
        &listen,
        "--upstream",
        &upstream,
        "--protocol",
        "http",
        "--workers",
        "1",
    ]);
    let r = Curl::get(&px.url("quick", "/bytes/1k")).run();
    assert_eq!((r.status, r.body.len()), (200, 1024), "{}", r.stderr);
    px.wait_metric(
        common::REQUESTS,
        &[
            ("http_request_method", "GET"),
            ("http_response_status_code", "200"),
        ],
        1.0,
    );
}

//! The real `curl` binary as an HTTP client.
//!
//!     let r = Curl::get(&url).header("host", "example.com").run();
//!     assert_eq!(r.status, 200);
use super::clients::require_tool;
use super::workdir::WorkDir;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

pub struct Curl {
    url: String,
    args: Vec<String>,
    keep_body: bool,
}

/// What curl saw: the final response's status, headers and body.
#[derive(Debug, Clone)]
pub struct CurlResponse {
    pub status: u16,
    /// "1.1" or "2" as curl reports `%{http_version}`.
    pub http_version: String,
    /// Lower-cased names, in order, of the last header block.
    pub headers: Vec<(String, String)>,
    /// Empty when the body was discarded (`discard_body`).
    pub body: Vec<u8>,
    pub bytes_downloaded: u64,
    /// curl's exit code and stderr (a transfer error is not a panic: tests
    /// of failure paths want to look at it).
    pub exit_code: i32,
    pub stderr: String,
}

impl CurlResponse {
    /// First value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn body_text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

impl Curl {
    pub fn get(url: &str) -> Curl {
        Curl {
            url: url.to_string(),
            args: Vec::new(),
            keep_body: true,
        }
    }

    /// POST with the body read from `file` (`--data-binary @file`).
    pub fn post_file(url: &str, file: &Path) -> Curl {
        Curl::get(url)
            .arg("--data-binary")
            .arg(&format!("@{}", file.display()))
    }

    /// Any extra curl argument.
    pub fn arg(mut self, a: &str) -> Curl {
        self.args.push(a.to_string());
        self
    }

    pub fn header(self, name: &str, value: &str) -> Curl {
        self.arg("-H").arg(&format!("{name}: {value}"))
    }

    /// HTTP/2 cleartext without Upgrade (curl's `--http2-prior-knowledge`).
    pub fn http2_prior_knowledge(self) -> Curl {
        self.arg("--http2-prior-knowledge")
    }

    /// Sends the upload with `Transfer-Encoding: chunked` instead of a length.
    pub fn chunked(self) -> Curl {
        self.header("Transfer-Encoding", "chunked")
    }

    /// Counts the body but does not keep it (large downloads).
    pub fn discard_body(mut self) -> Curl {
        self.keep_body = false;
        self
    }

    /// Runs curl (20 s cap) and returns what it saw.
    pub fn run(self) -> CurlResponse {
        let bin = require_tool("curl", "curl");
        let dir = WorkDir::new("curl");
        let headers_file = dir.join("headers");
        let body_file: PathBuf = if self.keep_body {
            dir.join("body")
        } else {
            PathBuf::from("/dev/null")
        };
        let out = Command::new(bin)
            .args(["-sS", "--max-time", "20", "-o"])
            .arg(&body_file)
            .arg("-D")
            .arg(&headers_file)
            .args(["-w", "%{http_code} %{http_version} %{size_download}"])
            .args(&self.args)
            .arg(&self.url)
            .stdin(Stdio::null())
            .output()
            .expect("run curl");
        let written = String::from_utf8_lossy(&out.stdout).into_owned();
        let mut w = written.split_whitespace();
        let status = w.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let http_version = w.next().unwrap_or("").to_string();
        let bytes_downloaded = w.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let raw_headers = std::fs::read_to_string(&headers_file).unwrap_or_default();
        CurlResponse {
            status,
            http_version,
            headers: last_header_block(&raw_headers),
            body: if self.keep_body {
                std::fs::read(&body_file).unwrap_or_default()
            } else {
                Vec::new()
            },
            bytes_downloaded,
            exit_code: out.status.code().unwrap_or(-1),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }
}

/// Parses the last block of a `-D` dump (earlier blocks are 1xx responses).
fn last_header_block(raw: &str) -> Vec<(String, String)> {
    let blocks: Vec<&str> = raw
        .split("\r\n\r\n")
        .filter(|b| !b.trim().is_empty())
        .collect();
    let Some(last) = blocks.last() else {
        return Vec::new();
    };
    last.lines()
        .skip(1) // status line
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect()
}

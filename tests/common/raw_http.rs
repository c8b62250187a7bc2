//! Raw TCP for what real clients refuse to send: malformed requests,
//! pipelined requests in one write, arbitrary bytes. Plus a tiny blocking
//! HTTP GET the harness uses for the admin port (`/ready`, `/metrics`).
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// One TCP connection driven byte by byte.
pub struct RawConn {
    stream: TcpStream,
}

impl RawConn {
    pub fn connect(addr: SocketAddr) -> RawConn {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
            .unwrap_or_else(|e| panic!("connect {addr}: {e}"));
        stream.set_nodelay(true).ok();
        RawConn { stream }
    }

    /// Writes all of `bytes` in one `write_all`.
    pub fn send(&mut self, bytes: &[u8]) -> &mut RawConn {
        self.stream.write_all(bytes).expect("raw write");
        self
    }

    /// Closes our sending half (the peer sees EOF), keeps reading possible.
    pub fn shutdown_write(&mut self) {
        self.stream.shutdown(std::net::Shutdown::Write).ok();
    }

    /// Reads until the peer closes or `timeout` passes; returns the bytes and
    /// whether the peer closed.
    pub fn read_until_close(&mut self, timeout: Duration) -> (Vec<u8>, bool) {
        self.read_while(timeout, |_| true)
    }

    /// Reads until at least `n` bytes arrived, the peer closed, or `timeout`.
    pub fn read_at_least(&mut self, n: usize, timeout: Duration) -> Vec<u8> {
        self.read_while(timeout, |got| got.len() < n).0
    }

    /// Reads until `n` complete HTTP/1.1 responses arrived (or close/timeout)
    /// and returns them parsed, in order.
    pub fn read_responses(&mut self, n: usize, timeout: Duration) -> Vec<RawResponse> {
        let (bytes, _) = self.read_while(timeout, |got| parse_responses(got).len() < n);
        parse_responses(&bytes)
    }

    /// True when the peer has closed: a read returns EOF (or reset) within
    /// `timeout`. Data still arriving is consumed.
    pub fn is_closed_by_peer(&mut self, timeout: Duration) -> bool {
        self.read_until_close(timeout).1
    }

    fn read_while(
        &mut self,
        timeout: Duration,
        mut more: impl FnMut(&[u8]) -> bool,
    ) -> (Vec<u8>, bool) {
        let deadline = Instant::now() + timeout;
        let mut got = Vec::new();
        let mut buf = [0u8; 64 * 1024];
        while more(&got) {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return (got, false);
            }
            self.stream.set_read_timeout(Some(left)).ok();
            match self.stream.read(&mut buf) {
                Ok(0) => return (got, true),
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return (got, false)
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(_) => return (got, true), // reset counts as closed
            }
        }
        (got, false)
    }
}

/// An HTTP/1.x response parsed from raw bytes.
#[derive(Debug, Clone)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(k, _)| *k == name)
            .map(|(_, v)| v.as_str())
    }
}

/// Parses as many complete responses as `bytes` holds. Bodies are framed by
/// Content-Length or chunked encoding; 1xx, 204 and 304 have none. A
/// response without either framing is read to the end of `bytes`.
pub fn parse_responses(mut bytes: &[u8]) -> Vec<RawResponse> {
    let mut out = Vec::new();
    while let Some((response, used)) = parse_one(bytes) {
        out.push(response);
        bytes = &bytes[used..];
    }
    out
}

fn parse_one(bytes: &[u8]) -> Option<(RawResponse, usize)> {
    let head_end = find(bytes, b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&bytes[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let status: u16 = lines.next()?.split_whitespace().nth(1)?.parse().ok()?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let get = |n: &str| headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let rest = &bytes[head_end..];
    let (body, used) = if (100..200).contains(&status) || status == 204 || status == 304 {
        (Vec::new(), 0)
    } else if let Some(len) = get("content-length") {
        let len: usize = len.parse().ok()?;
        (rest.get(..len)?.to_vec(), len)
    } else if get("transfer-encoding").is_some_and(|t| t.contains("chunked")) {
        dechunk(rest)?
    } else {
        (rest.to_vec(), rest.len())
    };
    Some((
        RawResponse {
            status,
            headers,
            body,
        },
        head_end + used,
    ))
}

/// Decodes a complete chunked body; `None` while incomplete.
fn dechunk(mut bytes: &[u8]) -> Option<(Vec<u8>, usize)> {
    let total = bytes.len();
    let mut body = Vec::new();
    loop {
        let line_end = find(bytes, b"\r\n")?;
        let size_text = std::str::from_utf8(&bytes[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        bytes = &bytes[line_end + 2..];
        if size == 0 {
            let trailer_end = find(bytes, b"\r\n")?; // no trailers expected
            bytes = &bytes[trailer_end + 2..];
            return Some((body, total - bytes.len()));
        }
        body.extend_from_slice(bytes.get(..size)?);
        bytes = bytes.get(size + 2..)?;
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// A blocking `GET path` with `Connection: close`; returns status and body.
/// `Err` when the server cannot be reached or answers garbage.
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), String> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2))
        .map_err(|e| format!("connect {addr}: {e}"))?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut bytes = Vec::new();
    stream
        .read_to_end(&mut bytes)
        .map_err(|e| format!("read {addr}{path}: {e}"))?;
    let (response, _) = parse_one(&bytes).ok_or_else(|| {
        format!(
            "unparsable response from {addr}{path}: {:?}",
            String::from_utf8_lossy(&bytes)
        )
    })?;
    Ok((
        response.status,
        String::from_utf8_lossy(&response.body).into_owned(),
    ))
}

//! Free loopback ports for peers and listeners.
//!
//! Ports are probed by binding and released at once, so another process could
//! in principle grab one before the test binds it. Two things keep that
//! unlikely: ports come from below the kernel's ephemeral range (32768+),
//! which outgoing connections of curl, nginx and periscope never take, and a
//! process-wide counter never hands the same port to two tests of one binary.
//! Servers that still lose the race are restarted on new ports by their
//! starters (see `Nginx::start`, `Periscope::start`).
use std::net::{SocketAddr, TcpListener};
use std::sync::atomic::{AtomicU16, Ordering};

/// Start and end of the window ports are drawn from (below the ephemeral range).
const LOW: u16 = 20_000;
const HIGH: u16 = 32_000;

static CURSOR: AtomicU16 = AtomicU16::new(0);

/// Returns a loopback port that was free a moment ago and that no other test
/// in this process has been given.
pub fn free_port() -> u16 {
    let span = HIGH - LOW;
    // Test processes running side by side (several engineers on one
    // machine) start far apart: the seed scatters neighbouring pids.
    let scattered = u64::from(std::process::id()).wrapping_mul(2_654_435_761) % u64::from(span);
    let seed = scattered as u16;
    let _ = CURSOR.compare_exchange(0, seed.max(1), Ordering::Relaxed, Ordering::Relaxed);
    for _ in 0..span {
        let n = CURSOR.fetch_add(1, Ordering::Relaxed);
        let port = LOW + n % span;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    // Window exhausted: let the kernel choose.
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local_addr").port()
}

/// A loopback address nothing listens on (connections are refused), for
/// "upstream down" tests.
pub fn closed_addr() -> SocketAddr {
    loop {
        let addr = free_addr();
        if std::net::TcpStream::connect(addr).is_err() {
            return addr;
        }
    }
}

/// `127.0.0.1:<free port>`.
pub fn free_addr() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], free_port()))
}

/// True when a process log says a bind failed because the port was taken,
/// the one start-up failure worth retrying with fresh ports.
pub fn looks_like_port_clash(log: &str) -> bool {
    let l = log.to_ascii_lowercase();
    l.contains("address already in use") || l.contains("addrinuse") || l.contains("os error 98")
}

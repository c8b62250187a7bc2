//! Tiny opaque-TCP upstreams written in the test itself: an echo server that
//! records every byte it received, optionally sending a banner first (a
//! server-speaks-first protocol, like SMTP or MySQL greetings), or staying
//! silent (an upstream that hangs, for timeouts).
//!
//! They bind 127.0.0.1:0 directly, so they never race for a port.
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

pub struct EchoServer {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<u8>>,
    connections: AtomicUsize,
    stop: AtomicBool,
    /// Record but never answer.
    silent: bool,
}

impl EchoServer {
    /// Echoes every byte back on every connection.
    pub fn start() -> EchoServer {
        EchoServer::spawn(Vec::new())
    }

    /// Sends `banner` as soon as a connection is accepted, then echoes.
    pub fn with_banner(banner: &[u8]) -> EchoServer {
        EchoServer::spawn(banner.to_vec())
    }

    /// Accepts and reads, but never writes a byte back.
    pub fn silent() -> EchoServer {
        EchoServer::spawn_with(Vec::new(), true)
    }

    /// All bytes received so far, over all connections, in arrival order.
    pub fn received(&self) -> Vec<u8> {
        self.shared.received.lock().unwrap().clone()
    }

    /// Connections accepted so far.
    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }

    fn spawn(banner: Vec<u8>) -> EchoServer {
        EchoServer::spawn_with(banner, false)
    }

    fn spawn_with(banner: Vec<u8>, silent: bool) -> EchoServer {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind echo server");
        let addr = listener.local_addr().expect("echo server addr");
        listener.set_nonblocking(true).expect("nonblocking accept");
        let shared = Arc::new(Shared {
            silent,
            ..Shared::default()
        });
        let s = shared.clone();
        thread::spawn(move || accept_loop(listener, banner, s));
        EchoServer { addr, shared }
    }
}

impl Drop for EchoServer {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
    }
}

/// Polls accept so the loop notices `stop` without a wake-up connection.
fn accept_loop(listener: TcpListener, banner: Vec<u8>, shared: Arc<Shared>) {
    while !shared.stop.load(Ordering::SeqCst) {
        match listener.accept() {
            Ok((stream, _)) => {
                shared.connections.fetch_add(1, Ordering::SeqCst);
                let (banner, shared) = (banner.clone(), shared.clone());
                thread::spawn(move || echo(stream, &banner, &shared));
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock => {
                thread::sleep(Duration::from_millis(5));
            }
            Err(_) => thread::sleep(Duration::from_millis(5)),
        }
    }
}

fn echo(mut stream: TcpStream, banner: &[u8], shared: &Shared) {
    stream.set_nonblocking(false).ok();
    stream
        .set_read_timeout(Some(Duration::from_millis(100)))
        .ok();
    if !banner.is_empty() && stream.write_all(banner).is_err() {
        return;
    }
    let mut buf = [0u8; 16 * 1024];
    while !shared.stop.load(Ordering::SeqCst) {
        match stream.read(&mut buf) {
            Ok(0) => return,
            Ok(n) => {
                shared.received.lock().unwrap().extend_from_slice(&buf[..n]);
                if !shared.silent && stream.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {}
            Err(_) => return,
        }
    }
}

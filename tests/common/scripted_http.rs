//! An HTTP/1.1 upstream that answers every request head with the same
//! bytes; after a `101` it echoes whatever follows instead: what no real
//! server does on purpose (an unasked `101`, a `101` to another protocol,
//! new-protocol bytes in the very write of the `101`), for the edges of
//! protocol upgrades. Records every byte it read and counts connections.
//!
//! It binds 127.0.0.1:0 directly, so it never races for a port.
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;

pub struct ScriptedHttp {
    pub addr: SocketAddr,
    shared: Arc<Shared>,
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<u8>>,
    connections: AtomicUsize,
}

impl ScriptedHttp {
    /// Answers each request head with `answer` (in one write); once that
    /// was a `101`, echoes the rest of the connection.
    pub fn answering(answer: &'static [u8]) -> ScriptedHttp {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind scripted upstream");
        let addr = listener.local_addr().expect("scripted upstream addr");
        let shared = Arc::new(Shared::default());
        let accepting = shared.clone();
        thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(conn) = conn else { return };
                accepting.connections.fetch_add(1, Ordering::SeqCst);
                let shared = accepting.clone();
                thread::spawn(move || serve(conn, answer, &shared));
            }
        });
        ScriptedHttp { addr, shared }
    }

    /// Every byte read so far, over all connections.
    pub fn received(&self) -> String {
        String::from_utf8_lossy(&self.shared.received.lock().unwrap()).into_owned()
    }

    pub fn connections(&self) -> usize {
        self.shared.connections.load(Ordering::SeqCst)
    }
}

fn serve(mut conn: TcpStream, answer: &[u8], shared: &Shared) {
    let mut buf = [0u8; 64 * 1024];
    let mut pending = Vec::new();
    loop {
        let Some(end) = pending.windows(4).position(|w| w == b"\r\n\r\n") else {
            match conn.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => pending.extend_from_slice(&buf[..n]),
            }
            continue;
        };
        let rest = pending.split_off(end + 4);
        shared.received.lock().unwrap().extend_from_slice(&pending);
        pending = rest;
        if conn.write_all(answer).is_err() {
            return;
        }
        if answer.starts_with(b"HTTP/1.1 101") {
            break;
        }
    }
    // Switched: echo, starting with what came behind the head.
    shared.received.lock().unwrap().extend_from_slice(&pending);
    if conn.write_all(&pending).is_err() {
        return;
    }
    loop {
        match conn.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                shared.received.lock().unwrap().extend_from_slice(&buf[..n]);
                if conn.write_all(&buf[..n]).is_err() {
                    return;
                }
            }
        }
    }
}

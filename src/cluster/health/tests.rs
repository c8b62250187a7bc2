//! Health-check thresholds and the check kinds' pure parts, then whole
//! checks against local sockets.
use super::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn endpoint(address: &str) -> super::super::Endpoint {
    super::super::Endpoint::new(0, address, 1).expect("endpoint")
}

/// A probe of `endpoint` without TLS.
fn plain(endpoint: &super::super::Endpoint) -> Target<'_> {
    Target {
        endpoint,
        tls: None,
    }
}

fn config(healthy: u32, unhealthy: u32) -> HealthCheckConfig {
    HealthCheckConfig {
        interval: Duration::from_secs(5),
        unhealthy_interval: Duration::from_secs(5),
        unhealthy_edge_interval: Duration::from_secs(5),
        healthy_edge_interval: Duration::from_secs(5),
        interval_jitter: Duration::ZERO,
        timeout: Duration::from_secs(1),
        unhealthy_threshold: unhealthy,
        healthy_threshold: healthy,
        reuse_connection: true,
        kind: HealthCheckKind::Tcp {
            send: Vec::new(),
            receive: Vec::new(),
        },
    }
}

/// Feeds results to a streak, tracking health, and returns the flips.
fn flips(results: &[bool], config: &HealthCheckConfig) -> Vec<(usize, bool)> {
    let mut streak = Streak::default();
    let mut healthy = true;
    let mut out = Vec::new();
    for (i, &passed) in results.iter().enumerate() {
        if let Some(now) = streak.record(passed, healthy, config) {
            healthy = now;
            out.push((i, now));
        }
    }
    out
}

#[test]
fn the_first_failure_decides_then_thresholds_apply() {
    let c = config(2, 3);
    assert_eq!(flips(&[false], &c), [(0, false)]);
    // Healthy at first; 2 failures < 3 do nothing; the third flips.
    let run = [true, false, false, true, false, false, false, true, true];
    assert_eq!(flips(&run, &c), [(6, false), (8, true)]);
    // A failure between passes restarts the healthy count.
    let run = [false, true, false, true, true];
    assert_eq!(flips(&run, &c), [(0, false), (4, true)]);
}

#[test]
fn http_statuses_in_half_open_ranges() {
    let expected = [(200, 400)];
    assert_eq!(http::status_result(200, &expected), CheckResult::Success);
    assert_eq!(http::status_result(399, &expected), CheckResult::Success);
    assert_eq!(
        http::status_result(400, &expected),
        CheckResult::Failure("http status 400".into())
    );
    assert_eq!(
        http::status_result(503, &[(200, 201), (503, 504)]),
        CheckResult::Success
    );
}

#[test]
fn tcp_blocks_match_in_order_not_adjacent() {
    let blocks = |b: &[&str]| b.iter().map(|s| s.as_bytes().to_vec()).collect::<Vec<_>>();
    let reply = b"HTTP/1.1 200 OK\r\nServer: x\r\n\r\nok\n";
    assert!(tcp::matches_in_order(reply, &blocks(&["200", "ok"])));
    assert!(!tcp::matches_in_order(reply, &blocks(&["ok", "200"])));
    assert!(!tcp::matches_in_order(b"20", &blocks(&["200"])));
}

#[test]
fn grpc_messages_by_hand() {
    let frame = grpc::request_frame("periscope.test.Greeter");
    assert_eq!(&frame[..5], &[0, 0, 0, 0, 24]);
    assert_eq!(&frame[5..7], &[0x0a, 22]);
    assert_eq!(&frame[7..], b"periscope.test.Greeter");
    assert_eq!(&grpc::request_frame("")[..], &[0, 0, 0, 0, 0]);
    // status: SERVING (field 1 = 1), after the 5-byte prefix.
    assert_eq!(
        grpc::verdict("0", &[0, 0, 0, 0, 2, 0x08, 1]),
        CheckResult::Success
    );
    assert_eq!(
        grpc::verdict("0", &[0, 0, 0, 0, 2, 0x08, 2]),
        CheckResult::Failure("serving status NOT_SERVING".into())
    );
    assert_eq!(
        grpc::verdict("5", &[]),
        CheckResult::Failure("grpc-status 5".into())
    );
    // An empty message is proto3's default: UNKNOWN.
    assert_eq!(grpc::serving_status(&[]), Some(0));
    assert_eq!(grpc::serving_status(&[0x12, 1, b'x', 0x08, 1]), Some(1));
    assert_eq!(grpc::serving_status(&[0x08]), None);
}

#[tokio::test]
async fn tcp_check_sends_and_reads_until_the_blocks_arrive() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    let endpoint = endpoint(&address);
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buf = [0u8; 4];
            if socket.read_exact(&mut buf).await.is_ok() && &buf == b"PING" {
                let _ = socket.write_all(b"+PO").await;
                tokio::time::sleep(Duration::from_millis(20)).await;
                let _ = socket.write_all(b"NG\r\n").await;
            }
        }
    });
    let pong = vec![b"PONG".to_vec()];
    assert_eq!(
        tcp::check(&mut None, plain(&endpoint), b"PING", &pong).await,
        CheckResult::Success
    );
    assert_eq!(
        tcp::check(&mut None, plain(&endpoint), b"", &[]).await,
        CheckResult::Success
    );
    assert!(matches!(
        tcp::check(&mut None, plain(&endpoint), b"PONG", &pong).await,
        CheckResult::Failure(_)
    ));
}

#[tokio::test]
async fn a_closed_port_is_a_network_failure() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    let endpoint = endpoint(&address);
    drop(listener);
    let result = tcp::check(&mut None, plain(&endpoint), b"", &[]).await;
    assert!(
        matches!(result, CheckResult::NetworkFailure(_)),
        "{result:?}"
    );
}

/// A kept HTTP check connection the server closes between checks: the
/// next check moves to a fresh connection and passes. Each connection
/// answers one request with keep-alive, then closes (an idle timeout).
#[tokio::test]
async fn http_check_moves_off_a_kept_connection_the_server_closed() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    let endpoint = endpoint(&address);
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::Relaxed);
            let mut buf = [0u8; 1024];
            let mut head = Vec::new();
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match socket.read(&mut buf).await {
                    Ok(0) | Err(_) => break,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let answer = b"HTTP/1.1 200 OK\r\ncontent-length: 3\r\n\r\nok\n";
            let _ = socket.write_all(answer).await;
            tokio::time::sleep(Duration::from_millis(30)).await;
        }
    });
    let mut kept = None;
    for _ in 0..3 {
        let result = http::check(&mut kept, plain(&endpoint), "/health", "h", &[(200, 201)]).await;
        assert_eq!(result, CheckResult::Success);
        assert!(kept.is_some(), "kept after a whole keep-alive answer");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(accepted.load(Ordering::Relaxed), 3);
}

/// A TCP check that passed keeps its connection and the next one sends on
/// it; when the server closes it between checks, the next check connects
/// afresh and passes. Each connection answers two PINGs, then closes.
#[tokio::test]
async fn tcp_check_reuses_its_connection_until_the_server_closes_it() {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("addr").to_string();
    let endpoint = endpoint(&address);
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::Relaxed);
            for _ in 0..2 {
                let mut buf = [0u8; 4];
                if socket.read_exact(&mut buf).await.is_err() {
                    break;
                }
                let _ = socket.write_all(b"PONG").await;
            }
        }
    });
    let pong = vec![b"PONG".to_vec()];
    let mut kept = None;
    for _ in 0..4 {
        let result = tcp::check(&mut kept, plain(&endpoint), b"PING", &pong).await;
        assert_eq!(result, CheckResult::Success);
        assert!(kept.is_some(), "kept after a passing check");
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    assert_eq!(accepted.load(Ordering::Relaxed), 2);
    // Connect-only checks test connecting: nothing is kept.
    let mut kept = None;
    tcp::check(&mut kept, plain(&endpoint), b"", &[]).await;
    assert!(kept.is_none());
}

//! Our HTTP/1.1 client on the wire, against a scripted TCP server: the
//! framings a server may choose, trailers, interim answers, early answers
//! to uploads, and connections that end between or inside responses.
use crate::cluster::{Cluster, HashSource};
use crate::config::{
    CircuitBreakersConfig, ClusterConfig, Discovery, EndpointConfig, LbPolicy, UpstreamProtocol,
};
use crate::l7::h1::H1Pool;
use crate::l7::upstream::SendError;
use crate::l7::upstream_body::UpstreamBody;
use crate::pipeline::Families;
use bytes::Bytes;
use http::{HeaderMap, Request};
use http_body_util::BodyExt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a scripted connection does with each request head it reads:
/// the bytes to answer, and whether to close afterwards.
type Script = fn(usize, &str) -> (Vec<u8>, bool);

/// A server running `script` per request; counts accepted connections.
/// Requests' heads (and any body bytes after them) are collected.
async fn scripted(script: Script) -> (String, Arc<AtomicUsize>, Arc<std::sync::Mutex<Vec<u8>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let seen = Arc::new(std::sync::Mutex::new(Vec::new()));
    let (count, log) = (accepted.clone(), seen.clone());
    tokio::spawn(async move {
        let requests = Arc::new(AtomicUsize::new(0));
        while let Ok((tcp, _)) = listener.accept().await {
            count.fetch_add(1, Ordering::SeqCst);
            tokio::spawn(serve(tcp, script, requests.clone(), log.clone()));
        }
    });
    (address, accepted, seen)
}

async fn serve(
    mut tcp: TcpStream,
    script: Script,
    requests: Arc<AtomicUsize>,
    log: Arc<std::sync::Mutex<Vec<u8>>>,
) {
    let mut pending = Vec::new();
    loop {
        while !pending.windows(4).any(|w| w == b"\r\n\r\n") {
            let mut chunk = [0u8; 4096];
            match tcp.read(&mut chunk).await {
                Ok(0) | Err(_) => return,
                Ok(n) => {
                    pending.extend_from_slice(&chunk[..n]);
                    log.lock().expect("log").extend_from_slice(&chunk[..n]);
                }
            }
        }
        let end = pending
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("head")
            + 4;
        let head = String::from_utf8_lossy(&pending[..end]).to_string();
        pending.drain(..end);
        let n = requests.fetch_add(1, Ordering::SeqCst);
        let (answer, close) = script(n, &head);
        if tcp.write_all(&answer).await.is_err() || close {
            return;
        }
        if head.contains("transfer-encoding: chunked") {
            // Consume the chunked body up to its last chunk.
            while !pending.windows(5).any(|w| w == b"0\r\n\r\n") {
                let mut chunk = [0u8; 4096];
                match tcp.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        pending.extend_from_slice(&chunk[..n]);
                        log.lock().expect("log").extend_from_slice(&chunk[..n]);
                    }
                }
            }
            pending.clear();
        }
    }
}

fn cluster(address: &str) -> Cluster {
    let config = ClusterConfig {
        circuit_breakers: CircuitBreakersConfig::default(),
        name: "scripted".into(),
        protocol: UpstreamProtocol::Http1,
        connect_timeout: Duration::from_secs(1),
        lb_policy: LbPolicy::RoundRobin,
        hash_policy: None,
        endpoints: vec![EndpointConfig {
            address: address.into(),
            weight: 1,
        }],
        health_check: None,
        outlier_detection: None,
        healthy_panic_threshold: 50,
        discovery: Discovery::Static,
        tls: None,
    };
    Cluster::new(&config, &Families::new()).expect("valid cluster")
}

struct Exchange {
    status: u16,
    body: Bytes,
    trailers: Option<HeaderMap>,
}

async fn send(
    pool: &H1Pool,
    cluster: &Cluster,
    request: Request<UpstreamBody>,
) -> Result<Exchange, String> {
    let peer = std::net::IpAddr::from([127, 0, 0, 1]);
    let picked = cluster
        .pick(HashSource::Connection { peer })
        .expect("endpoint");
    let response = match pool.send(&cluster.breakers, picked.endpoint, request).await {
        Ok(response) => response,
        Err(SendError::Failed(failure, detail)) => return Err(format!("{failure:?}: {detail}")),
        Err(SendError::Overflow) => return Err("overflow".into()),
    };
    let status = response.status().as_u16();
    let collected = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?;
    let trailers = collected.trailers().cloned();
    Ok(Exchange {
        status,
        body: collected.to_bytes(),
        trailers,
    })
}

fn get(path: &str) -> Request<UpstreamBody> {
    Request::builder()
        .uri(path)
        .header("host", "scripted")
        .body(UpstreamBody::Kept { body: None })
        .expect("request")
}

#[tokio::test]
async fn a_chunked_answer_with_trailers_arrives_whole_and_the_connection_is_reused() {
    let (address, accepted, _) = scripted(|_, _| {
        let wire = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4\r\nabcd\r\n3\r\nefg\r\n0\r\ngrpc-status: 0\r\n\r\n";
        (wire.to_vec(), false)
    })
    .await;
    let (cluster, pool) = (
        cluster(&address),
        H1Pool::new(1, Duration::from_secs(1), None),
    );
    for _ in 0..3 {
        let answer = send(&pool, &cluster, get("/")).await.expect("answered");
        assert_eq!(
            (answer.status, answer.body.as_ref()),
            (200, &b"abcdefg"[..])
        );
        assert_eq!(answer.trailers.expect("trailers")["grpc-status"], "0");
    }
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        1,
        "one connection for all three"
    );
}

#[tokio::test]
async fn a_close_delimited_answer_ends_at_the_close_and_is_not_reused() {
    let (address, accepted, _) =
        scripted(|_, _| (b"HTTP/1.1 200 OK\r\n\r\nuntil the end".to_vec(), true)).await;
    let (cluster, pool) = (
        cluster(&address),
        H1Pool::new(1, Duration::from_secs(1), None),
    );
    for _ in 0..2 {
        let answer = send(&pool, &cluster, get("/")).await.expect("answered");
        assert_eq!(answer.body, "until the end");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    assert_eq!(pool.idle(0), 0);
}

#[tokio::test]
async fn a_keep_alive_connection_the_server_closed_while_idle_is_not_used() {
    // Answers with a length, then closes: the next request must notice
    // at checkout and open a new connection instead of failing.
    let (address, accepted, _) = scripted(|_, _| {
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok".to_vec(),
            true,
        )
    })
    .await;
    let (cluster, pool) = (
        cluster(&address),
        H1Pool::new(1, Duration::from_secs(1), None),
    );
    for _ in 0..3 {
        assert_eq!(
            send(&pool, &cluster, get("/"))
                .await
                .expect("answered")
                .body,
            "ok"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn interim_answers_are_skipped_and_head_answers_have_no_body() {
    let (address, _, _) = scripted(|_, head| match head.starts_with("HEAD") {
        true => (
            b"HTTP/1.1 200 OK\r\nContent-Length: 50\r\n\r\n".to_vec(),
            false,
        ),
        false => (
            b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 1\r\n\r\nx"
                .to_vec(),
            false,
        ),
    })
    .await;
    let (cluster, pool) = (
        cluster(&address),
        H1Pool::new(1, Duration::from_secs(1), None),
    );
    let mut head = get("/");
    *head.method_mut() = http::Method::HEAD;
    let answer = send(&pool, &cluster, head).await.expect("answered");
    assert_eq!((answer.status, answer.body.len()), (200, 0));
    let answer = send(&pool, &cluster, get("/")).await.expect("answered");
    assert_eq!((answer.status, answer.body.as_ref()), (201, &b"x"[..]));
}

#[tokio::test]
async fn an_answer_cut_mid_body_is_an_error_and_a_garbled_head_a_protocol_failure() {
    let (address, _, _) = scripted(|n, _| match n {
        0 => (
            b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort".to_vec(),
            true,
        ),
        _ => (b"SSH-2.0-OpenSSH_9.2\r\n\r\n".to_vec(), true),
    })
    .await;
    let (cluster, pool) = (
        cluster(&address),
        H1Pool::new(1, Duration::from_secs(1), None),
    );
    let cut = send(&pool, &cluster, get("/")).await.err().expect("cut");
    assert!(cut.contains("mid-body"), "{cut}");
    let garbled = send(&pool, &cluster, get("/"))
        .await
        .err()
        .expect("garbled");
    assert!(garbled.starts_with("Protocol"), "{garbled}");
}

/// A POST with a body of `len` bytes, kept whole (as for retries).
fn upload(len: usize) -> Request<UpstreamBody> {
    let body = Some(Bytes::from(vec![b'u'; len]));
    Request::builder()
        .method("POST")
        .uri("/upload")
        .header("host", "scripted")
        .body(UpstreamBody::Kept { body })
        .expect("request")
}

#[tokio::test]
async fn an_early_answer_to_an_upload_is_delivered_and_ends_the_connection() {
    // 413 after the head alone; the server never reads the 64 MiB body.
    let (address, accepted, _) = scripted(|_, _| {
        (
            b"HTTP/1.1 413 Payload Too Large\r\nContent-Length: 0\r\n\r\n".to_vec(),
            false,
        )
    })
    .await;
    let (cluster, pool) = (
        cluster(&address),
        H1Pool::new(1, Duration::from_secs(1), None),
    );
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        send(&pool, &cluster, upload(64 << 20)),
    )
    .await
    .expect("no deadlock")
    .expect("answered");
    assert_eq!(answer.status, 413);
    assert_eq!(
        pool.idle(0),
        0,
        "the unread rest of the body spoils the connection"
    );
    assert_eq!(
        send(&pool, &cluster, get("/"))
            .await
            .expect("answered")
            .status,
        413
    );
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_body_longer_than_its_length_never_reaches_the_upstream() {
    let (address, _, seen) = scripted(|_, _| {
        (
            b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n".to_vec(),
            false,
        )
    })
    .await;
    let (cluster, pool) = (
        cluster(&address),
        H1Pool::new(1, Duration::from_secs(1), None),
    );
    let mut request = upload(10);
    request
        .headers_mut()
        .insert("content-length", http::HeaderValue::from_static("3"));
    let refused = send(&pool, &cluster, request).await.err().expect("refused");
    assert!(refused.contains("content-length"), "{refused}");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(
        seen.lock().expect("log").is_empty(),
        "not even the head went out"
    );
}

/// Answers at once with the start of a chunked body, then reads the whole
/// upload, then ends its answer: a server that answers while it reads.
async fn full_duplex_server(upload: usize) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    tokio::spawn(async move {
        let (mut tcp, _) = listener.accept().await.expect("accept");
        let mut seen = Vec::new();
        let mut chunk = vec![0u8; 64 * 1024];
        while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = tcp.read(&mut chunk).await.expect("read");
            seen.extend_from_slice(&chunk[..n]);
        }
        let head_end = seen
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("head")
            + 4;
        tcp.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nstart\r\n")
            .await
            .expect("answer");
        let mut body = seen.len() - head_end;
        while body < upload {
            let n = tcp.read(&mut chunk).await.expect("read");
            assert!(n > 0, "client stopped sending at {body} of {upload}");
            body += n;
        }
        tcp.write_all(b"3\r\nend\r\n0\r\n\r\n").await.expect("end");
        let _ = tcp.read(&mut chunk).await;
    });
    address
}

#[tokio::test]
async fn an_answer_that_starts_while_the_upload_goes_on_does_not_stop_it() {
    let address = full_duplex_server(4 << 20).await;
    let (cluster, pool) = (
        cluster(&address),
        H1Pool::new(1, Duration::from_secs(1), None),
    );
    let answer = tokio::time::timeout(
        Duration::from_secs(10),
        send(&pool, &cluster, upload(4 << 20)),
    )
    .await
    .expect("no deadlock")
    .expect("answered");
    assert_eq!(
        (answer.status, answer.body.as_ref()),
        (200, &b"startend"[..])
    );
}

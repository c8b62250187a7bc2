//! The pool against an in-process hyper server that counts its accepted
//! connections: reuse, `max_connections` with waiting requests, and the
//! pending overflow.
use super::*;
use crate::cluster::Cluster;
use crate::config::{
    CircuitBreakersConfig, ClusterConfig, Discovery, EndpointConfig, LbPolicy, UpstreamProtocol,
};
use crate::pipeline::Families;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::sync::atomic::AtomicUsize;
use tokio::net::TcpListener;

/// Answers "ok"; `/slow` after 300 ms; `/echo...` with the request
/// target it received. Returns its address and the
/// number of connections it accepted.
async fn server() -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let address = listener.local_addr().expect("address").to_string();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = accepted.clone();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            let service = service_fn(|request: Request<Incoming>| async move {
                if request.uri().path() == "/slow" {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                }
                let body = match request.uri().path().starts_with("/echo") {
                    true => request.uri().to_string(),
                    false => "ok".to_string(),
                };
                Ok::<_, Infallible>(Response::new(Full::new(bytes::Bytes::from(body))))
            });
            tokio::spawn(async move {
                let io = TokioIo::new(tcp);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    (address, accepted)
}

fn cluster(address: &str, breakers: CircuitBreakersConfig) -> Cluster {
    cluster_of(&[address], breakers)
}

fn cluster_of(addresses: &[&str], breakers: CircuitBreakersConfig) -> Cluster {
    let config = ClusterConfig {
        circuit_breakers: breakers,
        name: "web".into(),
        protocol: UpstreamProtocol::Http1,
        connect_timeout: Duration::from_secs(1),
        lb_policy: LbPolicy::RoundRobin,
        hash_policy: None,
        endpoints: addresses
            .iter()
            .map(|address| EndpointConfig {
                address: (*address).into(),
                weight: 1,
            })
            .collect(),
        health_check: None,
        outlier_detection: None,
        healthy_panic_threshold: 50,
        discovery: Discovery::Static,
        tls: None,
    };
    Cluster::new(&config, &Families::new()).expect("valid cluster")
}

fn request(path: &str) -> Request<UpstreamBody> {
    Request::builder()
        .uri(format!("http://upstream{path}"))
        .header("host", "upstream")
        .body(UpstreamBody::Kept { body: None })
        .expect("request")
}

async fn get(pool: &H1Pool, cluster: &Cluster, path: &str) -> Result<usize, SendError> {
    Ok(get_body(pool, cluster, path).await?.len())
}

async fn get_body(pool: &H1Pool, cluster: &Cluster, path: &str) -> Result<bytes::Bytes, SendError> {
    let peer = std::net::IpAddr::from([127, 0, 0, 1]);
    let picked = cluster
        .pick(crate::cluster::HashSource::Connection { peer })
        .expect("the endpoint");
    let response = (pool.send(&cluster.breakers, picked.endpoint, request(path))).await?;
    let body = response.into_body().collect().await.expect("body");
    Ok(body.to_bytes())
}

#[tokio::test]
async fn sequential_requests_reuse_one_connection() {
    let (address, accepted) = server().await;
    let cluster = cluster(&address, CircuitBreakersConfig::default());
    let pool = H1Pool::new(1, Duration::from_secs(1), None);
    for _ in 0..5 {
        assert_eq!(get(&pool, &cluster, "/").await.expect("answered"), 2);
        // The connection goes back once its body is read; give the
        // return a moment, as the next request of a client would.
        tokio::task::yield_now().await;
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 1);
    assert_eq!(pool.idle(0), 1);
    assert_eq!(cluster.breakers.snapshot().connections, 1);
}

#[tokio::test]
async fn past_max_connections_requests_wait_for_a_returned_connection() {
    let (address, accepted) = server().await;
    let breakers = CircuitBreakersConfig {
        max_connections: 2,
        ..CircuitBreakersConfig::default()
    };
    let cluster = Arc::new(cluster(&address, breakers));
    let pool = Arc::new(H1Pool::new(1, Duration::from_secs(1), None));
    let answers = concurrently(&pool, &cluster, 6, "/slow").await;
    assert!(answers.iter().all(|a| matches!(a, Ok(2))), "{answers:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
    assert_eq!(cluster.metrics.overflow[2].get(), 4);
    assert_eq!(cluster.metrics.overflow[3].get(), 0);
}

#[tokio::test]
async fn past_max_pending_requests_a_request_overflows_at_once() {
    let (address, _) = server().await;
    let breakers = CircuitBreakersConfig {
        max_connections: 1,
        max_pending_requests: 1,
        ..CircuitBreakersConfig::default()
    };
    let cluster = Arc::new(cluster(&address, breakers));
    let pool = Arc::new(H1Pool::new(1, Duration::from_secs(1), None));
    let answers = concurrently(&pool, &cluster, 3, "/slow").await;
    let overflowed = answers
        .iter()
        .filter(|a| matches!(a, Err(SendError::Overflow)));
    assert_eq!(overflowed.count(), 1, "{answers:?}");
    assert_eq!(answers.iter().filter(|a| matches!(a, Ok(2))).count(), 2);
    assert_eq!(cluster.metrics.overflow[3].get(), 1);
    assert_eq!(cluster.breakers.snapshot().pending_requests, 0);
}

#[tokio::test]
async fn a_closed_port_is_a_connect_failure_and_frees_its_slot() {
    let address = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("address").to_string()
    };
    let cluster = cluster(&address, CircuitBreakersConfig::default());
    let pool = H1Pool::new(1, Duration::from_secs(1), None);
    let failure = get(&pool, &cluster, "/")
        .await
        .expect_err("nothing listens");
    assert!(
        matches!(
            failure,
            SendError::Failed(UpstreamFailure::ConnectFailure, _)
        ),
        "{failure:?}"
    );
    assert_eq!(cluster.breakers.snapshot().connections, 0);
}

#[tokio::test]
async fn requests_go_out_in_origin_form() {
    let (address, _) = server().await;
    let cluster = cluster(&address, CircuitBreakersConfig::default());
    let pool = H1Pool::new(1, Duration::from_secs(1), None);
    let target = get_body(&pool, &cluster, "/echo/b?c=d")
        .await
        .expect("answered");
    assert_eq!(target, "/echo/b?c=d");
}

/// `n` requests for `path` at once, each on its own task.
async fn concurrently(
    pool: &Arc<H1Pool>,
    cluster: &Arc<Cluster>,
    n: usize,
    path: &'static str,
) -> Vec<Result<usize, SendError>> {
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..n {
        let (pool, cluster) = (pool.clone(), cluster.clone());
        tasks.spawn(async move { get(&pool, &cluster, path).await });
    }
    let mut answers = Vec::new();
    while let Some(answer) = tasks.join_next().await {
        answers.push(answer.expect("task"));
    }
    answers
}

#[tokio::test]
async fn a_request_waiting_for_one_endpoint_gets_the_slot_another_returns() {
    // One connection for the cluster: B's slow request holds it, A's waits.
    // When B's connection goes idle, A must take its slot at once (not
    // when the reaper closes B's idle connection, minutes later).
    let ((a, _), (b, _)) = (server().await, server().await);
    let breakers = CircuitBreakersConfig {
        max_connections: 1,
        ..CircuitBreakersConfig::default()
    };
    let cluster = Arc::new(cluster_of(&[&a, &b], breakers));
    let pool = Arc::new(H1Pool::new(2, Duration::from_secs(1), None));
    let on = |index: usize, path: &'static str| {
        let (pool, cluster) = (pool.clone(), cluster.clone());
        tokio::spawn(async move {
            let endpoint = cluster.endpoint(index);
            let response = pool
                .send(&cluster.breakers, endpoint, request(path))
                .await?;
            let body = response.into_body().collect().await.expect("body");
            Ok::<usize, SendError>(body.to_bytes().len())
        })
    };
    let slow_b = on(1, "/slow");
    tokio::time::sleep(Duration::from_millis(50)).await;
    let waiting_a = on(0, "/");
    assert!(matches!(slow_b.await.expect("task"), Ok(2)));
    let answered = tokio::time::timeout(Duration::from_secs(2), waiting_a).await;
    assert!(matches!(answered, Ok(Ok(Ok(2)))), "{answered:?}");
}

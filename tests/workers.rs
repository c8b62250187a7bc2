//! The tokio worker thread count, set three ways: `--workers N`,
//! `PERISCOPE_WORKERS=N`, and `workers: N` in the config file. Counted as
//! the process's threads named as tokio workers, right after /ready.
mod common;

use common::configs::proxy;
use common::{free_port, h2load, Nginx, Periscope, REQUESTS};

fn quick_args(upstream: &str) -> Vec<String> {
    vec![
        "--listen".into(),
        format!("127.0.0.1:{}", free_port()),
        "--upstream".into(),
        upstream.into(),
    ]
}

fn refs(args: &[String]) -> Vec<&str> {
    args.iter().map(String::as_str).collect()
}

#[test]
fn workers_flag_sets_the_worker_threads() {
    let nginx = Nginx::start();
    let mut args = quick_args(&nginx.h1.to_string());
    args.extend(["--workers".into(), "3".into()]);
    let px = Periscope::quick(&refs(&args));
    assert_eq!(px.tokio_worker_threads(), 3);
}

#[test]
fn workers_env_var_sets_the_worker_threads() {
    let nginx = Nginx::start();
    let args = quick_args(&nginx.h1.to_string());
    let px = Periscope::quick_with_env(&refs(&args), &[("PERISCOPE_WORKERS", "5")]);
    assert_eq!(px.tokio_worker_threads(), 5);
}

#[test]
fn workers_in_the_config_file_set_the_worker_threads() {
    let nginx = Nginx::start();
    let px = Periscope::start(|| {
        let config = proxy("http", "http1", nginx.h1);
        assert!(config.contains("workers: 2\n"), "{config}");
        config.replace("workers: 2\n", "workers: 4\n")
    });
    assert_eq!(px.tokio_worker_threads(), 4);
}

/// Control: without any setting there is one worker per core, so the
/// counts above are not a coincidence of the machine.
#[test]
fn without_a_setting_there_is_one_worker_per_core() {
    let nginx = Nginx::start();
    let args = quick_args(&nginx.h1.to_string());
    let px = Periscope::quick(&refs(&args));
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    assert_eq!(px.tokio_worker_threads(), cores);
}

/// One worker is tokio's current-thread runtime (the benchmarks' setting):
/// no worker threads at all, and h2c in, HTTP/1.1 out, every request
/// answered and counted on that one thread.
#[test]
fn one_worker_runs_everything_on_one_thread() {
    let nginx = Nginx::start();
    let listen = format!("127.0.0.1:{}", free_port());
    let args = [
        "--listen",
        &listen,
        "--upstream",
        &nginx.h1.to_string(),
        "--protocol",
        "http",
        "--upstream-protocol",
        "http1",
        "--workers",
        "1",
    ];
    let px = Periscope::quick(&args);
    assert_eq!(px.tokio_worker_threads(), 0);
    let report = h2load(&format!("http://{listen}/"), 400, 4, 16);
    assert_eq!(
        (report.succeeded, report.status_2xx),
        (400, 400),
        "{}",
        report.output
    );
    let ok = [
        ("http_request_method", "GET"),
        ("http_response_status_code", "200"),
        ("network_protocol_version", "2"),
    ];
    px.wait_metric(REQUESTS, &ok, 400.0);
}

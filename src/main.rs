//! The `periscope` binary: parse the command line, build the runtime with
//! the configured worker count, run the gateway.
mod admin;
mod cli;
mod cluster;
mod config;
mod drain;
mod gateway;
mod l4;
mod l7;
mod listener;
mod pipeline;
mod reload;

use clap::Parser;

fn main() {
    let cli = cli::Cli::parse();
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();

    if let Some(cli::Command::Validate { files }) = &cli.command {
        std::process::exit(cli::validate(files));
    }
    let config = match cli.load_config() {
        Ok(config) => config,
        Err(err) => {
            eprintln!("{err}");
            std::process::exit(1);
        }
    };
    // One worker: tokio's current-thread scheduler, which the one thread
    // then runs alone (no work-stealing queues nor cross-thread wake-ups).
    let mut runtime = match config.workers {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        workers => {
            let mut runtime = tokio::runtime::Builder::new_multi_thread();
            if let Some(workers) = workers {
                runtime.worker_threads(workers);
            }
            runtime
        }
    };
    let runtime = match runtime.enable_all().build() {
        Ok(runtime) => runtime,
        Err(err) => {
            eprintln!("cannot start the runtime: {err}");
            std::process::exit(1);
        }
    };
    let watch = (cli.watch_config || config.admin.watch_config)
        .then(|| cli.config.clone())
        .flatten();
    let drain_time = std::time::Duration::from_secs(cli.drain_time_s);
    let cli = std::sync::Arc::new(cli);
    let reload = gateway::Reload {
        load: Box::new(move || cli.load_config()),
        watch,
        drain_time,
    };
    if let Err(err) = runtime.block_on(gateway::run(config, reload)) {
        eprintln!("{err}");
        std::process::exit(1);
    }
}

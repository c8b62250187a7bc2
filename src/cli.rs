//! Command line: `periscope [--config FILE | quick-mode flags]`,
//! `periscope validate FILE...`.
use crate::config::{self, Config, ListenerProtocol, QuickOptions, UpstreamProtocol};
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Parser, Debug)]
#[command(
    name = "periscope",
    version,
    about = "A protocol-sniffing observability gateway",
    long_about = "Periscope forwards traffic like a proxy and reads every byte it forwards, \
                  turning HTTP and database traffic into metrics.\n\n\
                  With no arguments it runs an embedded default configuration \
                  (listener 127.0.0.1:10000 -> 127.0.0.1:8080, admin 127.0.0.1:9901)."
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    /// YAML configuration file.
    #[arg(short, long, value_name = "FILE", conflicts_with_all = ["listen", "upstream"])]
    pub config: Option<PathBuf>,

    /// Quick mode: listen here and forward everything to --upstream.
    #[arg(long, value_name = "ADDR", requires = "upstream")]
    pub listen: Option<SocketAddr>,

    /// Quick mode: the one upstream, host:port.
    #[arg(long, value_name = "HOST:PORT", requires = "listen")]
    pub upstream: Option<String>,

    /// Quick mode: admin address (default 127.0.0.1:9901).
    #[arg(long, value_name = "ADDR", requires = "listen")]
    pub admin: Option<SocketAddr>,

    /// Quick mode: how the listener treats connections.
    #[arg(long, value_enum, default_value_t = ProtocolArg::Auto, requires = "listen")]
    pub protocol: ProtocolArg,

    /// Quick mode: protocol towards the upstream (auto keeps the client's).
    #[arg(long, value_enum, default_value_t = UpstreamArg::Auto, requires = "listen")]
    pub upstream_protocol: UpstreamArg,

    /// Worker threads (default: config, else one per core).
    #[arg(long, env = "PERISCOPE_WORKERS", value_name = "N")]
    pub workers: Option<usize>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Check configuration files and report every problem with file:line:column.
    Validate {
        #[arg(required = true, value_name = "FILE")]
        files: Vec<PathBuf>,
    },
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum ProtocolArg {
    Auto,
    Http,
    Tcp,
}

#[derive(ValueEnum, Clone, Copy, Debug)]
pub enum UpstreamArg {
    Auto,
    Http1,
    H2c,
}

impl Cli {
    /// The configuration this invocation runs with.
    pub fn load_config(&self) -> Result<Config, String> {
        let mut config = if let (Some(listen), Some(upstream)) = (self.listen, &self.upstream) {
            let options = QuickOptions {
                listen,
                upstream: upstream.clone(),
                admin: self.admin,
                protocol: match self.protocol {
                    ProtocolArg::Auto => ListenerProtocol::Auto,
                    ProtocolArg::Http => ListenerProtocol::Http,
                    ProtocolArg::Tcp => ListenerProtocol::Tcp,
                },
                upstream_protocol: match self.upstream_protocol {
                    UpstreamArg::Auto => UpstreamProtocol::Auto,
                    UpstreamArg::Http1 => UpstreamProtocol::Http1,
                    UpstreamArg::H2c => UpstreamProtocol::H2c,
                },
                workers: self.workers,
            };
            config::quick(&options).map_err(|e| e.to_string())?
        } else if let Some(path) = &self.config {
            config::load_file(path).map_err(|e| e.to_string())?
        } else {
            config::embedded_default()
        };
        if let Some(workers) = self.workers {
            if !(1..=1024).contains(&workers) {
                return Err(format!(
                    "--workers / PERISCOPE_WORKERS: {workers} is out of range (1..=1024)"
                ));
            }
            config.workers = Some(workers);
            config.effective["workers"] = serde_json::Value::from(workers);
        }
        Ok(config)
    }
}

/// `periscope validate`: exit code 0 when every file is valid.
pub fn validate(files: &[PathBuf]) -> i32 {
    let mut failed = false;
    for file in files {
        match config::load_file(file) {
            Ok(_) => println!("{}: ok", file.display()),
            Err(err) => {
                failed = true;
                eprintln!("{err}");
            }
        }
    }
    i32::from(failed)
}

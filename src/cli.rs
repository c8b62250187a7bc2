//! Command line: `periscope [--config FILE | quick-mode flags]`,
//! `periscope validate FILE...`.
use crate::config::{self, Config, ListenerProtocol, OtlpProtocol, QuickOptions, UpstreamProtocol};
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

    /// Quick mode, `--protocol tcp`: relay only, parse nothing (a config
    /// file's `sniff: false`).
    #[arg(long, requires = "listen")]
    pub no_sniff: bool,

    /// Export traces over OTLP to this collector (base URL, as
    /// OTEL_EXPORTER_OTLP_ENDPOINT; overrides the environment and the file).
    #[arg(long, value_name = "URL")]
    pub otlp_endpoint: Option<String>,

    /// OTLP transport (as OTEL_EXPORTER_OTLP_PROTOCOL) [default: grpc].
    #[arg(long, value_enum, value_name = "PROTOCOL")]
    pub otlp_protocol: Option<OtlpProtocolArg>,

    /// Reload when the --config file changes (its modification time or
    /// size, looked at every second), as `admin.watch_config: true` does.
    #[arg(long, requires = "config")]
    pub watch_config: bool,

    /// Worker threads (default: config, else one per core).
    #[arg(long, env = "PERISCOPE_WORKERS", value_name = "N")]
    pub workers: Option<usize>,

    /// Seconds the connections of a replaced or removed listener, and all
    /// connections at shutdown, may take to finish before they are closed
    /// (Envoy's flag; its default is 600).
    #[arg(long, value_name = "SECONDS", default_value_t = 10)]
    pub drain_time_s: u64,
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
pub enum OtlpProtocolArg {
    Grpc,
    #[value(name = "http/protobuf")]
    HttpProtobuf,
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
                sniff: !self.no_sniff,
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
        self.apply_tracing(&mut config, &|name| std::env::var(name).ok())?;
        Ok(config)
    }

    /// Tracing endpoint, protocol and service name: the command line wins,
    /// then the standard `OTEL_*` variables (so a platform can point every
    /// process at its collector), then the file.
    pub fn apply_tracing(
        &self,
        config: &mut Config,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(), String> {
        let tracing = &mut config.tracing;
        let endpoint = match &self.otlp_endpoint {
            Some(url) => Some(("--otlp-endpoint", url.clone())),
            None => env("OTEL_EXPORTER_OTLP_ENDPOINT")
                .filter(|v| !v.is_empty())
                .map(|url| ("OTEL_EXPORTER_OTLP_ENDPOINT", url)),
        };
        if let Some((source, url)) = endpoint {
            tracing.endpoint =
                Some(config::check_otlp_endpoint(&url).map_err(|e| format!("{source}: {e}"))?);
        }
        let protocol = match self.otlp_protocol {
            Some(OtlpProtocolArg::Grpc) => Some(OtlpProtocol::Grpc),
            Some(OtlpProtocolArg::HttpProtobuf) => Some(OtlpProtocol::HttpProtobuf),
            None => match env("OTEL_EXPORTER_OTLP_PROTOCOL").filter(|v| !v.is_empty()) {
                None => None,
                Some(v) if v == "grpc" => Some(OtlpProtocol::Grpc),
                Some(v) if v == "http/protobuf" => Some(OtlpProtocol::HttpProtobuf),
                Some(other) => {
                    return Err(format!(
                        "OTEL_EXPORTER_OTLP_PROTOCOL: \"{other}\" is not supported \
                         (grpc or http/protobuf)"
                    ))
                }
            },
        };
        if let Some(protocol) = protocol {
            tracing.protocol = protocol;
        }
        if let Some(name) = env("OTEL_SERVICE_NAME").filter(|v| !v.is_empty()) {
            tracing.service_name = name;
        }
        // `/config_dump` shows what runs, but never the export headers'
        // values: they are typically API keys.
        let dump = &mut config.effective["tracing"];
        if tracing.endpoint.is_some() || !dump.is_null() {
            dump["endpoint"] = serde_json::json!(tracing.endpoint);
            dump["protocol"] = serde_json::json!(tracing.protocol.as_str());
            dump["service_name"] = serde_json::json!(tracing.service_name);
            dump["sampling_ratio"] = serde_json::json!(tracing.sampling_ratio);
            dump["queue_size"] = serde_json::json!(tracing.queue_size);
            if let Some(headers) = dump.get_mut("headers").and_then(|h| h.as_object_mut()) {
                for value in headers.values_mut() {
                    *value = serde_json::json!("<redacted>");
                }
            }
        }
        Ok(())
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

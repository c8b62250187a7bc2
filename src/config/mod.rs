//! Configuration: raw file model (serde), validation into the typed model,
//! and the embedded default.
//!
//! Every way of getting a [`Config`] — a file, a string, the embedded
//! default, the command line's quick mode — goes through the same raw model
//! and the same validation, so they cannot disagree about defaults or rules
//! and `Config::effective` always describes what actually runs.
pub mod error;
pub mod model;
mod model_dns;
mod model_health;
mod model_tls;
mod model_upgrade;
mod parse;
pub mod raw;
mod raw_cluster;
mod raw_health;
mod raw_retry;
mod raw_route;
mod raw_telemetry;
mod source_map;
mod validate;
mod validate_cluster;
mod validate_health;
mod validate_retry;
mod validate_route;
mod validate_telemetry;
mod validate_tls;
mod validate_upgrade;
mod values;

#[cfg(test)]
mod tests;

use std::io::Read;
use std::net::SocketAddr;
use std::path::Path;

pub use error::{ConfigError, ConfigProblem};
pub use model::*;
pub use model_dns::*;
pub use model_health::*;
pub use model_tls::*;
pub use model_upgrade::*;
pub use validate_telemetry::check_endpoint as check_otlp_endpoint;

use raw::{RawAdmin, RawCluster, RawConfig, RawListener};

const EMBEDDED_DEFAULT: &str = include_str!("default.yaml");
const EMBEDDED_SOURCE: &str = "<embedded default>";
const COMMAND_LINE: &str = "<command line>";

/// Reads and validates a YAML config file; errors name the file as given.
pub fn load_file(path: &Path) -> Result<Config, ConfigError> {
    let source = path.display().to_string();
    let mut text = String::new();
    // Read one byte past the limit so oversized files are reported as such
    // without reading all of a possibly huge file.
    let limit = u64::try_from(parse::MAX_CONFIG_BYTES)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    std::fs::File::open(path)
        .and_then(|f| f.take(limit).read_to_string(&mut text))
        .map_err(|e| {
            let reason = match e.kind() {
                std::io::ErrorKind::InvalidData => "the file is not valid UTF-8".to_owned(),
                _ => e.to_string(),
            };
            ConfigError::whole(&source, format!("cannot read config: {reason}"))
        })?;
    load_str(&source, &text)
}

/// Validates YAML text; `source_name` names it in errors and `Config::source`.
pub fn load_str(source_name: &str, yaml: &str) -> Result<Config, ConfigError> {
    let raw = parse::parse(source_name, yaml)?;
    validate::validate(&raw, source_name).map_err(|issues| parse::locate(source_name, yaml, issues))
}

/// The config used when no file is given: admin on 127.0.0.1:9901 and an
/// `auto` listener on 127.0.0.1:10000 forwarding to 127.0.0.1:8080.
pub fn embedded_default() -> Config {
    match load_str(EMBEDDED_SOURCE, EMBEDDED_DEFAULT) {
        Ok(config) => config,
        // Unreachable unless default.yaml is edited badly, and a unit test
        // loads it; failing loudly at startup is the right outcome then.
        Err(e) => panic!("embedded default config is invalid:\n{e}"),
    }
}

/// `periscope --listen A --upstream B [...]`: one listener, one cluster.
#[derive(Debug, Clone)]
pub struct QuickOptions {
    pub listen: SocketAddr,
    /// `host:port` of the single upstream endpoint.
    pub upstream: String,
    /// `None` = the default admin address.
    pub admin: Option<SocketAddr>,
    pub protocol: ListenerProtocol,
    pub upstream_protocol: UpstreamProtocol,
    pub workers: Option<usize>,
    /// `--no-sniff`: relay only (tcp listeners).
    pub sniff: bool,
}

/// Builds quick mode's config through the raw model, so validation and
/// `effective` are the same as for a file. Problems name the command-line
/// option they come from rather than a config path.
pub fn quick(opts: &QuickOptions) -> Result<Config, ConfigError> {
    let raw = RawConfig {
        admin: opts
            .admin
            .map(|a| RawAdmin {
                address: a.to_string(),
                ..RawAdmin::default()
            })
            .unwrap_or_default(),
        workers: opts.workers.map(|w| u64::try_from(w).unwrap_or(u64::MAX)),
        listeners: vec![RawListener {
            name: "quick".to_owned(),
            address: opts.listen.to_string(),
            protocol: opts.protocol.into(),
            detect_timeout: None,
            cluster: Some("upstream".to_owned()),
            virtual_hosts: Vec::new(),
            label_limits: Default::default(),
            access_log: None,
            mongodb: Default::default(),
            dynamodb: Default::default(),
            sniff: opts.sniff,
            tcp_idle_timeout: raw::DEFAULT_TCP_IDLE_TIMEOUT.to_owned(),
            http_idle_timeout: raw::DEFAULT_HTTP_IDLE_TIMEOUT.to_owned(),
            stream_idle_timeout: raw::DEFAULT_STREAM_IDLE_TIMEOUT.to_owned(),
            max_connection_duration: "0s".to_owned(),
            upgrade_configs: Vec::new(),
            tls: None,
        }],
        clusters: vec![RawCluster {
            name: "upstream".to_owned(),
            protocol: opts.upstream_protocol.into(),
            connect_timeout: raw::DEFAULT_CONNECT_TIMEOUT.to_owned(),
            lb_policy: raw::RawLbPolicy::RoundRobin,
            ring_hash: None,
            hash_policy: None,
            circuit_breakers: None,
            endpoints: vec![raw::RawEndpoint::plain(opts.upstream.clone())],
            health_check: None,
            outlier_detection: None,
            healthy_panic_threshold: raw::DEFAULT_PANIC_THRESHOLD,
            discovery: None,
            dns_refresh_rate: None,
            dns_lookup_family: None,
            tls: None,
        }],
        tracing: None,
    };
    validate::validate(&raw, COMMAND_LINE).map_err(|issues| {
        let problems = issues
            .into_iter()
            .map(|issue| ConfigProblem {
                file: COMMAND_LINE.to_owned(),
                line: 0,
                column: 0,
                path: flag_for(&issue.path).to_owned(),
                message: issue.message,
            })
            .collect();
        ConfigError::new(problems)
    })
}

fn flag_for(path: &str) -> &str {
    if path.starts_with("admin") {
        "--admin"
    } else if path.starts_with("workers") {
        "--workers"
    } else if path.starts_with("clusters") {
        "--upstream"
    } else if path.ends_with(".sniff") {
        "--no-sniff"
    } else if path.starts_with("listeners") {
        "--listen"
    } else {
        path
    }
}

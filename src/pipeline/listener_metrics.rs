//! Per-listener and per-cluster metric handles, resolved once when the
//! configuration is loaded so that connections only touch atomics.
use super::dynamo::DynamoLabels;
use super::families::Families;
use super::http_scope::SeriesBudget;
use super::label_cap::LabelCap;
use super::mongo::MongoTelemetry;
use super::{ListenerLabels, Scope};
use crate::config::ListenerConfig;
use periscope_parsers::{Anomalies, ErrorReason, Protocol};
use prometheus::{IntCounter, IntGauge};
use std::sync::{Arc, OnceLock};

const PROTOCOLS: usize = Protocol::ALL.len();
const REASONS: usize = ErrorReason::ALL.len();

fn protocol_index(protocol: Protocol) -> usize {
    Protocol::ALL
        .iter()
        .position(|p| *p == protocol)
        .unwrap_or(PROTOCOLS - 1)
}

fn reason_index(reason: ErrorReason) -> usize {
    ErrorReason::ALL
        .iter()
        .position(|r| *r == reason)
        .unwrap_or(0)
}

pub struct ListenerMetrics {
    name: String,
    connections_total: Vec<IntCounter>,
    connections_active: Vec<IntGauge>,
    detections: Vec<IntCounter>,
    pub bytes_received: IntCounter,
    pub bytes_sent: IntCounter,
    /// TCP relays closed by the idle timeout.
    pub idle_timeouts: IntCounter,
    /// Connections closed when a drain's deadline passed.
    pub drain_closed: IntCounter,
    /// Connections that reached `max_connection_duration`.
    pub max_duration_reached: IntCounter,
    /// Failed TLS handshakes with clients.
    pub tls_handshake_failures: IntCounter,
    parse_errors_family: prometheus::IntCounterVec,
    /// Rare events only (a parser tolerated something): resolved on use.
    parser_events_family: prometheus::IntCounterVec,
    parse_errors: Box<[OnceLock<IntCounter>]>,
    /// HTTP exchanges and gRPC calls sniffed on the L4 path (no route).
    pub l4: Scope,
    /// The listener's caps on labels from traffic, shared by its routes.
    pub labels: ListenerLabels,
    /// MongoDB operations sniffed on the L4 path.
    pub mongo: MongoTelemetry,
    /// Spans and access-log lines (off unless the gateway sets them up).
    pub export: Arc<super::export::ListenerExport>,
}

impl ListenerMetrics {
    pub fn new(
        families: &Arc<Families>,
        budget: Arc<SeriesBudget>,
        config: &ListenerConfig,
    ) -> ListenerMetrics {
        let listener = config.name.as_str();
        let l4_cluster = config.cluster.as_deref().unwrap_or("");
        let labels = ListenerLabels {
            rpc_methods: Arc::new(LabelCap::new(
                config.label_limits.rpc_methods,
                families.label_overflow.with_label_values(&["rpc_method"]),
            )),
            dynamo: Arc::new(DynamoLabels::new(families, config.label_limits.collections)),
        };
        let per_protocol = |vec: &prometheus::IntCounterVec| -> Vec<IntCounter> {
            Protocol::ALL
                .iter()
                .map(|p| vec.with_label_values(&[listener, p.as_str()]))
                .collect()
        };
        ListenerMetrics {
            name: listener.to_owned(),
            connections_total: per_protocol(&families.connections_total),
            connections_active: Protocol::ALL
                .iter()
                .map(|p| {
                    families
                        .connections_active
                        .with_label_values(&[listener, p.as_str()])
                })
                .collect(),
            detections: per_protocol(&families.detections),
            bytes_received: families.bytes_received.with_label_values(&[listener]),
            bytes_sent: families.bytes_sent.with_label_values(&[listener]),
            idle_timeouts: families.idle_timeouts.with_label_values(&[listener]),
            drain_closed: families.drain_closed.with_label_values(&[listener]),
            max_duration_reached: families.max_duration_reached.with_label_values(&[listener]),
            tls_handshake_failures: families
                .tls_handshake_failures
                .with_label_values(&[listener]),
            parse_errors_family: families.parse_errors.clone(),
            parser_events_family: families.parser_events.clone(),
            parse_errors: (0..PROTOCOLS * REASONS).map(|_| OnceLock::new()).collect(),
            l4: Scope::new(families, &budget, &labels, [listener, "", l4_cluster]),
            labels,
            mongo: MongoTelemetry::new(families.clone(), listener, l4_cluster, config.label_limits),
            export: Arc::new(super::export::ListenerExport::off(
                listener,
                config.address.port(),
            )),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn detected(&self, protocol: Protocol) {
        self.detections[protocol_index(protocol)].inc();
    }

    /// Counts the connection and keeps it in the active gauge until the
    /// returned guard drops.
    pub fn connection_opened(&self, protocol: Protocol) -> ActiveConnection {
        self.connection_counted(protocol);
        self.connection_active(protocol)
    }

    /// Count a connection in the total only (its protocol became known).
    pub fn connection_counted(&self, protocol: Protocol) {
        self.connections_total[protocol_index(protocol)].inc();
    }

    /// Hold a connection in the active gauge until the guard drops.
    pub fn connection_active(&self, protocol: Protocol) -> ActiveConnection {
        let gauge = &self.connections_active[protocol_index(protocol)];
        gauge.inc();
        ActiveConnection {
            gauge: gauge.clone(),
        }
    }

    pub fn parse_error(&self, protocol: Protocol, reason: ErrorReason) {
        let index = protocol_index(protocol) * REASONS + reason_index(reason);
        if let Some(cell) = self.parse_errors.get(index) {
            cell.get_or_init(|| {
                self.parse_errors_family.with_label_values(&[
                    self.name.as_str(),
                    protocol.as_str(),
                    reason.as_str(),
                ])
            })
            .inc();
        }
    }
}

pub struct ActiveConnection {
    gauge: IntGauge,
}

impl Drop for ActiveConnection {
    fn drop(&mut self) {
        self.gauge.dec();
    }
}

/// Why an upstream request or connection failed; a closed set for labels.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpstreamFailure {
    ConnectFailure,
    Timeout,
    Reset,
    Protocol,
}

impl UpstreamFailure {
    const ALL: [UpstreamFailure; 4] = [
        UpstreamFailure::ConnectFailure,
        UpstreamFailure::Timeout,
        UpstreamFailure::Reset,
        UpstreamFailure::Protocol,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            UpstreamFailure::ConnectFailure => "connect_failure",
            UpstreamFailure::Timeout => "timeout",
            UpstreamFailure::Reset => "reset",
            UpstreamFailure::Protocol => "protocol",
        }
    }
}

pub struct ClusterMetrics {
    pub connect_failures: IntCounter,
    errors: Vec<IntCounter>,
    pub retries: IntCounter,
    /// By `cluster::breakers::BREAKERS`.
    pub overflow: [IntCounter; 4],
}

impl ClusterMetrics {
    pub fn new(families: &Families, cluster: &str) -> ClusterMetrics {
        ClusterMetrics {
            connect_failures: families
                .upstream_connect_failures
                .with_label_values(&[cluster]),
            errors: UpstreamFailure::ALL
                .iter()
                .map(|f| {
                    families
                        .upstream_errors
                        .with_label_values(&[cluster, f.as_str()])
                })
                .collect(),
            retries: families.upstream_retries.with_label_values(&[cluster]),
            overflow: crate::cluster::breakers::BREAKERS.map(|breaker| {
                families
                    .breaker_overflow
                    .with_label_values(&[cluster, breaker])
            }),
        }
    }

    pub fn failed(&self, failure: UpstreamFailure) {
        if failure == UpstreamFailure::ConnectFailure {
            self.connect_failures.inc();
        }
        let index = UpstreamFailure::ALL
            .iter()
            .position(|f| *f == failure)
            .unwrap_or(0);
        self.errors[index].inc();
    }
}

impl ListenerMetrics {
    /// Count what a parser tolerated since `before` (see `Anomalies`).
    pub fn parser_anomalies(&self, protocol: Protocol, before: &Anomalies, now: &Anomalies) {
        let counts = before.counts().into_iter().zip(now.counts());
        for (event, (old, new)) in Anomalies::EVENTS.iter().zip(counts) {
            if new > old {
                self.parser_events_family
                    .with_label_values(&[self.name.as_str(), protocol.as_str(), event])
                    .inc_by(new - old);
            }
        }
    }

    /// A parser panicked: a bug, contained by the tap. Counted apart from
    /// parse errors so that it stands out.
    pub fn parser_panicked(&self, protocol: Protocol) {
        self.parse_errors_family
            .with_label_values(&[self.name.as_str(), protocol.as_str(), "parser_panic"])
            .inc();
    }
}

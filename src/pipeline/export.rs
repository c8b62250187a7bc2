//! Where an exchange goes besides metrics: a span (OTLP) and an access log
//! line. The hot path only moves the finished `Exchange` and its context into
//! bounded queues (`try_send`); building spans, formatting lines and all I/O
//! happen in tasks of their own, so telemetry never slows or blocks traffic.
use super::access_log::AccessLog;
use super::traces::{SpanIds, Tracer};
use periscope_parsers::{Exchange, Protocol, Timestamp};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

/// One listener's export targets; both `None` when neither is configured,
/// and then nothing on the hot path touches this module beyond a check.
pub struct ListenerExport {
    pub listener: Arc<str>,
    /// The listener's own port: `server.port` of its SERVER spans.
    pub port: u16,
    pub tracer: Option<Tracer>,
    pub access_log: Option<AccessLog>,
}

/// What an exchange is exported with, besides the exchange itself.
#[derive(Debug, Clone, Default)]
pub struct ExchangeContext {
    pub peer: Option<SocketAddr>,
    pub route: Option<String>,
    pub cluster: Option<String>,
    /// The endpoint (`host:port`) the request or connection went to.
    pub upstream: Option<String>,
    pub request_id: Option<String>,
    /// Set on the L7 path when the request starts (so the ids can be
    /// injected upstream); sniffed exchanges get theirs when exported.
    pub span: Option<SpanIds>,
}

/// One opaque TCP connection, for its access-log summary line.
#[derive(Debug, Clone)]
pub struct ConnectionSummary {
    pub protocol: Protocol,
    pub started: Timestamp,
    pub finished: Timestamp,
    pub bytes_from_client: u64,
    pub bytes_to_client: u64,
}

impl ListenerExport {
    pub fn off(listener: &str, port: u16) -> ListenerExport {
        ListenerExport {
            listener: listener.into(),
            port,
            tracer: None,
            access_log: None,
        }
    }

    pub fn is_on(&self) -> bool {
        self.tracer.is_some() || self.access_log.is_some()
    }

    /// Hand a finished exchange to the span and log queues; never waits.
    pub fn exchange(&self, mut context: ExchangeContext, exchange: Exchange) {
        if let Some(tracer) = &self.tracer {
            if context.span.is_none() {
                context.span = Some(tracer.start(None));
            }
        }
        match (&self.tracer, &self.access_log) {
            (Some(tracer), Some(log)) => {
                log.exchange(self, context.clone(), exchange.clone());
                tracer.submit(self, context, exchange);
            }
            (Some(tracer), None) => tracer.submit(self, context, exchange),
            (None, Some(log)) => log.exchange(self, context, exchange),
            (None, None) => {}
        }
    }

    /// An opaque TCP connection ended: one summary line.
    pub fn connection(&self, context: ExchangeContext, summary: ConnectionSummary) {
        if let Some(log) = &self.access_log {
            log.connection(self, context, summary);
        }
    }
}

/// The L7 path's handle, carried by the request's `Recorder`: where to send
/// the exchange and what it is sent with.
pub struct L7Export {
    to: Arc<ListenerExport>,
    pub context: ExchangeContext,
}

impl L7Export {
    /// A request starts: continue its `traceparent` (if tracing is on).
    /// `None` when the listener exports nothing.
    pub fn begin(
        to: &Arc<ListenerExport>,
        peer: SocketAddr,
        headers: &http::HeaderMap,
    ) -> Option<Box<L7Export>> {
        if !to.is_on() {
            return None;
        }
        let span = to.tracer.as_ref().map(|tracer| {
            let parent = headers
                .get(TRACEPARENT)
                .and_then(|v| super::traces::parse_traceparent(v.as_bytes()));
            tracer.start(parent)
        });
        Some(Box::new(L7Export {
            to: to.clone(),
            context: ExchangeContext {
                peer: Some(peer),
                span,
                ..ExchangeContext::default()
            },
        }))
    }

    /// The route (and its cluster, when it forwards) is known.
    pub fn routed(export: &mut Option<Box<L7Export>>, route: &str, cluster: Option<&str>) {
        if let Some(export) = export {
            export.context.route = Some(route.to_owned());
            export.context.cluster = cluster.map(str::to_owned);
        }
    }

    /// The request leaves for `endpoint`: note it and the request id, and
    /// replace any `traceparent` with Periscope's span as the new parent.
    pub fn forwarding(
        export: &mut Option<Box<L7Export>>,
        headers: &mut http::HeaderMap,
        endpoint: &str,
    ) {
        let Some(export) = export else { return };
        export.context.upstream = Some(endpoint.to_owned());
        export.context.request_id = headers
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(|v| periscope_parsers::event::bounded_text(v.as_bytes(), 256));
        if let Some(span) = &export.context.span {
            // `tracestate` travels on untouched: it belongs to the trace,
            // and Periscope has no vendor entry of its own to add.
            if let Ok(value) = http::HeaderValue::from_bytes(&span.traceparent()) {
                headers.insert(TRACEPARENT, value);
            }
        }
    }

    pub fn finish(self, exchange: Exchange) {
        self.to.exchange(self.context, exchange);
    }
}

const TRACEPARENT: &str = "traceparent";

/// The runtime's monotonic clock (`pipeline::clock`) mapped to wall time,
/// read once at start-up: spans and log lines get wall timestamps without
/// reading the system clock per exchange, and durations stay monotonic.
#[derive(Debug, Clone, Copy)]
pub struct WallClock {
    mono: Timestamp,
    wall: SystemTime,
}

impl WallClock {
    pub fn now() -> WallClock {
        WallClock {
            mono: super::clock::now(),
            wall: SystemTime::now(),
        }
    }

    pub fn wall(&self, at: Timestamp) -> SystemTime {
        if at >= self.mono {
            self.wall + Duration::from_nanos(at.0 - self.mono.0)
        } else {
            self.wall - Duration::from_nanos(self.mono.0 - at.0)
        }
    }
}

/// The running span and log outputs, built once from the config.
pub struct Outputs {
    tracer: Option<super::traces::Tracer>,
    trace_task: Option<super::traces::TraceTask>,
    /// By listener position in the config.
    logs: Vec<Option<AccessLog>>,
    log_task: Option<super::access_log::AccessLogTask>,
}

impl Outputs {
    /// Opens log files and starts the export tasks (on the current runtime).
    pub fn start(
        config: &crate::config::Config,
        families: &super::Families,
    ) -> Result<Outputs, String> {
        let dropped = prometheus::IntCounterVec::new(
            prometheus::Opts::new(
                "periscope_telemetry_dropped_total",
                "Spans and access-log lines dropped because their export queue was full.",
            ),
            &["signal"],
        )
        .map_err(|e| e.to_string())?;
        families
            .registry
            .register(Box::new(dropped.clone()))
            .map_err(|e| e.to_string())?;
        let dropped_traces = dropped.with_label_values(&["traces"]);
        let dropped_logs = dropped.with_label_values(&["access_log"]);
        let clock = WallClock::now();

        let (tracer, trace_task) = match &config.tracing.endpoint {
            Some(endpoint) => {
                let (tracer, task) =
                    super::traces::spawn(&config.tracing, endpoint, dropped_traces, clock)?;
                tracing::info!(
                    endpoint = %endpoint,
                    protocol = config.tracing.protocol.as_str(),
                    "exporting traces over OTLP"
                );
                (Some(tracer), Some(task))
            }
            None => (None, None),
        };

        let mut destinations = super::access_log::Destinations::default();
        let mut indices = Vec::new();
        for listener in &config.listeners {
            indices.push(match &listener.access_log {
                Some(log) => Some(
                    destinations
                        .add(log)
                        .map_err(|e| format!("listener {}: {e}", listener.name))?,
                ),
                None => None,
            });
        }
        let (logs, log_task) = if destinations.is_empty() {
            (indices.iter().map(|_| None).collect(), None)
        } else {
            let (handle, task) = super::access_log::spawn(destinations, dropped_logs, clock);
            (indices.iter().map(|i| i.map(&handle)).collect(), Some(task))
        };
        Ok(Outputs {
            tracer,
            trace_task,
            logs,
            log_task,
        })
    }

    /// The export targets of the listener at position `index` in the config.
    pub fn for_listener(&self, index: usize, name: &str, port: u16) -> ListenerExport {
        ListenerExport {
            listener: name.into(),
            port,
            tracer: self.tracer.clone(),
            access_log: self.logs.get(index).cloned().flatten(),
        }
    }

    /// At shutdown: write and export what is still queued.
    pub async fn flush(self, deadline: Duration) {
        if let Some(task) = self.log_task {
            task.flush(deadline).await;
        }
        if let Some(task) = self.trace_task {
            task.flush(deadline).await;
        }
    }
}

/// The L4 path's handle, carried by a connection's tap: its sniffed
/// exchanges, and for opaque connections one summary line at the end.
pub struct ConnectionExport {
    to: Arc<ListenerExport>,
    context: ExchangeContext,
    started: Timestamp,
    protocol: Protocol,
    from_client: u64,
    to_client: u64,
}

impl ConnectionExport {
    /// `None` when the listener exports nothing.
    pub fn begin(to: &Arc<ListenerExport>, protocol: Protocol) -> Option<Box<ConnectionExport>> {
        to.is_on().then(|| {
            Box::new(ConnectionExport {
                to: to.clone(),
                context: ExchangeContext::default(),
                started: super::clock::now(),
                protocol,
                from_client: 0,
                to_client: 0,
            })
        })
    }

    pub fn set_peer(&mut self, peer: SocketAddr) {
        self.context.peer = Some(peer);
    }

    pub fn set_upstream(&mut self, endpoint: &str, cluster: Option<&str>) {
        self.context.upstream = Some(endpoint.to_owned());
        self.context.cluster = cluster.map(str::to_owned);
    }

    pub fn detected(&mut self, protocol: Protocol) {
        self.protocol = protocol;
    }

    pub fn count(&mut self, direction: periscope_parsers::Direction, bytes: usize) {
        let bytes = bytes as u64;
        match direction {
            periscope_parsers::Direction::ClientToServer => self.from_client += bytes,
            periscope_parsers::Direction::ServerToClient => self.to_client += bytes,
        }
    }

    pub fn exchange(&self, exchange: Exchange) {
        self.to.exchange(self.context.clone(), exchange);
    }

    /// The connection ended. Connections whose protocol Periscope does not
    /// parse (TLS, unknown) get their summary line; parsed ones were logged
    /// exchange by exchange.
    pub fn close(self) {
        if periscope_parsers::parser_for(self.protocol).is_some() {
            return;
        }
        let summary = ConnectionSummary {
            protocol: self.protocol,
            started: self.started,
            finished: super::clock::now(),
            bytes_from_client: self.from_client,
            bytes_to_client: self.to_client,
        };
        self.to.connection(self.context, summary);
    }
}

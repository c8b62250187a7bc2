//! Start-up of the export outputs: the dropped-telemetry counter, the
//! OTLP export task and the access-log writer, and each listener's handle.
use super::{ListenerExport, WallClock};
use crate::pipeline::access_log::AccessLog;
use std::time::Duration;

/// The running span and log outputs, built once from the config.
pub struct Outputs {
    tracer: Option<crate::pipeline::traces::Tracer>,
    trace_task: Option<crate::pipeline::traces::TraceTask>,
    /// By listener position in the config.
    logs: Vec<Option<AccessLog>>,
    log_task: Option<crate::pipeline::access_log::AccessLogTask>,
}

impl Outputs {
    /// Opens log files and starts the export tasks (on the current runtime).
    pub fn start(
        config: &crate::config::Config,
        families: &crate::pipeline::Families,
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
                let (tracer, task) = crate::pipeline::traces::spawn(
                    &config.tracing,
                    endpoint,
                    dropped_traces,
                    clock,
                )?;
                tracing::info!(
                    endpoint = %endpoint,
                    protocol = config.tracing.protocol.as_str(),
                    "exporting traces over OTLP"
                );
                (Some(tracer), Some(task))
            }
            None => (None, None),
        };

        let mut destinations = crate::pipeline::access_log::Destinations::default();
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
            let (handle, task) =
                crate::pipeline::access_log::spawn(destinations, dropped_logs, clock);
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

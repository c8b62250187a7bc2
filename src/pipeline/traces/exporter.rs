//! The export task: spans built and sent in batches on the tokio runtime.
use super::{span, SpanJob, Tracer};
use crate::config::{OtlpProtocol, TracingConfig};
use crate::pipeline::export::WallClock;
use opentelemetry::{InstrumentationScope, KeyValue};
use opentelemetry_otlp::{SpanExporter, WithExportConfig, WithHttpConfig, WithTonicConfig};
use opentelemetry_sdk::trace::SpanExporter as _;
use opentelemetry_sdk::Resource;
use prometheus::IntCounter;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, Notify};

/// Most spans in one export request.
const MAX_BATCH: usize = 512;
/// How long a span may wait for its batch to fill.
const BATCH_DELAY: Duration = Duration::from_millis(500);
/// Per export request; a slow collector costs queued spans, never traffic.
const EXPORT_TIMEOUT: Duration = Duration::from_secs(10);

/// The running export task, for a last flush at shutdown.
pub struct TraceTask {
    stop: Arc<Notify>,
    done: tokio::task::JoinHandle<()>,
}

impl TraceTask {
    /// Export what is queued, waiting at most `deadline`.
    pub async fn flush(self, deadline: Duration) {
        self.stop.notify_one();
        if tokio::time::timeout(deadline, self.done).await.is_err() {
            tracing::warn!("trace export did not finish before the deadline");
        }
    }
}

/// Builds the exporter and starts the task; the `Tracer` feeds it.
pub fn spawn(
    config: &TracingConfig,
    endpoint: &str,
    dropped: IntCounter,
    clock: WallClock,
) -> Result<(Tracer, TraceTask), String> {
    let mut exporter = build_exporter(config, endpoint)?;
    let resource = Resource::builder_empty()
        .with_service_name(config.service_name.clone())
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .build();
    exporter.set_resource(&resource);
    let (queue, jobs) = mpsc::channel(config.queue_size);
    let stop = Arc::new(Notify::new());
    let scope = InstrumentationScope::builder("periscope")
        .with_version(env!("CARGO_PKG_VERSION"))
        .build();
    let done = tokio::spawn(run(jobs, exporter, clock, scope, stop.clone()));
    let tracer = Tracer {
        queue,
        dropped,
        sampling_ratio: config.sampling_ratio,
    };
    Ok((tracer, TraceTask { stop, done }))
}

fn build_exporter(config: &TracingConfig, endpoint: &str) -> Result<SpanExporter, String> {
    let headers = config.headers.iter().cloned();
    let built = match config.protocol {
        OtlpProtocol::Grpc => {
            let mut map = http::HeaderMap::new();
            for (name, value) in headers {
                let key = http::HeaderName::from_bytes(name.as_bytes())
                    .map_err(|e| format!("tracing header {name}: {e}"))?;
                let value = http::HeaderValue::from_str(&value)
                    .map_err(|e| format!("tracing header {name}: {e}"))?;
                map.insert(key, value);
            }
            let metadata =
                opentelemetry_otlp::tonic_types::metadata::MetadataMap::from_headers(map);
            SpanExporter::builder()
                .with_tonic()
                .with_endpoint(endpoint)
                .with_timeout(EXPORT_TIMEOUT)
                .with_metadata(metadata)
                .build()
        }
        OtlpProtocol::HttpProtobuf => SpanExporter::builder()
            .with_http()
            .with_endpoint(http_traces_url(endpoint))
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_timeout(EXPORT_TIMEOUT)
            .with_headers(headers.collect())
            .build(),
    };
    built.map_err(|e| format!("cannot build the OTLP exporter for {endpoint}: {e}"))
}

/// `OTEL_EXPORTER_OTLP_ENDPOINT` semantics: the base URL, with the signal's
/// path appended for OTLP/HTTP.
pub fn http_traces_url(endpoint: &str) -> String {
    format!("{}/v1/traces", endpoint.trim_end_matches('/'))
}

async fn run(
    mut jobs: mpsc::Receiver<SpanJob>,
    exporter: SpanExporter,
    clock: WallClock,
    scope: InstrumentationScope,
    stop: Arc<Notify>,
) {
    let mut failures_logged = 0u32;
    loop {
        let first = tokio::select! {
            job = jobs.recv() => job,
            () = stop.notified() => None,
        };
        let Some(first) = first else { break };
        let mut batch = Vec::with_capacity(MAX_BATCH);
        batch.extend(span::build(first, &clock, &scope));
        let deadline = tokio::time::sleep(BATCH_DELAY);
        tokio::pin!(deadline);
        let mut stopping = false;
        while batch.len() < MAX_BATCH {
            tokio::select! {
                job = jobs.recv() => match job {
                    Some(job) => batch.extend(span::build(job, &clock, &scope)),
                    None => break,
                },
                () = &mut deadline => break,
                () = stop.notified() => { stopping = true; break }
            }
        }
        export(&exporter, batch, &mut failures_logged).await;
        if stopping {
            break;
        }
    }
    // Shutting down: whatever is still queued goes out in a last batch.
    let mut rest = Vec::new();
    while let Ok(job) = jobs.try_recv() {
        rest.extend(span::build(job, &clock, &scope));
    }
    for batch in rest.chunks(MAX_BATCH) {
        export(&exporter, batch.to_vec(), &mut failures_logged).await;
    }
}

async fn export(
    exporter: &SpanExporter,
    batch: Vec<opentelemetry_sdk::trace::SpanData>,
    failures_logged: &mut u32,
) {
    if batch.is_empty() {
        return;
    }
    let count = batch.len();
    let result = exporter.export(batch).await;
    tracing::debug!(spans = count, ok = result.is_ok(), "OTLP export");
    if let Err(err) = result {
        // A collector that is down would otherwise log every half second.
        if *failures_logged < 10 {
            *failures_logged += 1;
            tracing::warn!("OTLP export of {count} spans failed: {err}");
        }
    }
}

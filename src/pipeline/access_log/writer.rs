//! The writer task: formats queued lines and writes them, batching writes
//! while the queue has more and flushing whenever it runs dry, so lines show
//! up promptly without a syscall per line under load.
use super::entry::Entry;
use super::{AccessLog, Line, Record, QUEUE_SIZE};
use crate::config::{AccessLogConfig, LogFormat, LogPath};
use crate::pipeline::export::WallClock;
use prometheus::IntCounter;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::{mpsc, Notify};

/// Every distinct output, opened once; listeners logging to the same path
/// share it.
#[derive(Default)]
pub struct Destinations {
    outputs: Vec<(LogPath, Option<Box<dyn AsyncWrite + Send + Unpin>>)>,
    formats: Vec<(usize, LogFormat)>,
}

impl Destinations {
    /// Registers a listener's log; returns its index for [`spawn`]'s handles.
    pub fn add(&mut self, config: &AccessLogConfig) -> Result<usize, String> {
        let output = match self.outputs.iter().position(|(p, _)| *p == config.path) {
            Some(i) => i,
            None => {
                let writer: Box<dyn AsyncWrite + Send + Unpin> = match &config.path {
                    LogPath::Stdout => Box::new(tokio::io::stdout()),
                    LogPath::File(path) => {
                        let file = std::fs::OpenOptions::new()
                            .create(true)
                            .append(true)
                            .open(path)
                            .map_err(|e| {
                                format!("cannot open access log {}: {e}", path.display())
                            })?;
                        Box::new(tokio::fs::File::from_std(file))
                    }
                };
                self.outputs.push((config.path.clone(), Some(writer)));
                self.outputs.len() - 1
            }
        };
        self.formats.push((output, config.format.clone()));
        Ok(self.formats.len() - 1)
    }

    pub fn is_empty(&self) -> bool {
        self.formats.is_empty()
    }
}

pub struct AccessLogTask {
    stop: Arc<Notify>,
    done: tokio::task::JoinHandle<()>,
}

impl AccessLogTask {
    /// Write what is queued, waiting at most `deadline`.
    pub async fn flush(self, deadline: Duration) {
        self.stop.notify_one();
        if tokio::time::timeout(deadline, self.done).await.is_err() {
            tracing::warn!("access log writer did not finish before the deadline");
        }
    }
}

/// Starts the writer; `handle(i)` gives the listener registered as `i` its
/// sender.
pub fn spawn(
    destinations: Destinations,
    dropped: IntCounter,
    clock: WallClock,
) -> (impl Fn(usize) -> AccessLog, AccessLogTask) {
    let (queue, lines) = mpsc::channel(QUEUE_SIZE);
    let stop = Arc::new(Notify::new());
    let done = tokio::spawn(run(lines, destinations, clock, stop.clone()));
    let handle = move |destination| AccessLog {
        queue: queue.clone(),
        destination,
        dropped: dropped.clone(),
    };
    (handle, AccessLogTask { stop, done })
}

async fn run(
    mut lines: mpsc::Receiver<Line>,
    mut destinations: Destinations,
    clock: WallClock,
    stop: Arc<Notify>,
) {
    let mut buffers: Vec<Vec<u8>> = vec![Vec::new(); destinations.outputs.len()];
    let mut stopping = false;
    while !stopping {
        let line = tokio::select! {
            line = lines.recv() => line,
            () = stop.notified() => { stopping = true; None }
        };
        let Some(line) = line else {
            if !stopping {
                break;
            }
            // Shutting down: write whatever is still queued.
            while let Ok(line) = lines.try_recv() {
                format_into(&destinations, &mut buffers, &clock, line);
            }
            write_all(&mut destinations, &mut buffers).await;
            break;
        };
        format_into(&destinations, &mut buffers, &clock, line);
        // Take what else is already queued, then write in one go.
        for _ in 0..1024 {
            match lines.try_recv() {
                Ok(line) => format_into(&destinations, &mut buffers, &clock, line),
                Err(_) => break,
            }
        }
        write_all(&mut destinations, &mut buffers).await;
    }
}

fn format_into(
    destinations: &Destinations,
    buffers: &mut [Vec<u8>],
    clock: &WallClock,
    line: Line,
) {
    let Some((output, format)) = destinations.formats.get(line.destination) else {
        return;
    };
    let entry = match &line.record {
        Record::Exchange(boxed) => Entry::exchange(&line.listener, &boxed.0, &boxed.1, clock),
        Record::Connection(boxed) => Entry::connection(&line.listener, &boxed.0, &boxed.1, clock),
    };
    let mut text = String::new();
    match format {
        LogFormat::Json => text = entry.to_json().to_string(),
        LogFormat::Text(format) => format.render(&entry, &mut text),
    }
    if let Some(buffer) = buffers.get_mut(*output) {
        buffer.extend_from_slice(text.as_bytes());
        buffer.push(b'\n');
    }
}

async fn write_all(destinations: &mut Destinations, buffers: &mut [Vec<u8>]) {
    for ((path, writer), buffer) in destinations.outputs.iter_mut().zip(buffers.iter_mut()) {
        if buffer.is_empty() {
            continue;
        }
        let Some(out) = writer else {
            buffer.clear();
            continue;
        };
        let result = async {
            out.write_all(buffer).await?;
            out.flush().await
        }
        .await;
        buffer.clear();
        if let Err(err) = result {
            // A full disk or closed stdout must not take the proxy down:
            // stop writing to this output and say so once.
            tracing::warn!("access log {path:?}: write failed, disabling it: {err}");
            *writer = None;
        }
    }
}

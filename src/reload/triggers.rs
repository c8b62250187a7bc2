//! What starts a reload besides `POST /reload`: SIGHUP, and optionally a
//! watch on the config file.
//!
//! The watch polls the file's modification time and size every second
//! rather than using inotify: one `stat` a second costs nothing, needs no
//! dependency, and also sees the file being replaced by a rename or a
//! Kubernetes ConfigMap symlink swap (a `stat` follows the link).
use super::Reloader;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::signal::unix::{signal, Signal, SignalKind};

/// How often the watched file is looked at.
const WATCH_INTERVAL: Duration = Duration::from_secs(1);

/// SIGHUP, watched from the moment it is installed: its default action
/// would end the process, so it is installed before anything binds.
pub struct Hangup(Option<Signal>);

impl Hangup {
    pub fn install() -> Hangup {
        Hangup(
            signal(SignalKind::hangup())
                .map_err(|err| tracing::warn!("cannot watch SIGHUP: {err}"))
                .ok(),
        )
    }

    /// Reloads on every SIGHUP, one at a time.
    pub fn spawn(self, reloader: Arc<Reloader>) {
        let Some(mut hangup) = self.0 else {
            return;
        };
        tokio::spawn(async move {
            while hangup.recv().await.is_some() {
                let _ = reloader.reload("SIGHUP").await;
            }
        });
    }
}

/// Modification time and size: what "the file changed" means here.
type Stamp = Option<(SystemTime, u64)>;

fn stamp(path: &PathBuf) -> Stamp {
    let meta = std::fs::metadata(path).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

/// Reloads whenever the file's stamp differs from the last one seen. A
/// broken file is tried once per change, so its error is logged and
/// counted once, not every second.
pub fn watch(path: PathBuf, reloader: Arc<Reloader>) {
    tracing::info!(file = %path.display(), "watching the config file for changes");
    tokio::spawn(async move {
        let mut seen = stamp(&path);
        let mut ticks = tokio::time::interval(WATCH_INTERVAL);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticks.tick().await;
            let now = stamp(&path);
            if now != seen {
                seen = now;
                let _ = reloader.reload("file change").await;
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stamp_changes_with_the_size_and_is_none_for_a_missing_file() {
        let dir = std::env::temp_dir().join(format!("periscope-stamp-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let file = dir.join("config.yaml");
        assert_eq!(stamp(&file), None);
        std::fs::write(&file, "a: 1\n").expect("write");
        let first = stamp(&file);
        assert!(first.is_some());
        std::fs::write(&file, "a: 12\n").expect("write");
        assert_ne!(stamp(&file), first);
        let _ = std::fs::remove_dir_all(&dir);
    }
}

//! A per-test scratch directory (configs, logs, nginx state, payload files).
//!
//! Removed on drop when the test passed; kept when the thread is panicking so
//! the process logs inside can be read after a failure (the path is printed).
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};

pub struct WorkDir {
    path: PathBuf,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl WorkDir {
    /// Creates `$TMPDIR/periscope-tests/<label>-<pid>-<n>`, unique per call.
    pub fn new(label: &str) -> WorkDir {
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let path = std::env::temp_dir()
            .join("periscope-tests")
            .join(format!("{label}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&path);
        std::fs::create_dir_all(&path)
            .unwrap_or_else(|e| panic!("cannot create work dir {}: {e}", path.display()));
        WorkDir { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.path.join(name)
    }

    /// Writes `contents` to `name` inside the dir and returns its path.
    pub fn write(&self, name: &str, contents: impl AsRef<[u8]>) -> PathBuf {
        let p = self.join(name);
        if let Some(parent) = p.parent() {
            std::fs::create_dir_all(parent).expect("create parent dir");
        }
        std::fs::write(&p, contents).unwrap_or_else(|e| panic!("write {}: {e}", p.display()));
        p
    }

    /// Writes a file of `len` bytes of `fill` (payloads for up/downloads).
    pub fn write_filled(&self, name: &str, len: usize, fill: u8) -> PathBuf {
        self.write(name, vec![fill; len])
    }
}

impl Drop for WorkDir {
    fn drop(&mut self) {
        if std::thread::panicking() {
            eprintln!(
                "[harness] kept work dir for post-mortem: {}",
                self.path.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.path);
        }
    }
}

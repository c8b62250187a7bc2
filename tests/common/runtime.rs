//! Where tests/install-peers.sh puts the peers that come from PyPI and npm:
//! `.runtime/` at the repo root (or `$PERISCOPE_RUNTIME`), git-ignored.
//!
//! A missing peer is a failure, never a skip: the message names the
//! installer.
use std::path::{Path, PathBuf};

/// The repo root (the crate holding these tests).
pub fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `.runtime/` (or `$PERISCOPE_RUNTIME`), as install-peers.sh uses it.
pub fn runtime_dir() -> PathBuf {
    std::env::var_os("PERISCOPE_RUNTIME")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join(".runtime"))
}

/// `relative` under the runtime dir, or a panic saying how to install it.
pub fn require_runtime(relative: &str, what: &str) -> PathBuf {
    let path = runtime_dir().join(relative);
    if !path.exists() {
        panic!(
            "{what} not found at {}: run tests/install-peers.sh",
            path.display()
        );
    }
    path
}

/// A test script kept under `tests/` (e.g. `mongo/workload.py`).
pub fn test_script(relative: &str) -> PathBuf {
    let path = repo_root().join("tests").join(relative);
    assert!(path.is_file(), "missing test script {}", path.display());
    path
}

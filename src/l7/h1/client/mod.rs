//! Upstream HTTP/1.1 (see `l7/h1`).
mod body;
mod conn;
mod head;
mod pool;

pub use body::H1Body;
pub use conn::UpgradeRequested;
pub use pool::{H1Pool, Switched};

//! Downstream HTTP/1.x (see `l7/h1`).
mod body;
mod conn;
mod head;
mod respond;

pub use body::DownstreamBody;
pub use conn::serve;

//! HTTP/1.1 to upstreams: our own client, so that a request is written,
//! and its response read, by the request's own task (no connection task,
//! no channels), and per-endpoint pools that enforce the circuit breakers.
//!
//! - `pool`: idle stacks per endpoint, connection and pending-request limits
//! - `conn`: one connection; writes a request, reads its response head
//! - `head`: request head encoding, response head parsing, body framing
//! - `body`: the response body, read from the connection as it is pulled
//! - `chunked`: the chunked transfer coding, decoded in place
mod body;
mod chunked;
mod conn;
mod head;
mod pool;

pub use body::H1Body;
pub use pool::H1Pool;

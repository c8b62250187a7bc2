//! HTTP/1.x, both sides, our own: each exchange is driven by its request's
//! task, with no connection tasks and no channels, and a connection holds
//! buffers only while a message is in flight.
//!
//! - `server/`: downstream connections (`conn.rs` the request loop,
//!   `head.rs` request heads in and response heads out, `body.rs` request
//!   bodies read as they are pulled, `respond.rs` responses written)
//! - `client/`: upstream connections (`pool.rs` per-endpoint pools under the
//!   circuit breakers, `conn.rs` one connection writing a request and
//!   reading its head, `head.rs` request heads out and response heads in,
//!   `body.rs` response bodies read as they are pulled)
//! - `chunked.rs`: the chunked coding, decoded in place; `body_framing.rs`:
//!   the next frame of a body being read; `framing.rs`: `Content-Length`
//!   and connection tokens, as both sides read them
mod body_framing;
mod chunked;
mod client;
mod framing;
mod server;

pub use client::{H1Body, H1Pool, Switched, UpgradeRequested};
pub use server::{serve, DownstreamBody};

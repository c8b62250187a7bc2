//! The L4 path: relay bytes to a cluster endpoint, sniff them on the way.
mod buffers;
mod relay;
mod relay_stream;
mod tap;

pub use relay::{relay, Counters, Early};
pub use relay_stream::{relay_io, Downstream};
pub use tap::Tap;

#[cfg(test)]
mod tap_tests;

//! The runtime's monotonic clock, in the parsers' `Timestamp` unit.
//!
//! Parsers never read a clock; the runtime stamps every feed with this one so
//! that sniffed (L4) and proxied (L7) exchanges are measured alike.
use periscope_parsers::Timestamp;
use std::sync::OnceLock;
use std::time::Instant;

static ORIGIN: OnceLock<Instant> = OnceLock::new();

pub fn now() -> Timestamp {
    let origin = *ORIGIN.get_or_init(Instant::now);
    Timestamp(origin.elapsed().as_nanos() as u64)
}

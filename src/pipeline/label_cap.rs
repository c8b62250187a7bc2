//! Bounded interning of label values that come off the wire (collection and
//! database names, error codes).
//!
//! Each listener holds one `LabelCap` per label. The first `cap` distinct
//! values keep their own label; later ones become `_OTHER` and are counted.
//! The map is consulted only when a connection meets a value for the first
//! time (connections cache what they resolved), so its lock is off the hot
//! path.
use prometheus::IntCounter;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub const OTHER: &str = "_OTHER";

pub struct LabelCap {
    cap: usize,
    known: Mutex<HashMap<Box<str>, Arc<str>>>,
    other: Arc<str>,
    overflow: IntCounter,
}

impl LabelCap {
    pub fn new(cap: usize, overflow: IntCounter) -> LabelCap {
        LabelCap {
            cap,
            known: Mutex::new(HashMap::new()),
            other: Arc::from(OTHER),
            overflow,
        }
    }

    /// The label value for `raw`: itself while under the cap, else
    /// `_OTHER`. Overflow is counted per observation, by `count_overflow`.
    pub fn resolve(&self, raw: &str) -> Arc<str> {
        let Ok(mut known) = self.known.lock() else {
            return self.other.clone();
        };
        if let Some(label) = known.get(raw) {
            return label.clone();
        }
        if known.len() >= self.cap {
            return self.other.clone();
        }
        let label: Arc<str> = Arc::from(raw);
        known.insert(Box::from(raw), label.clone());
        label
    }

    /// Count one observation recorded under the overflow label.
    pub fn count_overflow(&self) {
        self.overflow.inc();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_beyond_the_cap_become_other_and_each_use_is_counted() {
        let overflow = IntCounter::new("t", "t").expect("counter");
        let cap = LabelCap::new(2, overflow.clone());
        assert_eq!(&*cap.resolve("a"), "a");
        assert_eq!(&*cap.resolve("b"), "b");
        assert_eq!(&*cap.resolve("a"), "a");
        for raw in ["a", "c", "d"] {
            if &*cap.resolve(raw) == OTHER {
                cap.count_overflow();
            }
        }
        assert_eq!(&*cap.resolve("c"), OTHER);
        assert_eq!(overflow.get(), 2);
    }
}

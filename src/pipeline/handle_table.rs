//! A read-mostly map from a raw label value seen on the wire (a gRPC
//! method, a DynamoDB table) to the metric handles resolved for it.
//!
//! Readers load an `ArcSwap` snapshot and look up a borrowed `&str`: no
//! lock, no allocation. The map changes only when a value is first seen,
//! under a writer lock (off the hot path: once per value per scope), and
//! never grows past the listener's cap for that label: later values share
//! one `_OTHER` entry, which the caller counts as overflow.
use super::label_cap::{LabelCap, OTHER};
use arc_swap::ArcSwap;
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

pub struct HandleTable<T> {
    table: ArcSwap<HashMap<Box<str>, Arc<T>>>,
    writer: Mutex<()>,
    other: OnceLock<Arc<T>>,
}

impl<T> Default for HandleTable<T> {
    fn default() -> Self {
        HandleTable {
            table: ArcSwap::from_pointee(HashMap::new()),
            writer: Mutex::new(()),
            other: OnceLock::new(),
        }
    }
}

impl<T> HandleTable<T> {
    /// The handles for `raw`, created by `create(label)` the first time it
    /// is seen; `label` is `raw` while under `cap`, else `_OTHER`.
    pub fn get(&self, raw: &str, cap: &LabelCap, create: impl Fn(Arc<str>) -> T) -> Arc<T> {
        if let Some(found) = self.table.load().get(raw) {
            return found.clone();
        }
        let Ok(_writer) = self.writer.lock() else {
            return self.other(create);
        };
        let current = self.table.load();
        if let Some(found) = current.get(raw) {
            return found.clone();
        }
        let label = cap.resolve(raw);
        if &*label == OTHER {
            return self.other(create);
        }
        let handles = Arc::new(create(label));
        let mut next = HashMap::clone(&current);
        next.insert(Box::from(raw), handles.clone());
        self.table.store(Arc::new(next));
        handles
    }

    /// The shared entry of values past the cap (or with no usable value).
    pub fn other(&self, create: impl Fn(Arc<str>) -> T) -> Arc<T> {
        self.other
            .get_or_init(|| Arc::new(create(Arc::from(OTHER))))
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prometheus::IntCounter;

    #[test]
    fn values_past_the_cap_share_the_other_entry() {
        let overflow = IntCounter::new("t", "t").expect("counter");
        let cap = LabelCap::new(1, overflow);
        let table: HandleTable<String> = HandleTable::default();
        let make = |label: Arc<str>| label.to_string();
        assert_eq!(*table.get("a", &cap, make), "a");
        assert_eq!(*table.get("b", &cap, make), OTHER);
        let first = table.get("a", &cap, make);
        let again = table.get("a", &cap, make);
        assert!(Arc::ptr_eq(&first, &again), "resolved once");
        let other = table.get("c", &cap, make);
        assert!(Arc::ptr_eq(&other, &table.other(make)));
    }
}

//! Pre-resolved handles for `http_server_request_duration_seconds`.
//!
//! One `HttpScope` per (listener, route, cluster), built when configuration
//! is loaded. The per-request label values (method, status, version) come
//! from closed sets, so each scope holds a dense table of lazily created
//! histogram handles: after a label set's first observation, recording is a
//! table index and an atomic add — no label strings, no allocation, no lock.
//!
//! The table has two levels, (method, version) then (status slot, outcome),
//! and the second level is allocated on first use: a scope costs a few
//! hundred bytes until traffic arrives, and a few KiB per method and version
//! it actually sees, rather than ~90 KiB up front for every route.
use super::families::{Families, HTTP_SERIES_CAP};
use super::status_slots::{self, SLOTS};
use periscope_parsers::{HttpMethod, HttpVersion, Outcome};
use prometheus::{Histogram, HistogramVec, IntCounter};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

const METHODS: usize = HttpMethod::ALL.len();
const VERSIONS: usize = 3;
const VERSION_LABELS: [&str; VERSIONS] = ["1.0", "1.1", "2"];
/// Complete or incomplete.
const OUTCOMES: usize = 2;

/// Counts series created in one family so that a cap holds across scopes.
pub struct SeriesBudget {
    created: AtomicUsize,
    cap: usize,
    overflow: IntCounter,
}

impl SeriesBudget {
    pub fn new(cap: usize, overflow: IntCounter) -> SeriesBudget {
        SeriesBudget {
            created: AtomicUsize::new(0),
            cap,
            overflow,
        }
    }

    fn try_take(&self) -> bool {
        self.created.fetch_add(1, Ordering::Relaxed) < self.cap
    }
}

struct Cell {
    histogram: Histogram,
    /// This cell stands in for a label set that did not fit the cap.
    overflowed: bool,
}

pub struct HttpScope {
    family: HistogramVec,
    labels: [String; 3],
    budget: Arc<SeriesBudget>,
    /// By (method, version); each a table by (status slot, outcome).
    cells: Box<[OnceLock<Row>]>,
}

/// One (method, version)'s handles, by (status slot, outcome).
type Row = Box<[OnceLock<Cell>]>;

impl HttpScope {
    pub fn new(
        family: &HistogramVec,
        budget: Arc<SeriesBudget>,
        listener: &str,
        route: &str,
        cluster: &str,
    ) -> HttpScope {
        HttpScope {
            family: family.clone(),
            labels: [listener.to_owned(), route.to_owned(), cluster.to_owned()],
            budget,
            cells: (0..METHODS * VERSIONS).map(|_| OnceLock::new()).collect(),
        }
    }

    /// An incomplete exchange (the client or upstream went away before the
    /// response ended) keeps its status but gets `error_type="incomplete"`.
    pub fn observe(
        &self,
        method: HttpMethod,
        version: HttpVersion,
        status: Option<u16>,
        outcome: Outcome,
        seconds: f64,
    ) {
        let slot = status_slots::slot(status);
        let incomplete = outcome == Outcome::Incomplete;
        let Some(row) = self.cells.get(method.index() * VERSIONS + version.index()) else {
            return;
        };
        let row = row.get_or_init(|| (0..SLOTS * OUTCOMES).map(|_| OnceLock::new()).collect());
        let Some(cell) = row.get(slot * OUTCOMES + usize::from(incomplete)) else {
            return;
        };
        let cell = cell.get_or_init(|| self.create(method, version, slot, incomplete));
        if cell.overflowed {
            self.budget.overflow.inc();
        }
        cell.histogram.observe(seconds);
    }

    /// Runs once per label set per scope.
    fn create(
        &self,
        method: HttpMethod,
        version: HttpVersion,
        slot: usize,
        incomplete: bool,
    ) -> Cell {
        let [listener, route, cluster] = &self.labels;
        if self.budget.try_take() {
            let histogram = self.family.with_label_values(&[
                listener.as_str(),
                route.as_str(),
                cluster.as_str(),
                method.as_str(),
                status_slots::status_label(slot),
                VERSION_LABELS[version.index()],
                if incomplete {
                    status_slots::INCOMPLETE
                } else {
                    status_slots::error_type_label(slot)
                },
            ]);
            Cell {
                histogram,
                overflowed: false,
            }
        } else {
            let histogram = self.family.with_label_values(&[
                listener.as_str(),
                route.as_str(),
                cluster.as_str(),
                "_OTHER",
                "_OTHER",
                "_OTHER",
                "_OTHER",
            ]);
            Cell {
                histogram,
                overflowed: true,
            }
        }
    }
}

/// The family-wide budget for HTTP series, shared by all scopes.
pub fn http_budget(families: &Families) -> Arc<SeriesBudget> {
    Arc::new(SeriesBudget::new(
        HTTP_SERIES_CAP,
        families
            .label_overflow
            .with_label_values(&["http_server_request_duration_seconds"]),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count(families: &Families, labels: &[&str]) -> u64 {
        families
            .http_duration
            .with_label_values(labels)
            .get_sample_count()
    }

    #[test]
    fn observations_land_in_their_exact_series() {
        let families = Families::new();
        let scope = HttpScope::new(
            &families.http_duration,
            http_budget(&families),
            "edge",
            "api",
            "web",
        );
        for _ in 0..3 {
            scope.observe(
                HttpMethod::Get,
                HttpVersion::Http11,
                Some(200),
                Outcome::Complete,
                0.01,
            );
        }
        scope.observe(
            HttpMethod::Post,
            HttpVersion::Http2,
            Some(503),
            Outcome::Complete,
            0.01,
        );
        scope.observe(
            HttpMethod::Get,
            HttpVersion::Http11,
            Some(200),
            Outcome::Incomplete,
            0.01,
        );
        let ok = ["edge", "api", "web", "GET", "200", "1.1", ""];
        let failed = ["edge", "api", "web", "POST", "503", "2", "503"];
        assert_eq!(count(&families, &ok), 3);
        assert_eq!(count(&families, &failed), 1);
        let cut_short = ["edge", "api", "web", "GET", "200", "1.1", "incomplete"];
        assert_eq!(count(&families, &cut_short), 1);
    }

    #[test]
    fn series_beyond_the_cap_fold_into_other_and_are_counted() {
        let families = Families::new();
        let overflow = families.label_overflow.with_label_values(&["test"]);
        let budget = Arc::new(SeriesBudget::new(1, overflow.clone()));
        let scope = HttpScope::new(&families.http_duration, budget, "l", "r", "c");
        scope.observe(
            HttpMethod::Get,
            HttpVersion::Http11,
            Some(200),
            Outcome::Complete,
            0.0,
        );
        scope.observe(
            HttpMethod::Get,
            HttpVersion::Http11,
            Some(404),
            Outcome::Complete,
            0.0,
        );
        scope.observe(
            HttpMethod::Put,
            HttpVersion::Http11,
            Some(404),
            Outcome::Complete,
            0.0,
        );
        let other = ["l", "r", "c", "_OTHER", "_OTHER", "_OTHER", "_OTHER"];
        assert_eq!(count(&families, &other), 2);
        assert_eq!(overflow.get(), 2);
    }
}

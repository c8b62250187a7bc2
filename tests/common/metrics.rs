//! Prometheus text exposition (0.0.4) parsed into samples, with helpers that
//! sum the samples matching a label subset.
//!
//!     let scrape = Scrape::fetch(px.admin);
//!     assert_eq!(scrape.counter("periscope_detections_total", &[("protocol", "http1")]), 1.0);
//!
//! When nothing matches, `counter` panics listing the series of that name
//! that do exist, so a wrong label value is visible at a glance.
use super::raw_http::http_get;
use std::collections::BTreeMap;
use std::fmt;

/// Sample name counting HTTP requests (the histogram's `_count`).
pub const REQUESTS: &str = "http_server_request_duration_seconds_count";
use std::net::SocketAddr;

/// Scrapes `/metrics` on an admin address (same as `Scrape::fetch`).
pub fn metrics(admin: SocketAddr) -> Scrape {
    Scrape::fetch(admin)
}

#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub name: String,
    pub labels: BTreeMap<String, String>,
    pub value: f64,
}

impl Sample {
    fn matches(&self, name: &str, labels: &[(&str, &str)]) -> bool {
        self.name == name
            && labels
                .iter()
                .all(|(k, v)| self.labels.get(*k).map(String::as_str) == Some(*v))
    }
}

impl fmt::Display for Sample {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let labels: Vec<String> = self
            .labels
            .iter()
            .map(|(k, v)| format!("{k}={v:?}"))
            .collect();
        write!(f, "{}{{{}}} {}", self.name, labels.join(","), self.value)
    }
}

#[derive(Debug, Clone)]
pub struct Scrape {
    pub text: String,
    pub samples: Vec<Sample>,
}

impl Scrape {
    /// GETs `/metrics` from an admin address; panics if it is not a 200.
    pub fn fetch(admin: SocketAddr) -> Scrape {
        match http_get(admin, "/metrics") {
            Ok((200, body)) => Scrape::parse(&body),
            Ok((status, body)) => panic!("GET {admin}/metrics returned {status}: {body}"),
            Err(e) => panic!("GET {admin}/metrics failed: {e}"),
        }
    }

    /// Parses exposition text; panics on a line that is not a comment or a
    /// well-formed sample (a format bug the tests should see).
    pub fn parse(text: &str) -> Scrape {
        let samples = text
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(|l| parse_sample(l).unwrap_or_else(|e| panic!("bad metrics line {l:?}: {e}")))
            .collect();
        Scrape {
            text: text.to_string(),
            samples,
        }
    }

    /// Sum of the samples named `name` whose labels include all of `labels`;
    /// 0 when none match.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        // `+ 0.0` turns the empty sum's -0 into 0 for readable messages.
        self.matching(name, labels).map(|s| s.value).sum::<f64>() + 0.0
    }

    /// Like `value`, but panics (listing near misses) when no series matches:
    /// for counters a test expects to exist.
    pub fn counter(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        if self.matching(name, labels).next().is_none() {
            panic!(
                "no series {name} with {labels:?}\n{}",
                self.near_misses(name)
            );
        }
        self.value(name, labels)
    }

    /// Panics with the near misses unless `value(name, labels) == expected`.
    pub fn assert_value(&self, name: &str, labels: &[(&str, &str)], expected: f64) {
        let got = self.value(name, labels);
        assert!(
            got == expected,
            "{name} with {labels:?} = {got}, expected {expected}\n{}",
            self.near_misses(name)
        );
    }

    pub fn matching<'a>(
        &'a self,
        name: &'a str,
        labels: &'a [(&'a str, &'a str)],
    ) -> impl Iterator<Item = &'a Sample> + 'a {
        self.samples.iter().filter(move |s| s.matches(name, labels))
    }

    /// The series that exist under `name`, or else under names sharing its
    /// first two words, as a readable list for failure messages.
    pub fn near_misses(&self, name: &str) -> String {
        let same: Vec<String> = self
            .samples
            .iter()
            .filter(|s| s.name == name)
            .map(|s| format!("  {s}"))
            .collect();
        if !same.is_empty() {
            return format!("series of {name} present:\n{}", same.join("\n"));
        }
        let stem: String = name.split('_').take(2).collect::<Vec<_>>().join("_");
        let mut similar: Vec<&str> = self
            .samples
            .iter()
            .map(|s| s.name.as_str())
            .filter(|n| n.starts_with(&stem))
            .collect();
        similar.dedup();
        format!("no series named {name}; names starting with {stem:?}: {similar:?}")
    }
}

/// `name{k="v",...} value [timestamp]`
fn parse_sample(line: &str) -> Result<Sample, String> {
    let (name, rest) = match line.find(['{', ' ']) {
        Some(i) => line.split_at(i),
        None => return Err("no value".into()),
    };
    let (labels, rest) = if let Some(inner) = rest.strip_prefix('{') {
        parse_labels(inner)?
    } else {
        (BTreeMap::new(), rest)
    };
    let value_text = rest.split_whitespace().next().ok_or("no value")?;
    let value = value_text
        .parse::<f64>()
        .map_err(|e| format!("value {value_text:?}: {e}"))?;
    Ok(Sample {
        name: name.to_string(),
        labels,
        value,
    })
}

/// Parses `k="v",k2="v2"}` and returns the labels and what follows `}`.
fn parse_labels(mut s: &str) -> Result<(BTreeMap<String, String>, &str), String> {
    let mut labels = BTreeMap::new();
    loop {
        s = s.trim_start_matches([',', ' ']);
        if let Some(rest) = s.strip_prefix('}') {
            return Ok((labels, rest));
        }
        let (key, rest) = s.split_once("=\"").ok_or("label without =\"")?;
        let mut value = String::new();
        let mut chars = rest.char_indices();
        let end = loop {
            match chars.next() {
                Some((i, '"')) => break i,
                Some((_, '\\')) => match chars.next() {
                    Some((_, 'n')) => value.push('\n'),
                    Some((_, c)) => value.push(c),
                    None => return Err("dangling escape".into()),
                },
                Some((_, c)) => value.push(c),
                None => return Err("unterminated label value".into()),
            }
        };
        labels.insert(key.trim().to_string(), value);
        s = &rest[end + 1..];
    }
}

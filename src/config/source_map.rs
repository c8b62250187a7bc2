//! Where each field path sits in the YAML text, for semantic errors.
//!
//! Why a side table instead of `serde_saphyr::Spanned<T>` on raw fields:
//! `Spanned` adds a hidden `value` segment to every serde path (which
//! collides with our real `value` field in header lists), only covers the
//! fields someone remembered to wrap, and makes the raw model awkward to
//! build by hand (quick mode) and to dump. Here the raw model stays plain;
//! after a failed validation we re-read the already-accepted text as YAML
//! events (no alias expansion, so no amplification) and record the position
//! of every node under the same path syntax validation uses. Any path then
//! resolves to a real line: itself, or its nearest recorded ancestor (for
//! values that came through an alias or a `<<` merge, that is the alias or
//! merge site). It costs nothing on the happy path.
use std::collections::HashMap;

use serde_saphyr::granit_parser::{Event, Parser};

/// Field path → (line, column), both 1-based.
#[derive(Debug, Default)]
pub struct SourceMap {
    positions: HashMap<String, (u32, u32)>,
}

enum Frame {
    Map { path: String, key: Option<String> },
    Seq { path: String, next: usize },
}

/// Paths of nodes inside a non-scalar mapping key; never looked up.
const COMPLEX_KEY: &str = "\u{0}complex-key";

impl SourceMap {
    /// Builds the table; on a YAML error (impossible for text the
    /// deserializer accepted) it keeps what it has read so far.
    pub fn build(yaml: &str) -> Self {
        let mut map = SourceMap::default();
        let mut stack: Vec<Frame> = Vec::new();
        for item in Parser::new_from_str(yaml) {
            let Ok((event, span)) = item else { break };
            let is_node = matches!(
                event,
                Event::Scalar(..)
                    | Event::MappingStart(..)
                    | Event::SequenceStart(..)
                    | Event::Alias(..)
            );
            if matches!(event, Event::MappingEnd | Event::SequenceEnd) {
                stack.pop();
                continue;
            }
            if !is_node {
                continue;
            }
            let position = (
                u32::try_from(span.start.line()).unwrap_or(u32::MAX),
                u32::try_from(span.start.col().saturating_add(1)).unwrap_or(u32::MAX),
            );
            let path = match stack.last_mut() {
                None => String::new(),
                Some(Frame::Seq { path, next }) => {
                    let p = format!("{path}[{next}]");
                    *next += 1;
                    p
                }
                Some(Frame::Map { path, key }) => match key.take() {
                    Some(k) => join(path, &k),
                    None => {
                        // This node is a key.
                        if let Event::Scalar(text, ..) = &event {
                            *key = Some(text.to_string());
                            continue;
                        }
                        *key = Some("?".to_owned());
                        COMPLEX_KEY.to_owned()
                    }
                },
            };
            map.positions.entry(path.clone()).or_insert(position);
            match event {
                Event::MappingStart(..) => stack.push(Frame::Map { path, key: None }),
                Event::SequenceStart(..) => stack.push(Frame::Seq { path, next: 0 }),
                _ => {}
            }
        }
        map
    }

    /// Position of `path`, or of its nearest ancestor that has one.
    pub fn locate(&self, path: &str) -> Option<(u32, u32)> {
        let mut p = path;
        loop {
            if let Some(pos) = self.positions.get(p) {
                return Some(*pos);
            }
            if p.is_empty() {
                return None;
            }
            p = parent(p);
        }
    }
}

fn join(parent: &str, key: &str) -> String {
    if parent.is_empty() {
        key.to_owned()
    } else {
        format!("{parent}.{key}")
    }
}

/// `a.b[2]` → `a.b` → `a` → ``.
fn parent(path: &str) -> &str {
    let cut = if path.ends_with(']') {
        path.rfind('[')
    } else {
        path.rfind('.')
    };
    match cut {
        Some(i) => &path[..i],
        None => "",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const YAML: &str = "\
listeners:
  - name: a
    cluster: web
  - { name: b, virtual_hosts: [ { name: v, domains: [x, y] } ] }
clusters:
  - &c
    name: web
  - *c
";

    #[test]
    fn records_block_and_flow_nodes() {
        let map = SourceMap::build(YAML);
        assert_eq!(map.locate(""), Some((1, 1)));
        assert_eq!(map.locate("listeners"), Some((2, 3)));
        assert_eq!(map.locate("listeners[0]"), Some((2, 5)));
        assert_eq!(map.locate("listeners[0].cluster"), Some((3, 14)));
        assert_eq!(map.locate("listeners[1].name"), Some((4, 13)));
        assert_eq!(
            map.locate("listeners[1].virtual_hosts[0].domains[1]"),
            Some((4, 57))
        );
    }

    #[test]
    fn unknown_paths_fall_back_to_nearest_ancestor() {
        let map = SourceMap::build(YAML);
        assert_eq!(map.locate("listeners[0].cluster.extra"), Some((3, 14)));
        // Content of an alias resolves to the alias site.
        assert_eq!(map.locate("clusters[1].name"), Some((8, 5)));
        assert_eq!(map.locate("clusters[0].name"), Some((7, 11)));
    }

    #[test]
    fn parent_strips_one_segment() {
        assert_eq!(parent("a.b[2]"), "a.b");
        assert_eq!(parent("a.b"), "a");
        assert_eq!(parent("a"), "");
    }
}

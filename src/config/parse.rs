//! YAML text → raw model, under budgets, with positioned errors.
//!
//! serde-saphyr reports where a syntax or type error is; serde_path_to_error
//! reports which field it belongs to. Combining them gives every
//! deserialization error a file, line, column and path.
//!
//! Config files are trusted more than network input but still parsed as if
//! hostile (they may come from a shared volume or a templating bug): the
//! budgets below bound nesting, node counts, anchors and alias replay, so a
//! billion-laughs document or a megabyte of `[` fails in microseconds with
//! a clear message instead of exhausting memory or stack.
use std::borrow::Cow;

use serde_path_to_error::Segment;
use serde_saphyr::budget::BudgetBreach;
use serde_saphyr::{Error as YamlError, Localizer, Location, MessageFormatter, Options};

use super::error::{ConfigError, ConfigProblem};
use super::raw::RawConfig;
use super::source_map::SourceMap;
use super::validate::Issue;

/// Real configs are a few kilobytes; this leaves room for generated ones.
pub const MAX_CONFIG_BYTES: usize = 4 * 1024 * 1024;

const MAX_DEPTH: usize = 32;
const MAX_ALIASES: usize = 1_000;
const MAX_ANCHORS: usize = 1_000;

const EMPTY: &str = "the config is empty: expected a mapping with at least `listeners`";

/// Every top-level field has a default, so an empty document would
/// deserialize; catch it here to say "empty" rather than "no listeners".
fn is_blank(yaml: &str) -> bool {
    yaml.lines().all(|l| {
        let t = l.trim();
        t.is_empty() || t.starts_with('#') || t == "---" || t == "..."
    })
}

fn options() -> Options {
    serde_saphyr::options! {
        with_snippet: false,
        budget: serde_saphyr::budget! {
            max_reader_input_bytes: Some(MAX_CONFIG_BYTES),
            max_depth: MAX_DEPTH,
            max_documents: 1,
            max_events: 500_000,
            max_nodes: 250_000,
            max_aliases: MAX_ALIASES,
            max_anchors: MAX_ANCHORS,
            max_merge_keys: 1_000,
            max_recorded_anchor_events: 100_000,
            max_recorded_anchor_bytes: 1024 * 1024,
            max_total_scalar_bytes: MAX_CONFIG_BYTES,
        },
        alias_limits: serde_saphyr::alias_limits! {
            max_total_replayed_events: 100_000,
            max_replay_stack_depth: 16,
        },
    }
}

pub fn parse(source: &str, yaml: &str) -> Result<RawConfig, ConfigError> {
    if yaml.len() > MAX_CONFIG_BYTES {
        return Err(ConfigError::whole(
            source,
            format!(
                "config is {} bytes; the limit is {MAX_CONFIG_BYTES}",
                yaml.len()
            ),
        ));
    }
    if is_blank(yaml) {
        return Err(ConfigError::new(vec![ConfigProblem {
            file: source.to_owned(),
            line: 1,
            column: 1,
            path: String::new(),
            message: EMPTY.to_owned(),
        }]));
    }
    let mut path = String::new();
    let result = serde_saphyr::with_deserializer_from_str_with_options(yaml, options(), |de| {
        serde_path_to_error::deserialize(de).map_err(|e| {
            path = render_path(e.path());
            e.into_inner()
        })
    });
    result.map_err(|e| {
        let (line, column) = e
            .location()
            .map_or((0, 0), |l| (clamp(l.line()), clamp(l.column())));
        ConfigError::new(vec![ConfigProblem {
            file: source.to_owned(),
            line,
            column,
            path,
            message: message(&e),
        }])
    })
}

/// Attaches positions to validation issues, building the source map only
/// now that it is needed.
pub fn locate(source: &str, yaml: &str, issues: Vec<Issue>) -> ConfigError {
    let map = SourceMap::build(yaml);
    let problems = issues
        .into_iter()
        .map(|issue| {
            let (line, column) = map.locate(&issue.path).unwrap_or((0, 0));
            ConfigProblem {
                file: source.to_owned(),
                line,
                column,
                path: issue.path,
                message: issue.message,
            }
        })
        .collect();
    ConfigError::new(problems)
}

fn clamp(n: u64) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Same syntax validation uses: `a.b[2].c`; root is empty. serde's
/// "unknown" segments (e.g. at a duplicate key) end the known prefix.
fn render_path(path: &serde_path_to_error::Path) -> String {
    let mut out = String::new();
    for segment in path.iter() {
        match segment {
            Segment::Seq { index } => out.push_str(&format!("[{index}]")),
            Segment::Map { key } | Segment::Enum { variant: key } => {
                if !out.is_empty() {
                    out.push('.');
                }
                out.push_str(key);
            }
            Segment::Unknown => break,
        }
    }
    out
}

fn message(e: &YamlError) -> String {
    if matches!(e.without_snippet(), YamlError::Eof { .. }) {
        return EMPTY.to_owned();
    }
    e.render_with_options(serde_saphyr::render_options! {
        formatter: &PlainFormatter,
        snippets: serde_saphyr::SnippetMode::Off,
    })
}

/// serde-saphyr's user-facing wording, minus the location suffixes it
/// normally appends: our problems carry positions in their own fields.
struct PlainFormatter;

impl MessageFormatter for PlainFormatter {
    fn localizer(&self) -> &dyn Localizer {
        &NoLocations
    }

    fn format_message<'a>(&self, err: &'a YamlError) -> Cow<'a, str> {
        match err {
            YamlError::Budget { breach, .. } => Cow::Owned(format!(
                "config too large or too complex: {}",
                describe_breach(breach)
            )),
            _ => serde_saphyr::UserMessageFormatter.format_message(err),
        }
    }
}

/// The library prints breaches with `Debug`; say it in words, with the
/// limit, so the user knows whether to simplify or split the config.
fn describe_breach(breach: &BudgetBreach) -> String {
    match breach {
        BudgetBreach::Aliases { .. } => format!("more than {MAX_ALIASES} aliases (*name)"),
        BudgetBreach::Anchors { .. } => format!("more than {MAX_ANCHORS} anchors (&name)"),
        BudgetBreach::Depth { .. } => format!("nested deeper than {MAX_DEPTH} levels"),
        BudgetBreach::Events { .. } | BudgetBreach::Nodes { .. } => {
            "too many YAML nodes".to_owned()
        }
        BudgetBreach::AliasAnchorRatio { .. }
        | BudgetBreach::RecordedAnchorEvents { .. }
        | BudgetBreach::RecordedAnchorBytes { .. } => {
            "aliases expand to too much data (possible alias bomb)".to_owned()
        }
        other => format!("{other:?}"),
    }
}

struct NoLocations;

impl Localizer for NoLocations {
    fn attach_location<'a>(&self, base: Cow<'a, str>, _loc: Location) -> Cow<'a, str> {
        base
    }

    fn alias_used_at(&self, _used: Location) -> String {
        String::new()
    }

    fn alias_defined_at(&self, _defined: Location) -> String {
        String::new()
    }
}

//! Config errors: every problem found, each pointing at file, line, column
//! and field path, so one run of `periscope --check` fixes a whole config
//! instead of one typo per restart.
use std::fmt;

/// One problem in a config source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigProblem {
    /// File path, `<embedded default>` or `<command line>`.
    pub file: String,
    /// 1-based; 0 when the problem has no position (file read errors,
    /// command-line options).
    pub line: u32,
    /// 1-based, in characters; 0 when unknown.
    pub column: u32,
    /// Field path such as `listeners[0].virtual_hosts[1].routes[2].route.cluster`;
    /// empty for problems with the whole source.
    pub path: String,
    /// What is wrong and, where useful, what is allowed.
    pub message: String,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if self.line > 0 {
            write!(f, ":{}:{}", self.line, self.column)?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)
    }
}

/// All problems found in one config source, in source order.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}", render(.problems))]
pub struct ConfigError {
    /// Never empty.
    pub problems: Vec<ConfigProblem>,
}

fn render(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigError {
    /// Sorts by position so output reads top to bottom; problems without a
    /// position keep discovery order after the positioned ones.
    pub(crate) fn new(mut problems: Vec<ConfigProblem>) -> Self {
        problems.sort_by_key(|p| (p.line == 0, p.line, p.column));
        Self { problems }
    }

    /// A problem with the source as a whole (unreadable file, too large).
    pub(crate) fn whole(file: &str, message: impl Into<String>) -> Self {
        Self::new(vec![ConfigProblem {
            file: file.to_owned(),
            line: 0,
            column: 0,
            path: String::new(),
            message: message.into(),
        }])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problem(line: u32, path: &str) -> ConfigProblem {
        ConfigProblem {
            file: "config/x.yaml".into(),
            line,
            column: if line > 0 { 9 } else { 0 },
            path: path.into(),
            message: "bad".into(),
        }
    }

    #[test]
    fn displays_one_problem_per_line_in_source_order() {
        let err = ConfigError::new(vec![
            problem(0, "listeners[1]"),
            problem(12, "listeners[0].cluster"),
            problem(3, ""),
        ]);
        assert_eq!(
            err.to_string(),
            "config/x.yaml:3:9: bad\n\
             config/x.yaml:12:9: listeners[0].cluster: bad\n\
             config/x.yaml: listeners[1]: bad"
        );
    }

    #[test]
    fn whole_source_problem_has_no_position() {
        let err = ConfigError::whole("a.yaml", "cannot read file");
        assert_eq!(err.to_string(), "a.yaml: cannot read file");
    }
}

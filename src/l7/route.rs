//! One compiled route: its match rules, its action, its header edits and
//! its pre-resolved metric scope.
use super::upstream::HttpCluster;
use crate::config::{HeaderMatch, HeaderRule, PathMatch};
use crate::pipeline::Scope;
use bytes::Bytes;
use http::header::{HeaderMap, HeaderName, HeaderValue};
use http::request::Parts;
use std::sync::Arc;
use std::time::Duration;

pub enum Action {
    Forward(Arc<HttpCluster>),
    Direct {
        status: http::StatusCode,
        body: Bytes,
    },
    Redirect {
        scheme: Option<String>,
        host: Option<String>,
        path: Option<String>,
        status: http::StatusCode,
    },
}

#[derive(Default)]
pub struct HeaderEdits {
    pub add: Vec<(HeaderName, HeaderValue)>,
    pub remove: Vec<HeaderName>,
}

impl HeaderEdits {
    pub fn apply(&self, headers: &mut HeaderMap) {
        for name in &self.remove {
            headers.remove(name);
        }
        for (name, value) in &self.add {
            headers.append(name.clone(), value.clone());
        }
    }
}

pub struct Route {
    pub name: String,
    pub path: PathMatch,
    pub headers: Vec<HeaderMatch>,
    pub action: Action,
    pub timeout: Option<Duration>,
    pub retry: Option<crate::config::RetryPolicyConfig>,
    pub upgrades: super::upgrade::RouteUpgrades,
    pub request_edits: HeaderEdits,
    pub response_edits: HeaderEdits,
    pub scope: Arc<Scope>,
}

impl Route {
    pub fn matches(&self, parts: &Parts) -> bool {
        let path = parts.uri.path();
        let path_ok = match &self.path {
            PathMatch::Prefix(prefix) => path.starts_with(prefix.as_str()),
            PathMatch::Exact(exact) => path == exact,
            PathMatch::Regex(regex) => regex.is_match(path),
        };
        path_ok
            && self
                .headers
                .iter()
                .all(|rule| header_matches(rule, &parts.headers))
    }
}

fn header_matches(rule: &HeaderMatch, headers: &HeaderMap) -> bool {
    let value = headers
        .get(rule.name.as_str())
        .and_then(|v| v.to_str().ok());
    let holds = match (&rule.rule, value) {
        (HeaderRule::Present, _) => headers.contains_key(rule.name.as_str()),
        (_, None) => false,
        (HeaderRule::Exact(want), Some(value)) => value == want,
        (HeaderRule::Prefix(want), Some(value)) => value.starts_with(want.as_str()),
        (HeaderRule::Regex(regex), Some(value)) => regex.is_match(value),
    };
    holds != rule.invert
}

//! Validation of HTTP routing: virtual hosts, routes, matches and actions.
use std::collections::HashMap;

use super::raw::{
    RawDirectResponse, RawHeaderMatch, RawHeaderValue, RawRedirect, RawRoute, RawRouteAction,
    RawRouteMatch, RawVirtualHost,
};
use super::validate::{Issues, KnownClusters};
use super::values::{
    check_authority, check_header_name, check_header_value, check_name, compile_anchored,
    parse_domain, parse_duration,
};
use super::{
    DomainMatch, HeaderMatch, HeaderRule, PathMatch, RouteAction, RouteConfig, VirtualHostConfig,
};

/// Direct responses are for health checks and small canned answers, not
/// for serving files out of the config.
const MAX_DIRECT_BODY: usize = 64 * 1024;

const REDIRECT_CODES: [u64; 5] = [301, 302, 303, 307, 308];

pub(crate) fn virtual_hosts(
    v: &mut Issues,
    listener: &str,
    raw: &[RawVirtualHost],
    known: &KnownClusters,
) -> Option<Vec<VirtualHostConfig>> {
    let paths: Vec<String> = (0..raw.len())
        .map(|i| format!("{listener}.virtual_hosts[{i}]"))
        .collect();
    v.unique_names(
        "virtual host",
        paths
            .iter()
            .cloned()
            .zip(raw.iter().map(|h| h.name.as_str())),
    );
    // A domain served by two virtual hosts would make routing depend on
    // declaration order; Envoy rejects it too.
    let mut owners: HashMap<String, (usize, &str)> = HashMap::new();
    let results: Vec<_> = (raw.iter().enumerate())
        .map(|(i, host)| {
            let p = &paths[i];
            let name = v.check(format!("{p}.name"), check_name(&host.name));
            let domains = domains(v, p, i, host, &mut owners);
            let routes = routes(v, p, &host.routes, known);
            Some(VirtualHostConfig {
                name: name.map(|()| host.name.clone())?,
                domains: domains?,
                routes: routes?,
            })
        })
        .collect();
    results.into_iter().collect()
}

fn domains<'a>(
    v: &mut Issues,
    p: &str,
    host_index: usize,
    host: &'a RawVirtualHost,
    owners: &mut HashMap<String, (usize, &'a str)>,
) -> Option<Vec<DomainMatch>> {
    if host.domains.is_empty() {
        v.add(
            format!("{p}.domains"),
            "at least one domain is required (\"*\" matches any host)",
        );
        return None;
    }
    let mut out = Some(Vec::with_capacity(host.domains.len()));
    for (j, text) in host.domains.iter().enumerate() {
        let dp = format!("{p}.domains[{j}]");
        let Some(domain) = v.check(dp.as_str(), parse_domain(text)) else {
            out = None;
            continue;
        };
        let key = match &domain {
            DomainMatch::Any => "*".to_owned(),
            DomainMatch::Suffix(s) => format!("*{s}"),
            DomainMatch::Exact(s) => s.clone(),
        };
        match owners.get(&key) {
            Some((owner, _)) if *owner == host_index => {
                v.add(dp, format!("duplicate domain \"{key}\""));
            }
            Some((_, owner_name)) => v.add(
                dp,
                format!("domain \"{key}\" is already used by virtual host \"{owner_name}\""),
            ),
            None => {
                owners.insert(key, (host_index, host.name.as_str()));
            }
        }
        if let Some(o) = out.as_mut() {
            o.push(domain);
        }
    }
    out
}

fn routes(
    v: &mut Issues,
    host: &str,
    raw: &[RawRoute],
    known: &KnownClusters,
) -> Option<Vec<RouteConfig>> {
    if raw.is_empty() {
        v.add(format!("{host}.routes"), "at least one route is required");
        return None;
    }
    let paths: Vec<String> = (0..raw.len())
        .map(|i| format!("{host}.routes[{i}]"))
        .collect();
    v.unique_names(
        "route",
        paths
            .iter()
            .cloned()
            .zip(raw.iter().map(|r| r.name.as_str())),
    );
    let results: Vec<_> = (raw.iter().zip(&paths))
        .map(|(r, p)| route(v, p, r, known))
        .collect();
    results.into_iter().collect()
}

fn route(v: &mut Issues, p: &str, raw: &RawRoute, known: &KnownClusters) -> Option<RouteConfig> {
    let name = v.check(format!("{p}.name"), check_name(&raw.name));
    let path = path_match(v, &format!("{p}.match"), &raw.match_);
    let headers: Vec<_> = (raw.match_.headers.iter().enumerate())
        .map(|(i, h)| header_match(v, &format!("{p}.match.headers[{i}]"), h))
        .collect();
    let action = action(v, p, raw, known);
    let request_add = headers_to_add(
        v,
        &format!("{p}.request_headers_to_add"),
        &raw.request_headers_to_add,
    );
    let request_remove = headers_to_remove(
        v,
        &format!("{p}.request_headers_to_remove"),
        &raw.request_headers_to_remove,
    );
    let response_add = headers_to_add(
        v,
        &format!("{p}.response_headers_to_add"),
        &raw.response_headers_to_add,
    );
    let response_remove = headers_to_remove(
        v,
        &format!("{p}.response_headers_to_remove"),
        &raw.response_headers_to_remove,
    );
    let upgrade_configs = match &raw.route {
        Some(r) => super::validate_upgrade::upgrade_configs(
            v,
            &format!("{p}.route.upgrade_configs"),
            &r.upgrade_configs,
        ),
        None => Some(Vec::new()),
    };
    let (action, timeout, retry_policy) = action?;
    Some(RouteConfig {
        name: name.map(|()| raw.name.clone())?,
        path: path?,
        headers: headers.into_iter().collect::<Option<_>>()?,
        action,
        timeout,
        retry_policy,
        upgrade_configs: upgrade_configs?,
        request_headers_to_add: request_add?,
        request_headers_to_remove: request_remove?,
        response_headers_to_add: response_add?,
        response_headers_to_remove: response_remove?,
    })
}

/// Reports zero or several of mutually exclusive fields; with several, the
/// problem points at the second one, where the user's intent diverged.
fn exactly_one(v: &mut Issues, p: &str, set: &[(&str, bool)]) -> bool {
    let names: Vec<&str> = set.iter().map(|(n, _)| *n).collect();
    let present: Vec<&str> = set.iter().filter(|(_, on)| *on).map(|(n, _)| *n).collect();
    match present.as_slice() {
        [_] => true,
        [] => {
            v.add(
                p,
                format!("exactly one of {} is required", names.join(", ")),
            );
            false
        }
        [first, second, ..] => {
            v.add(
                format!("{p}.{second}"),
                format!(
                    "only one of {} is allowed, but {first} is also set",
                    names.join(", ")
                ),
            );
            false
        }
    }
}

fn path_match(v: &mut Issues, p: &str, m: &RawRouteMatch) -> Option<PathMatch> {
    let set = [
        ("prefix", m.prefix.is_some()),
        ("path", m.path.is_some()),
        ("regex", m.regex.is_some()),
    ];
    if !exactly_one(v, p, &set) {
        return None;
    }
    let slash = |field: &str, s: &str| {
        if s.starts_with('/') {
            Ok(s.to_owned())
        } else {
            Err(format!("{field} \"{s}\" must start with '/'"))
        }
    };
    match (&m.prefix, &m.path, &m.regex) {
        (Some(s), _, _) => v
            .check(format!("{p}.prefix"), slash("prefix", s))
            .map(PathMatch::Prefix),
        (_, Some(s), _) => v
            .check(format!("{p}.path"), slash("path", s))
            .map(PathMatch::Exact),
        (_, _, Some(re)) => v
            .check(format!("{p}.regex"), compile_anchored(re))
            .map(PathMatch::Regex),
        _ => None,
    }
}

fn header_match(v: &mut Issues, p: &str, h: &RawHeaderMatch) -> Option<HeaderMatch> {
    let name = v.check(format!("{p}.name"), check_header_name(&h.name));
    let set = [
        ("exact", h.exact.is_some()),
        ("prefix", h.prefix.is_some()),
        ("regex", h.regex.is_some()),
        ("present", h.present.is_some()),
    ];
    if !exactly_one(v, p, &set) {
        return None;
    }
    let rule = match (&h.exact, &h.prefix, &h.regex, h.present) {
        (Some(s), ..) => Some(HeaderRule::Exact(s.clone())),
        (_, Some(s), ..) => Some(HeaderRule::Prefix(s.clone())),
        (_, _, Some(re), _) => v
            .check(format!("{p}.regex"), compile_anchored(re))
            .map(HeaderRule::Regex),
        (.., Some(true)) => Some(HeaderRule::Present),
        _ => {
            v.add(
                format!("{p}.present"),
                "present must be true; to require that a header is absent use present: true with invert: true",
            );
            None
        }
    };
    Some(HeaderMatch {
        name: name.map(|()| h.name.clone())?,
        rule: rule?,
        invert: h.invert,
    })
}

type Action = (
    RouteAction,
    Option<std::time::Duration>,
    Option<super::RetryPolicyConfig>,
);

fn action(v: &mut Issues, p: &str, raw: &RawRoute, known: &KnownClusters) -> Option<Action> {
    let set = [
        ("route", raw.route.is_some()),
        ("direct_response", raw.direct_response.is_some()),
        ("redirect", raw.redirect.is_some()),
    ];
    if !exactly_one(v, p, &set) {
        return None;
    }
    match (&raw.route, &raw.direct_response, &raw.redirect) {
        (Some(r), ..) => forward(v, &format!("{p}.route"), r, known),
        (_, Some(d), _) => direct(v, &format!("{p}.direct_response"), d).map(|a| (a, None, None)),
        (.., Some(r)) => redirect(v, &format!("{p}.redirect"), r).map(|a| (a, None, None)),
        _ => None,
    }
}

fn forward(v: &mut Issues, p: &str, r: &RawRouteAction, known: &KnownClusters) -> Option<Action> {
    let issues_before = v.0.len();
    known.check(v, format!("{p}.cluster"), &r.cluster);
    // `0s` disables the timeout, as in Envoy.
    let timeout =
        Some(v.check(format!("{p}.timeout"), parse_duration(&r.timeout))?).filter(|d| !d.is_zero());
    let retry = match &r.retry_policy {
        None => None,
        Some(raw) => Some(super::validate_retry::retry_policy(
            v,
            &format!("{p}.retry_policy"),
            raw,
        )?),
    };
    (v.0.len() == issues_before).then(|| (RouteAction::Cluster(r.cluster.clone()), timeout, retry))
}

fn direct(v: &mut Issues, p: &str, d: &RawDirectResponse) -> Option<RouteAction> {
    let status = match u16::try_from(d.status) {
        // Envoy's range: an interim (1xx) answer is not a response, and a
        // `101` would leave the client expecting another protocol.
        Ok(s) if (200..=599).contains(&s) => Some(s),
        _ => {
            v.add(
                format!("{p}.status"),
                format!(
                    "status {} is not a final HTTP status code (200-599)",
                    d.status
                ),
            );
            None
        }
    };
    if d.body.len() > MAX_DIRECT_BODY {
        v.add(
            format!("{p}.body"),
            format!(
                "body is {} bytes; at most {MAX_DIRECT_BODY} are allowed",
                d.body.len()
            ),
        );
        return None;
    }
    Some(RouteAction::DirectResponse {
        status: status?,
        body: d.body.clone(),
    })
}

fn redirect(v: &mut Issues, p: &str, r: &RawRedirect) -> Option<RouteAction> {
    let before = v.0.len();
    let status = u16::try_from(r.response_code)
        .ok()
        .filter(|_| REDIRECT_CODES.contains(&r.response_code));
    if status.is_none() {
        v.add(
            format!("{p}.response_code"),
            format!(
                "response_code {} is not a redirect code (allowed: 301, 302, 303, 307, 308)",
                r.response_code
            ),
        );
    }
    if r.scheme.is_none() && r.host.is_none() && r.path.is_none() {
        v.add(p, "a redirect needs at least one of scheme, host, path (otherwise it redirects to itself)");
    }
    if let Some(s) = r
        .scheme
        .as_deref()
        .filter(|s| !matches!(*s, "http" | "https"))
    {
        v.add(
            format!("{p}.scheme"),
            format!("unknown scheme \"{s}\" (allowed: http, https)"),
        );
    }
    if let Some(h) = &r.host {
        v.check(
            format!("{p}.host"),
            check_authority(h).map_err(|e| format!("invalid redirect host: {e}")),
        );
    }
    if let Some(path) = r.path.as_deref().filter(|s| !s.starts_with('/')) {
        v.add(
            format!("{p}.path"),
            format!("path \"{path}\" must start with '/'"),
        );
    }
    (v.0.len() == before).then(|| RouteAction::Redirect {
        scheme: r.scheme.clone(),
        host: r.host.clone(),
        path: r.path.clone(),
        status: status.unwrap_or(301),
    })
}

fn headers_to_add(
    v: &mut Issues,
    p: &str,
    raw: &[RawHeaderValue],
) -> Option<Vec<(String, String)>> {
    let before = v.0.len();
    for (i, h) in raw.iter().enumerate() {
        v.check(format!("{p}[{i}].name"), check_header_name(&h.name));
        v.check(format!("{p}[{i}].value"), check_header_value(&h.value));
    }
    (v.0.len() == before).then(|| {
        raw.iter()
            .map(|h| (h.name.clone(), h.value.clone()))
            .collect()
    })
}

fn headers_to_remove(v: &mut Issues, p: &str, raw: &[String]) -> Option<Vec<String>> {
    let before = v.0.len();
    for (i, name) in raw.iter().enumerate() {
        v.check(format!("{p}[{i}]"), check_header_name(name));
    }
    (v.0.len() == before).then(|| raw.to_vec())
}

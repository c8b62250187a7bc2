//! Compile a listener's virtual hosts and routes from typed configuration,
//! resolving clusters and metric scopes once, ahead of traffic.
use super::route::{Action, HeaderEdits, Route};
use super::router::{DomainRule, Router, VirtualHost};
use super::upstream::HttpCluster;
use crate::config::{DomainMatch, ListenerConfig, PathMatch, RouteAction, RouteConfig};
use crate::pipeline::{Families, ListenerLabels, Scope, SeriesBudget};
use bytes::Bytes;
use http::header::{HeaderName, HeaderValue};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

pub type HttpClusters = HashMap<String, Arc<HttpCluster>>;

/// A listener's route scopes by (listener, route, cluster), kept across
/// config reloads: a reloaded route with the same labels records through
/// the handles it already resolved, and the family's series budget is not
/// charged twice for the same label set.
pub type ScopeCache = Mutex<HashMap<[String; 3], Arc<Scope>>>;

/// What a route's metric scope is built from.
pub struct Scopes<'a> {
    pub families: &'a Arc<Families>,
    pub budget: &'a Arc<SeriesBudget>,
    pub labels: &'a ListenerLabels,
    pub cache: &'a ScopeCache,
}

impl Scopes<'_> {
    pub fn scope(&self, listener: &str, route: &str, cluster: &str) -> Arc<Scope> {
        let key = [listener.to_owned(), route.to_owned(), cluster.to_owned()];
        let mut cache = self.cache.lock().unwrap_or_else(|e| e.into_inner());
        let scope = cache.entry(key).or_insert_with(|| {
            Arc::new(Scope::new(
                self.families,
                self.budget,
                self.labels,
                [listener, route, cluster],
            ))
        });
        scope.clone()
    }
}

pub fn build_router(
    listener: &ListenerConfig,
    clusters: &HttpClusters,
    scopes: &Scopes<'_>,
) -> Result<Router, String> {
    let mut router = Router::default();
    if listener.virtual_hosts.is_empty() {
        // No virtual hosts: everything goes to the listener's cluster.
        if let Some(cluster) = &listener.cluster {
            let route = RouteConfig {
                name: "default".into(),
                path: PathMatch::Prefix("/".into()),
                headers: Vec::new(),
                action: RouteAction::Cluster(cluster.clone()),
                timeout: None,
                retry_policy: None,
                upgrade_configs: Vec::new(),
                request_headers_to_add: Vec::new(),
                request_headers_to_remove: Vec::new(),
                response_headers_to_add: Vec::new(),
                response_headers_to_remove: Vec::new(),
            };
            let vhost = VirtualHost {
                routes: vec![build_route(listener, &route, clusters, scopes)?],
            };
            router.add(vhost, &[DomainRule::Any]);
        }
        return Ok(router);
    }
    for vhost in &listener.virtual_hosts {
        let routes = vhost
            .routes
            .iter()
            .map(|route| build_route(listener, route, clusters, scopes))
            .collect::<Result<Vec<_>, _>>()?;
        let domains: Vec<DomainRule<'_>> = vhost
            .domains
            .iter()
            .map(|domain| match domain {
                DomainMatch::Exact(name) => DomainRule::Exact(name),
                DomainMatch::Suffix(suffix) => DomainRule::Suffix(suffix),
                DomainMatch::Any => DomainRule::Any,
            })
            .collect();
        router.add(VirtualHost { routes }, &domains);
    }
    Ok(router)
}

fn build_route(
    listener: &ListenerConfig,
    config: &RouteConfig,
    clusters: &HttpClusters,
    scopes: &Scopes<'_>,
) -> Result<Route, String> {
    let context = |what: &str| format!("route {}: {what}", config.name);
    let action = match &config.action {
        RouteAction::Cluster(name) => Action::Forward(
            clusters
                .get(name)
                .cloned()
                .ok_or_else(|| context(&format!("unknown cluster {name}")))?,
        ),
        RouteAction::DirectResponse { status, body } => Action::Direct {
            status: status_code(*status).map_err(|e| context(&e))?,
            body: Bytes::from(body.clone()),
        },
        RouteAction::Redirect {
            scheme,
            host,
            path,
            status,
        } => Action::Redirect {
            scheme: scheme.clone(),
            host: host.clone(),
            path: path.clone(),
            status: status_code(*status).map_err(|e| context(&e))?,
        },
    };
    let cluster_label = match &config.action {
        RouteAction::Cluster(name) => name.as_str(),
        _ => "",
    };
    Ok(Route {
        name: config.name.clone(),
        path: config.path.clone(),
        headers: config.headers.clone(),
        action,
        timeout: config.timeout,
        retry: config.retry_policy.clone(),
        upgrades: super::upgrade::RouteUpgrades::new(scopes.families, listener, config),
        request_edits: edits(
            &config.request_headers_to_add,
            &config.request_headers_to_remove,
        )
        .map_err(|e| context(&e))?,
        response_edits: edits(
            &config.response_headers_to_add,
            &config.response_headers_to_remove,
        )
        .map_err(|e| context(&e))?,
        scope: scopes.scope(&listener.name, &config.name, cluster_label),
    })
}

fn status_code(code: u16) -> Result<http::StatusCode, String> {
    http::StatusCode::from_u16(code).map_err(|e| format!("status {code}: {e}"))
}

fn edits(add: &[(String, String)], remove: &[String]) -> Result<HeaderEdits, String> {
    let add = add
        .iter()
        .map(|(name, value)| {
            let name =
                HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("{name}: {e}"))?;
            let value = HeaderValue::from_str(value).map_err(|e| format!("{name}: {e}"))?;
            Ok((name, value))
        })
        .collect::<Result<Vec<_>, String>>()?;
    let remove = remove
        .iter()
        .map(|name| HeaderName::from_bytes(name.as_bytes()).map_err(|e| format!("{name}: {e}")))
        .collect::<Result<Vec<_>, String>>()?;
    Ok(HeaderEdits { add, remove })
}

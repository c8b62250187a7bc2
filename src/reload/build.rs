//! One generation of runtime objects, built from a validated config and
//! the generation before it.
//!
//! Everything a connection reads is immutable once built: clusters,
//! routers, listener snapshots. What may survive a reload is chosen by
//! comparing the effective (defaults filled in) JSON of each part, which
//! is exactly what `/config_dump` shows:
//! - a cluster with the same config is the same `Arc`, so its pools, its
//!   balancer cursor and its endpoint counters carry on;
//! - a listener whose metric identity (address, L4 cluster, label limits,
//!   access log) is unchanged keeps its `ListenerMetrics` and route scopes,
//!   so the caps on labels from traffic keep counting what they admitted
//!   and no handle is resolved twice.
use super::dns::Statuses;
use crate::cluster::dns::ResolvedEndpoint;
use crate::cluster::{self, Clusters};
use crate::config::{Config, ListenerConfig};
use crate::l7::{HttpCluster, HttpClusters, HttpListener, ScopeCache};
use crate::listener::Listener;
use crate::pipeline::access_log::AccessLog;
use crate::pipeline::export::{ListenerExport, Outputs};
use crate::pipeline::traces::Tracer;
use crate::pipeline::{Families, ListenerMetrics, SeriesBudget};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

/// The configuration in service and what was built from it.
pub struct Generation {
    /// 1 at start-up, +1 per successful reload.
    pub number: u64,
    pub config: Arc<Config>,
    pub clusters: Clusters,
    /// What each cluster was built over (its DNS expansion), by name.
    endpoints: HashMap<String, Vec<ResolvedEndpoint>>,
    http_clusters: HttpClusters,
    /// By listener name.
    telemetry: HashMap<String, ListenerTelemetry>,
}

/// A listener's metric handles, reused while its identity is unchanged.
struct ListenerTelemetry {
    identity: Value,
    metrics: Arc<ListenerMetrics>,
    scopes: Arc<ScopeCache>,
}

/// A generation and the snapshot each of its listeners serves, by name.
pub struct Built {
    pub generation: Generation,
    pub listeners: HashMap<String, Arc<Listener>>,
}

/// What the metric objects are built from; fixed at start-up.
pub struct Parts {
    pub families: Arc<Families>,
    pub budget: Arc<SeriesBudget>,
    pub exports: Exports,
}

/// Span and access-log targets. The export tasks start once (a reload does
/// not restart them), so a listener gets the access log it had at start-up.
pub struct Exports {
    tracer: Option<Tracer>,
    logs: HashMap<String, AccessLog>,
}

impl Exports {
    pub fn new(outputs: &Outputs, startup: &Config) -> Exports {
        let logs = (startup.listeners.iter().enumerate())
            .filter_map(|(index, l)| {
                let export = outputs.for_listener(index, &l.name, l.address.port());
                Some((l.name.clone(), export.access_log?))
            })
            .collect();
        Exports {
            // No listener sits at this position: the tracer alone.
            tracer: outputs.for_listener(usize::MAX, "", 0).tracer,
            logs,
        }
    }

    fn for_listener(&self, listener: &ListenerConfig) -> ListenerExport {
        ListenerExport {
            listener: listener.name.as_str().into(),
            port: listener.address.port(),
            tracer: self.tracer.clone(),
            access_log: self.logs.get(&listener.name).cloned(),
        }
    }
}

pub fn build(
    config: &Arc<Config>,
    previous: Option<&Generation>,
    number: u64,
    parts: &Parts,
    dns: &Statuses,
) -> Result<Built, String> {
    let (clusters, endpoints) = clusters(config, previous, &parts.families, dns)?;
    let http_clusters: HttpClusters = (clusters.iter())
        .map(|(name, cluster)| {
            let kept = previous
                .and_then(|p| p.http_clusters.get(name))
                .filter(|http| Arc::ptr_eq(&http.cluster, cluster));
            let http = kept
                .cloned()
                .unwrap_or_else(|| Arc::new(HttpCluster::new(cluster.clone())));
            (name.clone(), http)
        })
        .collect();

    let mut telemetry = HashMap::new();
    let mut listeners = HashMap::new();
    for (index, listener) in config.listeners.iter().enumerate() {
        let identity = listener_identity(config, index);
        let kept = previous
            .and_then(|p| p.telemetry.get(&listener.name))
            .filter(|t| t.identity == identity);
        let (metrics, scopes) = match kept {
            Some(t) => (t.metrics.clone(), t.scopes.clone()),
            None => {
                let mut metrics =
                    ListenerMetrics::new(&parts.families, parts.budget.clone(), listener);
                metrics.export = Arc::new(parts.exports.for_listener(listener));
                (Arc::new(metrics), Arc::default())
            }
        };
        let http = HttpListener::new(
            listener,
            metrics.clone(),
            &http_clusters,
            &parts.families,
            &parts.budget,
            &scopes,
        )?;
        let l4_cluster = (listener.cluster.as_ref()).and_then(|name| clusters.get(name).cloned());
        let runtime = Listener::new(listener, metrics.clone(), l4_cluster, Arc::new(http));
        listeners.insert(listener.name.clone(), Arc::new(runtime));
        let parts = ListenerTelemetry {
            identity,
            metrics,
            scopes,
        };
        telemetry.insert(listener.name.clone(), parts);
    }
    let generation = Generation {
        number,
        config: config.clone(),
        clusters,
        endpoints,
        http_clusters,
        telemetry,
    };
    Ok(Built {
        generation,
        listeners,
    })
}

/// Unchanged clusters — same effective config and same endpoints after
/// DNS expansion — are taken over as they are; the others are built anew
/// (their health checks started by `cluster::build_resolved`). A changed
/// resolution thus rebuilds exactly the cluster it belongs to.
/// What a cluster's TLS files held at load time: the CAs it trusts and
/// its client certificate.
fn tls_files(
    tls: &Option<crate::config::UpstreamTlsConfig>,
) -> Option<(
    Option<&[rustls::pki_types::CertificateDer<'static>]>,
    Option<&crate::config::ClientCertificate>,
)> {
    let tls = tls.as_ref()?;
    Some((tls.trusted_ca.as_deref(), tls.client_certificate.as_ref()))
}

fn clusters(
    config: &Config,
    previous: Option<&Generation>,
    families: &Families,
    dns: &Statuses,
) -> Result<(Clusters, HashMap<String, Vec<ResolvedEndpoint>>), String> {
    let mut clusters = Clusters::new();
    let mut expanded = HashMap::new();
    for (index, cluster) in config.clusters.iter().enumerate() {
        let status = dns.get(&cluster.name).cloned();
        let endpoints = cluster::dns::endpoints(cluster, status.as_deref());
        let same = previous.and_then(|p| {
            let old = p.clusters.get(&cluster.name)?;
            // The effective config names the TLS files; their contents
            // are compared too, so a rotated CA or client certificate
            // rebuilds the cluster.
            let was = p.config.clusters.iter().find(|c| c.name == cluster.name);
            let same_ca = was.map(|c| tls_files(&c.tls)) == Some(tls_files(&cluster.tls));
            let same = effective(&p.config, "clusters", &cluster.name)
                == config.effective["clusters"].get(index)
                && same_ca
                && p.endpoints.get(&cluster.name) == Some(&endpoints);
            same.then(|| old.clone())
        });
        let built = match same {
            Some(old) => old,
            None => cluster::build_resolved(cluster, &endpoints, status, families)?,
        };
        clusters.insert(cluster.name.clone(), built);
        expanded.insert(cluster.name.clone(), endpoints);
    }
    Ok((clusters, expanded))
}

/// What a listener's metric handles are built from.
fn listener_identity(config: &Config, index: usize) -> Value {
    let listener = &config.effective["listeners"][index];
    let field = |name: &str| listener.get(name).cloned().unwrap_or(Value::Null);
    serde_json::json!([
        field("name"),
        field("address"),
        field("cluster"),
        field("label_limits"),
        field("access_log"),
    ])
}

/// The effective JSON of the `section` entry called `name`.
fn effective<'a>(config: &'a Config, section: &str, name: &str) -> Option<&'a Value> {
    (config.effective[section].as_array()?)
        .iter()
        .find(|entry| entry["name"] == name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::http_budget;

    fn config(yaml: &str) -> Arc<Config> {
        Arc::new(crate::config::load_str("test.yaml", yaml).expect("valid config"))
    }

    fn yaml(web_endpoint: &str, api_endpoint: &str) -> String {
        format!(
            "listeners:\n  - {{ name: edge, address: 127.0.0.1:1, cluster: web }}\n\
             clusters:\n  - {{ name: web, endpoints: [\"{web_endpoint}\"] }}\n  \
             - {{ name: api, endpoints: [\"{api_endpoint}\"] }}\n"
        )
    }

    /// A build of `yaml` after `previous`, with no `strict_dns` resolutions.
    fn static_build(yaml: &str, previous: Option<&Built>, parts: &Parts) -> Built {
        let generation = previous.map_or(1, |p| p.generation.number + 1);
        build(
            &config(yaml),
            previous.map(|p| &p.generation),
            generation,
            parts,
            &Statuses::new(),
        )
        .expect("valid build")
    }

    fn parts(families: &Arc<Families>) -> Parts {
        Parts {
            families: families.clone(),
            budget: http_budget(families),
            exports: Exports {
                tracer: None,
                logs: HashMap::new(),
            },
        }
    }

    #[tokio::test]
    async fn unchanged_clusters_and_listener_telemetry_survive_a_rebuild() {
        let families = Arc::new(Families::new());
        let parts = parts(&families);
        let first = static_build(&yaml("a:1", "b:1"), None, &parts);
        let second = static_build(&yaml("a:1", "b:2"), Some(&first), &parts);
        let (old, new) = (&first.generation, &second.generation);
        assert!(Arc::ptr_eq(&old.clusters["web"], &new.clusters["web"]));
        assert!(Arc::ptr_eq(
            &old.http_clusters["web"],
            &new.http_clusters["web"]
        ));
        assert!(!Arc::ptr_eq(&old.clusters["api"], &new.clusters["api"]));
        assert!(Arc::ptr_eq(
            &old.telemetry["edge"].metrics,
            &new.telemetry["edge"].metrics
        ));
        // A new snapshot for the listener all the same: routes may differ.
        assert!(!Arc::ptr_eq(
            &first.listeners["edge"],
            &second.listeners["edge"]
        ));
    }

    #[tokio::test]
    async fn a_listener_with_other_limits_gets_new_telemetry() {
        let families = Arc::new(Families::new());
        let parts = parts(&families);
        let first = static_build(&yaml("a:1", "b:1"), None, &parts);
        let limited = yaml("a:1", "b:1").replace(
            "cluster: web }",
            "cluster: web, label_limits: { collections: 3 } }",
        );
        let second = static_build(&limited, Some(&first), &parts);
        assert!(!Arc::ptr_eq(
            &first.generation.telemetry["edge"].metrics,
            &second.generation.telemetry["edge"].metrics
        ));
    }

    #[tokio::test]
    async fn a_changed_resolution_rebuilds_only_its_cluster() {
        use crate::cluster::dns::DnsStatus;
        let families = Arc::new(Families::new());
        let parts = parts(&families);
        let config = config(&yaml("web.invalid:1", "api.invalid:1"));
        let status = |i: usize, addresses: &[&str]| {
            let status = DnsStatus::for_cluster(&config.clusters[i]).expect("strict_dns");
            let parsed = addresses.iter().map(|a| a.parse().expect("addr")).collect();
            status.set_addresses(vec![Some(parsed)]);
            Arc::new(status)
        };
        let (web, api) = (status(0, &["127.0.0.1:1"]), status(1, &["127.0.0.3:1"]));
        let statuses = Statuses::from([("web".to_owned(), web.clone()), ("api".to_owned(), api)]);
        let first = build(&config, None, 1, &parts, &statuses).expect("first");
        let again = build(&config, Some(&first.generation), 1, &parts, &statuses).expect("again");
        let (old, new) = (&first.generation.clusters, &again.generation.clusters);
        assert!(Arc::ptr_eq(&old["web"], &new["web"]));
        web.set_addresses(vec![Some(vec![
            "127.0.0.1:1".parse().expect("addr"),
            "127.0.0.2:1".parse().expect("addr"),
        ])]);
        let moved = build(&config, Some(&again.generation), 1, &parts, &statuses).expect("moved");
        let (old, new) = (&again.generation.clusters, &moved.generation.clusters);
        assert!(!Arc::ptr_eq(&old["web"], &new["web"]));
        assert!(Arc::ptr_eq(&old["api"], &new["api"]));
        assert_eq!(new["web"].endpoint_count(), 2);
        let endpoints = new["web"].snapshot().endpoints;
        assert_eq!(endpoints[1].address, "127.0.0.2:1");
        assert_eq!(endpoints[1].hostname.as_deref(), Some("web.invalid:1"));
    }
}

//! Configuration reload: the config file is rewritten under a running
//! periscope, which is told by SIGHUP, `POST /reload` or its file watch.
//! Traffic follows the new routes, clusters and listeners; broken configs
//! change nothing; requests in flight finish on the configuration they
//! started with.
//!
//! One nginx serves as two clusters: `one` speaks HTTP/1.1 to its h1 port,
//! `two` h2c to its h2c port, and `/port` answers with the port that
//! served, so each response says which cluster it went through.
mod common;

use common::{eventually, free_port, Curl, Nginx, Periscope, RawConn};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

const RELOADS: &str = "periscope_config_reloads_total";
const GENERATION: &str = "periscope_config_generation";

/// A config over the one nginx, rewritten field by field between reloads.
#[derive(Clone)]
struct Site {
    admin: SocketAddr,
    edge: SocketAddr,
    /// A second listener `extra` (same routes) when set.
    extra: Option<SocketAddr>,
    /// `(name, path prefix, cluster)`, in match order.
    routes: Vec<(&'static str, &'static str, &'static str)>,
    /// Cluster `two` exists.
    two: bool,
    watch: bool,
    h1: SocketAddr,
    h2c: SocketAddr,
}

impl Site {
    fn new(nginx: &Nginx) -> Site {
        Site {
            admin: SocketAddr::from(([127, 0, 0, 1], free_port())),
            edge: SocketAddr::from(([127, 0, 0, 1], free_port())),
            extra: None,
            routes: vec![("home", "/", "one")],
            two: false,
            watch: false,
            h1: nginx.h1,
            h2c: nginx.h2c,
        }
    }

    /// Starts periscope on this site (fresh ports on a clash).
    fn start(nginx: &Nginx, edit: impl Fn(&mut Site)) -> (Periscope, Site) {
        let px = Periscope::start(|| {
            let mut site = Site::new(nginx);
            edit(&mut site);
            site.yaml()
        });
        let mut site = Site::new(nginx);
        edit(&mut site);
        (site.admin, site.edge) = (px.admin, px.addr("edge"));
        (px, site)
    }

    fn yaml(&self) -> String {
        let routes: String = (self.routes.iter())
            .map(|(name, prefix, cluster)| {
                format!(
                    "          - {{ name: {name}, match: {{ prefix: {prefix} }}, \
                     route: {{ cluster: {cluster} }} }}\n"
                )
            })
            .collect();
        let listener = |name: &str, address: SocketAddr| {
            format!(
                "  - name: {name}\n    address: {address}\n    protocol: http\n    \
                 virtual_hosts:\n      - name: site\n        domains: [\"*\"]\n        \
                 routes:\n{routes}"
            )
        };
        let mut yaml = format!(
            "admin:\n  address: {}\n  watch_config: {}\nworkers: 2\nlisteners:\n{}",
            self.admin,
            self.watch,
            listener("edge", self.edge)
        );
        if let Some(extra) = self.extra {
            yaml += &listener("extra", extra);
        }
        yaml += &format!(
            "clusters:\n  - {{ name: one, protocol: http1, endpoints: [\"{}\"] }}\n",
            self.h1
        );
        if self.two {
            yaml += &format!(
                "  - {{ name: two, protocol: h2c, endpoints: [\"{}\"] }}\n",
                self.h2c
            );
        }
        yaml
    }
}

/// The port of the nginx server that answered `/port` through `listener`.
fn served_by(px: &Periscope, listener: &str) -> u16 {
    let r = Curl::get(&px.url(listener, "/port")).run();
    assert_eq!(r.status, 200, "{r:?}");
    r.body_text().trim().parse().expect("a port")
}

/// Rewrites the file, SIGHUPs, and waits for the reload to be counted.
fn reload(px: &mut Periscope, site: &Site, successes: f64) {
    px.rewrite_config(&site.yaml());
    px.sighup();
    px.wait_metric(RELOADS, &[("result", "success")], successes);
}

#[test]
fn sighup_adds_a_route_to_a_new_cluster_and_traffic_follows() {
    let nginx = Nginx::start();
    let (mut px, mut site) = Site::start(&nginx, |_| {});
    px.wait_metric(GENERATION, &[], 1.0);
    px.wait_metric(RELOADS, &[("result", "failure")], 0.0);
    assert_eq!(served_by(&px, "edge"), nginx.h1.port());

    site.two = true;
    site.routes.insert(0, ("port", "/port", "two"));
    reload(&mut px, &site, 1.0);
    px.wait_metric(GENERATION, &[], 2.0);
    assert_eq!(served_by(&px, "edge"), nginx.h2c.port());
    let ok = Curl::get(&px.url("edge", "/")).run();
    assert_eq!((ok.status, ok.body_text().as_str()), (200, "ok\n"));
    let count = "http_server_request_duration_seconds_count";
    px.wait_metric(count, &[("route", "port"), ("cluster", "two")], 1.0);
    // The new cluster is on /clusters; the unchanged one kept its counters.
    px.wait_endpoint_stat("two", nginx.h2c, "requests", 1);
    px.wait_endpoint_stat("one", nginx.h1, "requests", 2);
    assert!(
        px.metric(
            "periscope_config_last_reload_success_timestamp_seconds",
            &[]
        ) > 1.6e9
    );
}

#[test]
fn post_reload_moves_a_route_to_another_cluster_and_config_dump_follows() {
    let nginx = Nginx::start();
    let (mut px, mut site) = Site::start(&nginx, |s| s.two = true);
    assert_eq!(served_by(&px, "edge"), nginx.h1.port());
    // An idle keep-alive connection from before the reload.
    let mut idle = RawConn::connect(px.addr("edge"));
    idle.send(b"GET /port HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(idle.read_responses(1, Duration::from_secs(5)).len(), 1);

    site.routes = vec![("home", "/", "two")];
    px.rewrite_config(&site.yaml());
    assert_eq!(
        px.admin_post("/reload"),
        (200, "reloaded: generation 2\n".to_string())
    );
    assert_eq!(served_by(&px, "edge"), nginx.h2c.port());
    px.wait_metric(RELOADS, &[("result", "success")], 1.0);
    // It was on the old routes: closed, so its client reconnects to the new.
    assert!(idle.is_closed_by_peer(Duration::from_secs(3)));

    let dump = Curl::get(&format!("http://{}/config_dump", px.admin)).run();
    assert_eq!(dump.header("periscope-config-generation"), Some("2"));
    let doc: serde_json::Value = serde_json::from_str(&dump.body_text()).expect("JSON");
    let route = &doc["listeners"][0]["virtual_hosts"][0]["routes"][0];
    assert_eq!(route["route"]["cluster"], "two", "{doc}");
    assert_eq!(px.admin_get("/reload").0, 405);
}

#[test]
fn a_broken_config_is_counted_and_the_old_one_keeps_serving() {
    let nginx = Nginx::start();
    let (mut px, site) = Site::start(&nginx, |_| {});
    let file = px.config_path().display().to_string();

    // A YAML syntax error on line 3: reported with file and line, once.
    let broken = site
        .yaml()
        .replacen("  watch_config: false\n", "  watch_config: [\n", 1);
    px.rewrite_config(&broken);
    px.sighup();
    px.wait_metric(RELOADS, &[("result", "failure")], 1.0);
    assert_eq!(served_by(&px, "edge"), nginx.h1.port());
    eventually("the error in the log", Duration::from_secs(2), || {
        let log = px.log();
        log.contains("configuration reload failed")
            .then_some(())
            .filter(|_| log.contains(&format!("{file}:3:")))
    });

    // A valid YAML naming an unknown cluster: the field path is named.
    let mut bad = site.clone();
    bad.routes = vec![("home", "/", "nowhere")];
    px.rewrite_config(&bad.yaml());
    let (status, body) = px.admin_post("/reload");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains(&file), "{body}");
    assert!(body.contains("routes[0].route.cluster"), "{body}");
    px.wait_metric(RELOADS, &[("result", "failure")], 2.0);
    px.wait_metric(RELOADS, &[("result", "success")], 0.0);
    px.wait_metric(GENERATION, &[], 1.0);
    assert_eq!(served_by(&px, "edge"), nginx.h1.port());
}

#[test]
fn listeners_are_added_and_removed_and_a_failed_bind_changes_nothing() {
    let nginx = Nginx::start();
    let (mut px, mut site) = Site::start(&nginx, |s| s.two = true);

    // A port someone else holds: the whole reload fails, routes included.
    let taken = TcpListener::bind("127.0.0.1:0").expect("bind");
    let mut clash = site.clone();
    clash.extra = Some(taken.local_addr().expect("addr"));
    clash.routes = vec![("home", "/", "two")];
    px.rewrite_config(&clash.yaml());
    let (status, body) = px.admin_post("/reload");
    assert_eq!(status, 400, "{body}");
    assert!(body.contains("cannot bind listener extra"), "{body}");
    assert_eq!(served_by(&px, "edge"), nginx.h1.port());
    drop(taken);

    let extra = SocketAddr::from(([127, 0, 0, 1], free_port()));
    site.extra = Some(extra);
    reload(&mut px, &site, 1.0);
    assert_eq!(served_by(&px, "extra"), nginx.h1.port());
    assert_eq!(served_by(&px, "edge"), nginx.h1.port());

    site.extra = None;
    reload(&mut px, &site, 2.0);
    eventually(
        "the removed listener's port to close",
        Duration::from_secs(3),
        || {
            TcpStream::connect_timeout(&extra, Duration::from_millis(200))
                .is_err()
                .then_some(())
        },
    );
    assert_eq!(served_by(&px, "edge"), nginx.h1.port());
}

/// 20 MiB at 10 MiB/s: about two seconds in flight through `listener`.
fn slow_download(px: &Periscope, listener: &str) -> std::thread::JoinHandle<(u16, u64)> {
    let url = px.url(listener, "/bytes/20m");
    let download = std::thread::spawn(move || {
        let r = Curl::get(&url)
            .arg("--limit-rate")
            .arg("10M")
            .discard_body()
            .run();
        (r.status, r.bytes_downloaded)
    });
    px.wait_metric_at_least(
        "periscope_downstream_bytes_sent_total",
        &[("listener", listener)],
        64.0 * 1024.0,
    );
    download
}

#[test]
fn a_download_in_flight_survives_a_route_change_and_its_listener_removal() {
    let nginx = Nginx::start();
    let extra = SocketAddr::from(([127, 0, 0, 1], free_port()));
    let (mut px, mut site) = Site::start(&nginx, |s| {
        s.two = true;
        s.extra = Some(extra);
    });
    let on_edge = slow_download(&px, "edge");
    let on_extra = slow_download(&px, "extra");

    // The route moves to `two` and `extra` goes away, mid-download.
    site.routes = vec![("home", "/", "two")];
    site.extra = None;
    reload(&mut px, &site, 1.0);
    assert_eq!(served_by(&px, "edge"), nginx.h2c.port());
    eventually("extra to stop accepting", Duration::from_secs(2), || {
        TcpStream::connect_timeout(&extra, Duration::from_millis(200))
            .is_err()
            .then_some(())
    });
    assert!(
        !on_edge.is_finished(),
        "the download ended before the test looked"
    );

    let body = 20 * 1024 * 1024;
    assert_eq!(on_edge.join().expect("edge download"), (200, body));
    assert_eq!(on_extra.join().expect("extra download"), (200, body));
}

#[test]
fn the_file_watch_reloads_on_change() {
    let nginx = Nginx::start();
    let (mut px, mut site) = Site::start(&nginx, |s| {
        s.two = true;
        s.watch = true;
    });
    site.routes = vec![("home", "/", "two")];
    px.rewrite_config(&site.yaml());
    px.wait_metric_at_least(GENERATION, &[], 2.0);
    assert_eq!(served_by(&px, "edge"), nginx.h2c.port());
    // Unchanged since: no more reloads.
    std::thread::sleep(Duration::from_millis(1500));
    px.wait_metric(RELOADS, &[("result", "success")], 1.0);
}

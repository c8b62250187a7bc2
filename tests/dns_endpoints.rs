//! `strict_dns` clusters against real nginx upstreams on three loopback
//! addresses sharing one port, named by a line in `/etc/hosts` (we run as
//! root; the guard puts the file back even when an assertion fails): a
//! name with two addresses is two endpoints taking traffic, and after the
//! file changes, traffic follows the new addresses within a few refresh
//! periods with no failed request, on fresh connections or on keep-alive
//! ones (a drained connection's next answer says `Connection: close`, so
//! the client reconnects onto the new snapshot without losing a request).
mod common;

use common::configs::{admin_block, listen_addr};
use common::ports::free_port;
use common::raw_http::http_get;
use common::{HyperClient, Nginx, Periscope};
use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const HOSTS: &str = "/etc/hosts";

/// Lines for `name` appended to `/etc/hosts`; removed on drop. Written in
/// place (the file may be a bind mount, which a rename would not replace)
/// and only our lines are touched, whatever else changed meanwhile.
struct HostsEntry {
    name: String,
}

impl HostsEntry {
    fn new(name: &str, addresses: &[&str]) -> HostsEntry {
        let entry = HostsEntry {
            name: name.to_owned(),
        };
        entry.set(addresses);
        entry
    }

    fn set(&self, addresses: &[&str]) {
        let mut text = self.others();
        for address in addresses {
            text.push_str(&format!("{address} {}\n", self.name));
        }
        std::fs::write(HOSTS, text).expect("write /etc/hosts (tests run as root)");
    }

    fn others(&self) -> String {
        let text = std::fs::read_to_string(HOSTS).expect("read /etc/hosts");
        (text.lines())
            .filter(|line| !line.split_whitespace().any(|word| word == self.name))
            .map(|line| format!("{line}\n"))
            .collect()
    }
}

impl Drop for HostsEntry {
    fn drop(&mut self) {
        let _ = std::fs::write(HOSTS, self.others());
    }
}

/// Counts by answering address, and failures, of a client loop.
#[derive(Default)]
struct Tally {
    by_address: BTreeMap<String, usize>,
    failures: Vec<String>,
    /// Transport errors of the keep-alive client.
    keep_alive_errors: usize,
}

fn start_load(
    stop: &Arc<AtomicBool>,
    tally: &Arc<Mutex<Tally>>,
    proxy: SocketAddr,
    keep_alive: bool,
) -> std::thread::JoinHandle<()> {
    let (stop, tally) = (stop.clone(), tally.clone());
    std::thread::spawn(move || {
        let client = HyperClient::http1();
        let url = format!("http://{proxy}/addr");
        while !stop.load(Ordering::Relaxed) {
            let answer = if keep_alive {
                let sent = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    let response = client.get(&url);
                    (response.status.as_u16(), response.body_text())
                }));
                sent.map_err(|_| String::new())
            } else {
                http_get(proxy, "/addr")
            };
            let mut tally = tally.lock().expect("tally");
            match answer {
                Ok((200, body)) => {
                    *tally.by_address.entry(body.trim().to_owned()).or_default() += 1
                }
                Ok((status, body)) => tally.failures.push(format!("{status}: {body}")),
                Err(err) if err.is_empty() => tally.keep_alive_errors += 1,
                Err(err) => tally.failures.push(err),
            }
        }
    })
}

/// The addresses `/clusters` lists for `web`, checking each came from `name`.
fn endpoints(px: &Periscope, host: &str) -> BTreeSet<String> {
    let (_, body) = px.admin_get("/clusters");
    let doc: serde_json::Value = serde_json::from_str(&body).expect("/clusters JSON");
    let web = &doc["clusters"][0];
    assert!(web["dns"]["last_resolution_unix_seconds"].is_u64(), "{web}");
    (web["endpoints"].as_array().into_iter().flatten())
        .map(|e| {
            assert_eq!(e["hostname"], host, "{e}");
            e["address"].as_str().unwrap_or_default().to_owned()
        })
        .collect()
}

fn wait_endpoints(px: &Periscope, host: &str, expected: &BTreeSet<String>) {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let got = endpoints(px, host);
        if &got == expected {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "endpoints {got:?}, expected {expected:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Waits until every address in `wanted` has answered `min` more times.
fn wait_traffic(tally: &Mutex<Tally>, wanted: &[&str], min: usize) -> BTreeMap<String, usize> {
    let start = tally.lock().expect("tally").by_address.clone();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let now = tally.lock().expect("tally").by_address.clone();
        let grown = |a: &&str| {
            let before = start.get(*a).copied().unwrap_or(0);
            now.get(*a).copied().unwrap_or(0) >= before + min
        };
        if wanted.iter().all(grown) {
            return now;
        }
        assert!(
            Instant::now() < deadline,
            "traffic {now:?}, wanted {wanted:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_hostname_s_addresses_are_endpoints_and_follow_the_hosts_file() {
    let port = free_port();
    let at = |last: u8| SocketAddr::new(IpAddr::from([127, 0, 0, last]), port);
    let _upstreams: Vec<Nginx> = (1..=3).map(|i| Nginx::start_at(at(i))).collect();
    let name = format!("periscope-dns-test-{}.invalid", std::process::id());
    let hosts = HostsEntry::new(&name, &["127.0.0.1", "127.0.0.2"]);
    let host = format!("{name}:{port}");
    let px = Periscope::start(|| {
        format!(
            "{}listeners:\n  - {{ name: edge, address: {}, protocol: http, cluster: web }}\n\
             clusters:\n  - {{ name: web, protocol: http1, dns_refresh_rate: 200ms, \
             endpoints: [\"{host}\"] }}\n",
            admin_block(),
            listen_addr()
        )
    });
    let set = |list: &[&str]| list.iter().map(|a| format!("{a}:{port}")).collect();
    wait_endpoints(&px, &host, &set(&["127.0.0.1", "127.0.0.2"]));

    let stop = Arc::new(AtomicBool::new(false));
    let tally = Arc::new(Mutex::new(Tally::default()));
    let proxy = px.addr("edge");
    let loads = [false, true].map(|keep_alive| start_load(&stop, &tally, proxy, keep_alive));
    wait_traffic(&tally, &["127.0.0.1", "127.0.0.2"], 20);

    hosts.set(&["127.0.0.2", "127.0.0.3"]);
    wait_endpoints(&px, &host, &set(&["127.0.0.2", "127.0.0.3"]));
    let before = wait_traffic(&tally, &["127.0.0.2", "127.0.0.3"], 3);
    let after = wait_traffic(&tally, &["127.0.0.2", "127.0.0.3"], 20);
    stop.store(true, Ordering::Relaxed);
    for load in loads {
        load.join().expect("load thread");
    }
    let tally = tally.lock().expect("tally");
    assert!(tally.failures.is_empty(), "failed: {:?}", tally.failures);
    assert_eq!(tally.keep_alive_errors, 0);
    // Once the new set is in service, 127.0.0.1 gets nothing more.
    assert_eq!(before.get("127.0.0.1"), after.get("127.0.0.1"), "{after:?}");

    let web = [("cluster", "web")];
    assert_eq!(px.metric("periscope_cluster_dns_endpoints", &web), 2.0);
    let ok = [("cluster", "web"), ("result", "success")];
    assert!(px.metric("periscope_dns_resolutions_total", &ok) >= 2.0);
    assert!(px.log().contains("DNS resolution changed"), "{}", px.log());
}

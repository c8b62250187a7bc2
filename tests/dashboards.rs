//! The Grafana dashboards in `dashboards/` follow the rules that make them
//! importable and provisionable, and every query is valid PromQL.
//!
//! (That every queried metric is exported is checked against a real scrape
//! after traffic, in `tests/dashboards_live.rs`.)
use serde_json::Value;
use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::process::Command;

fn dashboards() -> Vec<(PathBuf, Value)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("dashboards");
    let mut found: Vec<(PathBuf, Value)> = std::fs::read_dir(&dir)
        .expect("dashboards/ exists")
        .map(|entry| entry.expect("readable entry").path())
        .filter(|path| path.extension().is_some_and(|e| e == "json"))
        .map(|path| {
            let text = std::fs::read_to_string(&path).expect("readable dashboard");
            let json = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{}: not valid JSON: {e}", path.display()));
            (path, json)
        })
        .collect();
    found.sort_by(|a, b| a.0.cmp(&b.0));
    assert!(
        found.len() >= 4,
        "expected the shipped dashboards, found {}",
        found.len()
    );
    found
}

fn panels(dashboard: &Value) -> impl Iterator<Item = &Value> {
    dashboard["panels"].as_array().into_iter().flatten()
}

fn is_row(panel: &Value) -> bool {
    panel["type"] == "row"
}

#[test]
fn every_dashboard_has_a_unique_uid_and_a_title() {
    let mut uids = HashSet::new();
    for (path, dashboard) in dashboards() {
        let uid = dashboard["uid"].as_str().unwrap_or_default();
        assert!(!uid.is_empty(), "{}: no uid", path.display());
        assert!(
            uids.insert(uid.to_owned()),
            "{}: uid {uid} is used twice",
            path.display()
        );
        assert!(dashboard["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(dashboard["description"]
            .as_str()
            .is_some_and(|t| !t.is_empty()));
    }
}

#[test]
fn panels_have_unique_ids_and_fit_the_grid_without_overlap() {
    for (path, dashboard) in dashboards() {
        let mut ids = HashSet::new();
        let mut cells = HashSet::new();
        for panel in panels(&dashboard) {
            let id = panel["id"].as_u64().expect("panel id");
            assert!(ids.insert(id), "{}: panel id {id} twice", path.display());
            let grid = &panel["gridPos"];
            let [x, y, w, h] = ["x", "y", "w", "h"].map(|k| grid[k].as_u64().expect("gridPos"));
            assert!(
                w > 0 && h > 0 && x + w <= 24,
                "{}: panel {id} outside the grid",
                path.display()
            );
            for cx in x..x + w {
                for cy in y..y + h {
                    assert!(
                        cells.insert((cx, cy)),
                        "{}: panel {id} overlaps another",
                        path.display()
                    );
                }
            }
        }
    }
}

#[test]
fn every_panel_uses_the_datasource_variable_and_says_what_it_shows() {
    for (path, dashboard) in dashboards() {
        let variables = dashboard["templating"]["list"]
            .as_array()
            .expect("templating");
        assert!(
            variables
                .iter()
                .any(|v| v["name"] == "datasource" && v["type"] == "datasource"),
            "{}: no datasource variable",
            path.display()
        );
        for panel in panels(&dashboard).filter(|p| !is_row(p)) {
            let title = panel["title"].as_str().unwrap_or_default();
            let at = format!("{}: panel {title:?}", path.display());
            assert!(!title.is_empty(), "{at}: no title");
            assert!(
                panel["description"].as_str().is_some_and(|d| !d.is_empty()),
                "{at}: no description"
            );
            assert!(
                panel["fieldConfig"]["defaults"]["unit"].is_string(),
                "{at}: no unit"
            );
            assert_eq!(
                panel["datasource"]["uid"], "${datasource}",
                "{at}: datasource"
            );
            let targets = panel["targets"].as_array().expect("targets");
            assert!(!targets.is_empty(), "{at}: no queries");
            for target in targets {
                assert_eq!(
                    target["datasource"]["uid"], "${datasource}",
                    "{at}: target datasource"
                );
                let expr = target["expr"].as_str().expect("expr");
                if expr.contains("rate(") || expr.contains("increase(") {
                    assert!(
                        expr.contains("[$__rate_interval]"),
                        "{at}: use $__rate_interval: {expr}"
                    );
                }
            }
        }
    }
}

/// Grafana's variables replaced by what Prometheus accepts, then every
/// expression checked by promtool as a recording rule.
#[test]
fn every_query_is_valid_promql() {
    let promtool = Command::new("promtool").arg("--version").output();
    assert!(
        promtool.is_ok_and(|o| o.status.success()),
        "promtool not found: run tests/install-peers.sh (apt-get install prometheus)"
    );
    let mut rules = String::from("groups:\n  - name: dashboards\n    rules:\n");
    let mut count = 0;
    for (_, dashboard) in dashboards() {
        for panel in panels(&dashboard).filter(|p| !is_row(p)) {
            for target in panel["targets"].as_array().into_iter().flatten() {
                let expr = target["expr"]
                    .as_str()
                    .expect("expr")
                    .replace("$__rate_interval", "5m")
                    .replace("$listener", ".*")
                    .replace("$db_collection_name", ".*");
                rules.push_str(&format!(
                    "      - record: dashboard:query_{count}\n        expr: {}\n",
                    serde_json::to_string(&expr).expect("string")
                ));
                count += 1;
            }
        }
    }
    let file = std::env::temp_dir().join(format!(
        "periscope-dashboard-rules-{}.yml",
        std::process::id()
    ));
    std::fs::write(&file, rules).expect("write rules");
    let output = Command::new("promtool")
        .arg("check")
        .arg("rules")
        .arg(&file)
        .output()
        .expect("promtool runs");
    let _ = std::fs::remove_file(&file);
    assert!(
        output.status.success(),
        "promtool rejected a dashboard query:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(count > 30, "only {count} queries checked");
}

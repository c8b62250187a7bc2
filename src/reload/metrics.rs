//! Reload telemetry: how many reloads succeeded and failed, when the last
//! one succeeded, and which generation of the configuration is serving.
//!
//! Every series exists from start-up (both `result` values at 0), so a
//! dashboard or an alert on `increase(...{result="failure"}[5m])` has data
//! before the first reload and never reads "no data" as "no failures".
use crate::pipeline::Families;
use prometheus::{Gauge, IntCounter, IntCounterVec, IntGauge, Opts};
use std::time::{SystemTime, UNIX_EPOCH};

pub struct ReloadMetrics {
    success: IntCounter,
    failure: IntCounter,
    last_success: Gauge,
    generation: IntGauge,
}

impl ReloadMetrics {
    pub fn register(families: &Families) -> Result<ReloadMetrics, String> {
        let reloads = IntCounterVec::new(
            Opts::new(
                "periscope_config_reloads_total",
                "Configuration reloads attempted (SIGHUP, POST /reload, file watch), by result.",
            ),
            &["result"],
        )
        .map_err(|e| e.to_string())?;
        let last_success = Gauge::new(
            "periscope_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load (start-up or reload).",
        )
        .map_err(|e| e.to_string())?;
        let generation = IntGauge::new(
            "periscope_config_generation",
            "Generation of the configuration in service: 1 at start-up, +1 per successful reload.",
        )
        .map_err(|e| e.to_string())?;
        let registry = &families.registry;
        for collector in [
            Box::new(reloads.clone()) as Box<dyn prometheus::core::Collector>,
            Box::new(last_success.clone()),
            Box::new(generation.clone()),
        ] {
            registry.register(collector).map_err(|e| e.to_string())?;
        }
        Ok(ReloadMetrics {
            success: reloads.with_label_values(&["success"]),
            failure: reloads.with_label_values(&["failure"]),
            last_success,
            generation,
        })
    }

    /// The start-up configuration is in service: generation 1, not a reload.
    pub fn started(&self) {
        self.generation.set(1);
        self.last_success.set(now_seconds());
    }

    pub fn succeeded(&self, generation: u64) {
        self.success.inc();
        self.generation
            .set(i64::try_from(generation).unwrap_or(i64::MAX));
        self.last_success.set(now_seconds());
    }

    pub fn failed(&self) {
        self.failure.inc();
    }
}

fn now_seconds() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_results_are_exported_before_any_reload() {
        let families = Families::new();
        let metrics = ReloadMetrics::register(&families).expect("register");
        metrics.started();
        let text = families.render();
        assert!(text.contains("periscope_config_reloads_total{result=\"success\"} 0"));
        assert!(text.contains("periscope_config_reloads_total{result=\"failure\"} 0"));
        assert!(text.contains("periscope_config_generation 1"));
        metrics.failed();
        metrics.succeeded(2);
        let text = families.render();
        assert!(text.contains("periscope_config_reloads_total{result=\"failure\"} 1"));
        assert!(text.contains("periscope_config_reloads_total{result=\"success\"} 1"));
        assert!(text.contains("periscope_config_generation 2"));
        assert!(metrics.last_success.get() > 1.6e9);
    }
}

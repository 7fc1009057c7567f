//! The benchmark history as the site sees it: runs in time order, each with values per
//! backend and metric and the series it was judged a regression in. Built from
//! `baseline.json` by the publish phase; also written out as `data/history.json`.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One recorded benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRun {
    /// Unix seconds, UTC.
    pub timestamp: i64,
    pub commit: String,
    /// A label for the runner it ran on (OS, CPU, image).
    #[serde(default)]
    pub runner: String,
    /// backend -> metric -> value (the mean when the run kept samples).
    pub values: BTreeMap<String, BTreeMap<String, f64>>,
    /// `backend/metric` pairs judged regressions when the run was recorded.
    #[serde(default)]
    pub regressions: Vec<String>,
}

/// What the site knows about one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricInfo {
    pub name: String,
    pub unit: String,
    pub lower_is_better: bool,
    /// Regression threshold in percent (the band drawn around the baseline).
    pub threshold_pct: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    pub metrics: Vec<MetricInfo>,
    pub runs: Vec<HistoryRun>,
}

/// Unit, direction and threshold from a metric's name, as the benchmark phase reads them:
/// `_per_sec` is bigger-is-better; `_sec`, `_ms`, `_mb`, `_bytes` smaller-is-better;
/// memory metrics get the 15 % threshold, everything else 10 %.
pub fn metric_info(name: &str) -> MetricInfo {
    let (unit, lower) = if name.ends_with("_per_sec") {
        ("1/s", false)
    } else if name.ends_with("_sec") {
        ("s", true)
    } else if name.ends_with("_ms") {
        ("ms", true)
    } else if name.ends_with("_mb") {
        ("MB", true)
    } else if name.ends_with("_bytes") {
        ("bytes", true)
    } else {
        ("", true)
    };
    let memory = name.ends_with("_mb") || name.ends_with("_bytes");
    MetricInfo {
        name: name.to_string(),
        unit: unit.to_string(),
        lower_is_better: lower,
        threshold_pct: if memory { 15.0 } else { 10.0 },
    }
}

/// The seed design's stage order first, then anything else alphabetically, memory last.
pub fn metric_order(name: &str) -> (usize, String) {
    const ORDER: [&str; 7] = [
        "stft_sec",
        "freq_branch_sec",
        "time_branch_sec",
        "istft_sec",
        "full_pipeline_sec",
        "model_load_sec",
        "memory_peak_mb",
    ];
    match ORDER.iter().position(|m| *m == name) {
        Some(i) if name == "memory_peak_mb" => (1000 + i, String::new()),
        Some(i) => (i, String::new()),
        None if name.ends_with("_mb") || name.ends_with("_bytes") => (999, name.to_string()),
        None => (100, name.to_string()),
    }
}

impl History {
    /// Every metric seen in the runs (with `metrics` overrides), in display order.
    pub fn metric_list(&self) -> Vec<MetricInfo> {
        let mut names: Vec<String> = self
            .runs
            .iter()
            .flat_map(|r| r.values.values().flat_map(|m| m.keys().cloned()))
            .collect();
        names.sort_by_key(|n| metric_order(n));
        names.dedup();
        names
            .iter()
            .map(|n| {
                self.metrics
                    .iter()
                    .find(|m| &m.name == n)
                    .cloned()
                    .unwrap_or_else(|| metric_info(n))
            })
            .collect()
    }

    /// Every backend seen, `coreml` first, then `pytorch`, then the rest.
    pub fn backends(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .runs
            .iter()
            .flat_map(|r| r.values.keys().cloned())
            .collect();
        names.sort_by_key(|n| {
            (
                if n == "coreml" {
                    0
                } else if n == "pytorch" {
                    1
                } else {
                    2
                },
                n.clone(),
            )
        });
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units_and_order() {
        assert_eq!(metric_info("stft_sec").unit, "s");
        assert!(!metric_info("samples_per_sec").lower_is_better);
        assert_eq!(metric_info("memory_peak_mb").threshold_pct, 15.0);
        let mut names = vec!["memory_peak_mb", "zeta_sec", "stft_sec", "istft_sec"];
        names.sort_by_key(|n| metric_order(n));
        assert_eq!(
            names,
            vec!["stft_sec", "istft_sec", "zeta_sec", "memory_peak_mb"]
        );
    }
}

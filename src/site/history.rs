//! The benchmark history as the site sees it: runs in time order, each with values per
//! backend and metric and the series it was judged a regression in, plus the current
//! baseline of every series (the chart's threshold band). Built from `baseline.json`
//! with the benchmark engine's own rule; also written out as `data/history.json`.

use anyhow::Result;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::bench::baseline::{self, Baseline};
use crate::bench::compare::{compare, Options};
use crate::bench::decide::Verdict;
use crate::bench::metric::{self, Direction};
use crate::bench::run::Run;

/// How many earlier runs each run is judged against when marking regressions: enough
/// for the rule's window on every runner kind, without making publishing quadratic.
const JUDGE_LOOKBACK: usize = 100;

/// One recorded benchmark run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HistoryRun {
    /// Unix seconds, UTC.
    pub timestamp: i64,
    pub commit: String,
    /// The runner kind it ran on (OS, architecture, CPU, image).
    #[serde(default)]
    pub runner: String,
    /// backend -> metric -> value (the median when the run kept samples).
    pub values: BTreeMap<String, BTreeMap<String, f64>>,
    /// `backend/metric` pairs judged regressions against the runs before it.
    #[serde(default)]
    pub regressions: Vec<String>,
}

/// What the site knows about one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricInfo {
    /// The metric's name in `baseline.json` (`freq_branch_sec`).
    pub key: String,
    /// How people read it (`Freq branch`).
    pub label: String,
    pub unit: String,
    pub lower_is_better: bool,
    /// Regression threshold in percent (the band drawn around the baseline).
    pub threshold_pct: f64,
}

/// The baseline of one backend × metric as the latest comparison sees it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesBaseline {
    pub backend: String,
    pub metric: String,
    pub center: f64,
    pub threshold_pct: f64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct History {
    /// Metrics in display order.
    pub metrics: Vec<MetricInfo>,
    /// Backends in display order (candidate first, then reference, then the rest).
    pub backends: Vec<String>,
    pub runs: Vec<HistoryRun>,
    pub baselines: Vec<SeriesBaseline>,
}

fn as_run(r: &baseline::BaselineRun) -> Run {
    Run {
        meta: r.meta.clone(),
        results: r.results.clone(),
    }
}

fn unix(ts: Option<&str>) -> Option<i64> {
    let ts = ts?;
    ts.parse::<jiff::Timestamp>()
        .map(|t| t.as_second())
        .ok()
        // Entries migrated from the date-keyed format may carry a bare date.
        .or_else(|| {
            ts.parse::<jiff::civil::Date>()
                .ok()
                .and_then(|d| d.to_zoned(jiff::tz::TimeZone::UTC).ok())
                .map(|z| z.timestamp().as_second())
        })
}

/// Builds the site's history from a baseline, judging every run with the same rule
/// `benchmark compare` uses.
pub fn from_baseline(base: &Baseline, opts: &Options) -> History {
    let runs = base.runs();
    let mut out = Vec::with_capacity(runs.len());
    for (i, r) in runs.iter().enumerate() {
        let Some(timestamp) = unix(r.meta.timestamp.as_deref()) else {
            continue;
        };
        let earlier = Baseline {
            runs: runs[i.saturating_sub(JUDGE_LOOKBACK)..i].to_vec(),
            ..base.clone()
        };
        let regressions = if i == 0 {
            Vec::new()
        } else {
            compare(&earlier, &as_run(r), opts)
                .rows
                .iter()
                .filter(|row| row.verdict == Verdict::Regression)
                .map(|row| format!("{}/{}", row.backend, row.metric))
                .collect()
        };
        let values = r
            .results
            .iter()
            .map(|(b, ms)| {
                (
                    b.clone(),
                    ms.iter().map(|(m, v)| (m.clone(), v.center())).collect(),
                )
            })
            .collect();
        out.push(HistoryRun {
            timestamp,
            commit: r.meta.commit.clone().unwrap_or_default(),
            runner: r.meta.fingerprint.key().unwrap_or_default(),
            values,
            regressions,
        });
    }
    // The band: what the newest run was compared against.
    let baselines = match runs.split_last() {
        Some((last, before)) => {
            let earlier = Baseline {
                runs: before[before.len().saturating_sub(JUDGE_LOOKBACK)..].to_vec(),
                ..base.clone()
            };
            compare(&earlier, &as_run(last), opts)
                .rows
                .iter()
                .filter_map(|row| {
                    Some(SeriesBaseline {
                        backend: row.backend.clone(),
                        metric: row.metric.clone(),
                        center: row.baseline?,
                        threshold_pct: row.threshold_pct,
                    })
                })
                .collect()
        }
        None => Vec::new(),
    };
    let mut names: Vec<String> = out
        .iter()
        .flat_map(|r| r.values.values().flat_map(|m| m.keys().cloned()))
        .collect();
    names.sort_by_key(|n| metric::order_key(n));
    names.dedup();
    let metrics = names
        .iter()
        .map(|n| {
            let over = opts.metrics.get(n);
            let info = metric::info(n, &opts.thresholds, over);
            MetricInfo {
                key: n.clone(),
                label: metric::label(n, over),
                unit: info.unit.clone(),
                lower_is_better: info.direction == Direction::Smaller,
                threshold_pct: info.threshold_pct,
            }
        })
        .collect();
    let mut backends: Vec<String> = out.iter().flat_map(|r| r.values.keys().cloned()).collect();
    backends.sort_by_key(|b| backend_rank(b, opts));
    backends.dedup();
    History {
        metrics,
        backends,
        runs: out,
        baselines,
    }
}

/// Candidate first, then reference, then the rest by name.
fn backend_rank(b: &str, opts: &Options) -> (u8, String) {
    let rank = if b == opts.candidate {
        0
    } else if b == opts.reference {
        1
    } else {
        2
    };
    (rank, b.to_string())
}

impl History {
    /// Adds the runs of `site` (the history the published site already shows) that this
    /// one lacks, in time order, with their metrics and backends: a publish from a job
    /// whose `baseline.json` is stale never takes a run off the site. A run is the same
    /// run when its time, commit and runner kind are. Returns how many were added.
    pub fn absorb(&mut self, site: History, opts: &Options) -> usize {
        let key = |r: &HistoryRun| (r.timestamp, r.commit.clone(), r.runner.clone());
        let have: std::collections::BTreeSet<_> = self.runs.iter().map(key).collect();
        let added: Vec<HistoryRun> = site
            .runs
            .into_iter()
            .filter(|r| !have.contains(&key(r)))
            .collect();
        let n = added.len();
        if n == 0 {
            return 0;
        }
        self.runs.extend(added);
        // Stable: runs of the same second keep baseline order, then the site's.
        self.runs.sort_by_key(|r| r.timestamp);
        for m in site.metrics {
            if !self.metrics.iter().any(|x| x.key == m.key) {
                self.metrics.push(m);
            }
        }
        self.metrics.sort_by_key(|m| metric::order_key(&m.key));
        for b in site.backends {
            if !self.backends.contains(&b) {
                self.backends.push(b);
            }
        }
        self.backends.sort_by_key(|b| backend_rank(b, opts));
        n
    }
}

/// Loads `baseline.json` (a missing file is an empty history; a broken one an error).
pub fn load_history(path: &Path, opts: &Options) -> Result<History> {
    let (base, _) = baseline::load_or_empty(path)?;
    Ok(from_baseline(&base, opts))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(t: i64, metric: &str) -> HistoryRun {
        HistoryRun {
            timestamp: t,
            commit: format!("c{t}"),
            runner: "linux".into(),
            values: BTreeMap::from([(
                "coreml".to_string(),
                BTreeMap::from([(metric.to_string(), 1.0)]),
            )]),
            regressions: Vec::new(),
        }
    }

    fn info(key: &str) -> MetricInfo {
        MetricInfo {
            key: key.into(),
            label: key.into(),
            unit: "s".into(),
            lower_is_better: true,
            threshold_pct: 10.0,
        }
    }

    #[test]
    fn absorbing_the_site_keeps_every_run_once_in_time_order() {
        let opts = Options {
            candidate: "coreml".into(),
            reference: "pytorch".into(),
            ..Options::default()
        };
        let mut ours = History {
            metrics: vec![info("stft_sec")],
            backends: vec!["coreml".into()],
            runs: vec![run(1, "stft_sec"), run(3, "stft_sec")],
            baselines: Vec::new(),
        };
        let site = History {
            metrics: vec![info("stft_sec"), info("extra_sec")],
            backends: vec!["coreml".into(), "onnx".into()],
            runs: vec![run(2, "extra_sec"), run(3, "stft_sec")],
            baselines: Vec::new(),
        };
        assert_eq!(ours.absorb(site.clone(), &opts), 1);
        let times: Vec<i64> = ours.runs.iter().map(|r| r.timestamp).collect();
        assert_eq!(times, vec![1, 2, 3]);
        assert!(ours.metrics.iter().any(|m| m.key == "extra_sec"));
        assert!(ours.backends.contains(&"onnx".to_string()));
        // Absorbing the same site again changes nothing.
        assert_eq!(ours.absorb(site, &opts), 0);
        assert_eq!(ours.runs.len(), 3);
    }
}

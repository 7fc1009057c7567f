//! The comparison: every backend × metric of the current run against its history window
//! in the baseline (same runner kind when there is any, after the newest
//! acknowledgement), plus the candidate-vs-reference stage table of the design.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::baseline::{Baseline, BaselineRun};
use super::decide::{decide, Decision, Rule, Verdict};
use super::metric::{self, Direction, Kind, MetricOverride, Thresholds};
use super::run::{Run, Value};

/// How many history points a row's trend keeps (plus the current value).
pub const TREND_POINTS: usize = 11;

/// Everything that shapes a comparison (from `benchmark` config and flags).
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub rule: Rule,
    pub thresholds: Thresholds,
    pub metrics: BTreeMap<String, MetricOverride>,
    /// Preferred candidate and reference backends (`coreml`, `pytorch`).
    pub candidate: String,
    pub reference: String,
}

/// One backend × metric. Fields beyond the required six (`backend`, `metric`,
/// `baseline`, `current`, `change_pct`, `verdict`) are documented in the README.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    pub backend: String,
    pub metric: String,
    /// Center of the history window: the mean of its runs' values after setting aside
    /// outlying runs (`null` for `new`; see `decide::Decision::baseline`).
    pub baseline: Option<f64>,
    /// The current run's value: the mean of its samples, spikes set aside, as the
    /// decision used it (the median for `new`; `null` for `missing`).
    pub current: Option<f64>,
    pub change_pct: Option<f64>,
    pub verdict: Verdict,
    pub label: String,
    pub unit: String,
    pub kind: Kind,
    pub direction: Direction,
    pub threshold_pct: f64,
    /// The change a non-`unchanged` verdict needed: max(threshold, k × noise).
    pub bar_pct: Option<f64>,
    /// Run-to-run noise of the history window (percent), with 3+ runs.
    pub noise_pct: Option<f64>,
    pub history_runs: usize,
    /// Samples in the current value.
    pub samples: usize,
    /// Whether the history came from the same runner kind as the current run.
    pub same_runner: bool,
    /// Recent per-run medians, oldest first, the current value last.
    pub trend: Vec<f64>,
}

/// A line of the candidate-vs-reference table (one metric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRow {
    pub metric: String,
    pub label: String,
    pub candidate: Option<f64>,
    pub reference: Option<f64>,
    /// `(candidate / reference − 1) · 100`.
    pub delta_pct: Option<f64>,
    /// The candidate is better than the reference (the table's ✓).
    pub candidate_wins: bool,
    /// Table block ([`metric::order_key`]): 0/1 stages, 2 pipeline/load/memory, 3 detail;
    /// a rule separates blocks from 2 on.
    pub group: u8,
}

/// The comparison report (the `data` of `<out-dir>/benchmark.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// `regression`, `improvement`, `unchanged` or `new` (no baseline at all).
    pub verdict: String,
    pub regressions: usize,
    pub improvements: usize,
    pub candidate: Option<String>,
    pub reference: Option<String>,
    /// Runner kind of the current run, when known.
    pub runner: Option<String>,
    pub commit: Option<String>,
    pub timestamp: Option<String>,
    pub audio_seconds: Option<f64>,
    pub baseline_runs: usize,
    pub rule: Rule,
    pub rows: Vec<Row>,
    pub stages: Vec<StageRow>,
    /// Recent change points on this testbed's history (filled by the benchmark phase,
    /// see `super::changes::recent`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub change_points: Vec<super::changes::Since>,
}

fn same_point(r: &BaselineRun, cur: &Run) -> bool {
    r.meta.commit.is_some()
        && r.meta.commit == cur.meta.commit
        && r.meta.timestamp == cur.meta.timestamp
}

/// Compares `current` with `baseline`.
pub fn compare(baseline: &Baseline, current: &Run, opts: &Options) -> Comparison {
    let key = current.meta.fingerprint.key();
    // Never compare a run with itself (compare after record).
    let others: Vec<&BaselineRun> = baseline
        .runs
        .iter()
        .filter(|r| !same_point(r, current))
        .collect();
    let window = |b: &str, m: &str| -> (Vec<&BaselineRun>, bool) {
        let start = baseline.window_start(b, m).unwrap_or(i64::MIN);
        let in_window: Vec<&BaselineRun> = others
            .iter()
            .copied()
            .filter(|r| {
                r.meta
                    .timestamp
                    .as_deref()
                    .and_then(|t| t.parse::<jiff::Timestamp>().ok())
                    .is_some_and(|t| t.as_second() >= start)
            })
            .filter(|r| r.results.get(b).is_some_and(|ms| ms.contains_key(m)))
            .collect();
        let same: Vec<&BaselineRun> = in_window
            .iter()
            .copied()
            .filter(|r| key.is_some() && r.meta.fingerprint.key() == key)
            .collect();
        if same.is_empty() {
            (in_window, false)
        } else {
            (same, true)
        }
    };

    // Pairs to report: the current run's, plus those of the newest comparable run.
    let mut pairs: BTreeSet<(String, String)> = current
        .pairs()
        .map(|(b, m, _)| (b.to_string(), m.to_string()))
        .collect();
    let newest = others
        .iter()
        .rev()
        .find(|r| key.is_some() && r.meta.fingerprint.key() == key)
        .or_else(|| others.last());
    if let Some(r) = newest {
        for (b, ms) in &r.results {
            for m in ms.keys() {
                pairs.insert((b.clone(), m.clone()));
            }
        }
    }

    let mut rows = Vec::new();
    for (b, m) in pairs {
        let over = opts
            .metrics
            .get(&m)
            .or_else(|| current.meta.metrics.get(&m));
        let info = metric::info(&m, &opts.thresholds, over);
        let (hist, same_runner) = window(&b, &m);
        let values: Vec<&Value> = hist
            .iter()
            .filter_map(|r| r.results.get(&b)?.get(&m))
            .collect();
        let cur = current.results.get(&b).and_then(|ms| ms.get(&m));
        let d: Option<Decision> = match (values.is_empty(), cur) {
            (false, Some(c)) => Some(decide(&values, c, &info, &opts.rule)),
            _ => None,
        };
        let mut trend: Vec<f64> = values
            .iter()
            .rev()
            .take(TREND_POINTS)
            .rev()
            .map(|v| v.center())
            .collect();
        if let Some(c) = cur {
            trend.push(c.center());
        }
        let verdict = match (&d, cur) {
            (Some(d), _) => d.verdict,
            (None, Some(_)) => Verdict::New,
            (None, None) => Verdict::Missing,
        };
        let baseline_value = d.map(|d| d.baseline).or_else(|| {
            let meds: Vec<f64> = values.iter().map(|v| v.center()).collect();
            (!meds.is_empty()).then(|| super::stats::median(&meds))
        });
        rows.push(Row {
            label: metric::label(&m, over),
            unit: info.unit.clone(),
            kind: info.kind,
            direction: info.direction,
            threshold_pct: info.threshold_pct,
            bar_pct: d.map(|d| d.bar_pct),
            noise_pct: d.and_then(|d| d.noise_pct),
            history_runs: values.len().min(opts.rule.window.max(1)),
            samples: cur.map_or(0, |c| c.samples().len()),
            same_runner,
            trend,
            baseline: baseline_value,
            // The decision's own value of the current run (spikes set aside), so that
            // baseline, current and change agree; the median when there is no decision.
            current: d.map(|d| d.current).or_else(|| cur.map(Value::center)),
            change_pct: d.and_then(|d| d.change_pct),
            verdict,
            backend: b,
            metric: m,
        });
    }
    rows.sort_by(|a, b| {
        (metric::order_key(&a.metric), &a.backend).cmp(&(metric::order_key(&b.metric), &b.backend))
    });

    let (candidate, reference) = pick_backends(current, &opts.candidate, &opts.reference);
    let stages = stage_rows(current, candidate.as_deref(), reference.as_deref(), opts);
    let regressions = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regression)
        .count();
    let improvements = rows
        .iter()
        .filter(|r| r.verdict == Verdict::Improvement)
        .count();
    let compared = rows.iter().any(|r| {
        matches!(
            r.verdict,
            Verdict::Regression | Verdict::Improvement | Verdict::Unchanged
        )
    });
    let verdict = if regressions > 0 {
        "regression"
    } else if improvements > 0 {
        "improvement"
    } else if compared {
        "unchanged"
    } else {
        "new"
    };
    Comparison {
        verdict: verdict.to_string(),
        regressions,
        improvements,
        candidate,
        reference,
        runner: key,
        commit: current.meta.commit.clone(),
        timestamp: current.meta.timestamp.clone(),
        audio_seconds: current.meta.audio_seconds,
        baseline_runs: baseline.runs.len(),
        rule: opts.rule,
        rows,
        stages,
        change_points: Vec::new(),
    }
}

/// The two table columns: the configured backends when present, otherwise the first
/// other backends of the run in name order (so any two backends make a table).
pub fn pick_backends(
    run: &Run,
    candidate: &str,
    reference: &str,
) -> (Option<String>, Option<String>) {
    let names: Vec<&String> = run.results.keys().collect();
    let has = |n: &str| names.iter().any(|b| b.as_str() == n);
    let cand = if has(candidate) {
        Some(candidate.to_string())
    } else {
        names
            .iter()
            .find(|b| b.as_str() != reference)
            .map(|b| b.to_string())
    };
    let refb = if has(reference) && cand.as_deref() != Some(reference) {
        Some(reference.to_string())
    } else {
        names
            .iter()
            .find(|b| Some(b.as_str()) != cand.as_deref())
            .map(|b| b.to_string())
    };
    (cand, refb)
}

fn stage_rows(run: &Run, cand: Option<&str>, refb: Option<&str>, opts: &Options) -> Vec<StageRow> {
    let get =
        |b: Option<&str>, m: &str| -> Option<f64> { Some(run.results.get(b?)?.get(m)?.center()) };
    let mut metrics: Vec<&String> = run
        .results
        .values()
        .flat_map(|ms| ms.keys())
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    metrics.sort_by_key(|m| metric::order_key(m));
    metrics
        .into_iter()
        .map(|m| {
            let over = opts.metrics.get(m).or_else(|| run.meta.metrics.get(m));
            let info = metric::info(m, &opts.thresholds, over);
            let (c, r) = (get(cand, m), get(refb, m));
            let delta = match (c, r) {
                (Some(c), Some(r)) if r != 0.0 => Some((c / r - 1.0) * 100.0),
                _ => None,
            };
            let wins = delta.is_some_and(|d| d * info.direction.worse_sign() < 0.0);
            StageRow {
                label: metric::label(m, over),
                candidate: c,
                reference: r,
                delta_pct: delta,
                candidate_wins: wins,
                group: metric::order_key(m).0,
                metric: m.clone(),
            }
        })
        .collect()
}

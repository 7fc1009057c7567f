//! The comparison's report types: one row per backend × metric (and per ratio), the
//! design's stage table, the shares of the pipeline, and the comparison as a whole (the
//! `data` of `<out-dir>/benchmark.json`). Filled in by [`super::compare`].

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::compare::Options;
use super::decide::{Rule, Verdict};
use super::metric::{self, Direction, Kind};
use super::run::Run;

/// One backend × metric. Fields beyond the required six (`backend`, `metric`,
/// `baseline`, `current`, `change_pct`, `verdict`) are documented in the README.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// The backend, or `<candidate>/<reference>` for a ratio (`kind: ratio`).
    pub backend: String,
    pub metric: String,
    /// Center of the history window: the mean of its runs' values after setting aside
    /// outlying runs (see `decide::Decision::baseline`); without a decision the median
    /// of the runs' values, `null` when there are none.
    pub baseline: Option<f64>,
    /// The current run's value: the mean of its samples, spikes set aside, as the
    /// decision uses it (`null` for `missing`).
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
    /// Whether the history came from the current run's testbed (always for time and
    /// memory; ratios are judged across testbeds).
    pub same_runner: bool,
    /// Recent per-run values, oldest first, the current value last.
    pub trend: Vec<f64>,
}

/// A line of the candidate-vs-reference table (one metric).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageRow {
    pub metric: String,
    pub label: String,
    /// The candidate's value as its row shows it (the statistic the decision uses).
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

/// A stage's share of its backend's full pipeline, against its history on every
/// testbed. Shown, never judged: a share also grows when another stage gets faster.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ShareRow {
    pub backend: String,
    /// The stage metric (`freq_branch_sec`).
    pub metric: String,
    pub label: String,
    /// Fractions (0.41 = 41 %).
    pub baseline: Option<f64>,
    pub current: f64,
    pub change_pct: Option<f64>,
    pub noise_pct: Option<f64>,
    pub history_runs: usize,
}

/// The comparison report (the `data` of `<out-dir>/benchmark.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Comparison {
    /// `regression`, `improvement`, `unchanged`, `new-testbed` (time and memory not
    /// judged yet on this testbed) or `new` (no baseline at all).
    pub verdict: String,
    pub regressions: usize,
    pub improvements: usize,
    pub candidate: Option<String>,
    pub reference: Option<String>,
    /// Runner kind of the current run, when known.
    pub runner: Option<String>,
    /// The current run's testbed (`bench::fingerprint::testbed`).
    #[serde(default)]
    pub testbed: Option<String>,
    /// The testbed as a person reads it: "macOS 15.1 / Apple M2 (Virtual)".
    #[serde(default)]
    pub testbed_label: String,
    /// Earlier runs recorded on this testbed.
    #[serde(default)]
    pub testbed_runs: usize,
    /// Runs a testbed needs before time and memory are judged.
    #[serde(default)]
    pub min_runs: usize,
    pub commit: Option<String>,
    pub timestamp: Option<String>,
    pub audio_seconds: Option<f64>,
    pub baseline_runs: usize,
    pub rule: Rule,
    pub rows: Vec<Row>,
    pub stages: Vec<StageRow>,
    #[serde(default)]
    pub shares: Vec<ShareRow>,
    /// Recent change points on this testbed's history (filled by the benchmark phase,
    /// see `super::changes::recent`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub change_points: Vec<super::changes::Since>,
}

/// The design's table: one line per metric of the run, the candidate's and the
/// reference's values as their rows show them.
pub(super) fn stage_rows(
    run: &Run,
    rows: &[Row],
    cand: Option<&str>,
    refb: Option<&str>,
    opts: &Options,
) -> Vec<StageRow> {
    // The value each row shows, so that the table and the verdicts agree.
    let shown: BTreeMap<(&str, &str), Option<f64>> = rows
        .iter()
        .map(|r| ((r.backend.as_str(), r.metric.as_str()), r.current))
        .collect();
    let get = |b: Option<&str>, m: &str| -> Option<f64> { shown.get(&(b?, m)).copied().flatten() };
    // Metrics given as `null` get a line too: their cells read "—", never 0.
    let mut metrics: Vec<&String> = run
        .results
        .values()
        .flat_map(|ms| ms.keys())
        .chain(run.meta.not_measured.values().flatten())
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

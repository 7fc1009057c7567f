//! The comparison: every backend × metric of the current run against its history window
//! in the baseline (after the newest acknowledgement). Time and memory are judged only
//! against runs of the same testbed, and only once it has `min_runs` of them (before
//! that: `new-testbed`); the portable ratios (`bench::portable`) against every testbed.
//! Plus the candidate-vs-reference stage table of the design.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::baseline::{Baseline, BaselineRun};
use super::decide::{decide, decide_shifted, run_value, Rule, Verdict};
use super::fingerprint::{self, Testbeds};
use super::metric::{self, Direction, Kind, MetricInfo, MetricOverride, Thresholds};
use super::portable;
use super::run::{Results, Run, Value};

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
    /// Runs on the current testbed before time and memory get verdicts (0 counts as 1).
    pub min_runs: usize,
    pub testbeds: Testbeds,
    /// Relative SD a ratio may move between testbeds (`benchmark.ratio_testbed_shift`).
    pub ratio_shift: f64,
}

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
}

fn same_point(r: &BaselineRun, cur: &Run) -> bool {
    r.meta.commit.is_some()
        && r.meta.commit == cur.meta.commit
        && r.meta.timestamp == cur.meta.timestamp
}

fn seconds(ts: Option<&str>) -> Option<i64> {
    ts?.parse::<jiff::Timestamp>().ok().map(|t| t.as_second())
}

/// One earlier run as the comparison sees it.
struct Past<'a> {
    run: &'a BaselineRun,
    testbed: Option<String>,
    on_testbed: bool,
    derived: Results,
}

/// History values of one series, oldest first.
struct Series<'a> {
    values: Vec<&'a Value>,
    same_testbed: bool,
    /// Relative SD between the testbeds' own centers (runs on 2+ testbeds with 2+ runs
    /// each), when the values come from several.
    between: Option<f64>,
}

/// Spread of the per-testbed medians relative to their median: how far a portable figure
/// moved between the testbeds the history holds.
fn between_testbeds(values: &[(&Past, &Value)]) -> Option<f64> {
    let mut by: BTreeMap<&Option<String>, Vec<f64>> = BTreeMap::new();
    for (p, v) in values {
        by.entry(&p.testbed).or_default().push(run_value(v));
    }
    let centers: Vec<f64> = by
        .values()
        .filter(|xs| xs.len() >= 2)
        .map(|xs| super::stats::median(xs))
        .collect();
    if centers.len() < 2 {
        return None;
    }
    let mid = super::stats::median(&centers);
    let var =
        centers.iter().map(|c| (c / mid - 1.0).powi(2)).sum::<f64>() / (centers.len() - 1) as f64;
    (mid != 0.0).then(|| var.sqrt())
}

/// Compares `current` with `baseline`.
pub fn compare(baseline: &Baseline, current: &Run, opts: &Options) -> Comparison {
    let beds = &opts.testbeds;
    let min_runs = opts.min_runs.max(1);
    let bed = fingerprint::testbed(&current.meta.fingerprint, beds);
    let (candidate, reference) = pick_backends(current, &opts.candidate, &opts.reference);
    let derive = |results: &Results, overrides| {
        portable::derive(
            results,
            candidate.as_deref(),
            reference.as_deref(),
            overrides,
        )
    };
    // Never compare a run with itself (compare after record).
    let past: Vec<Past> = baseline
        .runs
        .iter()
        .filter(|r| !same_point(r, current))
        .map(|r| Past {
            run: r,
            testbed: fingerprint::testbed(&r.meta.fingerprint, beds),
            // Runs with nothing known about their runner (the design's date-keyed
            // entries) form one testbed of their own.
            on_testbed: fingerprint::testbed(&r.meta.fingerprint, beds) == bed,
            derived: if r.meta.derived.is_empty() {
                derive(&r.results, &r.meta.metrics)
            } else {
                r.meta.derived.clone()
            },
        })
        .collect();
    let testbed_runs = past.iter().filter(|p| p.on_testbed).count();
    let established = testbed_runs >= min_runs;

    // The history of one series after the newest acknowledgement that selects it (a
    // ratio follows acknowledgements of either backend).
    let series = |b: &str, m: &str, derived: bool, bound: bool| -> Series {
        let mut start = baseline.window_start(b, m);
        if let Some((c, r)) = derived.then(|| portable::split_ratio_backend(b)).flatten() {
            start = start
                .max(baseline.window_start(c, m))
                .max(baseline.window_start(r, m));
        }
        let start = start.unwrap_or(i64::MIN);
        let in_window: Vec<(&Past, &Value)> = past
            .iter()
            .filter(|p| seconds(p.run.meta.timestamp.as_deref()).is_some_and(|t| t >= start))
            .filter_map(|p| {
                let res = if derived { &p.derived } else { &p.run.results };
                Some((p, res.get(b)?.get(m)?))
            })
            .collect();
        let same: Vec<&Value> = in_window
            .iter()
            .filter(|(p, _)| p.on_testbed)
            .map(|(_, v)| *v)
            .collect();
        if bound || same.len() >= min_runs {
            Series {
                values: same,
                same_testbed: true,
                between: None,
            }
        } else {
            let all_same = in_window.iter().all(|(p, _)| p.on_testbed);
            Series {
                between: between_testbeds(&in_window),
                values: in_window.into_iter().map(|(_, v)| v).collect(),
                same_testbed: all_same,
            }
        }
    };

    // Pairs to report: the current run's, plus those of the newest run on this testbed.
    let mut pairs: BTreeSet<(String, String)> = current
        .pairs()
        .map(|(b, m, _)| (b.to_string(), m.to_string()))
        .collect();
    if let Some(p) = past.iter().rev().find(|p| p.on_testbed) {
        for (b, ms) in &p.run.results {
            for m in ms.keys() {
                pairs.insert((b.clone(), m.clone()));
            }
        }
    }
    let over = |m: &str| {
        opts.metrics
            .get(m)
            .or_else(|| current.meta.metrics.get(m))
            .cloned()
    };

    let mut rows = Vec::new();
    for (b, m) in pairs {
        let o = over(&m);
        let info = metric::info(&m, &opts.thresholds, o.as_ref());
        let bound = info.kind.testbed_bound();
        let hist = series(&b, &m, false, bound);
        let cur = current.results.get(&b).and_then(|ms| ms.get(&m));
        let verdict_before = match cur {
            None => Some(Verdict::Missing),
            Some(_) if bound && !established && !past.is_empty() => Some(Verdict::NewTestbed),
            Some(_) if hist.values.is_empty() => Some(Verdict::New),
            Some(_) if bound && hist.values.len() < min_runs => Some(Verdict::New),
            Some(_) => None,
        };
        rows.push(row(
            &b,
            &m,
            metric::label(&m, o.as_ref()),
            &info,
            &hist,
            cur.cloned(),
            verdict_before,
            opts,
        ));
    }

    // Ratios, judged across testbeds. The current ratio is made of the two rows' own
    // values, so that it agrees with the table's Δ column.
    let cur_derived = derive(&current.results, &current.meta.metrics);
    let mut shares = Vec::new();
    for (b, ms) in &cur_derived {
        for m in ms.keys() {
            if let Some((c, r)) = portable::split_ratio_backend(b) {
                let value_of = |backend: &str| {
                    rows.iter()
                        .find(|x| x.backend == backend && &x.metric == m)
                        .and_then(|x| x.current)
                };
                let Some(ratio) = value_of(c)
                    .zip(value_of(r))
                    .filter(|(_, rv)| *rv > 0.0)
                    .map(|(cv, rv)| cv / rv)
                else {
                    continue;
                };
                let o = over(m);
                let info = portable::ratio_info(m, &opts.thresholds, o.as_ref());
                let hist = series(b, m, true, false);
                let before = hist.values.is_empty().then_some(Verdict::New);
                let label = metric::label(m, o.as_ref());
                rows.push(row(
                    b,
                    m,
                    label,
                    &info,
                    &hist,
                    Some(Value::Number(ratio)),
                    before,
                    opts,
                ));
            } else if let Some(stage) = m.strip_suffix(portable::SHARE_SUFFIX) {
                let hist = series(b, m, true, false);
                let cur = ms[m].clone();
                let info = MetricInfo {
                    kind: Kind::Ratio,
                    direction: Direction::Smaller,
                    unit: "%".into(),
                    threshold_pct: opts.thresholds.ratio,
                };
                let d = (!hist.values.is_empty())
                    .then(|| decide(&hist.values, &cur, &info, &opts.rule));
                shares.push(ShareRow {
                    backend: b.clone(),
                    metric: stage.to_string(),
                    label: metric::label(stage, over(stage).as_ref()),
                    baseline: d.map(|d| d.baseline),
                    current: run_value(&cur),
                    change_pct: d.and_then(|d| d.change_pct),
                    noise_pct: d.and_then(|d| d.noise_pct),
                    history_runs: hist.values.len().min(opts.rule.window.max(1)),
                });
            }
        }
    }
    rows.sort_by(|a, b| {
        (
            a.kind == Kind::Ratio,
            metric::order_key(&a.metric),
            &a.backend,
        )
            .cmp(&(
                b.kind == Kind::Ratio,
                metric::order_key(&b.metric),
                &b.backend,
            ))
    });

    let stages = stage_rows(
        current,
        &rows,
        candidate.as_deref(),
        reference.as_deref(),
        opts,
    );
    let count = |v: Verdict| rows.iter().filter(|r| r.verdict == v).count();
    let (regressions, improvements) = (count(Verdict::Regression), count(Verdict::Improvement));
    let compared = rows.iter().any(|r| {
        matches!(
            r.verdict,
            Verdict::Regression | Verdict::Improvement | Verdict::Unchanged
        )
    });
    let verdict = if regressions > 0 {
        "regression"
    } else if count(Verdict::NewTestbed) > 0 {
        "new-testbed"
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
        runner: current.meta.fingerprint.key(),
        testbed_label: fingerprint::describe(&current.meta.fingerprint, beds),
        testbed: bed,
        testbed_runs,
        min_runs,
        commit: current.meta.commit.clone(),
        timestamp: current.meta.timestamp.clone(),
        audio_seconds: current.meta.audio_seconds,
        baseline_runs: baseline.runs.len(),
        rule: opts.rule,
        rows,
        stages,
        shares,
    }
}

/// One row: decided when `before` is `None`, otherwise that verdict with the numbers.
#[allow(clippy::too_many_arguments)]
fn row(
    b: &str,
    m: &str,
    label: String,
    info: &MetricInfo,
    hist: &Series,
    cur: Option<Value>,
    before: Option<Verdict>,
    opts: &Options,
) -> Row {
    // A ratio judged against other testbeds allows for how far ratios move between
    // testbeds: the configured allowance, or what the history shows when larger.
    let shift = if info.kind == Kind::Ratio && !hist.same_testbed {
        hist.between.unwrap_or(0.0).max(opts.ratio_shift)
    } else {
        0.0
    };
    let d = match (&before, &cur) {
        (None, Some(c)) => Some(decide_shifted(&hist.values, c, info, &opts.rule, shift)),
        _ => None,
    };
    let mut trend: Vec<f64> = hist
        .values
        .iter()
        .rev()
        .take(TREND_POINTS)
        .rev()
        .map(|v| run_value(v))
        .collect();
    if let Some(c) = &cur {
        trend.push(run_value(c));
    }
    let baseline = d.map(|d| d.baseline).or_else(|| {
        let vals: Vec<f64> = hist.values.iter().map(|v| run_value(v)).collect();
        (!vals.is_empty()).then(|| super::stats::median(&vals))
    });
    Row {
        backend: b.to_string(),
        metric: m.to_string(),
        baseline,
        current: d.map(|d| d.current).or_else(|| cur.as_ref().map(run_value)),
        change_pct: d.and_then(|d| d.change_pct),
        verdict: d.map_or(before.unwrap_or(Verdict::New), |d| d.verdict),
        label,
        unit: info.unit.clone(),
        kind: info.kind,
        direction: info.direction,
        threshold_pct: info.threshold_pct,
        bar_pct: d.map(|d| d.bar_pct),
        noise_pct: d.and_then(|d| d.noise_pct),
        history_runs: hist.values.len().min(opts.rule.window.max(1)),
        samples: cur.as_ref().map_or(0, |c| c.samples().len()),
        same_runner: hist.same_testbed,
        trend,
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

fn stage_rows(
    run: &Run,
    rows: &[Row],
    cand: Option<&str>,
    refb: Option<&str>,
    opts: &Options,
) -> Vec<StageRow> {
    // The value each row shows, so that the table and the verdicts agree.
    let get = |b: Option<&str>, m: &str| -> Option<f64> {
        let b = b?;
        rows.iter()
            .find(|r| r.backend == b && r.metric == m)
            .and_then(|r| r.current)
    };
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

//! The comparison: every backend × metric of the current run against its history window
//! in the baseline (after the newest acknowledgement). Time and memory are judged only
//! against runs of the same testbed, and only once it has `min_runs` of them (before
//! that: `new-testbed`); the portable ratios (`bench::portable`) against every testbed.
//! Plus the candidate-vs-reference stage table of the design.

use std::collections::{BTreeMap, BTreeSet};

use super::baseline::{Baseline, BaselineRun};
use super::decide::{decide, decide_shifted, run_value, Rule, Verdict};
use super::fingerprint::{self, Testbeds};
use super::metric::{self, Direction, Kind, MetricInfo, MetricOverride, Thresholds};
use super::portable;
use super::run::{Results, Run, Value};

pub use super::comparison::{Comparison, Row, ShareRow, StageRow};

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
    for (b, ms) in &current.meta.not_measured {
        for m in ms {
            pairs.insert((b.clone(), m.clone()));
        }
    }
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
            None if current.is_not_measured(&b, &m) => Some(Verdict::NotMeasured),
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
    // The plain rows' values by (backend, metric), looked up once per ratio.
    let shown: BTreeMap<(String, String), Option<f64>> = rows
        .iter()
        .map(|x| ((x.backend.clone(), x.metric.clone()), x.current))
        .collect();
    let mut shares = Vec::new();
    for (b, ms) in &cur_derived {
        for m in ms.keys() {
            if let Some((c, r)) = portable::split_ratio_backend(b) {
                let value_of = |backend: &str| {
                    shown
                        .get(&(backend.to_string(), m.clone()))
                        .copied()
                        .flatten()
                };
                let Some(ratio) = value_of(c)
                    .zip(value_of(r))
                    .filter(|(_, rv)| *rv > 0.0)
                    .map(|(cv, rv)| portable::rounded(cv / rv))
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

    let stages = super::comparison::stage_rows(
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
        change_points: Vec::new(),
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

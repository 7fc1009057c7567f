//! Change points of `baseline.json`'s series: every backend × metric on each testbed
//! (runner fingerprint key), in run order, through [`super::changepoint::detect`]; and
//! the PR comment's "since `abc1234` (+12 %)" line for the current testbed.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

use super::baseline::Baseline;
use super::changepoint::{self, ChangePoint};
use super::compare::Options;
use super::fingerprint;
use super::metric;
use crate::output::markdown::escape;

/// The most recent runs of a series that the search looks at: it costs O(n²) per
/// shuffle, and steps older than this are history the charts already show.
pub const MAX_RUNS: usize = 300;

/// A change point is "recent" for the PR comment when it lies within this many of the
/// testbed's newest runs.
pub const RECENT_RUNS: usize = 30;

/// How many steps the PR comment lists at most.
const COMMENT_STEPS: usize = 6;

/// The testbed a run belongs to (its runner fingerprint key).
pub fn testbed_of(key: Option<String>) -> String {
    key.unwrap_or_else(|| "unknown runner".into())
}

/// The search's options for a metric: a step must be at least half the metric's
/// regression threshold to be reported.
pub fn options_for(metric_name: &str, opts: &Options) -> changepoint::Options {
    let info = metric::info(metric_name, &opts.thresholds, opts.metrics.get(metric_name));
    changepoint::Options {
        min_change_pct: info.threshold_pct / 2.0,
        ..changepoint::Options::default()
    }
}

/// One change point with the run it happened at.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    /// Position of the run within its series (0 = the series' oldest run).
    pub index: usize,
    pub commit: String,
    pub timestamp: Option<String>,
    pub before: f64,
    pub after: f64,
    pub change_pct: Option<f64>,
    pub p_value: f64,
}

/// The change points of one series.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeriesSteps {
    pub testbed: String,
    pub backend: String,
    pub metric: String,
    pub label: String,
    pub unit: String,
    /// Runs in the series.
    pub runs: usize,
    pub steps: Vec<Step>,
}

/// Runs a series of `(commit, timestamp, value)` through the search (its newest
/// [`MAX_RUNS`]); indexes refer to the whole series.
pub fn steps_of(
    points: &[(String, Option<String>, f64)],
    opts: &changepoint::Options,
) -> Vec<Step> {
    let first = points.len().saturating_sub(MAX_RUNS);
    let values: Vec<f64> = points[first..].iter().map(|p| p.2).collect();
    changepoint::detect(&values, opts)
        .into_iter()
        .map(|c: ChangePoint| {
            let (commit, timestamp, _) = &points[first + c.index];
            Step {
                index: first + c.index,
                commit: commit.clone(),
                timestamp: timestamp.clone(),
                before: c.before,
                after: c.after,
                change_pct: c.change_pct,
                p_value: c.p_value,
            }
        })
        .collect()
}

/// Every series of `base` with its change points (series without any included), by
/// testbed, then in the table's metric order, then backend.
pub fn find(base: &Baseline, opts: &Options) -> Vec<SeriesSteps> {
    type Points = Vec<(String, Option<String>, f64)>;
    let mut series: BTreeMap<(String, String, String), Points> = BTreeMap::new();
    for r in base.runs() {
        let testbed = testbed_of(fingerprint::testbed(&r.meta.fingerprint, &opts.testbeds));
        for (b, ms) in &r.results {
            for (m, v) in ms {
                series
                    .entry((testbed.clone(), m.clone(), b.clone()))
                    .or_default()
                    .push((
                        r.meta.commit.clone().unwrap_or_default(),
                        r.meta.timestamp.clone(),
                        v.center(),
                    ));
            }
        }
    }
    let mut out: Vec<SeriesSteps> = series
        .into_iter()
        .map(|((testbed, m, b), points)| {
            let over = opts.metrics.get(&m);
            SeriesSteps {
                steps: steps_of(&points, &options_for(&m, opts)),
                label: metric::label(&m, over),
                unit: metric::info(&m, &opts.thresholds, over).unit,
                runs: points.len(),
                testbed,
                backend: b,
                metric: m,
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (&a.testbed, metric::order_key(&a.metric), &a.backend).cmp(&(
            &b.testbed,
            metric::order_key(&b.metric),
            &b.backend,
        ))
    });
    out
}

/// A recent step of one series, for the PR comment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Since {
    pub backend: String,
    pub metric: String,
    pub label: String,
    pub commit: String,
    pub change_pct: f64,
}

impl Since {
    /// `since `abc1234` (+12 %)` (Markdown).
    pub fn text(&self) -> String {
        let short: String = self.commit.chars().take(7).collect();
        // A commit is hex; anything else in the file is shown through the escaping helper.
        let commit = if short.chars().all(|c| c.is_ascii_alphanumeric()) {
            format!("`{short}`")
        } else {
            crate::output::markdown::code(&short)
        };
        format!("since {commit} ({:+.0} %)", self.change_pct)
    }
}

/// The newest change point of each series on `testbed` that lies within its last
/// [`RECENT_RUNS`] runs, largest changes first.
pub fn recent(base: &Baseline, opts: &Options, testbed: Option<&str>) -> Vec<Since> {
    let Some(testbed) = testbed else {
        return Vec::new();
    };
    let mine = Baseline {
        runs: base
            .runs()
            .iter()
            .filter(|r| {
                fingerprint::testbed(&r.meta.fingerprint, &opts.testbeds).as_deref()
                    == Some(testbed)
            })
            .cloned()
            .collect(),
        ..base.clone()
    };
    let mut out: Vec<Since> = find(&mine, opts)
        .into_iter()
        .filter_map(|s| {
            let last = s.steps.last()?;
            let change_pct = last.change_pct?;
            (last.index + RECENT_RUNS >= s.runs).then(|| Since {
                commit: last.commit.clone(),
                change_pct,
                backend: s.backend,
                metric: s.metric,
                label: s.label,
            })
        })
        .collect();
    out.sort_by(|a, b| b.change_pct.abs().total_cmp(&a.change_pct.abs()));
    out
}

/// The PR comment's line about recent steps on main (empty when there are none).
pub fn markdown(steps: &[Since]) -> String {
    if steps.is_empty() {
        return String::new();
    }
    let items: Vec<String> = steps
        .iter()
        .take(COMMENT_STEPS)
        .map(|s| {
            format!(
                "{} · {} {}",
                escape(&super::render::backend_name(&s.backend)),
                escape(&s.label),
                s.text()
            )
        })
        .collect();
    let more = steps.len().saturating_sub(COMMENT_STEPS);
    format!(
        "\n**Steps on main** (change points in this testbed's history): {}{}\n",
        items.join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::run::{Fingerprint, Run, Value};

    fn base(values: &[f64]) -> Baseline {
        let mut b = Baseline::default();
        for (i, v) in values.iter().enumerate() {
            let mut run = Run::default();
            run.meta.commit = Some(format!("{:07x}{}", 0xabc0000 + i, "0".repeat(33)));
            run.meta.timestamp = Some(format!("2026-03-01T10:{:02}:00Z", i));
            run.meta.fingerprint = Fingerprint {
                os: Some("linux".into()),
                arch: Some("x86_64".into()),
                ..Default::default()
            };
            run.results
                .entry("coreml".into())
                .or_default()
                .insert("freq_branch_sec".into(), Value::Number(*v));
            b.append(&run);
        }
        b
    }

    #[test]
    fn a_step_is_named_by_its_commit() {
        let values: Vec<f64> = (0..24)
            .map(|i| {
                3.2 * (1.0 + 0.01 * ((i * 7 % 5) as f64 - 2.0) / 2.0)
                    * if i >= 14 { 1.15 } else { 1.0 }
            })
            .collect();
        let b = base(&values);
        let found = find(&b, &Options::default());
        assert_eq!(found.len(), 1);
        assert_eq!(found[0].steps.len(), 1, "{found:?}");
        let step = &found[0].steps[0];
        assert!(step.index.abs_diff(14) <= 1, "{step:?}");
        let key = b.runs()[0].meta.fingerprint.key();
        let since = recent(&b, &Options::default(), key.as_deref());
        assert_eq!(since.len(), 1);
        assert!(
            since[0].text().starts_with("since `abc00"),
            "{}",
            since[0].text()
        );
        assert!(since[0].text().ends_with("(+15 %)"), "{}", since[0].text());
        let md = markdown(&since);
        assert!(md.contains("CoreML · Freq branch since `abc00"), "{md}");
        assert!(recent(&b, &Options::default(), Some("another testbed")).is_empty());
        assert_eq!(markdown(&[]), "");
    }
}

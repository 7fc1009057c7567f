//! The history page's sections: one per stage (its time, every backend on every testbed
//! in one chart, change points marked with their commit), the stage's load time and
//! memory peak folded under it; metrics of no stage get a section of their own.

use anyhow::Result;
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

use super::chart::{self, Band, ChartPoint, ChartSeries, ChartSpec, Mark};
use super::history::{History, MetricInfo};
use crate::bench::changepoint;
use crate::bench::changes::{self, Step};
use crate::bench::render::backend_name;

/// One chart with its data table.
#[derive(Serialize)]
pub struct ChartView {
    pub title: String,
    pub key: String,
    pub unit: String,
    pub direction: &'static str,
    pub svg: String,
    pub series: Vec<String>,
    pub rows: Vec<RowView>,
    /// `abc1234: CoreML +15.0 %` for each change point shown.
    pub changes: Vec<String>,
}

#[derive(Serialize)]
pub struct RowView {
    pub run: usize,
    pub date: String,
    pub commit: String,
    pub values: Vec<String>,
    pub regression: bool,
}

/// A stage's section: its main chart(s) and the folded ones.
#[derive(Serialize)]
pub struct SectionView {
    pub title: String,
    pub charts: Vec<ChartView>,
    pub folded: Vec<ChartView>,
}

/// A metric's name without its unit suffix (`freq_branch` of `freq_branch_sec`).
fn stem(key: &str) -> &str {
    key.rsplit_once('_').map_or(key, |(s, _)| s)
}

/// Metric keys grouped: each main metric with the metrics named after its stem
/// (`stft_sec` ← `stft_load_sec`, `stft_peak_mb`), in the history's metric order.
pub fn group(metrics: &[MetricInfo]) -> Vec<(usize, Vec<usize>)> {
    let parent = |i: usize| -> Option<usize> {
        let key = &metrics[i].key;
        metrics
            .iter()
            .enumerate()
            .filter(|(j, m)| *j != i && key.starts_with(&format!("{}_", stem(&m.key))))
            .max_by_key(|(_, m)| stem(&m.key).len())
            .map(|(j, _)| j)
    };
    let mut out: Vec<(usize, Vec<usize>)> = Vec::new();
    for i in 0..metrics.len() {
        if parent(i).is_none() {
            out.push((i, Vec::new()));
        }
    }
    for i in 0..metrics.len() {
        if let Some(p) = parent(i) {
            if let Some(g) = out.iter_mut().find(|g| g.0 == p) {
                g.1.push(i);
            } else {
                out.push((i, Vec::new()));
            }
        }
    }
    out
}

/// Change points per testbed × backend × metric over the whole history, as the global
/// run index where each one happened.
pub type Changes = BTreeMap<(String, String, String), Vec<(usize, Step)>>;

/// Runs the change-point search on every series of the history (once per publish).
pub fn change_points(history: &History) -> Changes {
    type Points = Vec<(usize, (String, Option<String>, f64))>;
    let mut series: BTreeMap<(String, String, String), Points> = BTreeMap::new();
    for (i, r) in history.runs.iter().enumerate() {
        for (b, ms) in &r.values {
            for (m, v) in ms.iter().filter(|(_, v)| v.is_finite()) {
                series
                    .entry((r.runner.clone(), b.clone(), m.clone()))
                    .or_default()
                    .push((i, (r.commit.clone(), None, *v)));
            }
        }
    }
    let mut out = Changes::new();
    for (key, points) in series {
        let threshold = history
            .metrics
            .iter()
            .find(|m| m.key == key.2)
            .map_or(10.0, |m| m.threshold_pct);
        let opts = changepoint::Options {
            min_change_pct: threshold / 2.0,
            ..changepoint::Options::default()
        };
        let values: Vec<_> = points.iter().map(|p| p.1.clone()).collect();
        let steps: Vec<(usize, Step)> = changes::steps_of(&values, &opts)
            .into_iter()
            .map(|s| (points[s.index].0, s))
            .collect();
        if !steps.is_empty() {
            out.insert(key, steps);
        }
    }
    out
}

/// The page's sections for the runs from `first` on.
pub fn sections(
    history: &History,
    first: usize,
    max_points: usize,
    cps: &Changes,
) -> Result<Vec<SectionView>> {
    let mut out = Vec::new();
    for (main, folded) in group(&history.metrics) {
        let Some(c) = chart_of(history, &history.metrics[main], first, max_points, cps)? else {
            continue;
        };
        let mut inner = Vec::new();
        for i in folded {
            inner.extend(chart_of(
                history,
                &history.metrics[i],
                first,
                max_points,
                cps,
            )?);
        }
        out.push(SectionView {
            title: c.title.clone(),
            charts: vec![c],
            folded: inner,
        });
    }
    Ok(out)
}

fn short(commit: &str) -> String {
    commit.chars().take(7).collect()
}

/// One metric's chart: a series per backend × testbed with points from `first` on.
fn chart_of(
    history: &History,
    m: &MetricInfo,
    first: usize,
    max_points: usize,
    cps: &Changes,
) -> Result<Option<ChartView>> {
    let runs = &history.runs[first..];
    // Sub-0.1 s stages read better in milliseconds (as in the latest table).
    let largest = runs
        .iter()
        .flat_map(|r| r.values.values().filter_map(|v| v.get(&m.key)))
        .fold(0.0_f64, |a, v| a.max(v.abs()));
    let (scale, unit) = if m.unit == "s" && largest < 0.1 {
        (1000.0, "ms".to_string())
    } else {
        (1.0, m.unit.clone())
    };
    let testbeds: BTreeSet<&str> = history.runs.iter().map(|r| r.runner.as_str()).collect();
    let mut series = Vec::new();
    let mut marks = Vec::new();
    let mut changes_text = Vec::new();
    for b in &history.backends {
        for tb in &testbeds {
            let tag = format!("{b}/{}", m.key);
            let points: Vec<ChartPoint> = runs
                .iter()
                .enumerate()
                .filter(|(_, r)| r.runner == *tb)
                .filter_map(|(i, r)| {
                    let value = *r.values.get(b)?.get(&m.key)?;
                    value.is_finite().then(|| ChartPoint {
                        x: i as i64,
                        t: r.timestamp,
                        value: value * scale,
                        commit: r.commit.clone(),
                        regression: r.regressions.contains(&tag),
                    })
                })
                .collect();
            if points.is_empty() {
                continue;
            }
            let name = if testbeds.len() > 1 {
                format!("{} · {tb}", backend_name(b))
            } else {
                backend_name(b)
            };
            // The band is what the newest run was compared against: its testbed's.
            let newest = history.runs.last().map(|r| r.runner.as_str());
            let band = history
                .baselines
                .iter()
                .find(|x| &x.backend == b && x.metric == m.key && newest == Some(*tb))
                .map(|x| {
                    let c = x.center * scale;
                    let d = c.abs() * x.threshold_pct / 100.0;
                    Band {
                        center: c,
                        lo: c - d,
                        hi: c + d,
                    }
                });
            let key = (tb.to_string(), b.clone(), m.key.clone());
            for (at, step) in cps.get(&key).into_iter().flatten() {
                if *at < first {
                    continue;
                }
                let change = step
                    .change_pct
                    .map_or("n/a".into(), |p| format!("{p:+.1} %"));
                marks.push(Mark {
                    x: (*at - first) as i64,
                    series: series.len(),
                    label: short(&step.commit),
                    tip: format!(
                        "{name} stepped at commit {} (run {}): {} → {} {} ({change})",
                        short(&step.commit),
                        at - first + 1,
                        chart::fmt_value(step.before * scale),
                        chart::fmt_value(step.after * scale),
                        unit
                    ),
                });
                changes_text.push(format!("{} {name} {change}", short(&step.commit)));
            }
            series.push(ChartSeries { name, points, band });
        }
    }
    if series.is_empty() {
        return Ok(None);
    }
    let spec = ChartSpec {
        title: m.label.clone(),
        unit: unit.clone(),
        labels: runs
            .iter()
            .enumerate()
            .map(|(i, r)| format!("#{} {}", first + i + 1, short(&r.commit)))
            .collect(),
        marks,
        series,
    };
    let svg = chart::render(&spec, max_points)?;
    let shown: Vec<(String, String)> = history
        .backends
        .iter()
        .flat_map(|b| testbeds.iter().map(move |tb| (b.clone(), tb.to_string())))
        .filter(|(b, tb)| {
            runs.iter()
                .any(|r| r.runner == *tb && r.values.get(b).is_some_and(|v| v.contains_key(&m.key)))
        })
        .collect();
    let rows = runs
        .iter()
        .enumerate()
        .rev()
        .filter(|(_, r)| {
            shown
                .iter()
                .any(|(b, _)| r.values.get(b).is_some_and(|v| v.contains_key(&m.key)))
        })
        .map(|(i, r)| RowView {
            run: first + i + 1,
            date: chart::date_label(r.timestamp),
            commit: short(&r.commit),
            values: shown
                .iter()
                .map(|(b, tb)| {
                    r.values
                        .get(b)
                        .and_then(|v| v.get(&m.key))
                        .filter(|_| r.runner == *tb)
                        .map(|v| chart::fmt_value(*v * scale))
                        .unwrap_or_default()
                })
                .collect(),
            regression: r
                .regressions
                .iter()
                .any(|x| x.ends_with(&format!("/{}", m.key))),
        })
        .collect();
    Ok(Some(ChartView {
        title: m.label.clone(),
        key: m.key.clone(),
        unit,
        direction: if m.lower_is_better {
            "lower is better"
        } else {
            "higher is better"
        },
        svg,
        series: spec.series.iter().map(|s| s.name.clone()).collect(),
        rows,
        changes: changes_text,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::history::HistoryRun;

    /// Two testbeds interleaved, B 1.6× slower than A, each flat: series per testbed,
    /// and the change of runner is no change point.
    #[test]
    fn testbeds_are_separate_series_without_change_points() {
        let runs: Vec<HistoryRun> = (0..30)
            .map(|i| {
                let (runner, level) = if i % 3 == 0 { ("B", 1.6) } else { ("A", 1.0) };
                let v = level * (1.0 + 0.01 * ((i * 7 % 5) as f64 - 2.0));
                HistoryRun {
                    timestamp: 1_772_359_200 + i as i64,
                    commit: format!("{i:07x}"),
                    runner: runner.into(),
                    values: [("coreml".to_string(), [("stft_sec".to_string(), v)].into())].into(),
                    regressions: Vec::new(),
                }
            })
            .collect();
        let history = History {
            metrics: vec![info("stft_sec")],
            backends: vec!["coreml".into()],
            runs,
            baselines: Vec::new(),
        };
        let cps = change_points(&history);
        assert!(cps.is_empty(), "{cps:?}");
        let sections = sections(&history, 0, 400, &cps).unwrap();
        assert_eq!(sections.len(), 1);
        assert_eq!(sections[0].charts[0].series, ["CoreML · A", "CoreML · B"]);
        // Put a +20 % step into testbed A only: found there, at its run.
        let mut stepped = history;
        for r in stepped.runs.iter_mut().skip(15).filter(|r| r.runner == "A") {
            if let Some(v) = r
                .values
                .get_mut("coreml")
                .and_then(|m| m.get_mut("stft_sec"))
            {
                *v *= 1.2;
            }
        }
        let cps = change_points(&stepped);
        let a = cps.get(&(
            "A".to_string(),
            "coreml".to_string(),
            "stft_sec".to_string(),
        ));
        assert_eq!(a.map(Vec::len), Some(1), "{cps:?}");
        assert_eq!(cps.len(), 1, "{cps:?}");
        let at = a.map_or(0, |s| s[0].0);
        assert!((15..=17).contains(&at), "{at}");
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
    fn stages_gather_their_loads_and_peaks() {
        let keys = [
            "stft_sec",
            "istft_sec",
            "memory_peak_mb",
            "istft_load_sec",
            "istft_peak_mb",
            "stft_load_sec",
            "stft_peak_mb",
            "orphan_peak_mb",
        ];
        let metrics: Vec<MetricInfo> = keys.iter().map(|k| info(k)).collect();
        let groups: Vec<(&str, Vec<&str>)> = group(&metrics)
            .into_iter()
            .map(|(m, f)| (keys[m], f.into_iter().map(|i| keys[i]).collect()))
            .collect();
        assert_eq!(
            groups,
            vec![
                ("stft_sec", vec!["stft_load_sec", "stft_peak_mb"]),
                ("istft_sec", vec!["istft_load_sec", "istft_peak_mb"]),
                ("memory_peak_mb", vec![]),
                ("orphan_peak_mb", vec![]),
            ]
        );
    }
}

//! The benchmark's Markdown section (PR comment and step summary): one verdict line
//! whose symbol agrees with the phase's status, the regressions first, then the
//! design's stage table with the ratio's and each backend's change, then the details
//! folded (every comparison, the stages' shares of the pipeline). The layout is
//! `templates/markdown/benchmark.md.j2`; this file gathers the figures it shows,
//! formatted but not escaped (the template's formatter escapes them).

use serde::Serialize;

use super::compare::{Comparison, Row};
use super::decide::Verdict;
use super::metric::{self, Kind};
use super::render::{
    backend_name, backends, detail, info_of, pct, pct1, row_name, sparkline, stage_label,
    verdict_line, RowIndex,
};

/// The verdict line's symbol: ❌ only when regressions fail the phase (`gated`), ⚠️
/// when they only warn, ℹ️ when nothing could be judged yet.
pub fn symbol(c: &Comparison, gated: bool) -> &'static str {
    match (c.regressions, c.verdict.as_str()) {
        (n, _) if n > 0 && gated => "❌",
        (n, _) if n > 0 => "⚠️",
        (_, "new" | "new-testbed") => "ℹ️",
        _ => "✅",
    }
}

/// A change cell: the template's `change` macro words it by verdict.
#[derive(Serialize)]
struct Change {
    verdict: &'static str,
    change: String,
}

fn change(row: Option<&Row>) -> Option<Change> {
    row.map(|r| Change {
        verdict: r.verdict.as_str(),
        change: r.change_pct.map_or("n/a".to_string(), pct1),
    })
}

#[derive(Serialize)]
struct Regression {
    name: String,
    baseline: String,
    current: String,
    change: String,
    needed: String,
    noise: String,
    runs: usize,
}

#[derive(Serialize)]
struct Stage {
    label: String,
    bold: bool,
    candidate: String,
    reference: String,
    delta: String,
    wins: bool,
    ratio: Option<Change>,
    backs: Vec<Option<Change>>,
    trend: String,
}

#[derive(Serialize)]
struct Compared {
    backend: String,
    metric: String,
    baseline: String,
    current: String,
    change: String,
    verdict: &'static str,
    runs: usize,
}

#[derive(Serialize)]
struct Share {
    backend: String,
    label: String,
    baseline: String,
    current: String,
    change: String,
    runs: usize,
}

fn value(v: Option<f64>, info: &metric::MetricInfo) -> String {
    v.map_or("—".to_string(), |v| metric::format_value(v, info))
}

fn regression(r: &Row) -> Regression {
    let info = info_of(r);
    Regression {
        name: row_name(r),
        baseline: value(r.baseline, &info),
        current: value(r.current, &info),
        change: r.change_pct.map_or("n/a".into(), pct1),
        needed: format!("±{:.1}%", r.bar_pct.unwrap_or(r.threshold_pct)),
        noise: r.noise_pct.map_or("—".into(), |n| format!("{n:.1}%")),
        runs: r.history_runs,
    }
}

fn stages(c: &Comparison, trend_of: Option<&str>) -> Vec<Stage> {
    let backs = backends(c);
    let ix = RowIndex::new(c);
    c.stages
        .iter()
        .map(|s| {
            let info = ix
                .any(&s.metric)
                .map(info_of)
                .unwrap_or_else(|| metric::info(&s.metric, &Default::default(), None));
            Stage {
                label: stage_label(c, s),
                bold: s.group == 2,
                candidate: value(s.candidate, &info),
                reference: value(s.reference, &info),
                delta: s.delta_pct.map_or("—".into(), pct),
                wins: s.candidate_wins && s.delta_pct.is_some(),
                ratio: change(ix.ratio(&s.metric)),
                backs: backs.iter().map(|b| change(ix.get(b, &s.metric))).collect(),
                trend: trend_of
                    .and_then(|b| ix.get(b, &s.metric))
                    .map_or(String::new(), |r| sparkline(&r.trend)),
            }
        })
        .collect()
}

fn compared(r: &Row) -> Compared {
    let info = info_of(r);
    Compared {
        backend: r.backend.clone(),
        metric: r.metric.clone(),
        baseline: value(r.baseline, &info),
        current: value(r.current, &info),
        change: r.change_pct.map_or("—".into(), pct1),
        verdict: r.verdict.as_str(),
        runs: r.history_runs,
    }
}

fn share(s: &super::comparison::ShareRow) -> Share {
    let fraction = |v: f64| format!("{:.1}%", v * 100.0);
    Share {
        backend: backend_name(&s.backend),
        label: s.label.clone(),
        baseline: s.baseline.map_or("—".into(), fraction),
        current: fraction(s.current),
        change: s.change_pct.map_or("—".into(), pct1),
        runs: s.history_runs,
    }
}

/// The Markdown section. `gated`: regressions fail the phase.
pub fn markdown(c: &Comparison, gated: bool) -> String {
    let backs = backends(c);
    let cand = c.candidate.as_deref();
    let refb = c.reference.as_deref();
    let trend_of = cand.or(backs.first().map(String::as_str));
    let has_ratios = c.rows.iter().any(|r| r.kind == Kind::Ratio);
    let (steps, more) = super::changes::steps_view(&c.change_points);
    let ctx = minijinja::context! {
        symbol => symbol(c, gated),
        verdict => verdict_line(c),
        regressions => c.rows.iter().filter(|r| r.verdict == Verdict::Regression)
            .map(regression).collect::<Vec<_>>(),
        cand => cand.map(backend_name),
        refb => refb.map(backend_name),
        has_ratios,
        backs => backs.iter().map(|b| backend_name(b)).collect::<Vec<_>>(),
        trend => trend_of.map(backend_name),
        stages => stages(c, trend_of),
        ratio_note => super::render::new_testbed(c) && has_ratios,
        cand_name => backend_name(cand.unwrap_or("candidate")),
        ref_name => backend_name(refb.unwrap_or("reference")),
        steps,
        more,
        improvements => c.rows.iter().filter(|r| r.verdict == Verdict::Improvement)
            .map(detail).collect::<Vec<_>>(),
        rows => c.rows.iter().map(compared).collect::<Vec<_>>(),
        window => c.rule.window,
        testbed => &c.testbed_label,
        min_runs => c.min_runs,
        noise_sigmas => c.rule.noise_sigmas.to_string(),
        shares => c.shares.iter().map(share).collect::<Vec<_>>(),
    };
    crate::output::templates::markdown("benchmark.md.j2", ctx)
}

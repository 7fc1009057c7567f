//! The benchmark's Markdown section (PR comment and step summary): one verdict line
//! whose symbol agrees with the phase's status, the regressions first, then the
//! design's stage table with the ratio's and each backend's change, then the details
//! folded (every comparison, the stages' shares of the pipeline).

use super::compare::{Comparison, Row};
use super::decide::Verdict;
use super::metric::{self, Kind};
use super::render::{
    backend_name, backends, detail, info_of, pct, pct1, row_name, sparkline, stage_label,
    verdict_line, RowIndex,
};
use crate::output::markdown::{code, details, escape, Align, Table};

fn md_change(row: Option<&Row>) -> String {
    let Some(r) = row else {
        return String::new();
    };
    let change = r.change_pct.map_or("n/a".to_string(), pct1);
    match r.verdict {
        Verdict::Regression => format!("**{}** ❌", escape(&change)),
        Verdict::Improvement => format!("{} ✅", escape(&change)),
        Verdict::Unchanged => escape(&change),
        Verdict::New => "new".into(),
        Verdict::NewTestbed => "new testbed".into(),
        Verdict::Missing => "missing".into(),
        Verdict::NotMeasured => "not measured".into(),
    }
}

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

fn regressions_table(regs: &[&Row]) -> String {
    let mut t = Table::new(&[
        "Regression",
        "Baseline",
        "Current",
        "Change",
        "Needed",
        "Noise",
        "Runs",
    ])
    .align(&[
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
    ]);
    for r in regs {
        let info = info_of(r);
        let f = |v: Option<f64>| v.map_or("—".to_string(), |v| metric::format_value(v, &info));
        t.row(vec![
            escape(&row_name(r)),
            escape(&f(r.baseline)),
            escape(&f(r.current)),
            format!("**{}**", escape(&r.change_pct.map_or("n/a".into(), pct1))),
            escape(&format!("±{:.1}%", r.bar_pct.unwrap_or(r.threshold_pct))),
            escape(&r.noise_pct.map_or("—".into(), |n| format!("{n:.1}%"))),
            r.history_runs.to_string(),
        ]);
    }
    t.render()
}

fn stage_table(c: &Comparison) -> String {
    let backs = backends(c);
    let cand = c.candidate.as_deref();
    let refb = c.reference.as_deref();
    let has_ratios = c.rows.iter().any(|r| r.kind == Kind::Ratio);
    let mut headers: Vec<String> = vec!["Stage".into()];
    headers.extend(cand.map(|b| escape(&backend_name(b))));
    headers.extend(refb.map(|b| escape(&backend_name(b))));
    if refb.is_some() {
        headers.push("Δ".into());
        if has_ratios {
            headers.push("Δ vs baseline".into());
        }
    }
    for b in &backs {
        headers.push(format!("{} vs baseline", escape(&backend_name(b))));
    }
    let trend_of = cand.or(backs.first().map(String::as_str));
    if let Some(b) = trend_of {
        headers.push(format!("Trend ({})", escape(&backend_name(b))));
    }
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let mut align = vec![Align::Left];
    align.resize(headers.len(), Align::Right);
    let mut t = Table::new(&header_refs).align(&align);
    let ix = RowIndex::new(c);
    for s in &c.stages {
        let any_row = ix.any(&s.metric);
        let info = any_row
            .map(info_of)
            .unwrap_or_else(|| metric::info(&s.metric, &Default::default(), None));
        let fmt = |v: Option<f64>| {
            v.map_or("—".to_string(), |v| {
                escape(&metric::format_value(v, &info))
            })
        };
        let label = escape(&stage_label(c, s));
        let mut cells = vec![if s.group == 2 {
            format!("**{label}**")
        } else {
            label
        }];
        if cand.is_some() {
            cells.push(fmt(s.candidate));
        }
        if refb.is_some() {
            cells.push(fmt(s.reference));
            let mark = if s.candidate_wins { " ✓" } else { "" };
            cells.push(
                s.delta_pct
                    .map_or("—".into(), |d| format!("{}{mark}", escape(&pct(d)))),
            );
            if has_ratios {
                cells.push(md_change(ix.ratio(&s.metric)));
            }
        }
        for b in &backs {
            cells.push(md_change(ix.get(b, &s.metric)));
        }
        if let Some(b) = trend_of {
            cells.push(
                ix.get(b, &s.metric)
                    .map_or(String::new(), |r| sparkline(&r.trend)),
            );
        }
        t.row(cells);
    }
    t.render()
}

fn all_rows(c: &Comparison) -> String {
    let mut all = Table::new(&[
        "Backend", "Metric", "Baseline", "Current", "Change", "Verdict", "Runs",
    ])
    .align(&[
        Align::Left,
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Left,
        Align::Right,
    ]);
    for r in &c.rows {
        let info = info_of(r);
        let f = |v: Option<f64>| {
            v.map_or("—".to_string(), |v| {
                escape(&metric::format_value(v, &info))
            })
        };
        all.row(vec![
            escape(&r.backend),
            code(&r.metric),
            f(r.baseline),
            f(r.current),
            r.change_pct.map_or("—".into(), |p| escape(&pct1(p))),
            r.verdict.as_str().to_string(),
            r.history_runs.to_string(),
        ]);
    }
    format!(
        "{}\nTime and memory are compared with up to the last {} runs on the same testbed ({}), and only once it has {} of them; the {} ÷ {} ratios with runs on every testbed. Each run is summarised by the mean of its samples after setting aside spikes (the table shows the same figure), outlying runs set aside. A change counts when it is beyond the metric's threshold and beyond {}× the run-to-run noise.",
        all.render(),
        c.rule.window,
        escape(&c.testbed_label),
        c.min_runs,
        escape(&backend_name(c.candidate.as_deref().unwrap_or("candidate"))),
        escape(&backend_name(c.reference.as_deref().unwrap_or("reference"))),
        c.rule.noise_sigmas
    )
}

fn shares(c: &Comparison) -> String {
    let mut t =
        Table::new(&["Backend", "Stage", "Baseline", "Current", "Change", "Runs"]).align(&[
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
            Align::Right,
            Align::Right,
        ]);
    let share = |v: f64| format!("{:.1}%", v * 100.0);
    for s in &c.shares {
        t.row(vec![
            escape(&backend_name(&s.backend)),
            escape(&s.label),
            s.baseline.map_or("—".into(), share),
            share(s.current),
            s.change_pct.map_or("—".into(), |p| escape(&pct1(p))),
            s.history_runs.to_string(),
        ]);
    }
    t.render()
}

/// The Markdown section. `gated`: regressions fail the phase.
pub fn markdown(c: &Comparison, gated: bool) -> String {
    let mut out = format!(
        "{} **Benchmark:** {}\n\n",
        symbol(c, gated),
        escape(&verdict_line(c))
    );
    let regs: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regression)
        .collect();
    if !regs.is_empty() {
        out.push_str(&regressions_table(&regs));
        out.push('\n');
    }
    out.push_str(&stage_table(c));
    if super::render::new_testbed(c) && c.rows.iter().any(|r| r.kind == Kind::Ratio) {
        // On a testbed without history the ratio column is the only one compared, and
        // against other machines: say so, so that a move there is read for what it is.
        out.push_str(&format!(
            "\n_Δ vs baseline compares the {} ÷ {} ratio with runs on other testbeds; part of a move there can come from the machine rather than the change, so only a move beyond the ratio's threshold counts._\n",
            escape(&backend_name(c.candidate.as_deref().unwrap_or("candidate"))),
            escape(&backend_name(c.reference.as_deref().unwrap_or("reference"))),
        ));
    }
    // Change points on main (bench::changes): "since `abc1234` (+12 %)".
    out.push_str(&super::changes::markdown(&c.change_points));
    let imps: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Improvement)
        .collect();
    if !imps.is_empty() {
        out.push_str("\n**Improvements:** ");
        let items: Vec<String> = imps.iter().map(|r| escape(&detail(r))).collect();
        out.push_str(&items.join("; "));
        out.push('\n');
    }
    out.push('\n');
    out.push_str(&details(
        &format!("All {} comparisons", c.rows.len()),
        &all_rows(c),
    ));
    if !c.shares.is_empty() {
        out.push('\n');
        out.push_str(&details("Share of the full pipeline", &shares(c)));
    }
    out
}

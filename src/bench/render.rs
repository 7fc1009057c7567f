//! Renderers of a [`Comparison`]: the design's terminal table (stages as rows,
//! candidate | reference | Δ, then each backend's change against the baseline) and the
//! Markdown section for the PR comment and step summary (verdict line first,
//! regressions first, a sparkline per stage).

use super::compare::{Comparison, Row, StageRow};
use super::decide::Verdict;
use super::metric::{self, MetricInfo};
use crate::report::markdown::{escape, Align, Table};
use crate::report::terminal::{sanitize, table, Style};

/// Display name of a backend: the two the product is about get their proper names.
pub fn backend_name(b: &str) -> String {
    match b {
        "coreml" => "CoreML".into(),
        "pytorch" => "PyTorch".into(),
        other => other.to_string(),
    }
}

fn info_of(row: &Row) -> MetricInfo {
    MetricInfo {
        kind: row.kind,
        direction: row.direction,
        unit: row.unit.clone(),
        threshold_pct: row.threshold_pct,
    }
}

fn pct(v: f64) -> String {
    format!("{v:+.0}%")
}

fn pct1(v: f64) -> String {
    format!("{v:+.1}%")
}

/// Backends in the order of the table: candidate, reference, then the rest by name.
fn backends(c: &Comparison) -> Vec<String> {
    let mut out: Vec<String> = c
        .candidate
        .iter()
        .chain(c.reference.iter())
        .cloned()
        .collect();
    let mut rest: Vec<String> = c
        .rows
        .iter()
        .map(|r| r.backend.clone())
        .filter(|b| !out.contains(b))
        .collect();
    rest.sort();
    rest.dedup();
    out.extend(rest);
    out
}

fn row_for<'a>(c: &'a Comparison, backend: &str, metric: &str) -> Option<&'a Row> {
    c.rows
        .iter()
        .find(|r| r.backend == backend && r.metric == metric)
}

fn stage_label(c: &Comparison, s: &StageRow) -> String {
    match (s.metric.as_str(), c.audio_seconds) {
        ("stft_sec", Some(a)) => format!("{} ({}s audio)", s.label, trim_num(a)),
        _ => s.label.clone(),
    }
}

fn trim_num(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// The change cell of one backend: `+2.1%`, `+23.4% ✗` (regression), `-12.0% ✓`.
fn change_cell(row: Option<&Row>, st: Style) -> String {
    let Some(r) = row else {
        return String::new();
    };
    let change = r.change_pct.map_or("n/a".to_string(), pct1);
    match r.verdict {
        Verdict::Regression => st.red(&format!("{change} ✗")),
        Verdict::Improvement => st.green(&format!("{change} ✓")),
        Verdict::Unchanged => change,
        Verdict::New => st.dim("new"),
        Verdict::Missing => st.yellow("missing"),
    }
}

/// One sentence saying what happened, for the terminal and the Markdown's first line.
pub fn verdict_line(c: &Comparison) -> String {
    let runner = c
        .runner
        .as_deref()
        .map(|r| format!(" on {r}"))
        .unwrap_or_default();
    let compared = c
        .rows
        .iter()
        .filter(|r| {
            matches!(
                r.verdict,
                Verdict::Regression | Verdict::Improvement | Verdict::Unchanged
            )
        })
        .count();
    let plural = |n: usize, w: &str| format!("{n} {w}{}", if n == 1 { "" } else { "s" });
    match c.verdict.as_str() {
        "new" => format!(
            "no baseline to compare with yet ({} recorded runs){runner}",
            c.baseline_runs
        ),
        _ if c.regressions > 0 => format!(
            "{} and {} in {} compared metrics{runner}",
            plural(c.regressions, "regression"),
            plural(c.improvements, "improvement"),
            compared
        ),
        _ => format!(
            "no regressions, {} in {} compared metrics{runner}",
            plural(c.improvements, "improvement"),
            compared
        ),
    }
}

/// The terminal table of the foundation design plus per-backend changes.
pub fn text(c: &Comparison, st: Style) -> String {
    let backs = backends(c);
    let cand = c.candidate.as_deref();
    let refb = c.reference.as_deref();
    let mut headers: Vec<String> = vec![String::new()];
    headers.extend(cand.map(backend_name));
    headers.extend(refb.map(backend_name));
    if refb.is_some() {
        headers.push("Δ".into());
        headers.push(String::new());
    }
    for b in &backs {
        headers.push(format!("{} vs base", backend_name(b)));
    }
    let mut rows = Vec::new();
    // Row indexes before which a rule goes (where a block of group 2 or 3 starts).
    let mut rules = Vec::new();
    let mut last_group = None;
    for s in &c.stages {
        let info = c
            .rows
            .iter()
            .find(|r| r.metric == s.metric)
            .map(info_of)
            .unwrap_or_else(|| metric::info(&s.metric, &Default::default(), None));
        let fmt = |v: Option<f64>| v.map_or("—".to_string(), |v| metric::format_value(v, &info));
        let mut cells = vec![sanitize(&stage_label(c, s))];
        if cand.is_some() {
            cells.push(fmt(s.candidate));
        }
        if refb.is_some() {
            cells.push(fmt(s.reference));
            cells.push(s.delta_pct.map_or("—".to_string(), pct));
            cells.push(if s.candidate_wins {
                st.green("✓")
            } else {
                String::new()
            });
        }
        for b in &backs {
            cells.push(change_cell(row_for(c, b, &s.metric), st));
        }
        if s.group >= 2 && last_group.is_some_and(|g| g != s.group) {
            rules.push(rows.len());
        }
        last_group = Some(s.group);
        rows.push(cells);
    }
    // Metrics that only the baseline has (missing now) get a line too.
    for r in c.rows.iter().filter(|r| r.verdict == Verdict::Missing) {
        if !c.stages.iter().any(|s| s.metric == r.metric) {
            let mut cells = vec![sanitize(&r.label)];
            cells.resize(headers.len() - backs.len(), "—".to_string());
            for b in &backs {
                cells.push(change_cell(row_for(c, b, &r.metric), st));
            }
            rows.push(cells);
        }
    }
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    // Everything right-aligned but the label and the ✓ column.
    let mark_col = refb.map(|_| 1 + usize::from(cand.is_some()) + 2);
    let right: Vec<bool> = (0..headers.len())
        .map(|i| i > 0 && Some(i) != mark_col)
        .collect();
    let rendered = table(&header_refs, &rows, &right);
    let mut lines: Vec<String> = rendered.lines().map(str::to_string).collect();
    let rule = lines.get(1).cloned().unwrap_or_default();
    for (n, i) in rules.iter().enumerate() {
        lines.insert(2 + i + n, rule.clone());
    }
    let mut out = lines.join("\n");
    out.push('\n');
    out.push('\n');
    let symbol = match (c.regressions, c.verdict.as_str()) {
        (n, _) if n > 0 => st.red("✗"),
        (_, "new") => st.dim("•"),
        _ => st.green("✓"),
    };
    out.push_str(&format!("{symbol} {}\n", sanitize(&verdict_line(c))));
    for r in c.rows.iter().filter(|r| r.verdict == Verdict::Regression) {
        out.push_str(&format!(
            "  {} {}\n",
            st.red("regression:"),
            sanitize(&detail(r))
        ));
    }
    for r in c.rows.iter().filter(|r| r.verdict == Verdict::Improvement) {
        out.push_str(&format!(
            "  {} {}\n",
            st.green("improvement:"),
            sanitize(&detail(r))
        ));
    }
    out
}

/// `coreml Freq branch 3.21s → 3.95s (+23.1%; needed ±10.0%, noise 1.2% over 8 runs)`.
pub fn detail(r: &Row) -> String {
    let info = info_of(r);
    let f = |v: Option<f64>| v.map_or("—".to_string(), |v| metric::format_value(v, &info));
    let noise = r
        .noise_pct
        .map(|n| format!(", noise {n:.1}%"))
        .unwrap_or_default();
    format!(
        "{} {} {} → {} ({}; needed ±{:.1}%{noise} over {} run{}{})",
        r.backend,
        r.label,
        f(r.baseline),
        f(r.current),
        r.change_pct.map_or("n/a".into(), pct1),
        r.bar_pct.unwrap_or(r.threshold_pct),
        r.history_runs,
        if r.history_runs == 1 { "" } else { "s" },
        if r.same_runner {
            ""
        } else {
            " of other runners"
        }
    )
}

/// Unicode sparkline of a trend (the last point is the current run).
pub fn sparkline(points: &[f64]) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let (lo, hi) = super::stats::min_max(points);
    points
        .iter()
        .map(|v| {
            if hi > lo {
                let i = ((v - lo) / (hi - lo) * 7.0).round() as usize;
                BARS[i.min(7)]
            } else {
                BARS[3]
            }
        })
        .collect()
}

fn md_change(row: Option<&Row>) -> String {
    let Some(r) = row else {
        return String::new();
    };
    let change = r.change_pct.map_or("n/a".to_string(), pct1);
    match r.verdict {
        Verdict::Regression => format!("**{change}** ❌"),
        Verdict::Improvement => format!("{change} ✅"),
        Verdict::Unchanged => change,
        Verdict::New => "new".into(),
        Verdict::Missing => "missing".into(),
    }
}

/// The Markdown section.
pub fn markdown(c: &Comparison) -> String {
    let symbol = if c.regressions > 0 { "❌" } else { "✅" };
    let mut out = format!("{symbol} **Benchmark:** {}\n\n", escape(&verdict_line(c)));
    let backs = backends(c);
    let regs: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| r.verdict == Verdict::Regression)
        .collect();
    if !regs.is_empty() {
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
            let f =
                |v: Option<f64>| v.map_or("—".to_string(), |v| metric::format_value(v, &info));
            t.row(vec![
                format!(
                    "{} · {}",
                    escape(&backend_name(&r.backend)),
                    escape(&r.label)
                ),
                escape(&f(r.baseline)),
                escape(&f(r.current)),
                format!("**{}**", escape(&r.change_pct.map_or("n/a".into(), pct1))),
                escape(&format!("±{:.1}%", r.bar_pct.unwrap_or(r.threshold_pct))),
                escape(&r.noise_pct.map_or("—".into(), |n| format!("{n:.1}%"))),
                r.history_runs.to_string(),
            ]);
        }
        out.push_str(&t.render());
        out.push('\n');
    }
    let cand = c.candidate.as_deref();
    let refb = c.reference.as_deref();
    let mut headers: Vec<String> = vec!["Stage".into()];
    headers.extend(cand.map(|b| escape(&backend_name(b))));
    headers.extend(refb.map(|b| escape(&backend_name(b))));
    if refb.is_some() {
        headers.push("Δ".into());
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
    for s in &c.stages {
        let any_row = c.rows.iter().find(|r| r.metric == s.metric);
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
        }
        for b in &backs {
            cells.push(md_change(row_for(c, b, &s.metric)));
        }
        if let Some(b) = trend_of {
            cells.push(row_for(c, b, &s.metric).map_or(String::new(), |r| sparkline(&r.trend)));
        }
        t.row(cells);
    }
    out.push_str(&t.render());
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
            crate::report::markdown::code(&r.metric),
            f(r.baseline),
            f(r.current),
            r.change_pct.map_or("—".into(), |p| escape(&pct1(p))),
            r.verdict.as_str().to_string(),
            r.history_runs.to_string(),
        ]);
    }
    out.push('\n');
    out.push_str(&crate::report::markdown::details(
        &format!("All {} comparisons", c.rows.len()),
        &format!(
            "{}\nBaseline: up to the last {} comparable runs (same runner kind when recorded), each summarised by the mean of its samples after setting aside spikes, outlying runs (slow runners) set aside. A change counts when it is beyond the metric's threshold and beyond {}× the run-to-run noise.",
            all.render(),
            c.rule.window,
            c.rule.noise_sigmas
        ),
    ));
    out
}

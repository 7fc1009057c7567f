//! Renderers of a [`Comparison`] for people: the verdict line (what was compared with
//! what), the design's terminal table (stages as rows, candidate | reference | Δ, the
//! ratio's change, then each backend's change against its testbed's baseline) and the
//! one-line details of a verdict. The Markdown section is in [`super::render_md`].

use std::collections::{HashMap, HashSet};

use super::compare::{Comparison, Row, StageRow};
use super::decide::Verdict;
use super::metric::{self, Kind, MetricInfo};
use super::portable;
use crate::output::plural;
use crate::output::terminal::{sanitize, table, Style};

pub use super::render_md::markdown;

/// Display name of a backend: the two the product is about get their proper names; a
/// ratio pseudo-backend reads "CoreML ÷ PyTorch".
pub fn backend_name(b: &str) -> String {
    if let Some((c, r)) = portable::split_ratio_backend(b) {
        return format!("{} ÷ {}", backend_name(c), backend_name(r));
    }
    match b {
        "coreml" => "CoreML".into(),
        "pytorch" => "PyTorch".into(),
        other => other.to_string(),
    }
}

pub(super) fn info_of(row: &Row) -> MetricInfo {
    MetricInfo {
        kind: row.kind,
        direction: row.direction,
        unit: row.unit.clone(),
        threshold_pct: row.threshold_pct,
    }
}

pub(super) fn pct(v: f64) -> String {
    format!("{v:+.0}%")
}

pub(super) fn pct1(v: f64) -> String {
    format!("{v:+.1}%")
}

/// Backends in the order of the table: candidate, reference, then the rest by name
/// (ratios are not backends).
pub(super) fn backends(c: &Comparison) -> Vec<String> {
    let mut out: Vec<String> = c
        .candidate
        .iter()
        .chain(c.reference.iter())
        .cloned()
        .collect();
    let mut rest: Vec<String> = c
        .rows
        .iter()
        .filter(|r| r.kind != Kind::Ratio)
        .map(|r| r.backend.clone())
        .filter(|b| !out.contains(b))
        .collect();
    rest.sort();
    rest.dedup();
    out.extend(rest);
    out
}

/// The comparison's rows by backend and metric, built once per rendering: a table of
/// n metrics then costs O(n) lookups rather than n scans of every row.
pub struct RowIndex<'a> {
    by_key: HashMap<(&'a str, &'a str), &'a Row>,
    by_metric: HashMap<&'a str, &'a Row>,
    ratio: HashMap<&'a str, &'a Row>,
    regressed: HashSet<&'a str>,
    staged: HashSet<&'a str>,
}

impl<'a> RowIndex<'a> {
    pub fn new(c: &'a Comparison) -> Self {
        Self::of(&c.rows, &c.stages)
    }

    /// The index of rows and stage lines held apart from a comparison.
    pub fn of(rows: &'a [Row], stages: &'a [StageRow]) -> Self {
        let mut ix = RowIndex {
            by_key: HashMap::with_capacity(rows.len()),
            by_metric: HashMap::new(),
            ratio: HashMap::new(),
            regressed: HashSet::new(),
            staged: stages.iter().map(|s| s.metric.as_str()).collect(),
        };
        // The first row wins, as a scan in row order would find it.
        for r in rows {
            if r.verdict == Verdict::Regression {
                ix.regressed.insert(r.metric.as_str());
            }
            ix.by_key
                .entry((r.backend.as_str(), r.metric.as_str()))
                .or_insert(r);
            ix.by_metric.entry(r.metric.as_str()).or_insert(r);
            if r.kind == Kind::Ratio {
                ix.ratio.entry(r.metric.as_str()).or_insert(r);
            }
        }
        ix
    }

    /// The row of `backend` × `metric`.
    pub fn get(&self, backend: &str, metric: &str) -> Option<&'a Row> {
        self.by_key.get(&(backend, metric)).copied()
    }

    /// Any row of `metric` (the first), for its unit and kind.
    pub fn any(&self, metric: &str) -> Option<&'a Row> {
        self.by_metric.get(metric).copied()
    }

    /// The ratio row of a stage, when the comparison has one.
    pub fn ratio(&self, metric: &str) -> Option<&'a Row> {
        self.ratio.get(metric).copied()
    }

    /// Whether some backend's `metric` regressed.
    pub fn regressed(&self, metric: &str) -> bool {
        self.regressed.contains(metric)
    }

    /// Whether the stage table has a line for `metric`.
    pub fn staged(&self, metric: &str) -> bool {
        self.staged.contains(metric)
    }
}

pub(super) fn stage_label(c: &Comparison, s: &StageRow) -> String {
    match (s.metric.as_str(), c.audio_seconds) {
        ("stft_sec", Some(a)) => format!("{} ({}s audio)", s.label, trim_num(a)),
        _ => s.label.clone(),
    }
}

fn trim_num(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

/// "CoreML · Freq branch", "CoreML ÷ PyTorch · Freq branch".
pub fn row_name(r: &Row) -> String {
    format!("{} · {}", backend_name(&r.backend), r.label)
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
        Verdict::NewTestbed => st.dim("new testbed"),
        Verdict::Missing => st.yellow("missing"),
        Verdict::NotMeasured => st.dim("not measured"),
    }
}

/// A ratio's change in words: "CoreML's Freq branch went from 0.66× to 0.91× of PyTorch".
pub fn ratio_sentence(r: &Row) -> String {
    let info = info_of(r);
    let f = |v: Option<f64>| v.map_or("—".to_string(), |v| metric::format_value(v, &info));
    let (c, rf) = portable::split_ratio_backend(&r.backend).unwrap_or((&r.backend, "?"));
    format!(
        "{}'s {} went from {} to {} of {}",
        backend_name(c),
        r.label,
        f(r.baseline),
        f(r.current),
        backend_name(rf)
    )
}

fn judged(r: &Row) -> bool {
    matches!(
        r.verdict,
        Verdict::Regression | Verdict::Improvement | Verdict::Unchanged
    )
}

/// Whether time and memory were not judged because the testbed is new.
pub fn new_testbed(c: &Comparison) -> bool {
    c.rows.iter().any(|r| r.verdict == Verdict::NewTestbed)
}

/// One sentence saying what happened and what it was compared with, for the terminal,
/// the Markdown's first line and the action's `verdict` output.
pub fn verdict_line(c: &Comparison) -> String {
    let label = if c.testbed_label.is_empty() {
        "an unknown runner".to_string()
    } else {
        c.testbed_label.clone()
    };
    let ratios: Vec<&Row> = c
        .rows
        .iter()
        .filter(|r| r.kind == Kind::Ratio && judged(r))
        .collect();
    let ratio_regs: Vec<&Row> = ratios
        .iter()
        .copied()
        .filter(|r| r.verdict == Verdict::Regression)
        .collect();
    // What the portable figures said, when any were compared.
    let portable = match (ratio_regs.first(), ratios.len()) {
        (_, 0) => None,
        (Some(first), n) => Some(format!(
            "{} ({} in {} ratios compared across testbeds)",
            ratio_sentence(first),
            plural(ratio_regs.len(), "regression"),
            n
        )),
        (None, n) => {
            let imps = ratios
                .iter()
                .filter(|r| r.verdict == Verdict::Improvement)
                .count();
            Some(format!(
                "{} ratios compared across testbeds: no regressions{}",
                n,
                if imps > 0 {
                    format!(", {}", plural(imps, "improvement"))
                } else {
                    String::new()
                }
            ))
        }
    };
    if new_testbed(c) {
        let more = c.min_runs.saturating_sub(c.testbed_runs).max(1);
        let head = if c.testbed_runs == 0 {
            format!(
                "first run on {label}: no history here yet; {} before verdicts",
                plural(more, "more run")
            )
        } else {
            format!(
                "{} on {label} so far: {} before verdicts",
                plural(c.testbed_runs, "earlier run"),
                plural(more, "more run")
            )
        };
        return match portable {
            Some(p) => {
                let mut chars = p.chars();
                let first: String = chars
                    .next()
                    .map(|c| c.to_uppercase().collect())
                    .unwrap_or_default();
                format!("{head}. {first}{}", chars.as_str())
            }
            None => head,
        };
    }
    let compared = c.rows.iter().filter(|r| judged(r)).count();
    let against = format!(
        "against {} on {label}",
        plural(c.testbed_runs.min(c.rule.window.max(1)), "run")
    );
    match c.verdict.as_str() {
        "new" => format!(
            "no baseline to compare with yet ({} recorded runs) on {label}",
            c.baseline_runs
        ),
        _ if c.regressions > 0 => {
            let mut s = format!(
                "{} and {} in {} compared metrics {against}",
                plural(c.regressions, "regression"),
                plural(c.improvements, "improvement"),
                compared
            );
            if let Some(first) = ratio_regs.first() {
                s.push_str(&format!("; {}", ratio_sentence(first)));
            }
            s
        }
        _ => format!(
            "no regressions, {} in {} compared metrics {against}",
            plural(c.improvements, "improvement"),
            compared
        ),
    }
}

/// The terminal table of the foundation design plus per-backend changes. `gated`:
/// regressions fail the phase (`fail_on_regression`).
pub fn text(c: &Comparison, st: Style, gated: bool) -> String {
    let backs = backends(c);
    let cand = c.candidate.as_deref();
    let refb = c.reference.as_deref();
    let has_ratios = c.rows.iter().any(|r| r.kind == Kind::Ratio);
    let mut headers: Vec<String> = vec![String::new()];
    headers.extend(cand.map(backend_name));
    headers.extend(refb.map(backend_name));
    if refb.is_some() {
        headers.push("Δ".into());
        headers.push(String::new());
        if has_ratios {
            headers.push("Δ vs base".into());
        }
    }
    for b in &backs {
        headers.push(format!("{} vs base", backend_name(b)));
    }
    let mut rows = Vec::new();
    // Row indexes before which a rule goes (where a block of group 2 or 3 starts).
    let mut rules = Vec::new();
    let mut last_group = None;
    let ix = RowIndex::new(c);
    for s in &c.stages {
        let info = ix
            .any(&s.metric)
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
            if has_ratios {
                cells.push(change_cell(ix.ratio(&s.metric), st));
            }
        }
        for b in &backs {
            cells.push(change_cell(ix.get(b, &s.metric), st));
        }
        if s.group >= 2 && last_group.is_some_and(|g| g != s.group) {
            rules.push(rows.len());
        }
        last_group = Some(s.group);
        rows.push(cells);
    }
    // Metrics that only the baseline has (missing now) get a line too.
    let mut extra_lines: HashSet<&str> = HashSet::new();
    for r in c
        .rows
        .iter()
        .filter(|r| matches!(r.verdict, Verdict::Missing | Verdict::NotMeasured))
    {
        if !ix.staged(&r.metric) && extra_lines.insert(r.metric.as_str()) {
            let mut cells = vec![sanitize(&r.label)];
            cells.resize(headers.len() - backs.len(), "—".to_string());
            for b in &backs {
                cells.push(change_cell(ix.get(b, &r.metric), st));
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
        (n, _) if n > 0 && gated => st.red("✗"),
        (n, _) if n > 0 => st.yellow("!"),
        (_, "new" | "new-testbed") => st.dim("•"),
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
    let whose = match (r.kind, r.same_runner) {
        (_, true) => "",
        (Kind::Ratio, false) => " across testbeds",
        _ => " of other testbeds",
    };
    let name = if r.kind == Kind::Ratio {
        backend_name(&r.backend)
    } else {
        r.backend.clone()
    };
    format!(
        "{name} {} {} → {} ({}; needed ±{:.1}%{noise} over {}{whose})",
        r.label,
        f(r.baseline),
        f(r.current),
        r.change_pct.map_or("n/a".into(), pct1),
        r.bar_pct.unwrap_or(r.threshold_pct),
        plural(r.history_runs, "run"),
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

//! The latest benchmark as the site shows it (`benchmarks/latest.html` and each run's
//! archive page): the foundation design's table (stage | CoreML | PyTorch | Δ | ✓ with
//! units), each backend's change against its testbed's baseline beside it, then the
//! per-stage loads and peaks and every raw comparison folded.

use minijinja::{context, Value};

use crate::bench::compare::{Row, StageRow};
use crate::bench::decide::Verdict;
use crate::bench::metric::{self, MetricInfo, Thresholds};
use crate::bench::render::{backend_name, RowIndex};
use crate::output::{PhaseReport, Status};

fn info_of(row: &Row) -> MetricInfo {
    MetricInfo {
        kind: row.kind,
        direction: row.direction,
        unit: row.unit.clone(),
        threshold_pct: row.threshold_pct,
    }
}

/// The change cell of one backend: text and CSS class (the verdict).
fn change(row: Option<&Row>) -> Value {
    let Some(r) = row else {
        return context! { text => "", class => "", title => "" };
    };
    let pct = r
        .change_pct
        .map_or("n/a".to_string(), |p| format!("{p:+.1} %"));
    let text = match r.verdict {
        Verdict::Regression => format!("{pct} ✗"),
        Verdict::Improvement => format!("{pct} ✓"),
        Verdict::Unchanged => pct,
        other => other.as_str().to_string(),
    };
    let noise = r
        .noise_pct
        .map(|n| format!(", noise {n:.1} %"))
        .unwrap_or_default();
    let title = match (r.baseline, r.current) {
        (Some(b), Some(c)) => format!(
            "{} → {} (needed ±{:.1} %{noise}, {} runs)",
            metric::format_value(b, &info_of(r)),
            metric::format_value(c, &info_of(r)),
            r.bar_pct.unwrap_or(r.threshold_pct),
            r.history_runs
        ),
        _ => String::new(),
    };
    context! { text => text, class => r.verdict.as_str(), title => title }
}

struct Table<'a> {
    rows: &'a RowIndex<'a>,
    backends: &'a [String],
    audio: Option<f64>,
}

impl Table<'_> {
    fn line(&self, s: &StageRow) -> Value {
        let info = self
            .rows
            .any(&s.metric)
            .map(info_of)
            .unwrap_or_else(|| metric::info(&s.metric, &Thresholds::default(), None));
        let fmt = |v: Option<f64>| v.map_or("—".to_string(), |v| metric::format_value(v, &info));
        let label = match (s.metric.as_str(), self.audio) {
            ("stft_sec", Some(a)) => format!("{} ({}s audio)", s.label, trim(a)),
            _ => s.label.clone(),
        };
        let changes: Vec<Value> = self
            .backends
            .iter()
            .map(|b| change(self.rows.get(b, &s.metric)))
            .collect();
        let regression = self.rows.regressed(&s.metric);
        context! {
            label => label,
            key => s.metric.clone(),
            candidate => fmt(s.candidate),
            reference => fmt(s.reference),
            delta => s.delta_pct.map_or("—".to_string(), |d| format!("{d:+.0}%")),
            wins => s.candidate_wins,
            changes => changes,
            regression => regression,
        }
    }
}

/// The heading over the change columns: what the run was compared against.
fn against(data: &serde_json::Value, rows: &[Row]) -> String {
    let count = |k: &str| data.get(k).and_then(|v| v.as_u64()).unwrap_or(0);
    let verdict = data.get("verdict").and_then(|v| v.as_str()).unwrap_or("");
    if verdict == "new-testbed" {
        let (have, need) = (count("testbed_runs"), count("min_runs").max(1));
        let more = need.saturating_sub(have);
        return format!(
            "New testbed: {have} earlier run{} here, time and memory judged after {more} more; ratios against every testbed",
            if have == 1 { "" } else { "s" }
        );
    }
    if rows.iter().any(|r| {
        r.history_runs > 0 && !r.same_runner && r.kind != crate::bench::metric::Kind::Ratio
    }) {
        "Change against other runners' history".to_string()
    } else {
        "Change against this testbed's baseline".to_string()
    }
}

fn trim(v: f64) -> String {
    let s = format!("{v:.1}");
    s.strip_suffix(".0").map(str::to_string).unwrap_or(s)
}

fn class(status: Status) -> &'static str {
    match status {
        Status::Passed => "good",
        Status::Warned | Status::Failed => "bad",
    }
}

/// The template's view of a benchmark phase report (`data` is the comparison).
pub fn view(report: &PhaseReport) -> Value {
    let data = &report.data;
    let parse = |k: &str| -> Vec<serde_json::Value> {
        data.get(k)
            .and_then(|v| v.as_array())
            .cloned()
            .unwrap_or_default()
    };
    let rows: Vec<Row> = parse("rows")
        .into_iter()
        .filter_map(|r| serde_json::from_value(r).ok())
        .collect();
    let stages: Vec<StageRow> = parse("stages")
        .into_iter()
        .filter_map(|r| serde_json::from_value(r).ok())
        .collect();
    let text = |k: &str| data.get(k).and_then(|v| v.as_str()).map(str::to_string);
    let candidate = text("candidate");
    let reference = text("reference");
    let mut backends: Vec<String> = candidate.iter().chain(reference.iter()).cloned().collect();
    for r in &rows {
        if !backends.contains(&r.backend) {
            backends.push(r.backend.clone());
        }
    }
    let index = RowIndex::of(&rows, &stages);
    let table = Table {
        rows: &index,
        backends: &backends,
        audio: data.get("audio_seconds").and_then(|v| v.as_f64()),
    };
    // Blocks of the design's table: the stages, then pipeline / load / memory; the
    // per-stage details (group 3) are folded.
    let mut blocks: Vec<Vec<Value>> = Vec::new();
    let mut last = None;
    for s in stages.iter().filter(|s| s.group < 3) {
        let g = s.group.max(1);
        if last != Some(g) {
            blocks.push(Vec::new());
            last = Some(g);
        }
        if let Some(b) = blocks.last_mut() {
            b.push(table.line(s));
        }
    }
    let details: Vec<Value> = stages
        .iter()
        .filter(|s| s.group >= 3)
        .map(|s| table.line(s))
        .collect();
    let all: Vec<Value> = rows
        .iter()
        .map(|r| {
            let f = |v: Option<f64>| {
                v.map_or("—".to_string(), |v| metric::format_value(v, &info_of(r)))
            };
            context! {
                backend => backend_name(&r.backend),
                label => r.label.clone(),
                key => r.metric.clone(),
                baseline => f(r.baseline),
                current => f(r.current),
                change => r.change_pct.map_or("—".to_string(), |p| format!("{p:+.1} %")),
                needed => r.bar_pct.map_or("—".to_string(), |p| format!("±{p:.1} %")),
                noise => r.noise_pct.map_or("—".to_string(), |p| format!("{p:.1} %")),
                runs => r.history_runs,
                verdict => r.verdict.as_str(),
            }
        })
        .collect();
    let steps: Vec<Value> = parse("change_points")
        .into_iter()
        .filter_map(|s| serde_json::from_value::<crate::bench::changes::Since>(s).ok())
        .map(|s| {
            context! {
                series => format!("{} · {}", backend_name(&s.backend), s.label),
                commit => s.commit.chars().take(7).collect::<String>(),
                change => format!("{:+.0} %", s.change_pct),
            }
        })
        .collect();
    let (cand, refb) = (
        candidate.as_deref().map(backend_name).unwrap_or_default(),
        reference.as_deref().map(backend_name).unwrap_or_default(),
    );
    let mut tables = vec![context! {
        folded => false,
        summary => "",
        caption => if reference.is_some() {
            format!("{cand} against {refb}: Δ is {cand}'s difference, ✓ where {cand} is better")
        } else {
            format!("{cand} by stage")
        },
        blocks => blocks,
    }];
    if !details.is_empty() {
        tables.push(context! {
            folded => true,
            summary => format!("Per-stage load times and memory peaks ({})", details.len()),
            caption => "Load time and memory peak of each stage",
            blocks => vec![details],
        });
    }
    let sha = report
        .context
        .sha
        .clone()
        .or_else(|| text("commit"))
        .unwrap_or_default();
    context! {
        headline => report.headline.clone(),
        class => class(report.status),
        commit => sha.chars().take(7).collect::<String>(),
        date => text("timestamp").unwrap_or_else(|| report.generated_at.clone()),
        testbed => text("testbed_label").filter(|t| !t.is_empty()).or_else(|| text("runner")),
        baseline_runs => data.get("baseline_runs").and_then(|v| v.as_u64()).unwrap_or(0),
        candidate => candidate.as_deref().map(backend_name),
        reference => reference.as_deref().map(backend_name),
        backends => backends.iter().map(|b| backend_name(b)).collect::<Vec<_>>(),
        against => against(data, &rows),
        run_cols => usize::from(candidate.is_some()) + if reference.is_some() { 3 } else { 0 },
        tables => tables,
        all => all,
        steps => steps,
    }
}

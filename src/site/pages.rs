//! Renders the site's pages into a folder: `index.html` (latest parity report),
//! `benchmarks/latest.html` ([`super::latest`]), `benchmarks/history.html` (recent
//! window, sections from [`super::groups`]) and
//! `history-full.html` (every run, downsampled), `archive/` (a page per run, kept
//! forever, with day and index pages rebuilt from what is there) and `data/history.json`.

use anyhow::{Context, Result};
use minijinja::{context, Value};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::groups;
use super::history::History;
use crate::fs::write_atomic;
use crate::output::{PhaseReport, Status};

/// How many recent runs `history.html` shows; the full page has them all.
pub const WINDOW: usize = 100;
/// Points drawn per series on the full-range page.
pub const MAX_POINTS: usize = 400;

/// Everything one publish renders.
pub struct SiteInput {
    pub project: String,
    pub history: History,
    pub benchmark: Option<PhaseReport>,
    pub parity: Option<PhaseReport>,
    /// Unix seconds of this publish.
    pub now: i64,
    pub commit: Option<String>,
}

fn environment() -> Result<minijinja::Environment<'static>> {
    let mut env = crate::output::templates::environment();
    for (name, src) in [
        ("base.html", include_str!("../../templates/site/base.html")),
        (
            "history.html",
            include_str!("../../templates/site/history.html"),
        ),
        (
            "latest.html",
            include_str!("../../templates/site/latest.html"),
        ),
        (
            "parity.html",
            include_str!("../../templates/site/parity.html"),
        ),
        (
            "archive.html",
            include_str!("../../templates/site/archive.html"),
        ),
        ("run.html", include_str!("../../templates/site/run.html")),
        // Sections shared by the latest pages and each run's archive page.
        (
            "_parity.html",
            include_str!("../../templates/site/_parity.html"),
        ),
        (
            "_benchmark.html",
            include_str!("../../templates/site/_benchmark.html"),
        ),
    ] {
        env.add_template(name, src)
            .with_context(|| format!("template {name}"))?;
    }
    Ok(env)
}

fn iso(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.to_string())
        .unwrap_or_else(|_| t.to_string())
}

fn verdict_class(status: Status) -> &'static str {
    match status {
        Status::Passed => "good",
        Status::Warned | Status::Failed => "bad",
    }
}

/// The parity summary: the rows of `data.checks` (array, stage, max_abs, snr_db,
/// passed) for the template, which escapes them.
fn parity_view(report: &PhaseReport) -> Value {
    let rows: Vec<Value> = report
        .data
        .get("checks")
        .and_then(|c| c.as_array())
        .map(|checks| {
            checks
                .iter()
                .map(|c| {
                    let text =
                        |k: &str| c.get(k).and_then(|v| v.as_str()).unwrap_or("").to_string();
                    let max_abs = c
                        .get("max_abs")
                        .and_then(|v| v.as_f64())
                        .map(|v| format!("{v:.3e}"));
                    // Non-finite values are written as strings ("inf" for identical arrays).
                    let snr = match c.get("snr_db") {
                        Some(serde_json::Value::Number(n)) => n.as_f64().map(|v| format!("{v:.1}")),
                        Some(serde_json::Value::String(t)) if t == "inf" => Some("∞".to_string()),
                        _ => None,
                    };
                    context! {
                        stage => text("stage"),
                        array => text("array"),
                        max_abs => max_abs.unwrap_or_else(|| "–".into()),
                        snr => snr.unwrap_or_else(|| "–".into()),
                        passed => c.get("passed").and_then(|v| v.as_bool()).unwrap_or(false),
                    }
                })
                .collect()
        })
        .unwrap_or_default();
    context! { headline => report.headline.clone(), class => verdict_class(report.status), rows => rows }
}

/// Renders every generated page into `dir` (creating it), adds this run's archive page,
/// and rebuilds the archive indexes from what `dir/archive` holds. Files the site did
/// not generate are left alone. Returns the paths written, relative to `dir`.
pub fn write_site(input: &SiteInput, dir: &Path) -> Result<Vec<PathBuf>> {
    let env = environment()?;
    let mut written = Vec::new();
    let base = |root: &str, title: &str| {
        context! {
            project => input.project.clone(),
            title => title.to_string(),
            root => root.to_string(),
            version => env!("CARGO_PKG_VERSION"),
            generated_at => iso(input.now),
            commit => input.commit.clone().unwrap_or_default().chars().take(12).collect::<String>(),
        }
    };
    let mut put = |rel: &str, html: String| -> Result<()> {
        write_atomic(&dir.join(rel), html.as_bytes())?;
        written.push(PathBuf::from(rel));
        Ok(())
    };
    let render = |name: &str, ctx: Value| -> Result<String> {
        env.get_template(name)
            .and_then(|t| t.render(ctx))
            .with_context(|| format!("cannot render the {name} page"))
    };

    let parity = input.parity.as_ref().map(parity_view);
    let benchmark = input.benchmark.as_ref().map(super::latest::view);
    put(
        "index.html",
        render(
            "parity.html",
            context! { heading => "Latest parity report", parity => parity.clone(), full_report => true, ..base("", "Parity") },
        )?,
    )?;
    put(
        "benchmarks/latest.html",
        render(
            "latest.html",
            context! { benchmark => benchmark.clone(), ..base("../", "Latest benchmark") },
        )?,
    )?;
    let n = input.history.runs.len();
    let first = n.saturating_sub(WINDOW);
    // Change points are searched once, over each series' whole history.
    let cps = groups::change_points(&input.history);
    let testbeds = input
        .history
        .runs
        .iter()
        .map(|r| r.runner.as_str())
        .collect::<std::collections::BTreeSet<_>>()
        .len();
    let recent = groups::sections(&input.history, first, MAX_POINTS, &cps)?;
    put(
        "benchmarks/history.html",
        render(
            "history.html",
            context! { sections => recent, run_count => n, shown => n - first, windowed => true, downsampled => false, testbeds => testbeds, ..base("../", "Benchmark history") },
        )?,
    )?;
    let full = groups::sections(&input.history, 0, MAX_POINTS, &cps)?;
    put(
        "benchmarks/history-full.html",
        render(
            "history.html",
            context! { sections => full, run_count => n, shown => n, windowed => false, downsampled => n > MAX_POINTS, testbeds => testbeds, ..base("../", "Benchmark history (full)") },
        )?,
    )?;
    if let Some(p) = &input.parity {
        // The parity phase's own self-contained report, histograms and curves included.
        let html = crate::parity::render_html_value(&p.data)
            .context("cannot render the latest parity report")?;
        put("parity/latest.html", html)?;
    }
    let json = serde_json::to_vec_pretty(&input.history).context("cannot serialise the history")?;
    put(
        "data/history.json",
        String::from_utf8_lossy(&json).into_owned(),
    )?;

    // This run's archive page: never overwritten once written (its name is unique).
    let stamp = iso(input.now);
    let day = stamp.get(..10).unwrap_or(&stamp).to_string();
    let time: String = stamp.get(11..19).unwrap_or("000000").replace(':', "");
    let sha: String = input
        .commit
        .clone()
        .unwrap_or_else(|| "local".into())
        .chars()
        .take(7)
        .collect();
    let run_page = format!("archive/{day}/{time}-{sha}.html");
    if !dir.join(&run_page).exists() {
        let title = format!("Run of {} at {}", sha, stamp);
        let html = render(
            "run.html",
            context! { heading => title.clone(), parity => parity, benchmark => benchmark, full_report => false, ..base("../../", &title) },
        )?;
        put(&run_page, html)?;
    }
    written.extend(rebuild_archive_indexes(dir, &env, &base)?);
    Ok(written)
}

/// Rebuilds `archive/YYYY-MM-DD.html` for every day folder and `archive/index.html`.
fn rebuild_archive_indexes(
    dir: &Path,
    env: &minijinja::Environment<'static>,
    base: &dyn Fn(&str, &str) -> Value,
) -> Result<Vec<PathBuf>> {
    let archive = dir.join("archive");
    let mut days: BTreeMap<String, Vec<String>> = BTreeMap::new();
    if let Ok(entries) = std::fs::read_dir(&archive) {
        for e in entries.flatten() {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.path().is_dir() && name.len() == 10 && name.as_bytes().get(4) == Some(&b'-') {
                let mut pages: Vec<String> = std::fs::read_dir(e.path())
                    .with_context(|| format!("cannot list {}", e.path().display()))?
                    .flatten()
                    .map(|p| p.file_name().to_string_lossy().into_owned())
                    .filter(|p| p.ends_with(".html"))
                    .collect();
                pages.sort();
                days.insert(name, pages);
            }
        }
    }
    let mut written = Vec::new();
    for (day, pages) in &days {
        let entries: Vec<Value> = pages
            .iter()
            .rev()
            .map(|p| {
                let stem = p.trim_end_matches(".html");
                let (time, sha) = stem.split_once('-').unwrap_or((stem, ""));
                let label = format!(
                    "{}:{}:{} UTC, commit {sha}",
                    &time.get(0..2).unwrap_or(""),
                    &time.get(2..4).unwrap_or(""),
                    &time.get(4..6).unwrap_or("")
                );
                context! { href => format!("{day}/{p}"), label => label }
            })
            .collect();
        let html = env
            .get_template("archive.html")
            .and_then(|t| t.render(context! { heading => format!("Runs on {day}"), entries => entries, ..base("../", day) }))
            .context("cannot render an archive day page")?;
        let rel = format!("archive/{day}.html");
        write_atomic(&dir.join(&rel), html.as_bytes())?;
        written.push(PathBuf::from(rel));
    }
    let entries: Vec<Value> = days
        .iter()
        .rev()
        .map(|(day, pages)| context! { href => format!("{day}.html"), label => format!("{day} ({} run{})", pages.len(), if pages.len() == 1 { "" } else { "s" }) })
        .collect();
    let html = env
        .get_template("archive.html")
        .and_then(|t| {
            t.render(
                context! { heading => "Archive", entries => entries, ..base("../", "Archive") },
            )
        })
        .context("cannot render the archive index")?;
    write_atomic(&archive.join("index.html"), html.as_bytes())?;
    written.push(PathBuf::from("archive/index.html"));
    Ok(written)
}

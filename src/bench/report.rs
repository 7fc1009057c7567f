//! The benchmark phase's report: the comparison, implementing [`PhaseOutput`]
//! (`<out-dir>/benchmark.json`, annotations, step outputs), and the formats
//! `--format` may show instead of its summary.

use serde::Serialize;

use super::compare::Comparison;
use super::decide::Verdict;
use super::ingest::to_bmf;
use super::render;
use super::run::Run;
use crate::output::terminal::Style;
use crate::output::{Annotation, Level, PhaseOutput, Show, Status};

/// Output formats of `benchmark compare` / `run`, chosen by the caller of
/// [`crate::output::emit`].
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    /// The design's table and the verdicts
    #[default]
    Text,
    /// The PR-comment section
    Markdown,
    /// The comparison as JSON (`rows`, `stages`, `verdict`, ...)
    Json,
    /// The current run as Bencher Metric Format
    Bmf,
}

/// `data` of `<out-dir>/benchmark.json`: the comparison's fields at the top level.
#[derive(Debug, Clone, Serialize)]
pub struct BenchmarkReport {
    #[serde(flatten)]
    pub comparison: Comparison,
    /// The baseline file compared against (as given).
    pub baseline_path: String,
    pub fail_on_regression: bool,
    /// The current run in the single-entry format (with `$meta`).
    pub current_run: serde_json::Value,
}

impl PhaseOutput for BenchmarkReport {
    fn phase(&self) -> &'static str {
        "benchmark"
    }

    fn status(&self) -> Status {
        match (self.comparison.regressions, self.fail_on_regression) {
            (0, _) => Status::Passed,
            (_, true) => Status::Failed,
            (_, false) => Status::Warned,
        }
    }

    fn headline(&self) -> String {
        render::verdict_line(&self.comparison)
    }

    fn terminal(&self, style: Style) -> String {
        render::text(&self.comparison, style, self.fail_on_regression)
    }

    fn markdown(&self) -> String {
        render::markdown(&self.comparison, self.fail_on_regression)
    }

    fn annotations(&self) -> Vec<Annotation> {
        let level = if self.fail_on_regression {
            Level::Error
        } else {
            Level::Warning
        };
        let mut out: Vec<Annotation> = Vec::new();
        for (verdict, level, title) in [
            (Verdict::Regression, level, "Benchmark regression"),
            (Verdict::Improvement, Level::Notice, "Benchmark improvement"),
        ] {
            for r in self.comparison.rows.iter().filter(|r| r.verdict == verdict) {
                let mut a = Annotation::new(level, render::detail(r));
                a.title = Some(format!("{title}: {} {}", r.backend, r.metric));
                out.push(a);
            }
        }
        out
    }

    fn outputs(&self) -> Vec<(String, String)> {
        vec![
            (
                "regressions".into(),
                self.comparison.regressions.to_string(),
            ),
            (
                "improvements".into(),
                self.comparison.improvements.to_string(),
            ),
            ("benchmark-verdict".into(), self.comparison.verdict.clone()),
            // The action's `verdict` output: one line for a human.
            ("verdict".into(), render::verdict_line(&self.comparison)),
        ]
    }
}

/// What `--format` shows for this report and the `run` it compares; the phase passes it
/// to [`crate::output::emit`].
pub fn show(format: OutputFormat, report: &BenchmarkReport, run: &Run) -> Show {
    match format {
        OutputFormat::Text => Show::Summary,
        OutputFormat::Markdown => Show::Markdown,
        OutputFormat::Json => Show::Document(pretty(&serde_json::to_value(&report.comparison))),
        OutputFormat::Bmf => Show::Document(pretty(&Ok(to_bmf(run)))),
    }
}

fn pretty(v: &serde_json::Result<serde_json::Value>) -> String {
    match v {
        Ok(v) => serde_json::to_string_pretty(v).unwrap_or_default() + "\n",
        Err(e) => format!("{{\"error\": \"{e}\"}}\n"),
    }
}

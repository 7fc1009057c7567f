//! Emitting a phase's report: the JSON envelope in the output folder, the terminal
//! summary, annotations, the step summary and the step outputs, in that order.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

use super::console::Console;
use super::{PhaseOutput, PhaseReport, Show, Status};
use crate::exit::Outcome;
use crate::fs::write_atomic;
use crate::run_env::RunEnv;

/// The output layer: writes `<out_dir>/<phase>.json`, prints what `show` asks for,
/// sends annotations (capped), appends the step summary and sets step outputs.
/// Returns the outcome the phase's status maps to.
pub fn emit<R: PhaseOutput>(
    console: &Console,
    env: &RunEnv,
    out_dir: &Path,
    report: &R,
    show: Show,
) -> Result<Outcome> {
    let envelope = PhaseReport::build(report, env)?;
    let path: PathBuf = out_dir.join(format!("{}.json", envelope.phase));
    let json = serde_json::to_vec_pretty(&envelope).context("cannot serialise the phase report")?;
    write_atomic(&path, &json)?;

    let shown = match show {
        Show::Summary => report.terminal(console.style()),
        Show::Markdown => envelope.markdown.clone(),
        Show::Document(text) => text,
    };
    console.print(&shown);
    console.annotate(&envelope.annotations, &path.display().to_string());
    if let Some(summary) = &env.step_summary {
        super::step_files::append_summary(
            summary,
            &envelope.markdown,
            &path.display().to_string(),
        )?;
    }
    if let Some(outputs) = &env.output_file {
        let mut pairs = vec![
            // `status` for the action's pass-through output, `<phase>-status` so that
            // several phases in one job keep theirs apart.
            (
                "status".to_string(),
                status_word(envelope.status).to_string(),
            ),
            (
                format!("{}-status", envelope.phase),
                status_word(envelope.status).to_string(),
            ),
            ("report-path".to_string(), path.display().to_string()),
        ];
        pairs.extend(envelope.outputs.clone());
        super::step_files::append_outputs(outputs, &pairs)?;
    }
    console.info(&format!("report written to {}", path.display()));
    Ok(match envelope.status {
        Status::Failed => Outcome::Problem,
        Status::Passed | Status::Warned => Outcome::Ok,
    })
}

fn status_word(s: Status) -> &'static str {
    match s {
        Status::Passed => "passed",
        Status::Warned => "warned",
        Status::Failed => "failed",
    }
}

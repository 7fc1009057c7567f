//! The output layer. Here, the pure report model every phase shares: a phase's own
//! serialisable report implements [`PhaseOutput`], and [`Show`] is what the terminal
//! shows of it. [`emit`] turns it into the JSON file in the output folder, the terminal
//! text, the step summary, annotations and step outputs. Around it: the console (the one
//! sink), terminal and Markdown building blocks, the template set-up, workflow commands
//! and the step files. Nothing here talks to GitHub's API.

pub mod console;
pub mod emit;
pub mod markdown;
pub mod step_files;
pub mod templates;
pub mod terminal;
pub mod workflow;

pub use emit::emit;

use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

use crate::run_env::RunEnv;
use terminal::Style;

/// Version tag of the envelope written to `<out-dir>/<phase>.json`.
pub const REPORT_SCHEMA: &str = "htdemucs-devops/phase-report/v1";

/// How bad an annotation is. Ordered: `Error` is the most important.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Error,
    Warning,
    Notice,
}

impl Level {
    /// The workflow command name for this level.
    pub fn command(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Notice => "notice",
        }
    }
}

/// One annotation on a file position (or on the run, without a file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Annotation {
    pub level: Level,
    /// Path relative to the workspace root, `/`-separated.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub col: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_col: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    pub message: String,
}

impl Annotation {
    pub fn new(level: Level, message: impl Into<String>) -> Self {
        Annotation {
            level,
            file: None,
            line: None,
            end_line: None,
            col: None,
            end_col: None,
            title: None,
            message: message.into(),
        }
    }
}

/// A phase's overall result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Nothing to complain about.
    Passed,
    /// Passed, with findings that do not fail the phase (warnings, regressions not gated).
    Warned,
    /// The phase found a problem: exit code 1.
    Failed,
}

impl Status {
    pub fn symbol(self) -> &'static str {
        match self {
            Status::Passed => "✅",
            Status::Warned => "⚠️",
            Status::Failed => "❌",
        }
    }
}

/// A count and its noun, for every headline and summary: "1 error", "3 errors".
/// The one plural helper of the crate; every noun it meets takes an `s`.
pub fn plural(n: usize, word: &str) -> String {
    if n == 1 {
        format!("1 {word}")
    } else {
        format!("{n} {word}s")
    }
}

/// What the terminal shows for a phase: the caller's choice (`--format`), passed to
/// [`emit`] rather than stored in the report. The JSON report on disk is written whatever
/// is shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Show {
    /// The phase's own summary ([`PhaseOutput::terminal`]).
    Summary,
    /// The Markdown section, the same text the step summary gets.
    Markdown,
    /// A document the caller already rendered (JSON, JUnit XML, HTML...).
    Document(String),
}

/// What a phase's report must offer to the output layer.
pub trait PhaseOutput: Serialize {
    /// `lint`, `test`, `parity`, `benchmark`: the JSON file's stem and the section key.
    fn phase(&self) -> &'static str;
    fn status(&self) -> Status;
    /// One line: "3 errors, 12 warnings in 2 tools".
    fn headline(&self) -> String;
    /// The human summary for a terminal or a CI log (ends with a newline).
    fn terminal(&self, style: Style) -> String;
    /// The Markdown section used for the step summary and the PR comment.
    fn markdown(&self) -> String;
    /// Annotations, most important first within each level.
    fn annotations(&self) -> Vec<Annotation> {
        Vec::new()
    }
    /// Extra step outputs (`GITHUB_OUTPUT`); `status`, `<phase>-status` and `report-path`
    /// are always set.
    fn outputs(&self) -> Vec<(String, String)> {
        Vec::new()
    }
}

/// Where the report came from, for links in merged comments and the site.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RunContext {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_url: Option<String>,
}

impl RunContext {
    pub fn from_env(env: &RunEnv) -> Self {
        RunContext {
            repository: env.repository.clone(),
            sha: env.sha.clone(),
            git_ref: env.git_ref.clone(),
            event_name: env.event_name.clone(),
            run_url: env.run_url(),
        }
    }
}

/// The envelope written to `<out-dir>/<phase>.json`. Later jobs (the `report` phase,
/// `publish`) read these without re-running anything: `markdown` and `annotations` are
/// ready to use, `data` is the phase's own report.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PhaseReport {
    pub schema: String,
    pub phase: String,
    pub tool_version: String,
    /// RFC 3339, UTC.
    pub generated_at: String,
    pub status: Status,
    pub headline: String,
    pub markdown: String,
    pub annotations: Vec<Annotation>,
    pub outputs: BTreeMap<String, String>,
    pub context: RunContext,
    pub data: serde_json::Value,
}

impl PhaseReport {
    pub fn build<R: PhaseOutput>(report: &R, env: &RunEnv) -> Result<Self> {
        Ok(PhaseReport {
            schema: REPORT_SCHEMA.to_string(),
            phase: report.phase().to_string(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            generated_at: jiff::Timestamp::now().to_string(),
            status: report.status(),
            headline: report.headline(),
            markdown: report.markdown(),
            annotations: report.annotations(),
            outputs: report.outputs().into_iter().collect(),
            context: RunContext::from_env(env),
            data: serde_json::to_value(report).context("cannot serialise the phase report")?,
        })
    }

    /// Reads an envelope written by [`emit`], with an error naming the file.
    pub fn read(path: &Path) -> Result<Self> {
        let text = crate::fs::read_text(path, "the phase report")?;
        let report: PhaseReport = serde_json::from_str(&text).with_context(|| {
            format!(
                "{} is not a phase report written by htdemucs-devops (re-run the phase to regenerate it)",
                path.display()
            )
        })?;
        if report.schema != REPORT_SCHEMA {
            anyhow::bail!(
                "{}: unsupported report schema {:?} (expected {REPORT_SCHEMA}); use the same htdemucs-devops version for every phase",
                path.display(),
                report.schema
            );
        }
        Ok(report)
    }
}

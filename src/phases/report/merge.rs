//! Gathers the phase reports (`<phase>.json` envelopes) found in a folder — typically
//! the downloaded artifacts of parallel jobs — puts them in a fixed order and derives the
//! overall verdict and the merged step outputs.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

use crate::output::{plural, PhaseReport, Status, REPORT_SCHEMA};

/// Phases in the order the comment shows them; others follow alphabetically.
pub const ORDER: &[&str] = &["lint", "test", "parity", "benchmark"];

/// The phases that write a `<phase>.json` report: a file of that name must be one.
pub const PHASES: &[&str] = &["lint", "test", "parity", "benchmark", "publish"];

/// The schema tag every version of the envelope starts with.
const SCHEMA_FAMILY: &str = "htdemucs-devops/phase-report/";

/// One phase report and where it was found.
#[derive(Debug, Clone)]
pub struct Found {
    pub report: PhaseReport,
    pub path: PathBuf,
    /// Section and check-run name: the phase, plus the artifact folder when the same
    /// phase appears more than once (a matrix of jobs).
    pub label: String,
    /// Why the file could not be used, when it could not: it then stands in the merge
    /// as a failed phase, and the step exits 2 after posting.
    pub broken: Option<String>,
}

/// Reads every `*.json` under `dir` (recursively: each downloaded artifact is a folder).
/// Valid JSON that neither declares itself a phase report nor is named after a phase
/// (`lint.json`, ...) belongs to something else and is skipped. Everything else must
/// be a phase report this version reads: a file that cannot be read, is not JSON (a
/// truncated upload), is named after a phase but is not one, or has another schema
/// version is kept as a failed phase naming the file, never skipped, so the merged
/// verdict cannot turn green because a report went missing.
pub fn load(dir: &Path) -> Result<Vec<Found>> {
    if !dir.is_dir() {
        anyhow::bail!(
            "the reports folder {} does not exist (pass --reports with the folder the phase artifacts were downloaded to)",
            dir.display()
        );
    }
    let mut files = Vec::new();
    collect(dir, &mut files, 0)?;
    files.sort();
    let mut found = Vec::new();
    for path in files {
        match classify(&path) {
            Entry::Foreign => {}
            Entry::Report(report) if report.phase == "report" => {}
            Entry::Report(report) => found.push(Found {
                label: report.phase.clone(),
                report: *report,
                path,
                broken: None,
            }),
            Entry::Broken(why) => found.push(broken(dir, path, why)),
        }
    }
    if found.is_empty() {
        anyhow::bail!(
            "no phase reports in {} (looked for *.json files with \"schema\": {REPORT_SCHEMA:?}); run the phases with --out-dir there, or download their artifacts into it",
            dir.display()
        );
    }
    found.sort_by(|a, b| {
        rank(&a.report.phase)
            .cmp(&rank(&b.report.phase))
            .then_with(|| a.report.phase.cmp(&b.report.phase))
            .then_with(|| a.path.cmp(&b.path))
    });
    // Disambiguate repeated phases by the folder they came from.
    for i in 0..found.len() {
        let phase = found[i].report.phase.clone();
        if found.iter().filter(|f| f.report.phase == phase).count() > 1 {
            let folder = found[i]
                .path
                .parent()
                .and_then(|p| p.strip_prefix(dir).ok())
                .map(|p| p.display().to_string())
                .filter(|s| !s.is_empty())
                .unwrap_or_else(|| format!("#{}", i + 1));
            found[i].label = format!("{phase} ({folder})");
        }
    }
    Ok(found)
}

enum Entry {
    Foreign,
    Report(Box<PhaseReport>),
    Broken(String),
}

fn classify(path: &Path) -> Entry {
    let bytes = match crate::fs::read_bytes(path, "the phase report") {
        Ok(b) => b,
        Err(e) => return Entry::Broken(format!("it cannot be read ({e:#})")),
    };
    let value: serde_json::Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => {
            return Entry::Broken(format!(
                "it is not valid JSON ({e}); a truncated or damaged upload?"
            ))
        }
    };
    let schema = value
        .get("schema")
        .and_then(serde_json::Value::as_str)
        .map(str::to_string);
    let named = path
        .file_stem()
        .and_then(|s| s.to_str())
        .is_some_and(|s| PHASES.contains(&s));
    let claims = schema
        .as_deref()
        .is_some_and(|s| s.starts_with(SCHEMA_FAMILY));
    if !claims && !named {
        return Entry::Foreign;
    }
    match schema.as_deref() {
        Some(REPORT_SCHEMA) => {}
        Some(s) if claims => {
            return Entry::Broken(format!(
                "its schema is {s:?}, which this htdemucs-devops ({}) does not read (it reads {REPORT_SCHEMA}); use the same htdemucs-devops version for every phase",
                env!("CARGO_PKG_VERSION")
            ))
        }
        _ => {
            return Entry::Broken(format!(
                "it is named after a phase but has no \"schema\": {REPORT_SCHEMA:?}"
            ))
        }
    }
    match serde_json::from_value::<PhaseReport>(value) {
        Ok(r) => Entry::Report(Box::new(r)),
        Err(e) => Entry::Broken(format!(
            "it is not a phase report written by htdemucs-devops ({e})"
        )),
    }
}

/// The failed stand-in for a report that could not be used.
fn broken(dir: &Path, path: PathBuf, why: String) -> Found {
    let phase = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let shown = path
        .strip_prefix(dir)
        .unwrap_or(&path)
        .display()
        .to_string();
    let headline = format!("the report {shown} is unusable: {why}");
    let markdown = format!(
        "The phase report {} could not be used, so this phase counts as failed: {}.\n\nRe-run the phase (or re-upload its artifact) with the same htdemucs-devops version as this step.\n",
        crate::output::markdown::code(&shown),
        crate::output::markdown::escape(&why)
    );
    Found {
        report: PhaseReport {
            schema: REPORT_SCHEMA.to_string(),
            phase: phase.clone(),
            tool_version: env!("CARGO_PKG_VERSION").to_string(),
            generated_at: String::new(),
            status: Status::Failed,
            headline,
            markdown,
            annotations: Vec::new(),
            outputs: Default::default(),
            context: Default::default(),
            data: serde_json::Value::Null,
        },
        label: phase,
        path,
        broken: Some(why),
    }
}

/// What to say when some reports were unusable (the step then exits 2).
pub fn broken_error(found: &[Found]) -> Option<anyhow::Error> {
    let list: Vec<String> = found
        .iter()
        .filter_map(|f| Some(format!("{}: {}", f.path.display(), f.broken.as_ref()?)))
        .collect();
    (!list.is_empty()).then(|| {
        anyhow::anyhow!(
            "{} phase report(s) could not be used and count as failed phases: {}",
            list.len(),
            list.join("; ")
        )
    })
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>, depth: usize) -> Result<()> {
    if depth > 4 {
        return Ok(());
    }
    let entries =
        std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))?;
    for entry in entries {
        let entry = entry.with_context(|| format!("cannot list {}", dir.display()))?;
        let path = entry.path();
        let ty = entry
            .file_type()
            .with_context(|| format!("cannot inspect {}", path.display()))?;
        if ty.is_dir() {
            collect(&path, out, depth + 1)?;
        } else if path.extension().is_some_and(|e| e == "json") {
            out.push(path);
        }
    }
    Ok(())
}

fn rank(phase: &str) -> usize {
    ORDER
        .iter()
        .position(|p| *p == phase)
        .unwrap_or(ORDER.len())
}

/// The worst status of all phases.
pub fn verdict(found: &[Found]) -> Status {
    let worst = |s: Status| match s {
        Status::Passed => 0,
        Status::Warned => 1,
        Status::Failed => 2,
    };
    found
        .iter()
        .map(|f| f.report.status)
        .max_by_key(|s| worst(*s))
        .unwrap_or(Status::Passed)
}

pub fn status_word(s: Status) -> &'static str {
    match s {
        Status::Passed => "passed",
        Status::Warned => "warned",
        Status::Failed => "failed",
    }
}

/// An output some phase set (the first one in order), or empty.
pub fn output(found: &[Found], key: &str) -> String {
    found
        .iter()
        .find_map(|f| f.report.outputs.get(key).cloned())
        .unwrap_or_default()
}

/// The verdict line: what failed or warned, by label.
pub fn verdict_line(found: &[Found]) -> String {
    let n = found.len();
    let with = |s: Status| -> Vec<&str> {
        found
            .iter()
            .filter(|f| f.report.status == s)
            .map(|f| f.label.as_str())
            .collect()
    };
    let failed = with(Status::Failed);
    let warned = with(Status::Warned);
    if !failed.is_empty() {
        format!(
            "{} {} of {} failed: {}",
            Status::Failed.symbol(),
            failed.len(),
            plural(n, "phase"),
            failed.join(", ")
        )
    } else if !warned.is_empty() {
        format!(
            "{} {} passed, with warnings in {}",
            Status::Warned.symbol(),
            plural(n, "phase"),
            warned.join(", ")
        )
    } else if n == 1 {
        format!(
            "{} the {} phase passed",
            Status::Passed.symbol(),
            found[0].label
        )
    } else {
        format!("{} all {n} phases passed", Status::Passed.symbol())
    }
}

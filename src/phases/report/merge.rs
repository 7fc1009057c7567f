//! Gathers the phase reports (`<phase>.json` envelopes) found in a folder — typically
//! the downloaded artifacts of parallel jobs — puts them in a fixed order and derives the
//! overall verdict and the merged step outputs.

use anyhow::{Context, Result};
use std::path::{Path, PathBuf};

use crate::report::{PhaseReport, Status, REPORT_SCHEMA};

/// Phases in the order the comment shows them; others follow alphabetically.
pub const ORDER: &[&str] = &["lint", "test", "parity", "benchmark"];

/// One phase report and where it was found.
#[derive(Debug, Clone)]
pub struct Found {
    pub report: PhaseReport,
    pub path: PathBuf,
    /// Section and check-run name: the phase, plus the artifact folder when the same
    /// phase appears more than once (a matrix of jobs).
    pub label: String,
}

/// Reads every `*.json` under `dir` (recursively: each downloaded artifact is a folder)
/// that declares itself a phase report. Other JSON files are skipped; a file that says it
/// is a phase report but cannot be read is an error naming it.
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
        let text = crate::fsio::read_text(&path, "the phase report")?;
        // Only files that claim to be ours are parsed strictly.
        let claims = serde_json::from_str::<serde_json::Value>(&text)
            .ok()
            .and_then(|v| v.get("schema")?.as_str().map(str::to_string))
            .is_some_and(|s| s.starts_with("htdemucs-devops/phase-report/"));
        if !claims {
            continue;
        }
        let report = PhaseReport::read(&path)?;
        if report.phase == "report" {
            continue;
        }
        found.push(Found {
            label: report.phase.clone(),
            report,
            path,
        });
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
    let plural = |k: usize| if k == 1 { "phase" } else { "phases" };
    if !failed.is_empty() {
        format!(
            "{} {} of {n} {} failed: {}",
            Status::Failed.symbol(),
            failed.len(),
            plural(n),
            failed.join(", ")
        )
    } else if !warned.is_empty() {
        format!(
            "{} {n} {} passed, with warnings in {}",
            Status::Warned.symbol(),
            plural(n),
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

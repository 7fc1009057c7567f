//! The lint phase's report: every diagnostic, what each tool did, counts by tool, rule
//! and severity, and the status they add up to. Rendering lives in `render.rs`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use crate::ingest::diagnostic::{Diagnostic, Severity};
use crate::output::{plural, Annotation, Level, PhaseOutput, Status};

/// How a tool's findings were obtained.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Source {
    /// We ran it.
    Ran {
        command: String,
        /// `None` when it was killed by a signal.
        exit_code: Option<i32>,
        seconds: f64,
    },
    /// A report produced elsewhere (`--report TOOL=FILE`).
    Report { file: String },
    /// Not run (not installed).
    Skipped { reason: String },
}

/// Findings by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub notes: usize,
    /// How many of them `lint --fix` would fix.
    pub fixable: usize,
}

impl Counts {
    pub fn of<'a>(diags: impl IntoIterator<Item = &'a Diagnostic>) -> Counts {
        let mut c = Counts::default();
        for d in diags {
            match d.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Note => c.notes += 1,
            }
            if d.fixable {
                c.fixable += 1;
            }
        }
        c
    }

    pub fn total(&self) -> usize {
        self.errors + self.warnings + self.notes
    }
}

/// One tool entry (or one ingested report file) and what it found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolResult {
    pub name: String,
    pub source: Source,
    pub counts: Counts,
}

/// How often one rule fired.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuleCount {
    pub tool: String,
    /// `None` for findings the tool gave no rule for.
    pub rule: Option<String>,
    /// The worst severity it was reported with.
    pub severity: Severity,
    pub count: usize,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

/// The lint phase's report (the `data` of `<out-dir>/lint.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LintReport {
    pub status: Status,
    /// Warnings fail the phase too (config `lint.fail_on_warnings`).
    pub fail_on_warnings: bool,
    /// `lint --fix` ran the fix commands first.
    pub fixed: bool,
    pub totals: Counts,
    /// Distinct files with findings.
    pub files: usize,
    pub tools: Vec<ToolResult>,
    /// Most frequent first.
    pub rules: Vec<RuleCount>,
    /// Errors first, then by file and position; at most [`KEPT`] of them.
    pub diagnostics: Vec<Diagnostic>,
    /// Findings past the first [`KEPT`]: counted in `totals`, `files` and `rules`, not
    /// listed (the tool's own report has them).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub omitted: usize,
}

/// Most diagnostics listed in the report: far more than anyone reads, few enough that a
/// report of hundreds of thousands of findings stays small in memory and on disk.
pub const KEPT: usize = 10_000;

fn is_zero(n: &usize) -> bool {
    *n == 0
}

impl LintReport {
    pub fn build(
        tools: Vec<ToolResult>,
        mut diagnostics: Vec<Diagnostic>,
        fail_on_warnings: bool,
        fixed: bool,
    ) -> Self {
        diagnostics.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let totals = Counts::of(&diagnostics);
        let files = diagnostics
            .iter()
            .filter_map(|d| d.file.as_deref())
            .collect::<BTreeSet<_>>()
            .len();
        let mut by_rule: BTreeMap<(&str, Option<&str>), RuleCount> = BTreeMap::new();
        for d in &diagnostics {
            let entry = by_rule
                .entry((d.tool.as_str(), d.rule.as_deref()))
                .or_insert_with(|| RuleCount {
                    tool: d.tool.clone(),
                    rule: d.rule.clone(),
                    severity: d.severity,
                    count: 0,
                    url: None,
                });
            entry.count += 1;
            entry.severity = entry.severity.min(d.severity);
            if entry.url.is_none() {
                entry.url = d.url.clone();
            }
        }
        let mut rules: Vec<RuleCount> = by_rule.into_values().collect();
        // Stable sort over the map's (tool, rule) order: ties stay alphabetical.
        rules.sort_by(|a, b| b.count.cmp(&a.count).then(a.severity.cmp(&b.severity)));
        let status = if totals.errors > 0 || (fail_on_warnings && totals.warnings > 0) {
            Status::Failed
        } else if totals.warnings > 0 {
            Status::Warned
        } else {
            Status::Passed
        };
        let omitted = diagnostics.len().saturating_sub(KEPT);
        diagnostics.truncate(KEPT);
        diagnostics.shrink_to_fit();
        LintReport {
            status,
            fail_on_warnings,
            fixed,
            totals,
            files,
            tools,
            rules,
            diagnostics,
            omitted,
        }
    }

    pub fn ran(&self) -> usize {
        self.tools
            .iter()
            .filter(|t| !matches!(t.source, Source::Skipped { .. }))
            .count()
    }

    pub fn skipped(&self) -> usize {
        self.tools.len() - self.ran()
    }
}

fn level(s: Severity) -> Level {
    match s {
        Severity::Error => Level::Error,
        Severity::Warning => Level::Warning,
        Severity::Note => Level::Notice,
    }
}

impl PhaseOutput for LintReport {
    fn phase(&self) -> &'static str {
        "lint"
    }

    fn status(&self) -> Status {
        self.status
    }

    fn headline(&self) -> String {
        let t = &self.totals;
        let mut s = if t.total() == 0 {
            "no findings".to_string()
        } else {
            let mut parts = vec![plural(t.errors, "error"), plural(t.warnings, "warning")];
            if t.notes > 0 {
                parts.push(plural(t.notes, "note"));
            }
            let mut s = parts.join(", ");
            if self.files > 0 {
                s.push_str(&format!(" in {}", plural(self.files, "file")));
            }
            if t.fixable > 0 {
                s.push_str(&format!(" ({} fixable)", t.fixable));
            }
            s
        };
        let ran = self.ran();
        s.push_str(&if ran == 0 {
            "; no linter ran".to_string()
        } else {
            format!("; {} ran", plural(ran, "tool"))
        });
        if self.skipped() > 0 {
            s.push_str(&format!(", {} skipped", self.skipped()));
        }
        s
    }

    fn terminal(&self, style: crate::output::terminal::Style) -> String {
        super::render::terminal(self, style)
    }

    fn markdown(&self) -> String {
        super::render::markdown(self)
    }

    /// One per diagnostic, errors first, each level ordered by file and line (the
    /// console keeps that order and caps what GitHub would drop).
    fn annotations(&self) -> Vec<Annotation> {
        self.diagnostics
            .iter()
            .map(|d| {
                let mut a = Annotation::new(level(d.severity), annotation_message(d));
                a.file = d.file.clone();
                a.line = d.line;
                a.col = d.column;
                a.end_line = d.end_line;
                a.end_col = d.end_column;
                a.title = Some(match &d.rule {
                    Some(r) => format!("{} {r}", d.tool),
                    None => d.tool.clone(),
                });
                a
            })
            .collect()
    }

    fn outputs(&self) -> Vec<(String, String)> {
        vec![
            ("lint-errors".to_string(), self.totals.errors.to_string()),
            (
                "lint-warnings".to_string(),
                self.totals.warnings.to_string(),
            ),
        ]
    }
}

fn annotation_message(d: &Diagnostic) -> String {
    if d.fixable {
        format!("{} (fixable: htdemucs-devops lint --fix)", d.message)
    } else {
        d.message.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(tool: &str, rule: &str, sev: Severity, file: &str, line: u32) -> Diagnostic {
        let mut d = Diagnostic::new(tool, sev, "m");
        d.rule = Some(rule.into());
        d.file = Some(file.into());
        d.line = Some(line);
        d
    }

    #[test]
    fn counts_rules_and_status() {
        let ds = vec![
            diag("ruff", "F401", Severity::Error, "b.py", 2),
            diag("ruff", "F401", Severity::Error, "a.py", 9),
            diag("swiftlint", "line_length", Severity::Warning, "A.swift", 1),
        ];
        let r = LintReport::build(vec![], ds.clone(), false, false);
        assert_eq!(r.status, Status::Failed);
        assert_eq!(r.totals.errors, 2);
        assert_eq!(r.files, 3);
        assert_eq!(r.rules[0].rule.as_deref(), Some("F401"));
        assert_eq!(r.rules[0].count, 2);
        assert_eq!(r.diagnostics[0].file.as_deref(), Some("a.py"));
        let warn_only = vec![ds[2].clone()];
        let r = LintReport::build(vec![], warn_only.clone(), false, false);
        assert_eq!(r.status, Status::Warned);
        let r = LintReport::build(vec![], warn_only, true, false);
        assert_eq!(r.status, Status::Failed);
        assert_eq!(
            LintReport::build(vec![], vec![], true, false).status,
            Status::Passed
        );
    }

    #[test]
    fn annotations_follow_severity_then_place() {
        let ds = vec![
            diag("t", "W", Severity::Warning, "a.py", 1),
            diag("t", "E", Severity::Error, "z.py", 5),
        ];
        let r = LintReport::build(vec![], ds, false, false);
        let a = r.annotations();
        assert_eq!(a[0].level, Level::Error);
        assert_eq!(a[0].title.as_deref(), Some("t E"));
        assert_eq!(a[1].file.as_deref(), Some("a.py"));
        assert_eq!(r.outputs()[0], ("lint-errors".to_string(), "1".to_string()));
    }
}

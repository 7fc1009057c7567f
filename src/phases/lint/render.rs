//! The lint report as text: a terminal/CI-log summary grouped by file, and the Markdown
//! section for the step summary and PR comment. Every piece of tool text is sanitised
//! (terminal) or escaped (Markdown); no line we print can start with `::`, so nothing
//! here is ever read as a workflow command.

use crate::ingest::diagnostic::{Diagnostic, Severity};
use crate::output::terminal::{sanitize, table, Style};
use crate::output::PhaseOutput;

use serde::Serialize;

use super::report::{LintReport, Source, ToolResult};
use crate::output::plural;

/// Findings listed in the terminal summary; the rest are in the JSON report.
pub const TERMINAL_LIMIT: usize = 200;
/// Findings listed in the Markdown section (step summary, PR comment).
pub const MARKDOWN_LIMIT: usize = 100;
/// Rules in the "top rules" tables.
pub const TOP_RULES: usize = 10;

fn source_text(s: &Source) -> String {
    match s {
        Source::Ran {
            command,
            exit_code,
            seconds,
        } => format!(
            "ran `{command}` (exit {}, {seconds:.1}s)",
            exit_code.map_or("by signal".to_string(), |c| c.to_string())
        ),
        Source::Report { file } => format!("report {file}"),
        Source::Skipped { reason } => format!("skipped: {reason}"),
    }
}

fn position(d: &Diagnostic) -> String {
    match (d.line, d.column) {
        (Some(l), Some(c)) => format!("{l}:{c}"),
        (Some(l), None) => l.to_string(),
        _ => "-".to_string(),
    }
}

fn paint(style: Style, s: Severity) -> String {
    match s {
        Severity::Error => style.red("error"),
        Severity::Warning => style.yellow("warning"),
        Severity::Note => style.dim("note"),
    }
}

pub fn terminal(r: &LintReport, style: Style) -> String {
    let mut out = format!(
        "{} {} {}\n",
        r.status.symbol(),
        style.bold("lint:"),
        r.headline()
    );
    if !r.tools.is_empty() {
        let rows: Vec<Vec<String>> = r
            .tools
            .iter()
            .map(|t| {
                let skipped = matches!(t.source, Source::Skipped { .. });
                let n = |v: usize| {
                    if skipped {
                        String::new()
                    } else {
                        v.to_string()
                    }
                };
                vec![
                    sanitize(&t.name),
                    sanitize(&source_text(&t.source)),
                    n(t.counts.errors),
                    n(t.counts.warnings),
                    n(t.counts.notes),
                    n(t.counts.fixable),
                ]
            })
            .collect();
        out.push('\n');
        out.push_str(&table(
            &["tool", "how", "errors", "warnings", "notes", "fixable"],
            &rows,
            &[false, false, true, true, true, true],
        ));
    }
    if !r.diagnostics.is_empty() {
        let mut current: Option<Option<&str>> = None;
        for d in r.diagnostics.iter().take(TERMINAL_LIMIT) {
            if current != Some(d.file.as_deref()) {
                current = Some(d.file.as_deref());
                let name = d.file.as_deref().map_or("(no file)".to_string(), sanitize);
                out.push_str(&format!("\n• {}\n", style.bold(&name)));
            }
            let rule = d.rule.as_deref().map(sanitize).unwrap_or_default();
            let fix = if d.fixable { " [fixable]" } else { "" };
            out.push_str(&format!(
                "  {:>8}  {}  {}{}  {}{}\n",
                position(d),
                paint(style, d.severity),
                style.dim(&sanitize(&d.tool)),
                if rule.is_empty() {
                    String::new()
                } else {
                    format!(" {rule}")
                },
                sanitize(&d.message),
                style.dim(fix)
            ));
        }
        let more = (r.diagnostics.len() + r.omitted).saturating_sub(TERMINAL_LIMIT);
        if more > 0 && r.omitted == 0 {
            out.push_str(&format!(
                "\n… {more} more not shown here; all {} are in the JSON report\n",
                r.diagnostics.len()
            ));
        } else if more > 0 {
            out.push_str(&format!(
                "\n… {more} more not shown here; the JSON report lists {} of them\n",
                r.diagnostics.len()
            ));
        }
    }
    if r.rules.len() > 1 {
        let top: Vec<String> = r
            .rules
            .iter()
            .take(TOP_RULES)
            .map(|rc| {
                format!(
                    "{} ×{}",
                    sanitize(rc.rule.as_deref().unwrap_or(&rc.tool)),
                    rc.count
                )
            })
            .collect();
        out.push_str(&format!("\nTop rules: {}\n", top.join(", ")));
    }
    if r.totals.fixable > 0 && !r.fixed {
        out.push_str(&format!(
            "\n{} can be fixed with `htdemucs-devops lint --fix`.\n",
            plural(r.totals.fixable, "finding")
        ));
    }
    out
}

fn icon(s: Severity) -> &'static str {
    match s {
        Severity::Error => "❌",
        Severity::Warning => "⚠️",
        Severity::Note => "ℹ️",
    }
}

/// The URL of a rule's documentation if it may be linked: only plain https URLs (they
/// come from tool output, so anything that could break out of the link syntax is not
/// linked; the rule is shown as text instead).
fn rule_url(url: Option<&str>) -> Option<&str> {
    url.filter(|u| {
        u.starts_with("https://")
            && u.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~/:%?=&#+".contains(c))
    })
}

/// A rule as the Rules table shows it (`rule_cell.md.j2`, which `lint.md.j2` includes).
fn rule_cell(rule: &str, url: Option<&str>) -> String {
    crate::output::templates::markdown(
        "rule_cell.md.j2",
        minijinja::context! { rule, url => rule_url(url) },
    )
}

#[derive(Serialize)]
struct ToolView<'a> {
    name: &'a str,
    command: Option<&'a str>,
    exit: String,
    file: Option<&'a str>,
    reason: Option<&'a str>,
    skipped: bool,
    errors: usize,
    warnings: usize,
    notes: usize,
    fixable: usize,
}

#[derive(Serialize)]
struct RuleView<'a> {
    /// The rule, linked when it may be ([`rule_cell`]): Markdown.
    cell: String,
    tool: &'a str,
    icon: &'static str,
    severity: &'static str,
    count: usize,
}

#[derive(Serialize)]
struct FindingView<'a> {
    icon: &'static str,
    place: String,
    tool: &'a str,
    rule: Option<&'a str>,
    message: &'a str,
    fixable: bool,
}

fn tool_view(t: &ToolResult) -> ToolView<'_> {
    let (mut command, mut exit, mut file, mut reason) = (None, String::new(), None, None);
    match &t.source {
        Source::Ran {
            command: c,
            exit_code,
            ..
        } => {
            command = Some(c.as_str());
            exit = exit_code.map_or("by signal".to_string(), |c| c.to_string());
        }
        Source::Report { file: f } => file = Some(f.as_str()),
        Source::Skipped { reason: r } => reason = Some(r.as_str()),
    }
    ToolView {
        name: &t.name,
        command,
        exit,
        file,
        reason,
        skipped: matches!(t.source, Source::Skipped { .. }),
        errors: t.counts.errors,
        warnings: t.counts.warnings,
        notes: t.counts.notes,
        fixable: t.counts.fixable,
    }
}

fn finding_view(d: &Diagnostic) -> FindingView<'_> {
    let place = match &d.file {
        Some(f) if d.line.is_some() => format!("{f}:{}", position(d)),
        Some(f) => f.clone(),
        None => "(no file)".to_string(),
    };
    FindingView {
        icon: icon(d.severity),
        place,
        tool: &d.tool,
        rule: d.rule.as_deref(),
        message: &d.message,
        fixable: d.fixable,
    }
}

/// The Markdown section (`templates/markdown/lint.md.j2`).
pub fn markdown(r: &LintReport) -> String {
    let n = r.diagnostics.len() + r.omitted;
    let findings_summary = if n > MARKDOWN_LIMIT {
        if r.omitted == 0 {
            format!(
                "{n} findings (the first {MARKDOWN_LIMIT} are listed; the rest are in lint.json)"
            )
        } else {
            format!(
                "{n} findings (the first {MARKDOWN_LIMIT} are listed; lint.json lists {})",
                r.diagnostics.len()
            )
        }
    } else {
        plural(n, "finding")
    };
    let rules: Vec<RuleView> = r
        .rules
        .iter()
        .take(TOP_RULES)
        .map(|rc| RuleView {
            cell: rule_cell(rc.rule.as_deref().unwrap_or("(no rule)"), rc.url.as_deref()),
            tool: &rc.tool,
            icon: icon(rc.severity),
            severity: rc.severity.word(),
            count: rc.count,
        })
        .collect();
    crate::output::templates::markdown(
        "lint.md.j2",
        minijinja::context! {
            symbol => r.status.symbol(),
            headline => r.headline(),
            fixed => r.fixed,
            tools => r.tools.iter().map(tool_view).collect::<Vec<_>>(),
            rules,
            rules_total => r.rules.len(),
            findings => r.diagnostics.iter().take(MARKDOWN_LIMIT).map(finding_view)
                .collect::<Vec<_>>(),
            findings_summary,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::phases::lint::report::{Counts, ToolResult};

    fn hostile() -> LintReport {
        let mut d = Diagnostic::new("generic", Severity::Error, "<script>x</script> | `a`");
        d.file = Some("::error::forged.py".into());
        d.line = Some(3);
        d.rule = Some("R|1".into());
        d.url = Some("https://x.test/a) [b](javascript:alert(1)".into());
        let tools = vec![ToolResult {
            name: "generic".into(),
            source: Source::Report {
                file: "r<1>.txt".into(),
            },
            counts: Counts::of([&d]),
        }];
        LintReport::build(tools, vec![d], false, false)
    }

    #[test]
    fn markdown_escapes_everything_from_tools() {
        let md = markdown(&hostile());
        assert!(!md.contains("<script>"), "{md}");
        assert!(md.contains("&lt;script&gt;"), "{md}");
        assert!(!md.contains("javascript:alert(1)"), "{md}");
        assert!(md.contains("R\\|1"), "{md}");
        assert!(md.contains("<code>r&lt;1&gt;.txt</code>"), "{md}");
    }

    #[test]
    fn no_terminal_line_starts_a_workflow_command() {
        let text = terminal(&hostile(), Style { color: false });
        for line in text.lines() {
            assert!(!line.trim_start().starts_with("::"), "{line}");
        }
        assert!(text.contains("• ::error::forged.py"), "{text}");
    }

    #[test]
    fn rule_links_only_for_plain_https() {
        assert_eq!(
            rule_cell(
                "F401",
                Some("https://docs.astral.sh/ruff/rules/unused-import")
            ),
            "[F401](https://docs.astral.sh/ruff/rules/unused-import)"
        );
        assert_eq!(rule_cell("F401", Some("http://x")), "F401");
    }
}

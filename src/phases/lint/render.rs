//! The lint report as text: a terminal/CI-log summary grouped by file, and the Markdown
//! section for the step summary and PR comment. Every piece of tool text is sanitised
//! (terminal) or escaped (Markdown); no line we print can start with `::`, so nothing
//! here is ever read as a workflow command.

use crate::ingest::diagnostic::{Diagnostic, Severity};
use crate::output::markdown::{code, details, escape, Align, Table};
use crate::output::terminal::{sanitize, table, Style};
use crate::output::PhaseOutput;

use super::report::{LintReport, Source};
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

/// A link to rule documentation, only for plain https URLs (they come from tool output,
/// so anything that could break out of the link syntax is shown as text instead).
fn rule_cell(rule: &str, url: Option<&str>) -> String {
    let safe = url.filter(|u| {
        u.starts_with("https://")
            && u.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-._~/:%?=&#+".contains(c))
    });
    match safe {
        Some(u) => format!("[{}]({u})", escape(rule)),
        None => escape(rule),
    }
}

pub fn markdown(r: &LintReport) -> String {
    let mut out = format!(
        "### {} Lint: {}\n\n",
        r.status.symbol(),
        escape(&r.headline())
    );
    if r.fixed {
        out.push_str("Fix commands ran before linting (`lint --fix`).\n\n");
    }
    if r.tools.is_empty() {
        out.push_str("No linter was configured.\n");
        return out;
    }
    let right = [
        Align::Left,
        Align::Left,
        Align::Right,
        Align::Right,
        Align::Right,
        Align::Right,
    ];
    let mut tools =
        Table::new(&["Tool", "How", "Errors", "Warnings", "Notes", "Fixable"]).align(&right);
    for t in &r.tools {
        let how = match &t.source {
            Source::Ran {
                command, exit_code, ..
            } => format!(
                "ran {} (exit {})",
                code(command),
                exit_code.map_or("by signal".to_string(), |c| c.to_string())
            ),
            Source::Report { file } => format!("report {}", code(file)),
            Source::Skipped { reason } => format!("skipped: {}", escape(reason)),
        };
        let skipped = matches!(t.source, Source::Skipped { .. });
        let n = |v: usize| {
            if skipped {
                "–".to_string()
            } else {
                v.to_string()
            }
        };
        tools.row(vec![
            escape(&t.name),
            how,
            n(t.counts.errors),
            n(t.counts.warnings),
            n(t.counts.notes),
            n(t.counts.fixable),
        ]);
    }
    out.push_str(&tools.render());

    if !r.rules.is_empty() {
        let mut rules = Table::new(&["Rule", "Tool", "Severity", "Findings"]).align(&[
            Align::Left,
            Align::Left,
            Align::Left,
            Align::Right,
        ]);
        for rc in r.rules.iter().take(TOP_RULES) {
            rules.row(vec![
                rule_cell(rc.rule.as_deref().unwrap_or("(no rule)"), rc.url.as_deref()),
                escape(&rc.tool),
                format!("{} {}", icon(rc.severity), rc.severity.word()),
                rc.count.to_string(),
            ]);
        }
        let title = if r.rules.len() > TOP_RULES {
            format!("\n**Top {TOP_RULES} of {} rules**\n\n", r.rules.len())
        } else {
            "\n**Rules**\n\n".to_string()
        };
        out.push_str(&title);
        out.push_str(&rules.render());
    }

    if !r.diagnostics.is_empty() {
        let mut list = Table::new(&["", "Location", "Rule", "Message"]);
        for d in r.diagnostics.iter().take(MARKDOWN_LIMIT) {
            let place = match &d.file {
                Some(f) if d.line.is_some() => format!("{f}:{}", position(d)),
                Some(f) => f.clone(),
                None => "(no file)".to_string(),
            };
            let rule = match &d.rule {
                Some(rule) => format!("{} {}", escape(&d.tool), escape(rule)),
                None => escape(&d.tool),
            };
            let msg = if d.fixable {
                format!("{} (fixable)", escape(&d.message))
            } else {
                escape(&d.message)
            };
            list.row(vec![icon(d.severity).to_string(), code(&place), rule, msg]);
        }
        let n = r.diagnostics.len() + r.omitted;
        let summary = if n > MARKDOWN_LIMIT {
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
        out.push('\n');
        out.push_str(&details(&summary, &list.render()));
    }
    out
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

//! The test phase's Markdown section: headline, totals table, broken or skipped test
//! commands, failures in collapsible blocks, flaky and slowest tests. Every test name,
//! message and traceback is escaped.

use super::model::{CommandState, FailedTest, TestRun};
use super::render::{clip, first_line, seconds, status_word};
use crate::ingest::junit::TestStatus;
use crate::output::markdown::{self, Align, Table};
use crate::output::plural;
use crate::output::PhaseOutput;

/// Failures shown with details; the rest are counted.
const MARKDOWN_FAILURES: usize = 30;
/// Lines of a traceback shown per failure.
const MARKDOWN_DETAIL_LINES: usize = 60;
const MARKDOWN_DETAIL_BYTES: usize = 6000;

/// The first lines/bytes of a traceback, for Markdown.
fn excerpt(s: &str) -> String {
    let mut out = String::new();
    for (i, line) in s.lines().enumerate() {
        if i >= MARKDOWN_DETAIL_LINES || out.len() + line.len() > MARKDOWN_DETAIL_BYTES {
            out.push_str("[... cut, the JSON report has more ...]\n");
            break;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// Untrusted multi-line text as a `<pre>` block. GitHub does not read Markdown inside
/// `<pre>` and the block can only end at `</pre>`, which escaping makes impossible, so
/// tracebacks show verbatim and nothing in them renders as HTML. (`@name` needs no
/// care here: GitHub makes no mentions inside `<pre>`, and decorators stay copyable.)
fn pre(text: &str) -> String {
    let mut out = String::from("<pre>");
    for c in text.trim_end().chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            _ => out.push(c),
        }
    }
    out.push_str("</pre>\n");
    out
}

/// The Markdown section for the step summary and the PR comment.
pub fn section(run: &TestRun) -> String {
    let t = &run.totals;
    let mut md = format!(
        "### {} Tests: {}\n\n",
        run.status().symbol(),
        markdown::escape(&run.headline())
    );
    let mut totals = Table::new(&["Passed", "Failed", "Errored", "Skipped", "Flaky", "Time"])
        .align(&[Align::Right; 6]);
    totals.row(vec![
        t.passed.to_string(),
        t.failed.to_string(),
        t.errored.to_string(),
        t.skipped.to_string(),
        t.flaky.to_string(),
        seconds(t.time_seconds),
    ]);
    md.push_str(&totals.render());
    md.push('\n');
    if run.none_ran() {
        md.push_str(if run.fail_if_no_tests {
            "**No test ran.** Check that the test commands found your tests (set `test.fail_if_no_tests: false` to allow this).\n\n"
        } else {
            "No test ran (allowed by `test.fail_if_no_tests: false`).\n\n"
        });
    }
    let notable: Vec<_> = run
        .commands
        .iter()
        .filter(|c| !matches!(c.state, CommandState::Ran { .. }))
        .collect();
    if !notable.is_empty() {
        md.push_str("**Test commands**\n\n");
        for c in notable {
            let (word, text) = match &c.state {
                CommandState::Skipped { reason } => ("skipped", reason.clone()),
                CommandState::Broken { problem, .. } => ("❌ broken", problem.clone()),
                CommandState::Ran { .. } => continue,
            };
            md.push_str(&format!(
                "- {} {word}: {}\n",
                markdown::code(&c.name),
                markdown::escape(&text)
            ));
        }
        md.push('\n');
        for c in &run.commands {
            if let CommandState::Broken { output_tail, .. } = &c.state {
                if !output_tail.trim().is_empty() {
                    md.push_str(&markdown::details(
                        &format!("output of {}", c.name),
                        &pre(&excerpt(output_tail)),
                    ));
                    md.push('\n');
                }
            }
        }
    }
    if !run.failures.is_empty() {
        md.push_str(&format!("#### Failures ({})\n\n", run.failures.len()));
        for f in run.failures.iter().take(MARKDOWN_FAILURES) {
            md.push_str(&failure_markdown(f));
            md.push('\n');
        }
        if run.failures.len() > MARKDOWN_FAILURES {
            md.push_str(&format!(
                "…and {} more; the JSON report `test.json` lists them all.\n\n",
                run.failures.len() - MARKDOWN_FAILURES
            ));
        }
    }
    if !run.flaky.is_empty() {
        md.push_str(&format!("#### Flaky tests ({})\n\n", run.flaky.len()));
        for f in &run.flaky {
            md.push_str(&format!(
                "- {} passed after {}: {}\n",
                markdown::code(&f.name),
                plural(f.failed_attempts, "failed attempt"),
                markdown::escape(&clip(first_line(&f.message), 200))
            ));
        }
        md.push('\n');
    }
    if !run.slowest.is_empty() {
        md.push_str("#### Slowest tests\n\n");
        let mut slow = Table::new(&["Test", "Status", "Time"]).align(&[
            Align::Left,
            Align::Left,
            Align::Right,
        ]);
        for s in &run.slowest {
            slow.row(vec![
                markdown::code(&clip(&s.name, 120)),
                status_word(s.status).to_string(),
                seconds(s.time_seconds),
            ]);
        }
        md.push_str(&slow.render());
    }
    md
}

fn failure_markdown(f: &FailedTest) -> String {
    let icon = if f.status == TestStatus::Errored {
        "💥"
    } else {
        "❌"
    };
    let summary = format!("{icon} {} — {}", f.name, clip(first_line(f.message()), 200));
    let mut body = String::new();
    match f.place() {
        Some(p) => body.push_str(&format!("at {}", markdown::code(&p))),
        None => body.push_str("no source location in the result file"),
    }
    body.push_str(&format!(" · from {}\n\n", markdown::code(&f.source)));
    if f.messages.len() > 1 {
        for m in &f.messages {
            body.push_str(&format!(
                "- {}\n",
                markdown::escape(&clip(first_line(m), 300))
            ));
        }
        body.push('\n');
    }
    let text = if f.details.trim().is_empty() {
        f.messages.join("\n")
    } else {
        f.details.clone()
    };
    body.push_str(&pre(&excerpt(&text)));
    if !f.output.trim().is_empty() {
        body.push('\n');
        body.push_str(&pre(&excerpt(&f.output)));
    }
    markdown::details(&summary, &body)
}

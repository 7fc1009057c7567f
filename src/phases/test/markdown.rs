//! The test phase's Markdown section (`templates/markdown/test.md.j2`): headline, totals
//! table, broken or skipped test commands, failures in collapsible blocks, flaky and
//! slowest tests. Test names and messages are escaped by the template's formatter,
//! tracebacks and output shown verbatim in `<pre>` blocks.

use serde::Serialize;

use super::model::{CommandRun, CommandState, FailedTest, TestRun};
use super::render::{clip, first_line, seconds, status_word};
use crate::ingest::junit::TestStatus;
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

#[derive(Serialize)]
struct CommandView<'a> {
    name: &'a str,
    word: &'static str,
    text: &'a str,
    /// The first lines of a broken command's output, empty when there is none.
    output_tail: String,
}

#[derive(Serialize)]
struct FailureView<'a> {
    icon: &'static str,
    name: &'a str,
    message: String,
    place: Option<String>,
    source: &'a str,
    messages: Vec<String>,
    /// The excerpt of the traceback (or of the messages when there is none).
    text: String,
    /// The excerpt of the captured output, empty when there is none.
    output: String,
}

#[derive(Serialize)]
struct FlakyView<'a> {
    name: &'a str,
    attempts: String,
    message: String,
}

#[derive(Serialize)]
struct SlowView {
    name: String,
    status: &'static str,
    time: String,
}

fn command_view(c: &CommandRun) -> Option<CommandView<'_>> {
    let (word, text, tail) = match &c.state {
        CommandState::Skipped { reason } => ("skipped", reason, ""),
        CommandState::Broken {
            problem,
            output_tail,
            ..
        } => ("❌ broken", problem, output_tail.as_str()),
        CommandState::Ran { .. } => return None,
    };
    Some(CommandView {
        name: &c.name,
        word,
        text,
        output_tail: if tail.trim().is_empty() {
            String::new()
        } else {
            excerpt(tail)
        },
    })
}

fn failure_view(f: &FailedTest) -> FailureView<'_> {
    let text = if f.details.trim().is_empty() {
        f.messages.join("\n")
    } else {
        f.details.clone()
    };
    FailureView {
        icon: if f.status == TestStatus::Errored {
            "💥"
        } else {
            "❌"
        },
        name: &f.name,
        message: clip(first_line(f.message()), 200),
        place: f.place(),
        source: &f.source,
        messages: f
            .messages
            .iter()
            .map(|m| clip(first_line(m), 300))
            .collect(),
        text: excerpt(&text),
        output: if f.output.trim().is_empty() {
            String::new()
        } else {
            excerpt(&f.output)
        },
    }
}

/// The Markdown section for the step summary and the PR comment
/// (`templates/markdown/test.md.j2`).
pub fn section(run: &TestRun) -> String {
    let t = &run.totals;
    crate::output::templates::markdown(
        "test.md.j2",
        minijinja::context! {
            symbol => run.status().symbol(),
            headline => run.headline(),
            t => minijinja::context! {
                passed => t.passed,
                failed => t.failed,
                errored => t.errored,
                skipped => t.skipped,
                flaky => t.flaky,
                time => seconds(t.time_seconds),
            },
            none_ran => run.none_ran(),
            fail_if_no_tests => run.fail_if_no_tests,
            notable => run.commands.iter().filter_map(command_view).collect::<Vec<_>>(),
            failures => run.failures.iter().take(MARKDOWN_FAILURES).map(failure_view)
                .collect::<Vec<_>>(),
            failures_total => run.failures.len(),
            flaky => run.flaky.iter().map(|f| FlakyView {
                name: &f.name,
                attempts: plural(f.failed_attempts, "failed attempt"),
                message: clip(first_line(&f.message), 200),
            }).collect::<Vec<_>>(),
            slowest => run.slowest.iter().map(|s| SlowView {
                name: clip(&s.name, 120),
                status: status_word(s.status),
                time: seconds(s.time_seconds),
            }).collect::<Vec<_>>(),
        },
    )
}

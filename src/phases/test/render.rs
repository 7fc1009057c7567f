//! How a `TestRun` is shown: terminal summary, Markdown section, annotations and step
//! outputs (the `PhaseOutput` implementation). All test text is untrusted and escaped
//! for where it goes.

use super::model::{CommandState, FailedTest, TestRun};
use crate::ingest::junit::TestStatus;
use crate::report::markdown::{self, Align, Table};
use crate::report::terminal::{sanitize, table, Style};
use crate::report::{Annotation, Level, PhaseOutput, Status};

/// Failures shown with details in the Markdown section; the rest are counted.
const MARKDOWN_FAILURES: usize = 30;
/// Lines of a traceback shown per failure in Markdown.
const MARKDOWN_DETAIL_LINES: usize = 60;
const MARKDOWN_DETAIL_BYTES: usize = 6000;
/// Characters of a message put into an annotation.
const ANNOTATION_MESSAGE: usize = 4000;

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

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
/// tracebacks show verbatim and nothing in them renders as HTML.
fn pre(text: &str) -> String {
    let mut out = String::from("<pre>");
    for c in text.trim_end().chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            // As in `markdown::escape`: no @-mention from a traceback.
            '@' => out.push_str("@\u{200B}"),
            _ => out.push(c),
        }
    }
    out.push_str("</pre>\n");
    out
}

fn status_word(s: TestStatus) -> &'static str {
    match s {
        TestStatus::Passed => "passed",
        TestStatus::Failed => "failed",
        TestStatus::Errored => "errored",
        TestStatus::Skipped => "skipped",
    }
}

impl TestRun {
    fn broken_commands(&self) -> usize {
        self.commands
            .iter()
            .filter(|c| matches!(c.state, CommandState::Broken { .. }))
            .count()
    }

    fn none_ran(&self) -> bool {
        self.totals.ran() == 0
    }
}

impl PhaseOutput for TestRun {
    fn phase(&self) -> &'static str {
        "test"
    }

    fn status(&self) -> Status {
        let t = &self.totals;
        if t.failed + t.errored > 0
            || self.broken_commands() > 0
            || (self.none_ran() && self.fail_if_no_tests)
        {
            Status::Failed
        } else if t.flaky > 0 || self.none_ran() {
            Status::Warned
        } else {
            Status::Passed
        }
    }

    fn headline(&self) -> String {
        let t = &self.totals;
        let mut parts = Vec::new();
        if self.none_ran() {
            parts.push("no tests ran".to_string());
            if t.skipped > 0 {
                parts.push(format!("{} skipped", t.skipped));
            }
        } else {
            if t.failed > 0 {
                parts.push(format!("{} failed", t.failed));
            }
            if t.errored > 0 {
                parts.push(format!("{} errored", t.errored));
            }
            parts.push(format!("{} passed", t.passed));
            if t.skipped > 0 {
                parts.push(format!("{} skipped", t.skipped));
            }
            if t.flaky > 0 {
                parts.push(format!("{} flaky", t.flaky));
            }
        }
        let mut line = parts.join(", ");
        if !self.none_ran() {
            line.push_str(&format!(" in {}", seconds(t.time_seconds)));
        }
        let broken = self.broken_commands();
        if broken > 0 {
            line.push_str(&format!(
                "; {} broken",
                plural(broken, "test command", "test commands")
            ));
        }
        line
    }

    fn terminal(&self, st: Style) -> String {
        let status = self.status();
        let head = format!("Tests: {}", self.headline());
        let mut out = match status {
            Status::Passed => st.green(&head),
            Status::Warned => st.yellow(&head),
            Status::Failed => st.red(&head),
        };
        out.push('\n');
        for c in &self.commands {
            let line = match &c.state {
                CommandState::Ran {
                    exit_code,
                    seconds: s,
                    ..
                } => format!(
                    "  {}: exit {} after {}",
                    sanitize(&c.name),
                    exit_code.map_or("by signal".into(), |c| c.to_string()),
                    seconds(*s)
                ),
                CommandState::Skipped { reason } => st.dim(&format!(
                    "  {}: skipped ({})",
                    sanitize(&c.name),
                    sanitize(reason)
                )),
                CommandState::Broken { problem, .. } => {
                    st.red(&format!("  {}: {}", sanitize(&c.name), sanitize(problem)))
                }
            };
            out.push_str(&line);
            out.push('\n');
        }
        if !self.failures.is_empty() {
            out.push_str(&format!("\n{}\n", st.bold("Failures")));
            for f in &self.failures {
                let mark = if f.status == TestStatus::Errored {
                    "E"
                } else {
                    "✗"
                };
                let place = f
                    .place()
                    .map(|p| format!("  {}", st.dim(&sanitize(&p))))
                    .unwrap_or_default();
                out.push_str(&format!(
                    "  {} {}{place}\n",
                    st.red(mark),
                    sanitize(&f.name)
                ));
                for m in &f.messages {
                    out.push_str(&format!("      {}\n", sanitize(&clip(first_line(m), 160))));
                }
            }
        }
        if !self.flaky.is_empty() {
            out.push_str(&format!("\n{}\n", st.bold("Flaky (passed on retry)")));
            for f in &self.flaky {
                out.push_str(&format!(
                    "  {} {} ({})\n",
                    st.yellow("~"),
                    sanitize(&f.name),
                    plural(f.failed_attempts, "failed attempt", "failed attempts")
                ));
            }
        }
        if !self.slowest.is_empty() {
            out.push_str(&format!("\n{}\n", st.bold("Slowest tests")));
            let rows: Vec<Vec<String>> = self
                .slowest
                .iter()
                .map(|s| {
                    vec![
                        sanitize(&clip(&s.name, 80)),
                        status_word(s.status).to_string(),
                        seconds(s.time_seconds),
                    ]
                })
                .collect();
            for line in table(&["test", "status", "time"], &rows, &[false, false, true]).lines() {
                out.push_str(&format!("  {line}\n"));
            }
        }
        out
    }

    fn markdown(&self) -> String {
        let t = &self.totals;
        let mut md = format!(
            "### {} Tests: {}\n\n",
            self.status().symbol(),
            markdown::escape(&self.headline())
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
        if self.none_ran() {
            md.push_str(if self.fail_if_no_tests {
                "**No test ran.** Check that the test commands found your tests (set `test.fail_if_no_tests: false` to allow this).\n\n"
            } else {
                "No test ran (allowed by `test.fail_if_no_tests: false`).\n\n"
            });
        }
        let notable: Vec<_> = self
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
            for c in &self.commands {
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
        if !self.failures.is_empty() {
            md.push_str(&format!("#### Failures ({})\n\n", self.failures.len()));
            for f in self.failures.iter().take(MARKDOWN_FAILURES) {
                md.push_str(&failure_markdown(f));
                md.push('\n');
            }
            if self.failures.len() > MARKDOWN_FAILURES {
                md.push_str(&format!(
                    "…and {} more; the JSON report `test.json` lists them all.\n\n",
                    self.failures.len() - MARKDOWN_FAILURES
                ));
            }
        }
        if !self.flaky.is_empty() {
            md.push_str(&format!("#### Flaky tests ({})\n\n", self.flaky.len()));
            for f in &self.flaky {
                md.push_str(&format!(
                    "- {} passed after {}: {}\n",
                    markdown::code(&f.name),
                    plural(f.failed_attempts, "failed attempt", "failed attempts"),
                    markdown::escape(&clip(first_line(&f.message), 200))
                ));
            }
            md.push('\n');
        }
        if !self.slowest.is_empty() {
            md.push_str("#### Slowest tests\n\n");
            let mut slow = Table::new(&["Test", "Status", "Time"]).align(&[
                Align::Left,
                Align::Left,
                Align::Right,
            ]);
            for s in &self.slowest {
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

    fn annotations(&self) -> Vec<Annotation> {
        let mut out = Vec::new();
        for c in &self.commands {
            if let CommandState::Broken { problem, .. } = &c.state {
                let mut a = Annotation::new(Level::Error, problem.clone());
                a.title = Some(format!("test command {}", c.name));
                out.push(a);
            }
        }
        for f in &self.failures {
            let mut msg = f.messages.join("\n");
            if f.file.is_none() {
                msg.push_str("\n(the result file gives no source location for this test)");
            }
            let mut a = Annotation::new(Level::Error, clip(&msg, ANNOTATION_MESSAGE));
            a.file = f.file.clone();
            a.line = f.line;
            a.title = Some(format!(
                "{}{}",
                if f.status == TestStatus::Errored {
                    "error in "
                } else {
                    ""
                },
                f.name
            ));
            out.push(a);
        }
        if self.none_ran() && self.fail_if_no_tests {
            out.push(Annotation::new(
                Level::Error,
                "no test ran: check that the test commands find your tests, or set test.fail_if_no_tests: false",
            ));
        }
        for f in &self.flaky {
            let mut a = Annotation::new(
                Level::Warning,
                format!(
                    "passed after {}: {}",
                    plural(f.failed_attempts, "failed attempt", "failed attempts"),
                    clip(&f.message, ANNOTATION_MESSAGE)
                ),
            );
            a.title = Some(format!("flaky test {}", f.name));
            out.push(a);
        }
        for c in &self.commands {
            if let CommandState::Skipped { reason } = &c.state {
                out.push(Annotation::new(
                    Level::Notice,
                    format!("{} skipped: {reason}", c.name),
                ));
            }
        }
        out
    }

    fn outputs(&self) -> Vec<(String, String)> {
        let t = &self.totals;
        vec![
            ("tests-passed".into(), t.passed.to_string()),
            ("tests-failed".into(), (t.failed + t.errored).to_string()),
            ("tests-errored".into(), t.errored.to_string()),
            ("tests-skipped".into(), t.skipped.to_string()),
            ("tests-total".into(), t.tests.to_string()),
        ]
    }
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

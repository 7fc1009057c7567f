//! The `PhaseOutput` implementation of a `TestRun`: status, headline, terminal summary,
//! annotations and step outputs (the Markdown section is in `markdown.rs`). Test text is
//! untrusted: sanitised for the terminal, escaped by the console for workflow commands.

use super::model::{CommandState, TestRun};
use crate::ingest::junit::TestStatus;
use crate::output::terminal::{sanitize, table, Style};
use crate::output::{plural, Annotation, Level, PhaseOutput, Status};

/// Characters of a message put into an annotation.
const ANNOTATION_MESSAGE: usize = 4000;

pub(super) fn seconds(s: f64) -> String {
    if s < 10.0 {
        format!("{s:.2} s")
    } else {
        format!("{s:.1} s")
    }
}

pub(super) fn first_line(s: &str) -> &str {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("")
}

pub(super) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max).collect();
    out.push('…');
    out
}

pub(super) fn status_word(s: TestStatus) -> &'static str {
    match s {
        TestStatus::Passed => "passed",
        TestStatus::Failed => "failed",
        TestStatus::Errored => "errored",
        TestStatus::Skipped => "skipped",
    }
}

impl TestRun {
    pub(super) fn broken_commands(&self) -> usize {
        self.commands
            .iter()
            .filter(|c| matches!(c.state, CommandState::Broken { .. }))
            .count()
    }

    pub(super) fn none_ran(&self) -> bool {
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
            line.push_str(&format!("; {} broken", plural(broken, "test command")));
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
                    plural(f.failed_attempts, "failed attempt")
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
        super::markdown::section(self)
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
                    plural(f.failed_attempts, "failed attempt"),
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

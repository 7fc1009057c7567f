//! The test phase's report model (`TestRun`): totals, failures with locations, the
//! slowest tests, flaky tests, result files and test commands. Built by pure functions
//! from parsed JUnit files; rendered by `render.rs`.

use serde::{Deserialize, Serialize};
use std::path::Path;

use super::location::{error_line, locate};
use crate::ingest::junit::{self, IssueKind, JunitError, Producer, TestCase, TestStatus};

/// Counts over every test case read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// All test cases, skipped ones included.
    pub tests: usize,
    pub passed: usize,
    pub failed: usize,
    pub errored: usize,
    pub skipped: usize,
    /// Passed only after one or more failed attempts (nextest retries).
    pub flaky: usize,
    /// Sum of the test cases' own times in seconds (parallel runs take less wall time).
    pub time_seconds: f64,
}

impl Totals {
    /// Tests that actually ran (not skipped).
    pub fn ran(&self) -> usize {
        self.passed + self.failed + self.errored
    }
}

/// A failed or errored test case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FailedTest {
    /// `classname::name`, as shown everywhere.
    pub name: String,
    pub status: TestStatus,
    /// Path relative to the workspace root, when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// One line per failure/error element (pytest subtests write several).
    pub messages: Vec<String>,
    /// Tracebacks / panic output, capped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub details: String,
    /// Tail of the captured stdout/stderr, capped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub output: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_seconds: Option<f64>,
    /// The result file it came from.
    pub source: String,
    /// True for failures after the first 100: details and output were dropped.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub details_omitted: bool,
}

impl FailedTest {
    pub fn message(&self) -> &str {
        self.messages.first().map_or("", String::as_str)
    }

    pub fn place(&self) -> Option<String> {
        let file = self.file.as_ref()?;
        Some(match self.line {
            Some(l) => format!("{file}:{l}"),
            None => file.clone(),
        })
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SlowTest {
    pub name: String,
    pub status: TestStatus,
    pub time_seconds: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlakyTest {
    pub name: String,
    pub failed_attempts: usize,
    pub message: String,
}

/// One result file read.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    pub path: String,
    pub producer: Producer,
    pub totals: Totals,
}

/// What happened to one configured test command.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "kebab-case")]
pub enum CommandState {
    /// Ran and left result files (its failures are in the totals).
    Ran {
        exit_code: Option<i32>,
        seconds: f64,
        result_files: Vec<String>,
    },
    /// Not run: the program is missing or there is nothing for it to test.
    Skipped { reason: String },
    /// Ran but its results cannot be trusted: no result file, or a failing exit code
    /// while the results show no failure. Fails the phase.
    Broken {
        exit_code: Option<i32>,
        seconds: f64,
        problem: String,
        /// The end of its output, for the report.
        output_tail: String,
    },
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CommandRun {
    pub name: String,
    pub command: String,
    #[serde(flatten)]
    pub state: CommandState,
}

/// The test phase's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TestRun {
    pub totals: Totals,
    pub failures: Vec<FailedTest>,
    pub slowest: Vec<SlowTest>,
    pub flaky: Vec<FlakyTest>,
    pub sources: Vec<Source>,
    pub commands: Vec<CommandRun>,
    /// Whether zero tests run fails the phase (config `test.fail_if_no_tests`).
    pub fail_if_no_tests: bool,
}

/// One readable line for an issue: nextest's message only says where it panicked,
/// so the first line of the panic text is used; XCTest's detailed message is the whole
/// log, so the `error:` line is used.
fn summary(message: Option<&str>, text: &str) -> String {
    let message = message.map(str::trim).unwrap_or("");
    // SwiftPM writes `message="failure"` unless asked for details.
    let vague = message.is_empty() || message == "failure";
    let lines = message.lines().chain(text.lines().filter(|_| vague));
    for l in lines {
        if let Some(rest) = error_line(l) {
            // XCTest repeats the test's name first: `-[Mod.Class testX] : XCTAssert...`
            // on macOS, `Class.testX : XCTAssert...` on Linux.
            let rest = match rest.split_once(" : ") {
                Some((who, msg)) if who.starts_with("-[") || !who.contains(' ') => msg,
                _ => rest,
            };
            return rest.trim().to_string();
        }
    }
    if !message.is_empty() && message.contains("panicked at ") {
        if let Some(rest) = text.trim_start().strip_prefix(message) {
            if let Some(first) = rest
                .trim_start_matches(':')
                .lines()
                .find(|l| !l.trim().is_empty())
            {
                return first.trim().to_string();
            }
        }
    }
    if !message.is_empty() {
        return message.to_string();
    }
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no message)")
        .to_string()
}

/// Keeps the last `max` bytes of `s` (on a char boundary).
fn tail(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut start = s.len() - max;
    while !s.is_char_boundary(start) {
        start += 1;
    }
    format!("[...]\n{}", &s[start..])
}

/// Failures beyond this many keep their messages and location but not their
/// tracebacks and output, so a run with thousands of failures stays small.
const DETAILED_FAILURES: usize = 100;
const SHORT_MESSAGE: usize = 1000;

/// Accumulates streamed test cases into a [`TestRun`].
#[derive(Debug)]
pub struct Collector {
    totals: Totals,
    failures: Vec<FailedTest>,
    /// The slowest tests so far, trimmed now and then to `slowest`.
    timed: Vec<SlowTest>,
    slowest: usize,
    flaky: Vec<FlakyTest>,
    sources: Vec<Source>,
    pub commands: Vec<CommandRun>,
}

impl Collector {
    pub fn new(slowest: usize) -> Self {
        Collector {
            totals: Totals::default(),
            failures: Vec::new(),
            timed: Vec::new(),
            slowest,
            flaky: Vec::new(),
            sources: Vec::new(),
            commands: Vec::new(),
        }
    }

    /// Streams one result file in; `base` is the folder its producer ran in, `shown`
    /// how the file is named in the report.
    pub fn ingest(
        &mut self,
        path: &Path,
        shown: &str,
        base: &Path,
        root: &Path,
    ) -> Result<Totals, JunitError> {
        let mut t = Totals::default();
        let file = junit::stream_file(path, &mut |case, producer| {
            self.add_case(&mut t, &case, producer, shown, base, root)
        })?;
        self.sources.push(Source {
            path: shown.to_string(),
            producer: file.producer,
            totals: t.clone(),
        });
        let all = &mut self.totals;
        all.tests += t.tests;
        all.passed += t.passed;
        all.failed += t.failed;
        all.errored += t.errored;
        all.skipped += t.skipped;
        all.flaky += t.flaky;
        all.time_seconds += t.time_seconds;
        Ok(t)
    }

    fn add_case(
        &mut self,
        t: &mut Totals,
        case: &TestCase,
        producer: Producer,
        source: &str,
        base: &Path,
        root: &Path,
    ) {
        let status = case.status();
        t.tests += 1;
        t.time_seconds += case.time.unwrap_or(0.0);
        match status {
            TestStatus::Passed => t.passed += 1,
            TestStatus::Failed => t.failed += 1,
            TestStatus::Errored => t.errored += 1,
            TestStatus::Skipped => t.skipped += 1,
        }
        let name = case.display_name();
        // Skipped tests did not run: their time says nothing about speed.
        if let Some(time) = case.time.filter(|_| status != TestStatus::Skipped) {
            self.timed.push(SlowTest {
                name: name.clone(),
                status,
                time_seconds: time,
            });
            if self.timed.len() > 2 * self.slowest + 256 {
                self.trim_slowest();
            }
        }
        let attempts = case.flaky_attempts();
        if status == TestStatus::Passed && attempts > 0 {
            t.flaky += 1;
            let first = case
                .issues
                .iter()
                .find(|i| matches!(i.kind, IssueKind::FlakyFailure | IssueKind::FlakyError));
            self.flaky.push(FlakyTest {
                name: name.clone(),
                failed_attempts: attempts,
                message: first
                    .map(|i| summary(i.message.as_deref(), &i.text))
                    .unwrap_or_default(),
            });
        }
        if matches!(status, TestStatus::Failed | TestStatus::Errored) {
            let mut f = failed_test(case, status, name, producer, source, base, root);
            if self.failures.len() >= DETAILED_FAILURES {
                f.details = String::new();
                f.output = String::new();
                f.details_omitted = true;
                for m in &mut f.messages {
                    if m.len() > SHORT_MESSAGE {
                        let mut end = SHORT_MESSAGE;
                        while !m.is_char_boundary(end) {
                            end -= 1;
                        }
                        m.truncate(end);
                        m.push('…');
                    }
                }
            }
            self.failures.push(f);
        }
    }

    /// Slowest first; equal times keep reading order (the sort is stable).
    fn trim_slowest(&mut self) {
        self.timed
            .sort_by(|a, b| b.time_seconds.total_cmp(&a.time_seconds));
        self.timed.truncate(self.slowest);
    }

    pub fn finish(mut self, fail_if_no_tests: bool) -> TestRun {
        self.trim_slowest();
        TestRun {
            totals: self.totals,
            failures: self.failures,
            slowest: self.timed,
            flaky: self.flaky,
            sources: self.sources,
            commands: self.commands,
            fail_if_no_tests,
        }
    }
}

fn failed_test(
    case: &TestCase,
    status: TestStatus,
    name: String,
    producer: Producer,
    source: &str,
    base: &Path,
    root: &Path,
) -> FailedTest {
    let wanted = if status == TestStatus::Failed {
        IssueKind::Failure
    } else {
        IssueKind::Error
    };
    let mut issues: Vec<_> = case.issues.iter().filter(|i| i.kind == wanted).collect();
    if issues.is_empty() {
        issues = case
            .issues
            .iter()
            .filter(|i| matches!(i.kind, IssueKind::RerunFailure | IssueKind::RerunError))
            .take(1)
            .collect();
    }
    let messages = issues
        .iter()
        .map(|i| summary(i.message.as_deref(), &i.text))
        .collect();
    let details = issues
        .iter()
        .map(|i| i.text.trim_end())
        .filter(|t| !t.is_empty())
        .collect::<Vec<_>>()
        .join("\n\n");
    let mut output = String::new();
    for (label, text) in [("stdout", &case.system_out), ("stderr", &case.system_err)] {
        if !text.trim().is_empty() {
            output.push_str(&format!(
                "--- captured {label} ---\n{}\n",
                tail(text.trim_end(), 4096)
            ));
        }
    }
    let location = locate(case, producer, base, root);
    FailedTest {
        name,
        status,
        file: location.as_ref().map(|l| l.file.clone()),
        line: location.and_then(|l| l.line),
        messages,
        details: tail(&details, 32 * 1024),
        output,
        time_seconds: case.time,
        source: source.to_string(),
        details_omitted: false,
    }
}

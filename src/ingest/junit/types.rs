//! The model of a JUnit/xUnit file as read: test cases with their status, issues
//! (failures, errors, skips, retries), captured output and properties.

use serde::{Deserialize, Serialize};
use std::path::PathBuf;
use std::sync::Arc;

/// What a test case ended as.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    Passed,
    Failed,
    Errored,
    Skipped,
}

/// A child element of `<testcase>` that says something went wrong (or was skipped).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum IssueKind {
    Failure,
    Error,
    Skipped,
    /// nextest / Surefire: an attempt that failed before a retry passed.
    FlakyFailure,
    FlakyError,
    /// nextest / Surefire: a retry that failed again (the test still failed).
    RerunFailure,
    RerunError,
}

impl IssueKind {
    pub(super) fn from_tag(tag: &[u8]) -> Option<IssueKind> {
        Some(match tag {
            b"failure" => IssueKind::Failure,
            b"error" => IssueKind::Error,
            b"skipped" => IssueKind::Skipped,
            b"flakyFailure" => IssueKind::FlakyFailure,
            b"flakyError" => IssueKind::FlakyError,
            b"rerunFailure" => IssueKind::RerunFailure,
            b"rerunError" => IssueKind::RerunError,
            _ => return None,
        })
    }
}

/// One `<failure>`, `<error>`, `<skipped>`, ... element.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Issue {
    pub kind: IssueKind,
    /// The `message` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    /// The `type` attribute (`pytest.skip`, `test failure with exit code 101`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none", rename = "type")]
    pub kind_name: Option<String>,
    /// The element's text (a traceback, a panic message), capped.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub text: String,
}

/// One `<testcase>`, as written.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TestCase {
    /// Names of the enclosing `<testsuite>` elements, outermost first (shared by the
    /// cases of a suite, so deep suites cost nothing per case).
    pub suite: Arc<[String]>,
    pub classname: String,
    pub name: String,
    /// Seconds, from the `time` attribute.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time: Option<f64>,
    /// `file` / `line` attributes, when the producer writes them (pytest xunit1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    pub issues: Vec<Issue>,
    /// `<system-out>` / `<system-err>` of the test case itself (not of its retries).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system_out: String,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub system_err: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<(String, String)>,
}

impl TestCase {
    /// The name shown for a test: `classname::name`.
    pub fn display_name(&self) -> String {
        match (self.classname.is_empty(), self.name.is_empty()) {
            (false, true) => self.classname.clone(),
            (true, true) => "(unnamed test)".to_string(),
            (true, false) => self.name.clone(),
            (false, false) => format!("{}::{}", self.classname, self.name),
        }
    }

    /// A failure beats an error beats a skip; a test whose only problems are flaky
    /// attempts passed.
    pub fn status(&self) -> TestStatus {
        let has = |k: IssueKind| self.issues.iter().any(|i| i.kind == k);
        if has(IssueKind::Failure) {
            TestStatus::Failed
        } else if has(IssueKind::Error) {
            TestStatus::Errored
        } else if has(IssueKind::Skipped) {
            TestStatus::Skipped
        } else if has(IssueKind::RerunFailure) || has(IssueKind::RerunError) {
            // Some writers record the final failure only as a rerun: still a failure.
            TestStatus::Failed
        } else {
            TestStatus::Passed
        }
    }

    /// Failed attempts before the final (passing) one.
    pub fn flaky_attempts(&self) -> usize {
        self.issues
            .iter()
            .filter(|i| matches!(i.kind, IssueKind::FlakyFailure | IssueKind::FlakyError))
            .count()
    }
}

/// Which tool wrote the file, guessed from the suite names each one uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Producer {
    Pytest,
    Nextest,
    /// SwiftPM's XCTest writer or Swift Testing (both name their suite `TestResults`).
    Swift,
    Unknown,
}

/// Everything read from one file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JunitFile {
    pub path: PathBuf,
    pub producer: Producer,
    pub cases: Vec<TestCase>,
    /// `<property>` elements of the suites (e.g. SwiftPM's `package`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub properties: Vec<(String, String)>,
}

//! The `test` section of `.github/htdemucs-devops.yml`: the test commands, the result
//! files they write, and when the phase fails.

use serde::Deserialize;
use std::path::PathBuf;

/// One test command and the result files it writes. In `command` and `junit`,
/// `{out_dir}` stands for the output folder (absolute).
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TestCommand {
    /// Shown in the report; defaults to the program name.
    pub name: String,
    pub command: Vec<String>,
    /// JUnit/xUnit files (or globs) the command writes, relative to its folder.
    pub junit: Vec<String>,
    /// Fail (exit 2) when the program is not installed or there is nothing to test,
    /// instead of a notice.
    pub required: bool,
    pub working_directory: Option<PathBuf>,
    /// Globs (relative to the command's folder, `**` allowed); when given, the command
    /// runs only if one matches: "is there anything for it to test?"
    pub if_present: Vec<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TestConfig {
    /// The test commands to run; when absent, `swift test` and `pytest` defaults.
    pub commands: Option<Vec<TestCommand>>,
    /// Exit 1 when no test ran at all.
    pub fail_if_no_tests: bool,
    /// How many of the slowest tests to list.
    pub slowest: usize,
}

impl Default for TestConfig {
    fn default() -> Self {
        TestConfig {
            commands: None,
            fail_if_no_tests: true,
            slowest: 5,
        }
    }
}

//! The `lint` section of `.github/htdemucs-devops.yml`: which linters run and whether
//! warnings fail the phase.

use serde::Deserialize;
use std::path::PathBuf;

/// One linter. Built-in names (`swiftformat`, `swiftlint`, `ruff-check`, `ruff-format`)
/// bring their own command, fix command and parser; any other name needs `command` and
/// `format`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LintTool {
    pub name: String,
    /// Fail the phase (exit 2) when the tool is not installed, instead of a notice.
    pub required: bool,
    /// Overrides the built-in command line (argv, no shell).
    pub command: Option<Vec<String>>,
    /// Overrides the built-in fix command line (used by `lint --fix`).
    pub fix_command: Option<Vec<String>>,
    /// Parser for the tool's output: `ruff-json`, `ruff-format`, `swiftlint-json`,
    /// `swiftformat`, `generic` (`file:line:col: severity: message`).
    pub format: Option<crate::ingest::diagnostic::Format>,
    /// Folder to run in, relative to the root.
    pub working_directory: Option<PathBuf>,
}

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct LintConfig {
    /// The linters to run; when absent, the four defaults.
    pub tools: Option<Vec<LintTool>>,
    /// Warnings fail the phase too.
    pub fail_on_warnings: bool,
}

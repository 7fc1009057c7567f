//! Helpers shared by the integration tests: a hermetic command for our binary and
//! temporary workspaces.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the built `htdemucs-devops` binary.
pub fn bin_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_htdemucs-devops"))
}

/// A command for our binary with every CI/GitHub variable removed, so a test decides
/// exactly where the binary thinks it runs (the test suite itself may run in CI).
pub fn bin() -> Command {
    let mut cmd = Command::new(bin_path());
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_")
            || k.starts_with("RUNNER_")
            || k == "CI"
            || k == "ACT"
            || k == "NO_COLOR"
            || k == "HTDEMUCS_DEVOPS_CONFIG"
        {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Same as [`bin`], set up as a GitHub Actions step with summary and output files in `dir`.
pub fn bin_in_actions(dir: &Path) -> Command {
    let mut cmd = bin();
    cmd.env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_WORKSPACE", dir)
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("GITHUB_OUTPUT", dir.join("output.txt"));
    cmd
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and returns output, panicking with context if the binary could not start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd))
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

pub fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Directory of committed fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every line of `stdout` that GitHub would read as a workflow command (`::name...::`),
/// skipping what lies between `::stop-commands::TOKEN` and `::TOKEN::`.
pub fn workflow_commands(stdout: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stopped: Option<String> = None;
    for line in stdout.lines() {
        if let Some(tok) = &stopped {
            if line == format!("::{tok}::") {
                stopped = None;
            }
            continue;
        }
        if let Some(tok) = line.strip_prefix("::stop-commands::") {
            stopped = Some(tok.to_string());
            out.push(line.to_string());
            continue;
        }
        if line.starts_with("::") && line[2..].contains("::") {
            out.push(line.to_string());
        }
    }
    out
}

/// Runs git in `dir` with a fixed identity, failing the test when git fails; returns
/// trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "seed")
        .env("GIT_AUTHOR_EMAIL", "seed@example.com")
        .env("GIT_COMMITTER_NAME", "seed")
        .env("GIT_COMMITTER_EMAIL", "seed@example.com")
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

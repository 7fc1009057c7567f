//! Helpers for the `report` scenarios: the report step as a workflow runs it against the
//! fake GitHub, and the checks every scenario ends with (one comment of ours with the
//! latest content, no token in any output).
#![allow(dead_code)]

use crate::common::*;
use crate::report_server::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const MARKER: &str = "<!-- htdemucs-devops:comment:report -->";

pub fn ok_reports() -> PathBuf {
    fixtures().join("report/ok")
}

pub fn pr_event(dir: &Path, head_repo: &str) -> PathBuf {
    let path = dir.join("event.json");
    let event = json!({"number": PR, "pull_request": {"number": PR,
        "head": {"sha": "feedface", "repo": {"full_name": head_repo}},
        "base": {"sha": "base", "repo": {"full_name": REPO}}}});
    write(&path, &event.to_string());
    path
}

/// The report step as a workflow runs it on a same-repo pull request.
pub fn report_cmd(dir: &Path, gh: &FakeGitHub, reports: &Path) -> Command {
    let mut cmd = bin_in_actions(dir);
    cmd.env("GITHUB_API_URL", &gh.url)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", pr_event(dir, REPO))
        .env("GITHUB_SHA", "mergesha")
        .env("GITHUB_RUN_ID", "42")
        .env("HTDEMUCS_DEVOPS_RETRY_BASE_MS", "1")
        .arg("report")
        .arg("--reports")
        .arg(reports)
        .arg("--out-dir")
        .arg(dir.join("out"))
        .current_dir(dir);
    cmd
}

/// The token only ever appears inside the `::add-mask::` command the runner swallows.
pub fn assert_no_token(out: &Output) {
    let so = stdout(out);
    let visible: Vec<&str> = so
        .lines()
        .filter(|l| !l.starts_with("::add-mask::"))
        .collect();
    assert!(
        !visible.join("\n").contains(TOKEN),
        "token in stdout:\n{so}"
    );
    assert!(!stderr(out).contains(TOKEN), "token in stderr");
    for l in so.lines().filter(|l| l.starts_with("::add-mask::")) {
        assert_eq!(l, format!("::add-mask::{TOKEN}"));
    }
}

/// Exactly one comment of ours, holding what this run wrote to comment.md.
pub fn assert_one_latest(gh: &FakeGitHub, dir: &Path) -> String {
    let ours = gh.marked(MARKER);
    assert_eq!(
        ours.len(),
        1,
        "comments of ours: {ours:#?}\nlog: {:#?}",
        gh.log()
    );
    let expected = std::fs::read_to_string(dir.join("out/comment.md")).unwrap();
    assert!(
        ours[0].body == expected,
        "the PR comment differs from comment.md"
    );
    assert!(
        ours[0].body.contains("freq\\_branch"),
        "not the latest content"
    );
    assert!(gh.count("GET /user") <= 1, "asks who it is once at most");
    assert_no_token_in_files(dir);
    assert_eq!(gh.with(|s| s.unauthorized), 0);
    ours[0].body.clone()
}

pub fn outputs(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("output.txt")).unwrap()
}

pub fn output_value(dir: &Path, name: &str) -> Option<String> {
    let text = outputs(dir);
    let mut lines = text.lines();
    while let Some(l) = lines.next() {
        if let Some(delim) = l.strip_prefix(&format!("{name}<<")) {
            let mut value = Vec::new();
            for v in lines.by_ref() {
                if v == delim {
                    return Some(value.join("\n"));
                }
                value.push(v);
            }
        }
    }
    None
}

/// Runs the binary and checks that the token is nowhere in its output.
pub fn run_report(cmd: &mut Command) -> Output {
    let out = run(cmd);
    assert_no_token(&out);
    out
}

/// No file the step wrote (outputs, summary, reports) holds the token.
pub fn assert_no_token_in_files(dir: &Path) {
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            assert_no_token_in_files(&path);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            assert!(!text.contains(TOKEN), "token in {}", path.display());
        }
    }
}

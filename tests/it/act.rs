//! act (`ACT=true`): the action run as act runs it — a local binary instead of a
//! download, workflow commands still emitted, and no call to the GitHub API.

use crate::common::*;
use crate::composite::*;
use crate::release_host::{fake_binary, ReleaseServer};
use std::collections::HashMap;
use std::path::Path;

#[test]
fn under_act_a_real_phase_annotates_sets_outputs_and_calls_no_api() {
    let dir = tempdir();
    let ws = dir.path();
    // Anything that reached "GitHub" would be recorded here.
    let api = ReleaseServer::start(HashMap::new());
    write(&ws.join("src/a.py"), "import os\n\n\nx = 1\n");
    write(
        &ws.join("reports/gen.txt"),
        "src/a.py:3:1: error: bad thing %0A::set-output name=x::y ::error::forged\n",
    );
    let r = run_action(
        ws,
        &[
            ("phase", "lint"),
            ("binary-path", bin_path().to_str().unwrap()),
            ("args", "--report generic=reports/gen.txt"),
        ],
        &[
            ("ACT", "true"),
            ("GITHUB_API_URL", &api.base),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_EVENT_NAME", "pull_request"),
        ],
    );
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    let cmds = workflow_commands(&r.stdout);
    let errors: Vec<&String> = cmds.iter().filter(|c| c.starts_with("::error")).collect();
    assert_eq!(errors.len(), 1, "{cmds:?}");
    assert!(
        errors[0].starts_with("::error file=src/a.py,line=3"),
        "{errors:?}"
    );
    assert!(errors[0].contains("%250A::set-output"), "{errors:?}");
    assert!(!cmds
        .iter()
        .any(|c| c.starts_with("::set-output") || c == "::error::forged"));
    assert_eq!(api.request_count(), 0, "{:?}", api.requests);
    // The phase's outputs come back out of the action.
    let report = ws.join(".htdemucs-devops/lint.json");
    assert!(report.is_file());
    assert_eq!(r.outputs["status"], "failed", "{:?}", r.outputs);
    assert_eq!(Path::new(&r.outputs["report-path"]), report);
}

#[test]
fn under_act_the_report_phase_writes_the_comment_instead_of_calling_github() {
    let dir = tempdir();
    let ws = dir.path();
    let api = ReleaseServer::start(HashMap::new());
    write(
        &ws.join("reports/gen.txt"),
        "src/a.py:3:1: error: bad thing\n",
    );
    write(
        &ws.join("event.json"),
        r#"{"pull_request": {"number": 7, "head": {"sha": "abc123"}}}"#,
    );
    let bin = bin_path();
    let event = ws.join("event.json");
    let job_env = [
        ("ACT", "true"),
        ("GITHUB_API_URL", api.base.as_str()),
        ("GITHUB_REPOSITORY", "o/r"),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
    ];
    // The lint job, then the report job, both through the action, as `act` runs them.
    let lint = run_action(
        ws,
        &[
            ("phase", "lint"),
            ("binary-path", bin.to_str().unwrap()),
            ("args", "--report generic=reports/gen.txt"),
        ],
        &job_env,
    );
    assert_eq!(lint.code, Some(1), "{}{}", lint.stdout, lint.stderr);
    let report = run_action(
        ws,
        &[
            ("phase", "report"),
            ("binary-path", bin.to_str().unwrap()),
            ("github-token", "ghs_secret_token_value"),
            ("args", "--reports .htdemucs-devops"),
        ],
        &job_env,
    );
    assert_eq!(report.code, Some(1), "{}{}", report.stdout, report.stderr);
    assert_eq!(api.request_count(), 0, "{:?}", api.requests);
    let comment = std::fs::read_to_string(ws.join(".htdemucs-devops/comment.md"))
        .unwrap_or_else(|e| panic!("comment.md: {e}"));
    assert!(comment.contains("lint"), "{comment}");
    assert!(
        report.stdout.contains("running under act"),
        "{}",
        report.stdout
    );
    assert_eq!(report.outputs["verdict"], "failed", "{:?}", report.outputs);
    assert_eq!(report.outputs["comment-url"], "");
    // The token is masked, never printed in clear.
    let leaked = report
        .stdout
        .lines()
        .chain(report.stderr.lines())
        .filter(|l| !l.starts_with("::add-mask::"))
        .any(|l| l.contains("ghs_secret_token_value"));
    assert!(!leaked);
}

#[test]
fn act_env_binary_is_used_when_the_workflow_sets_no_binary_path() {
    // `act --env HTDEMUCS_DEVOPS_BINARY=...`: a consumer workflow without binary-path still
    // runs a local build, and nothing is downloaded.
    let dir = tempdir();
    let ws = dir.path();
    let server = ReleaseServer::start(HashMap::new());
    let bins = fake_binary(&ws.join(".bin-build"), "local build");
    let rel = bins
        .join("htdemucs-devops")
        .strip_prefix(ws)
        .map(|p| p.display().to_string())
        .unwrap();
    let r = run_action(
        ws,
        &[("phase", "test")],
        &[
            ("ACT", "true"),
            ("HTDEMUCS_DEVOPS_BINARY", &rel),
            ("HTDEMUCS_DEVOPS_DOWNLOAD_BASE", &server.base),
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.stdout.contains("local build test"), "{}", r.stdout);
    assert_eq!(server.request_count(), 0);
}

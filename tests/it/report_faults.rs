//! GitHub faults `report` must report as what they are: a rate limit that never lifts
//! (exit 2, "rate limited", not a missing permission), a create that keeps failing with
//! 5xx (retried with growing waits, reported with the real status), the reason of an
//! exit 2 after GitHub's per-step error annotations ran out, and Dependabot runs, which
//! try to post and fall back only when GitHub actually refuses.

use crate::common::*;
use crate::report_helpers::*;
use crate::report_server::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

fn error_lines(so: &str) -> Vec<String> {
    workflow_commands(so)
        .into_iter()
        .filter(|c| c.starts_with("::error"))
        .collect()
}

#[test]
fn a_rate_limit_that_never_lifts_is_reported_as_one_and_exits_2() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| {
        let mut f = Fault::new(
            "GET",
            "/issues/1/comments",
            403,
            r#"{"message":"You have exceeded a secondary rate limit."}"#,
        )
        .header("Retry-After", "1");
        f.times = 50;
        s.faults.push_back(f);
    });
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{so}");
    let errors = error_lines(&so);
    assert!(
        errors.iter().any(|e| e.contains("rate limited by GitHub")),
        "{errors:#?}"
    );
    assert!(!so.contains("pull-requests: read"), "{so}");
    // Five tries of the list, then nothing more is sent into the same limit.
    assert_eq!(gh.count("GET /repos/o/r/issues/1/comments"), 5);
    assert_eq!(gh.count("POST /repos/o/r/check-runs"), 0);
    assert_eq!(output_value(dir.path(), "comment-url").as_deref(), Some(""));
}

#[test]
fn a_create_that_keeps_failing_backs_off_and_reports_the_real_status() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| {
        let mut f = Fault::new(
            "POST",
            "/issues/1/comments",
            502,
            "<html>Bad Gateway</html>",
        );
        f.times = 50;
        s.faults.push_back(f);
    });
    let base_ms = 40u128;
    let out = run_report(
        report_cmd(dir.path(), &gh, &ok_reports())
            .env("HTDEMUCS_DEVOPS_RETRY_BASE_MS", base_ms.to_string()),
    );
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{so}");
    let errors = error_lines(&so);
    assert!(
        errors
            .iter()
            .any(|e| e.contains("creating the PR comment: GitHub answered 502")),
        "{errors:#?}"
    );
    assert!(!so.contains("answered 0"), "{so}");
    // Each failed create is followed by a look at the list, then a doubling wait.
    let posts: Vec<std::time::Instant> = gh.with(|s| {
        s.log
            .iter()
            .zip(&s.stamps)
            .filter(|(l, _)| l.starts_with("POST /repos/o/r/issues/1/comments"))
            .map(|(_, t)| *t)
            .collect()
    });
    assert_eq!(posts.len(), 5, "{:#?}", gh.log());
    for (i, pair) in posts.windows(2).enumerate() {
        let gap = pair[1].duration_since(pair[0]).as_millis();
        assert!(
            gap >= base_ms << i,
            "wait {i} was {gap} ms, expected at least {}",
            base_ms << i
        );
    }
    assert!(gh.marked(MARKER).is_empty());
}

/// The good reports with a lint report of `errors` error annotations and a broken
/// test report (so the step exits 2).
fn many_errors_and_a_broken_report(dir: &Path, errors: usize) -> PathBuf {
    let reports = dir.join("reports");
    for f in ["parity.json", "benchmark.json"] {
        let text = std::fs::read_to_string(ok_reports().join(f)).unwrap();
        write(&reports.join(f), &text);
    }
    let text = std::fs::read_to_string(ok_reports().join("lint.json")).unwrap();
    let mut lint: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    lint["status"] = json!("failed");
    lint["annotations"] = (0..errors)
        .map(|i| json!({"level": "error", "file": "Sources/A.swift", "line": i + 1, "message": format!("finding {i}")}))
        .collect();
    write(&reports.join("lint.json"), &lint.to_string());
    write(
        &reports.join("test.json"),
        "{\"schema\": \"htdemucs-devops/phase",
    );
    reports
}

#[test]
fn the_reason_of_an_exit_2_survives_the_per_step_error_cap() {
    let dir = tempdir();
    let reports = many_errors_and_a_broken_report(dir.path(), 14);
    // No token: the annotations go to the log, as workflow commands.
    let out = run(bin_in_actions(dir.path())
        .arg("report")
        .arg("--reports")
        .arg(&reports)
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .current_dir(dir.path()));
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{so}");
    let errors = error_lines(&so);
    assert!(errors.len() <= 10, "GitHub shows 10 per step: {errors:#?}");
    let last = errors.last().cloned().unwrap();
    assert!(
        last.contains("test.json") && last.contains("could not be used"),
        "{errors:#?}"
    );
    assert!(errors.iter().filter(|e| e.contains("finding")).count() == 9);
    assert!(so.contains("5 more errors"), "{so}");
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("could not do its job") && summary.contains("test.json"),
        "{summary}"
    );
}

#[test]
fn dependabot_runs_try_to_comment() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let out = run_report(
        report_cmd(dir.path(), &gh, &ok_reports()).env("GITHUB_ACTOR", "dependabot[bot]"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_one_latest(&gh, dir.path());
    assert_eq!(gh.with(|s| s.check_runs.len()), 4);
}

#[test]
fn dependabot_falls_back_only_on_an_actual_refusal() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| {
        s.comments_forbidden = true;
        s.checks_forbidden = true;
    });
    let out = run_report(
        report_cmd(dir.path(), &gh, &ok_reports()).env("GITHUB_ACTOR", "dependabot[bot]"),
    );
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(0), "{so}");
    assert_eq!(gh.count("POST /repos/o/r/issues/1/comments"), 1);
    let cmds = workflow_commands(&so);
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("::warning::") && c.contains("Dependabot")),
        "{cmds:#?}"
    );
    // The check runs were refused too: the annotations are in the log.
    assert!(cmds.iter().any(|c| c.starts_with("::warning file=Sources")));
}

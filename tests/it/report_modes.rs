//! `htdemucs-devops report` where it may not or cannot post: missing permissions, fork
//! PRs (Dependabot's are in `report_faults`), the two-workflow `workflow_run` pattern,
//! act, no token, a server that echoes the token, and bad input.

use crate::common::*;
use crate::report_helpers::*;
use crate::report_server::*;
use serde_json::{json, Value};
use std::path::Path;

#[test]
fn missing_checks_permission_falls_back_to_log_annotations() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| s.checks_forbidden = true);
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_one_latest(&gh, dir.path());
    let cmds = workflow_commands(&stdout(&out));
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("::notice::") && c.contains("`checks: write`")),
        "{cmds:#?}"
    );
    assert!(
        cmds.iter()
            .filter(|c| c.starts_with("::warning file=Sources"))
            .count()
            >= 9,
        "{cmds:#?}"
    );
    assert_eq!(
        gh.count("POST /repos/o/r/check-runs"),
        1,
        "stops after the first 403"
    );
}

#[test]
fn missing_pull_requests_permission_warns_and_does_not_fail() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| s.comments_forbidden = true);
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let cmds = workflow_commands(&stdout(&out));
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("::warning::") && c.contains("`pull-requests: write`")),
        "{cmds:#?}"
    );
    assert_eq!(gh.marked(MARKER).len(), 0);
    assert_eq!(output_value(dir.path(), "comment-url").as_deref(), Some(""));
}

#[test]
fn fork_pull_request_posts_nothing_and_leaves_the_pr_number() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let mut cmd = report_cmd(dir.path(), &gh, &ok_reports());
    cmd.env("GITHUB_EVENT_PATH", pr_event(dir.path(), "someone/r"));
    let out = run_report(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(gh.log().is_empty(), "{:#?}", gh.log());
    let cmds = workflow_commands(&stdout(&out));
    assert!(
        cmds.iter().any(|c| c.starts_with("::notice::")
            && c.contains("fork")
            && c.contains("workflow_run")),
        "{cmds:#?}"
    );
    assert!(cmds.iter().any(|c| c.starts_with("::warning file=Sources")));
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(summary.contains("### ⚠️ benchmark"));
    let pr: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/pull-request.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(pr, json!({"number": 1, "head_sha": "feedface"}));
}

#[test]
fn fork_pr_then_workflow_run_posts_the_comment_after_checking_the_pr() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    // Workflow 1 (pull_request from a fork): artifacts downloaded into the output
    // folder, one folder per artifact, as actions/download-artifact does.
    let out_dir = dir.path().join("out");
    for f in ["lint", "test", "parity", "benchmark"] {
        let text = std::fs::read_to_string(ok_reports().join(format!("{f}.json"))).unwrap();
        write(&out_dir.join(format!("phase-{f}/{f}.json")), &text);
    }
    let mut first = report_cmd(dir.path(), &gh, &out_dir);
    first.env("GITHUB_EVENT_PATH", pr_event(dir.path(), "someone/r"));
    let out = run_report(&mut first);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(gh.log().is_empty());
    assert!(out_dir.join("pull-request.json").is_file());

    // Workflow 2 (workflow_run, base repository, may write): the same folder.
    let event = dir.path().join("wr.json");
    write(
        &event,
        r#"{"workflow_run": {"head_sha": "feedface", "pull_requests": [], "html_url": "https://github.com/o/r/actions/runs/41"}}"#,
    );
    let mut second = report_cmd(dir.path(), &gh, &out_dir);
    second
        .env("GITHUB_EVENT_NAME", "workflow_run")
        .env("GITHUB_EVENT_PATH", &event);
    let out = run_report(&mut second);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let body = assert_one_latest(&gh, dir.path());
    assert_eq!(gh.count("GET /repos/o/r/pulls/1"), 1);
    // Links point at the CI run that produced the results.
    assert!(
        body.contains("(https://github.com/o/r/actions/runs/41)"),
        "{body}"
    );
    assert_eq!(gh.with(|s| s.check_runs.len()), 4);

    // An artifact naming a PR whose head is another commit is not trusted.
    let gh2 = FakeGitHub::start();
    gh2.with(|s| s.pr_head_sha = "0ther".into());
    let mut cmd = report_cmd(dir.path(), &gh2, &out_dir);
    cmd.env("GITHUB_EVENT_NAME", "workflow_run")
        .env("GITHUB_EVENT_PATH", &event);
    let out = run_report(&mut cmd);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(gh2.marked(MARKER).len(), 0);
    assert!(stdout(&out).contains("not commenting"), "{}", stdout(&out));
}

#[test]
fn example_workflows_use_the_safe_two_workflow_pattern() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/workflows");
    let load = |name: &str| -> (String, Value) {
        let text =
            std::fs::read_to_string(root.join(name)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let yaml: Value = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        (text, yaml)
    };
    let (ci_text, ci) = load("ci.yml");
    let (pc_text, pc) = load("pr-comment.yml");
    for (name, text) in [("ci.yml", &ci_text), ("pr-comment.yml", &pc_text)] {
        let code: String = text
            .lines()
            .filter(|l| !l.trim_start().starts_with('#'))
            .collect();
        assert!(
            !code.contains("pull_request_target"),
            "{name} must not use pull_request_target"
        );
    }
    assert_eq!(
        pc["on"]["workflow_run"]["workflows"],
        json!([ci["name"].clone()])
    );
    let job = &pc["jobs"]["comment"];
    assert_eq!(job["permissions"]["pull-requests"], "write");
    assert_eq!(job["permissions"]["checks"], "write");
    let steps = job["steps"]
        .as_array()
        .cloned()
        .expect("the comment job has steps");
    assert!(
        steps.iter().all(|s| !s["uses"]
            .as_str()
            .unwrap_or("")
            .starts_with("actions/checkout")),
        "the privileged workflow must not check out the PR's code"
    );
    let download = &steps[0]["with"];
    assert_eq!(download["run-id"], "${{ github.event.workflow_run.id }}");
    // The artifact CI uploads is the one the comment workflow downloads.
    let ci_steps = ci["jobs"]["report"]["steps"].as_array().cloned().unwrap();
    assert!(ci_steps
        .iter()
        .any(|s| s["with"]["name"] == download["name"]));
    assert_eq!(ci["permissions"], json!({"contents": "read"}));
}

#[test]
fn under_act_everything_goes_to_files() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let out = run_report(report_cmd(dir.path(), &gh, &ok_reports()).env("ACT", "true"));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(gh.log().is_empty());
    let comment = dir.path().join("out/comment.md");
    assert!(std::fs::read_to_string(&comment)
        .unwrap()
        .starts_with(MARKER));
    let run_file = dir
        .path()
        .join("out/check-runs/htdemucs-devops___lint.json");
    let check: Value = serde_json::from_str(&std::fs::read_to_string(&run_file).unwrap()).unwrap();
    assert_eq!(check["annotations"].as_array().map(Vec::len), Some(120));
    assert_eq!(check["conclusion"], "neutral");
    let so = stdout(&out);
    assert!(
        so.contains("running under act") && so.contains(&comment.display().to_string()),
        "{so}"
    );
}

#[test]
fn without_a_token_locally_the_paths_are_printed() {
    let dir = tempdir();
    let out = run_report(
        bin()
            .args(["report", "--reports"])
            .arg(ok_reports())
            .arg("--out-dir")
            .arg(dir.path().join("out"))
            .current_dir(dir.path()),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("4 phases passed, with warnings in lint, benchmark"));
    assert!(stderr(&out).contains("no GITHUB_TOKEN"), "{}", stderr(&out));
    assert!(dir.path().join("out/comment.md").is_file());
    assert!(dir
        .path()
        .join("out/check-runs/htdemucs-devops___parity.json")
        .is_file());
}

#[test]
fn a_server_echoing_the_token_cannot_leak_it() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let echo = format!(r#"{{"message":"proxy error for Authorization: Bearer {TOKEN}"}}"#);
    gh.with(|s| {
        let mut f = Fault::new("GET", "/issues/1/comments", 500, &echo);
        f.times = 50;
        s.faults.push_back(f);
    });
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    // GitHub stayed broken: the tool could not do its job.
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let so = stdout(&out);
    assert!(so.contains("Bearer ***"), "{so}");
    assert_eq!(
        gh.count("GET /repos/o/r/issues/1/comments"),
        5,
        "5 attempts"
    );
    // Everything that does not need GitHub is still there.
    assert!(dir.path().join("out/report.md").is_file());
    assert_eq!(
        output_value(dir.path(), "verdict").as_deref(),
        Some("warned")
    );
}

#[test]
fn bad_reports_folder_is_a_clear_error() {
    let dir = tempdir();
    let out = run_report(
        bin()
            .args(["report", "--reports"])
            .arg(dir.path().join("nope"))
            .current_dir(dir.path()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));

    write(&dir.path().join("r/other.json"), "{}");
    let out = run_report(
        bin()
            .args(["report", "--reports"])
            .arg(dir.path().join("r"))
            .current_dir(dir.path()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no phase reports in"),
        "{}",
        stderr(&out)
    );

    write(
        &dir.path().join("r/lint.json"),
        r#"{"schema": "htdemucs-devops/phase-report/v1", "phase": 3}"#,
    );
    let out = run_report(
        bin()
            .args(["report", "--reports"])
            .arg(dir.path().join("r"))
            .current_dir(dir.path()),
    );
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("lint.json: it is not a phase report"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_real_lint_report_becomes_a_section_and_a_check_run() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let f = fixtures();
    let reports = dir.path().join("phase-lint");
    let lint = run(bin()
        .arg("lint")
        .arg("--root")
        .arg(f.join("ruff/project"))
        .arg(format!(
            "--report=ruff={}",
            f.join("ruff/check.json").display()
        ))
        .arg(format!(
            "--report=swiftlint={}",
            f.join("swiftlint/swiftlint.json").display()
        ))
        .arg("--out-dir")
        .arg(&reports));
    assert_eq!(lint.status.code(), Some(1), "{}", stderr(&lint));
    let envelope: Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("lint.json")).unwrap()).unwrap();
    let placed = envelope["annotations"]
        .as_array()
        .map_or(0, |a| a.iter().filter(|x| x.get("file").is_some()).count());
    assert!(placed > 0);

    let out = run_report(&mut report_cmd(dir.path(), &gh, &reports));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let ours = gh.marked(MARKER);
    assert_eq!(ours.len(), 1);
    assert!(ours[0].body.contains("❌ 1 of 1 phase failed: lint"));
    // The phase's own Markdown (below its top heading, which ours replaces) is there.
    let md = envelope["markdown"].as_str().unwrap();
    let first = md
        .lines()
        .filter(|l| !l.trim().is_empty())
        .find(|l| !l.starts_with('#'))
        .unwrap_or("?");
    assert!(ours[0].body.contains(first), "{first}");
    let runs = gh.with(|s| s.check_runs.clone());
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["conclusion"], "failure");
    assert_eq!(gh.with(|s| s.annotation_batches.clone()), vec![placed]);
    assert_eq!(
        output_value(dir.path(), "verdict").as_deref(),
        Some("failed")
    );
}

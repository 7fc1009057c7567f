//! `htdemucs-devops report` against a fake GitHub API: the sticky comment (paging,
//! retries, races, size limits), check runs, forks, act and no-token runs, outputs.
//! After every scenario the PR holds exactly one comment of ours with the latest
//! content, and the token appears in no output.

use crate::common::*;
use crate::report_server::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const MARKER: &str = "<!-- htdemucs-devops:comment:report -->";

fn ok_reports() -> PathBuf {
    fixtures().join("report/ok")
}

fn pr_event(dir: &Path, head_repo: &str) -> PathBuf {
    let path = dir.join("event.json");
    let event = json!({"number": PR, "pull_request": {"number": PR,
        "head": {"sha": "feedface", "repo": {"full_name": head_repo}},
        "base": {"sha": "base", "repo": {"full_name": REPO}}}});
    write(&path, &event.to_string());
    path
}

/// The report step as a workflow runs it on a same-repo pull request.
fn report_cmd(dir: &Path, gh: &FakeGitHub, reports: &Path) -> Command {
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
fn assert_no_token(out: &Output) {
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
fn assert_one_latest(gh: &FakeGitHub, dir: &Path) -> String {
    let ours = gh.marked(MARKER);
    assert_eq!(
        ours.len(),
        1,
        "comments of ours: {ours:#?}\nlog: {:#?}",
        gh.log()
    );
    let expected = std::fs::read_to_string(dir.join("out/comment.md")).unwrap_or_default();
    assert!(
        ours[0].body == expected,
        "the PR comment differs from comment.md"
    );
    assert!(
        ours[0].body.contains("freq\\_branch"),
        "not the latest content"
    );
    assert_eq!(gh.count("GET /user"), 0, "must not depend on GET /user");
    assert_eq!(gh.with(|s| s.unauthorized), 0);
    ours[0].body.clone()
}

fn outputs(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("output.txt")).unwrap_or_default()
}

fn output_value(dir: &Path, name: &str) -> Option<String> {
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

#[test]
fn marker_on_page_three_is_found_and_edited() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| s.page_cap = 10);
    for i in 0..22 {
        gh.add_comment(&format!("review comment {i}"), "alice");
    }
    let id = gh.add_comment(&format!("{MARKER}\nold results"), BOT);
    for i in 0..4 {
        gh.add_comment(&format!("later comment {i}"), "bob");
    }
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert_no_token(&out);
    assert_one_latest(&gh, dir.path());
    assert_eq!(gh.marked(MARKER)[0].id, id);
    let log = gh.log();
    // Pages 2 and 3 were fetched through the Link header (the /repositories/<id> form).
    assert!(
        log.iter()
            .any(|l| l.starts_with("GET /repositories/123/issues/1/comments")
                && l.contains("page=3")),
        "{log:#?}"
    );
    assert_eq!(gh.count("POST /repos/o/r/issues/1/comments"), 0);
    assert_eq!(
        gh.count(&format!("PATCH /repos/o/r/issues/comments/{id}")),
        1
    );
    assert_eq!(gh.with(|s| s.comments.len()), 27);
    // Outputs for later steps.
    assert_eq!(
        output_value(dir.path(), "verdict").as_deref(),
        Some("warned")
    );
    assert_eq!(
        output_value(dir.path(), "regressions").as_deref(),
        Some("1")
    );
    assert_eq!(
        output_value(dir.path(), "parity-passed").as_deref(),
        Some("true")
    );
    let url = output_value(dir.path(), "comment-url").unwrap_or_default();
    assert!(url.ends_with(&format!("#issuecomment-{id}")), "{url}");
    let report = output_value(dir.path(), "report-path").unwrap_or_default();
    assert!(
        report.ends_with("out/report.md") && Path::new(&report).is_file(),
        "{report}"
    );
}

#[test]
fn comment_has_verdict_sections_in_order_and_links() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let body = assert_one_latest(&gh, dir.path());
    assert!(body.starts_with(MARKER));
    let verdict = body.lines().nth(1).unwrap_or_default();
    assert!(
        verdict.starts_with(
            "## htdemucs\\-devops: ⚠️ 4 phases passed, with warnings in lint, benchmark"
        ),
        "{verdict}"
    );
    let pos = |s: &str| {
        body.find(s)
            .unwrap_or_else(|| panic!("{s} missing in\n{body}"))
    };
    assert!(pos("### ⚠️ lint: 0 errors") < pos("### ✅ test: 79 passed"));
    assert!(pos("### ✅ test") < pos("### ✅ parity: 4 of 4"));
    assert!(pos("### ✅ parity") < pos("### ⚠️ benchmark: 1 regression"));
    // Each phase's own Markdown follows its heading (the phase's top heading replaced).
    assert!(pos("| swiftlint | line\\_length | 120 |") > pos("### ⚠️ lint"));
    assert!(!body.contains("### Lint"));
    assert!(body.contains("[Workflow run](https://github.com/o/r/actions/runs/42)"));
    assert!(body.contains("[Report site](https://o.github.io/r/)"));
    // The step summary got the same report, without the marker.
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap_or_default();
    assert!(summary.contains("### ✅ parity") && !summary.contains(MARKER));
    // One check run per phase on the PR head, annotations 50 per request.
    let runs = gh.with(|s| s.check_runs.clone());
    let names: Vec<&str> = runs.iter().filter_map(|r| r["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "htdemucs-devops / lint",
            "htdemucs-devops / test",
            "htdemucs-devops / parity",
            "htdemucs-devops / benchmark"
        ]
    );
    assert!(runs.iter().all(|r| r["head_sha"] == "feedface"));
    assert_eq!(runs[0]["conclusion"], "neutral");
    assert_eq!(runs[1]["conclusion"], "success");
    assert_eq!(
        gh.with(|s| s.annotation_batches.clone()),
        vec![50, 50, 20, 0, 0, 0]
    );
    assert_eq!(gh.count("PATCH /repos/o/r/check-runs/5000"), 2);
    // Check runs carry the annotations, so the log does not repeat them.
    assert!(!workflow_commands(&stdout(&out))
        .iter()
        .any(|c| c.starts_with("::warning")));
}

#[test]
fn server_error_then_success_is_retried() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.add_comment(&format!("{MARKER}\nold"), BOT);
    gh.with(|s| {
        s.faults.push_back(Fault::new(
            "GET",
            "/issues/1/comments",
            502,
            "<html>Bad Gateway</html>",
        ));
        s.faults
            .push_back(Fault::new("PATCH", "/issues/comments/", 503, "{}"));
    });
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_no_token(&out);
    assert_one_latest(&gh, dir.path());
    assert_eq!(gh.count("GET /repos/o/r/issues/1/comments"), 2);
    assert_eq!(gh.count("PATCH /repos/o/r/issues/comments/"), 2);
    assert!(stdout(&out).contains("retrying in"), "{}", stdout(&out));
}

#[test]
fn secondary_rate_limit_waits_for_retry_after() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| {
        s.faults.push_back(
            Fault::new(
                "POST",
                "/issues/1/comments",
                403,
                r#"{"message":"You have exceeded a secondary rate limit."}"#,
            )
            .header("Retry-After", "2"),
        );
        s.faults.push_back(
            Fault::new(
                "POST",
                "/check-runs",
                429,
                r#"{"message":"API rate limit exceeded"}"#,
            )
            .header("x-ratelimit-remaining", "0")
            .header("x-ratelimit-reset", "0"),
        );
    });
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_no_token(&out);
    assert_one_latest(&gh, dir.path());
    // Refused before any work, so the create is safely repeated.
    assert_eq!(gh.count("POST /repos/o/r/issues/1/comments"), 2);
    let so = stdout(&out);
    assert!(
        so.contains("secondary rate limit (403 with Retry-After)"),
        "{so}"
    );
    // Retry-After: 2 in units of the 1 ms test base.
    assert!(so.contains("retrying in 2 ms"), "{so}");
    assert_eq!(gh.with(|s| s.check_runs.len()), 4);
}

#[test]
fn another_job_creating_the_comment_meanwhile_is_found_on_recheck() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.add_comment("LGTM", "alice");
    gh.with(|s| s.race_comment = Some(format!("{MARKER}\nfrom the other job")));
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_one_latest(&gh, dir.path());
    assert_eq!(gh.count("POST /repos/o/r/issues/1/comments"), 0);
    assert_eq!(gh.count("PATCH /repos/o/r/issues/comments/"), 1);
}

#[test]
fn a_create_racing_another_job_keeps_only_the_oldest_comment() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| s.race_on_create = Some(format!("{MARKER}\nfrom the other job")));
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_one_latest(&gh, dir.path());
    // Ours was created, then the older one took our content and ours was deleted.
    assert_eq!(gh.count("POST /repos/o/r/issues/1/comments"), 1);
    assert_eq!(gh.count("PATCH /repos/o/r/issues/comments/1001"), 1);
    assert_eq!(gh.count("DELETE /repos/o/r/issues/comments/1002"), 1);
    let url = output_value(dir.path(), "comment-url").unwrap_or_default();
    assert!(url.ends_with("#issuecomment-1001"), "{url}");
}

#[test]
fn a_request_that_hangs_times_out_and_is_retried() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.add_comment(&format!("{MARKER}\nold"), BOT);
    let mut slow = Fault::new("GET", "/issues/1/comments", 0, "");
    slow.delay_ms = 1500;
    gh.with(|s| s.faults.push_back(slow));
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "report:\n  request_timeout_secs: 0.5\n",
    );
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_one_latest(&gh, dir.path());
    assert!(
        stdout(&out).contains("timed out after 500 ms; retrying"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn a_push_gets_check_runs_but_no_comment() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let mut cmd = report_cmd(dir.path(), &gh, &ok_reports());
    cmd.env("GITHUB_EVENT_NAME", "push")
        .env("GITHUB_EVENT_PATH", dir.path().join("push.json"));
    write(
        &dir.path().join("push.json"),
        r#"{"ref": "refs/heads/main"}"#,
    );
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert!(
        !gh.log().iter().any(|l| l.contains("/comments")),
        "{:#?}",
        gh.log()
    );
    let runs = gh.with(|s| s.check_runs.clone());
    assert_eq!(runs.len(), 4);
    assert!(runs.iter().all(|r| r["head_sha"] == "mergesha"));
    assert!(stdout(&out).contains("no pull request for this event"));
}

#[test]
fn a_create_answered_502_is_checked_not_repeated() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| {
        let mut f = Fault::new(
            "POST",
            "/issues/1/comments",
            502,
            "<html>Bad Gateway</html>",
        );
        f.apply_first = true;
        s.faults.push_back(f);
    });
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_no_token(&out);
    assert_one_latest(&gh, dir.path());
    assert_eq!(gh.count("POST /repos/o/r/issues/1/comments"), 1);
    assert!(stdout(&out).contains("checking whether the comment was created"));
}

/// Markdown of about 60,000 characters but twice as many bytes: under our character
/// budget, over a server that counts bytes.
fn big_reports(dir: &Path) -> PathBuf {
    let reports = dir.join("reports");
    std::fs::create_dir_all(&reports).unwrap_or_else(|e| panic!("{e}"));
    for f in ["lint.json", "test.json", "parity.json", "benchmark.json"] {
        std::fs::copy(ok_reports().join(f), reports.join(f)).unwrap_or_else(|e| panic!("{e}"));
    }
    let path = reports.join("test.json");
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_default())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut md = String::from("### Tests\n\n| Test | Message |\n| --- | --- |\n");
    for i in 0..1500 {
        md.push_str(&format!("| tést\\_ü{i:04} | ééééééééééééééééééééé |\n"));
    }
    v["markdown"] = json!(md);
    v["status"] = json!("failed");
    write(&path, &v.to_string());
    reports
}

#[test]
fn body_too_long_for_github_is_cut_and_retried() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.add_comment(&format!("{MARKER}\nold"), BOT);
    gh.with(|s| s.body_limit_bytes = Some(65_536));
    let reports = big_reports(dir.path());
    let out = run(&mut report_cmd(dir.path(), &gh, &reports));
    // A failed test phase: exit 1, but everything delivered.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert_no_token(&out);
    let ours = gh.marked(MARKER);
    assert_eq!(ours.len(), 1);
    let body = &ours[0].body;
    assert!(body.len() <= 65_536 && body.chars().count() < 65_536);
    assert!(
        body.contains("Cut to fit GitHub's comment size limit"),
        "{body}"
    );
    assert!(
        body.contains("| istft | 1.0e-6 |"),
        "small sections stay whole"
    );
    assert!(body.trim_end().ends_with("</sub>"));
    assert!(
        std::fs::read_to_string(dir.path().join("out/comment.md")).unwrap_or_default() == *body
    );
    assert!(
        stdout(&out).contains("too long; cutting it to"),
        "{}",
        stdout(&out)
    );
    // The full report keeps everything.
    let full = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap_or_default();
    assert!(full.contains("tést\\_ü1499"));
    assert_eq!(
        output_value(dir.path(), "verdict").as_deref(),
        Some("failed")
    );
}

#[test]
fn missing_checks_permission_falls_back_to_log_annotations() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| s.checks_forbidden = true);
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_no_token(&out);
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
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_no_token(&out);
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
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_no_token(&out);
    assert!(gh.log().is_empty(), "{:#?}", gh.log());
    let cmds = workflow_commands(&stdout(&out));
    assert!(
        cmds.iter().any(|c| c.starts_with("::notice::")
            && c.contains("fork")
            && c.contains("workflow_run")),
        "{cmds:#?}"
    );
    assert!(cmds.iter().any(|c| c.starts_with("::warning file=Sources")));
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap_or_default();
    assert!(summary.contains("### ⚠️ benchmark"));
    let pr: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("out/pull-request.json")).unwrap_or_default(),
    )
    .unwrap_or_default();
    assert_eq!(pr, json!({"number": 1, "head_sha": "feedface"}));
}

#[test]
fn dependabot_is_treated_as_read_only() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let out =
        run(report_cmd(dir.path(), &gh, &ok_reports()).env("GITHUB_ACTOR", "dependabot[bot]"));
    assert_eq!(out.status.code(), Some(0));
    assert!(gh.log().is_empty());
    assert!(stdout(&out).contains("Dependabot"));
}

#[test]
fn fork_pr_then_workflow_run_posts_the_comment_after_checking_the_pr() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    // Workflow 1 (pull_request from a fork): artifacts downloaded into the output
    // folder, one folder per artifact, as actions/download-artifact does.
    let out_dir = dir.path().join("out");
    for f in ["lint", "test", "parity", "benchmark"] {
        let text =
            std::fs::read_to_string(ok_reports().join(format!("{f}.json"))).unwrap_or_default();
        write(&out_dir.join(format!("phase-{f}/{f}.json")), &text);
    }
    let mut first = report_cmd(dir.path(), &gh, &out_dir);
    first.env("GITHUB_EVENT_PATH", pr_event(dir.path(), "someone/r"));
    let out = run(&mut first);
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
    let out = run(&mut second);
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_no_token(&out);
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
    let out = run(&mut cmd);
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
    let steps = job["steps"].as_array().cloned().unwrap_or_default();
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
    let ci_steps = ci["jobs"]["report"]["steps"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    assert!(ci_steps
        .iter()
        .any(|s| s["with"]["name"] == download["name"]));
    assert_eq!(ci["permissions"], json!({"contents": "read"}));
}

#[test]
fn under_act_everything_goes_to_files() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let out = run(report_cmd(dir.path(), &gh, &ok_reports()).env("ACT", "true"));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_no_token(&out);
    assert!(gh.log().is_empty());
    let comment = dir.path().join("out/comment.md");
    assert!(std::fs::read_to_string(&comment)
        .unwrap_or_default()
        .starts_with(MARKER));
    let run_file = dir
        .path()
        .join("out/check-runs/htdemucs-devops___lint.json");
    let check: Value =
        serde_json::from_str(&std::fs::read_to_string(&run_file).unwrap_or_default())
            .unwrap_or_default();
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
    let out = run(bin()
        .args(["report", "--reports"])
        .arg(ok_reports())
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .current_dir(dir.path()));
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
    let out = run(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    // GitHub stayed broken: the tool could not do its job.
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert_no_token(&out);
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
    let out = run(bin()
        .args(["report", "--reports"])
        .arg(dir.path().join("nope"))
        .current_dir(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));

    write(&dir.path().join("r/other.json"), "{}");
    let out = run(bin()
        .args(["report", "--reports"])
        .arg(dir.path().join("r"))
        .current_dir(dir.path()));
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
    let out = run(bin()
        .args(["report", "--reports"])
        .arg(dir.path().join("r"))
        .current_dir(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("lint.json is not a phase report"),
        "{}",
        stderr(&out)
    );
}

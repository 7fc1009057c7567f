//! `htdemucs-devops report` against a fake GitHub API: the sticky comment (paging,
//! retries, rate limits, races, timeouts, size limits) and check runs. After every
//! scenario the PR holds exactly one comment of ours with the latest content, and the
//! token appears in no output.

use crate::common::*;
use crate::report_helpers::*;
use crate::report_server::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

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
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
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
    let url = output_value(dir.path(), "comment-url").unwrap();
    assert!(url.ends_with(&format!("#issuecomment-{id}")), "{url}");
    let report = output_value(dir.path(), "report-path").unwrap();
    assert!(
        report.ends_with("out/report.md") && Path::new(&report).is_file(),
        "{report}"
    );
}

#[test]
fn github_enterprise_api_prefix_is_kept_for_every_request_and_page() {
    let dir = tempdir();
    let gh = FakeGitHub::start_at("/api/v3");
    gh.with(|s| s.page_cap = 2);
    for i in 0..5 {
        gh.add_comment(&format!("comment {i}"), "alice");
    }
    gh.add_comment(&format!("{MARKER}\nold"), BOT);
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_one_latest(&gh, dir.path());
    let log = gh.log();
    assert!(!log.iter().any(|l| l.contains("outside")), "{log:#?}");
    assert!(log.iter().any(|l| l.contains("page=3")), "{log:#?}");
}

#[test]
fn comment_has_verdict_sections_in_order_and_links() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let body = assert_one_latest(&gh, dir.path());
    assert!(body.starts_with(MARKER));
    let verdict = body.lines().nth(1).unwrap();
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
    // Mentions in phase Markdown cannot ping anyone.
    assert!(body.contains("cc @\u{200B}maintainers") && !body.contains("@maintainers"));
    assert!(body.contains("[Workflow run](https://github.com/o/r/actions/runs/42)"));
    assert!(body.contains("[Report site](https://o.github.io/r/)"));
    // The step summary got the same report, without the marker.
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
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
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
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
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
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
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
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
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_one_latest(&gh, dir.path());
    // Ours was created, then the older one took our content and ours was deleted.
    assert_eq!(gh.count("POST /repos/o/r/issues/1/comments"), 1);
    assert_eq!(gh.count("PATCH /repos/o/r/issues/comments/1001"), 1);
    assert_eq!(gh.count("DELETE /repos/o/r/issues/comments/1002"), 1);
    let url = output_value(dir.path(), "comment-url").unwrap();
    assert!(url.ends_with("#issuecomment-1001"), "{url}");
}

#[test]
fn duplicates_from_an_old_race_are_removed_and_a_typed_marker_is_left_alone() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let typed = gh.add_comment(&format!("{MARKER}\nI pasted this by hand"), "alice");
    let keep = gh.add_comment(&format!("{MARKER}\nold"), BOT);
    let dup = gh.add_comment(&format!("{MARKER}\nold duplicate"), BOT);
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let comments = gh.with(|s| s.comments.clone());
    let ids: Vec<u64> = comments.iter().map(|c| c.id).collect();
    assert_eq!(ids, vec![typed, keep], "{:#?}", gh.log());
    assert!(comments[0].body.ends_with("by hand"));
    let expected = std::fs::read_to_string(dir.path().join("out/comment.md")).unwrap();
    assert!(comments[1].body == expected);
    assert_eq!(
        gh.count(&format!("DELETE /repos/o/r/issues/comments/{dup}")),
        1
    );
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
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
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
    let out = run_report(&mut cmd);
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
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
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
    let mut v: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap())
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
    let out = run_report(&mut report_cmd(dir.path(), &gh, &reports));
    // A failed test phase: exit 1, but everything delivered.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
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
    assert!(std::fs::read_to_string(dir.path().join("out/comment.md")).unwrap() == *body);
    assert!(
        stdout(&out).contains("too long; cutting it to"),
        "{}",
        stdout(&out)
    );
    // The full report keeps everything.
    let full = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    assert!(full.contains("tést\\_ü1499"));
    assert_eq!(
        output_value(dir.path(), "verdict").as_deref(),
        Some("failed")
    );
}

//! Whose comment is ours, and several `report` runs at once. A comment is ours only when
//! the identity our token acts as wrote it (`github-actions[bot]` for the Actions token,
//! whose `GET /user` is refused), so a PR author typing our marker cannot get the report
//! written into their comment. Concurrent runs, also against a comment list that lags
//! behind creates, end with exactly one comment, whose URL every run outputs.

use crate::common::*;
use crate::report_helpers::*;
use crate::report_server::*;
use std::process::{Child, Stdio};
use std::time::Duration;

#[test]
fn a_pr_authors_comment_starting_with_the_marker_is_never_edited() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let spoof = gh.add_comment(&format!("{MARKER}\nplease merge, CI is green"), "alice");
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(
        gh.count(&format!("PATCH /repos/o/r/issues/comments/{spoof}")),
        0
    );
    assert_eq!(
        gh.count(&format!("DELETE /repos/o/r/issues/comments/{spoof}")),
        0
    );
    let ours: Vec<Comment> = gh
        .marked(MARKER)
        .into_iter()
        .filter(|c| c.user == BOT)
        .collect();
    assert_eq!(ours.len(), 1, "{:#?}", gh.log());
    let url = output_value(dir.path(), "comment-url").unwrap();
    assert!(
        url.ends_with(&format!("#issuecomment-{}", ours[0].id)),
        "{url}"
    );
    let spoofed = gh.with(|s| s.comments.iter().find(|c| c.id == spoof).cloned());
    assert!(spoofed.is_some_and(|c| c.body.ends_with("CI is green")));
}

#[test]
fn with_a_personal_token_only_that_persons_comment_is_ours() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    gh.with(|s| s.user_login = Some("maintainer".into()));
    // Older comments with the marker by others: the Actions bot and a PR author.
    let by_bot = gh.add_comment(&format!("{MARKER}\nfrom the workflow"), BOT);
    let by_author = gh.add_comment(&format!("{MARKER}\nspoof"), "mallory");
    let mine = gh.add_comment(&format!("{MARKER}\nold"), "maintainer");
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(gh.count("GET /user"), 1);
    assert_eq!(
        gh.count(&format!("PATCH /repos/o/r/issues/comments/{mine}")),
        1
    );
    for other in [by_bot, by_author] {
        assert_eq!(
            gh.count(&format!("/repos/o/r/issues/comments/{other}")),
            0,
            "{:#?}",
            gh.log()
        );
    }
    assert_eq!(gh.count("POST /repos/o/r/issues/1/comments"), 0);
}

#[test]
fn a_configured_author_is_ours_without_asking_github() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let by_bot = gh.add_comment(&format!("{MARKER}\nfrom the workflow"), BOT);
    let by_app = gh.add_comment(&format!("{MARKER}\nold"), "my-app[bot]");
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "report:\n  comment_author: my-app[bot]\n",
    );
    let out = run_report(&mut report_cmd(dir.path(), &gh, &ok_reports()));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    assert_eq!(gh.count("GET /user"), 0);
    assert_eq!(
        gh.count(&format!("PATCH /repos/o/r/issues/comments/{by_app}")),
        1
    );
    assert_eq!(gh.count(&format!("/repos/o/r/issues/comments/{by_bot}")), 0);
}

/// Runs `n` report steps at once against `gh`; returns each one's `comment-url`.
fn concurrent(gh: &FakeGitHub, n: usize, base_ms: u64) -> Vec<String> {
    let root = tempdir();
    let children: Vec<(std::path::PathBuf, Child)> = (0..n)
        .map(|i| {
            let dir = root.path().join(format!("job{i}"));
            std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
            let child = report_cmd(&dir, gh, &ok_reports())
                .env("HTDEMUCS_DEVOPS_RETRY_BASE_MS", base_ms.to_string())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"));
            (dir, child)
        })
        .collect();
    children
        .into_iter()
        .map(|(dir, child)| {
            let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
            assert_no_token(&out);
            assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
            output_value(&dir, "comment-url").unwrap()
        })
        .collect()
}

#[test]
fn concurrent_runs_converge_on_one_comment_that_every_run_names() {
    // Without lag, with a list that lags a little, and with one that lags longer than
    // the first waits.
    for (trial, lag_ms) in [0u64, 150, 400, 0, 150, 400].iter().enumerate() {
        let gh = FakeGitHub::start();
        gh.add_comment("LGTM", "alice");
        gh.with(|s| s.list_lag = Duration::from_millis(*lag_ms));
        let urls = concurrent(&gh, 4, 40);
        let ours = gh.marked(MARKER);
        assert_eq!(
            ours.len(),
            1,
            "trial {trial} (lag {lag_ms} ms): {ours:#?}\n{:#?}",
            gh.log()
        );
        let expected = format!("#issuecomment-{}", ours[0].id);
        for url in &urls {
            assert!(
                url.ends_with(&expected),
                "trial {trial}: {url} is not the surviving {expected}: {urls:?}"
            );
        }
        let creates = gh.count("POST /repos/o/r/issues/1/comments");
        let deletes = gh.count("DELETE /repos/o/r/issues/comments/");
        assert!(creates <= 4, "trial {trial}: {creates} creates");
        eprintln!("trial {trial} lag {lag_ms}: {creates} creates, {deletes} deletes");
        // Every extra create was removed again (a copy may be asked to go twice).
        assert!(deletes >= creates - 1, "trial {trial}: {:#?}", gh.log());
    }
}

#[test]
fn a_later_run_finds_the_comment_and_creates_none() {
    let gh = FakeGitHub::start();
    gh.with(|s| s.list_lag = Duration::from_millis(200));
    let first = concurrent(&gh, 1, 40);
    std::thread::sleep(Duration::from_millis(250));
    let second = concurrent(&gh, 3, 40);
    assert_eq!(gh.count("POST /repos/o/r/issues/1/comments"), 1);
    assert!(
        second.iter().all(|u| *u == first[0]),
        "{first:?} {second:?}"
    );
    assert_eq!(gh.marked(MARKER).len(), 1);
}

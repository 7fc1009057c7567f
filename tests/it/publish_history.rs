//! The published history never loses a run: each `publish` job below has a stale
//! `baseline.json` holding only its own run (as parallel or out-of-date jobs do), and
//! pushes to the gh-pages branch of a local bare repository with real git, one after
//! another and at the same time. The site's `data/history.json` must hold every run.

use crate::common::*;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// A job's workspace whose baseline holds one run, on day `day` of February.
fn job(root: &Path, name: &str, day: usize) -> PathBuf {
    let ws = root.join(name);
    write(
        &ws.join("benchmarks/baseline.json"),
        &format!(
            r#"{{"2026-02-{day:02}": {{"coreml": {{"stft_sec": 0.4{day}, "freq_branch_sec": 3.2}}, "pytorch": {{"stft_sec": 0.38, "freq_branch_sec": 4.8}}}}}}"#
        ),
    );
    ws
}

fn publish(ws: &Path, remote: &Path, sha: &str) -> Command {
    let mut cmd = bin();
    cmd.current_dir(ws)
        .env("SOURCE_DATE_EPOCH", "1770300000")
        .env("GITHUB_SHA", sha)
        .arg("publish")
        .arg("--root")
        .arg(ws)
        .arg("--push")
        .arg("--remote")
        .arg(remote)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    cmd
}

fn wait_ok(child: Child) {
    let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
}

/// The days of the runs in the site's history on the remote.
fn site_days(remote: &Path) -> BTreeSet<String> {
    let text = git(remote, &["show", "gh-pages:data/history.json"]);
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"));
    v["runs"]
        .as_array()
        .cloned()
        .unwrap()
        .iter()
        .filter_map(|r| r["timestamp"].as_i64())
        .filter_map(|t| jiff::Timestamp::from_second(t).ok())
        .map(|t| t.to_string()[..10].to_string())
        .collect()
}

fn days(range: std::ops::RangeInclusive<usize>) -> BTreeSet<String> {
    range.map(|d| format!("2026-02-{d:02}")).collect()
}

#[test]
fn sequential_and_concurrent_publishes_from_stale_baselines_keep_every_run() {
    for trial in 0..10 {
        let dir = tempdir();
        let remote = dir.path().join("remote.git");
        git(
            dir.path(),
            &["init", "--quiet", "--bare", &remote.to_string_lossy()],
        );
        // Three jobs one after another.
        for day in 1..=3 {
            let ws = job(dir.path(), &format!("seq{day}"), day);
            let child = publish(&ws, &remote, &format!("{trial}{day}aaaaaa"))
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"));
            wait_ok(child);
        }
        assert_eq!(site_days(&remote), days(1..=3), "trial {trial}, sequential");
        // Three jobs at once.
        let children: Vec<Child> = (4..=6)
            .map(|day| {
                let ws = job(dir.path(), &format!("par{day}"), day);
                publish(&ws, &remote, &format!("{trial}{day}bbbbbb"))
                    .spawn()
                    .unwrap_or_else(|e| panic!("{e}"))
            })
            .collect();
        for c in children {
            wait_ok(c);
        }
        assert_eq!(site_days(&remote), days(1..=6), "trial {trial}, concurrent");
        // The charts were drawn from the union too.
        let page = git(&remote, &["show", "gh-pages:benchmarks/history.html"]);
        assert!(page.contains("6 recorded runs"), "trial {trial}");
    }
}

#[test]
fn a_site_history_that_cannot_be_read_stops_the_publish() {
    let dir = tempdir();
    let ws = job(dir.path(), "ws", 1);
    let site = ws.join("site");
    write(&site.join("data/history.json"), "{\"runs\": [ broken");
    let out = run(bin()
        .current_dir(&ws)
        .args(["publish", "--site-dir", "site"]));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("data/history.json"),
        "{}",
        stderr(&out)
    );
    assert_eq!(
        std::fs::read_to_string(site.join("data/history.json")).unwrap(),
        "{\"runs\": [ broken"
    );
}

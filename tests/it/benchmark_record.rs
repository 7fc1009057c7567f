//! `benchmark record` with real git and a local bare repository as the remote: a record
//! lands, two racing records both land, a corrupt baseline is never touched, PRs refuse.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A bare remote whose `main` holds `benchmarks/baseline.json` = `baseline`, and a
/// workspace cloned from it (the CI checkout).
struct Repo {
    _dir: tempfile::TempDir,
    remote: PathBuf,
    workspace: PathBuf,
}

fn repo(baseline: &str) -> Repo {
    let dir = tempdir();
    let remote = dir.path().join("remote.git");
    let seed = dir.path().join("seed");
    let workspace = dir.path().join("workspace");
    git(
        dir.path(),
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "remote.git",
        ],
    );
    std::fs::create_dir_all(&seed).unwrap();
    git(&seed, &["init", "--quiet", "--initial-branch=main"]);
    write(&seed.join("benchmarks/baseline.json"), baseline);
    write(&seed.join("README.md"), "project\n");
    git(&seed, &["add", "."]);
    git(&seed, &["commit", "--quiet", "-m", "init"]);
    git(
        &seed,
        &["push", "--quiet", remote.to_str().unwrap(), "main"],
    );
    git(
        dir.path(),
        &["clone", "--quiet", remote.to_str().unwrap(), "workspace"],
    );
    Repo {
        _dir: dir,
        remote,
        workspace,
    }
}

fn remote_file(remote: &Path) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(remote)
        .args(["show", "main:benchmarks/baseline.json"])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn remote_git(remote: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(remote)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// A current run for commit `sha` at `time`.
fn run_file(dir: &Path, name: &str, sha: &str, time: &str, freq: f64) -> PathBuf {
    let path = dir.join(name);
    write(
        &path,
        &serde_json::json!({
            "$meta": {"commit": sha, "timestamp": time, "fingerprint": {"os": "linux", "cpu": "test", "runner": "ubuntu24"}},
            "coreml": {"freq_branch_sec": freq, "memory_peak_mb": 1840},
            "pytorch": {"freq_branch_sec": 4.87}
        })
        .to_string(),
    );
    path
}

fn record(repo: &Repo, current: &Path) -> Command {
    let mut cmd = bin();
    cmd.current_dir(&repo.workspace)
        .args([
            "benchmark",
            "record",
            "--author-name",
            "Bench Bot",
            "--author-email",
            "bench@example.com",
            "--current",
        ])
        .arg(current);
    cmd
}

fn seed_baseline() -> String {
    std::fs::read_to_string(fixtures().join("bench/seed-baseline.json")).unwrap()
}

#[test]
fn a_record_lands_on_main_with_author_and_message() {
    let repo = repo(&seed_baseline());
    let current = run_file(
        repo._dir.path(),
        "run.json",
        "abcdef1234567890",
        "2026-03-01T10:00:00Z",
        3.3,
    );
    let out = run(&mut record(&repo, &current));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("recorded the run in benchmarks/baseline.json on main"),
        "{}",
        stdout(&out)
    );
    let v: Value = serde_json::from_str(&remote_file(&repo.remote)).unwrap_or(Value::Null);
    let runs = v["runs"].as_array().cloned().unwrap();
    assert_eq!(runs.len(), 2, "{v}");
    assert_eq!(runs[0]["migrated_from"], "2026-02-03");
    assert_eq!(runs[1]["commit"], "abcdef1234567890");
    assert_eq!(runs[1]["results"]["coreml"]["freq_branch_sec"], 3.3);
    let log = remote_git(
        &repo.remote,
        &["log", "-1", "--format=%an <%ae>|%s", "main"],
    );
    assert_eq!(
        log,
        "Bench Bot <bench@example.com>|chore(bench): record abcdef1"
    );
    // The workspace's copy has the run too, for later steps of the job (publish).
    let local = std::fs::read_to_string(repo.workspace.join("benchmarks/baseline.json")).unwrap();
    assert!(local.contains("abcdef1234567890"), "{local}");
    // Recording the same run again changes nothing.
    let out = run(&mut record(&repo, &current));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("already has this run"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        remote_git(&repo.remote, &["rev-list", "--count", "main"]),
        "2"
    );
}

#[test]
fn two_concurrent_records_both_land() {
    let repo = repo(&seed_baseline());
    let a = run_file(
        repo._dir.path(),
        "a.json",
        "aaaaaaa1111111",
        "2026-03-01T10:00:00Z",
        3.3,
    );
    let b = run_file(
        repo._dir.path(),
        "b.json",
        "bbbbbbb2222222",
        "2026-03-01T10:00:05Z",
        3.4,
    );
    let mut children: Vec<_> = [a, b]
        .iter()
        .map(|f| {
            record(&repo, f)
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    let outs: Vec<_> = children
        .drain(..)
        .map(|c| c.wait_with_output().unwrap_or_else(|e| panic!("{e}")))
        .collect();
    for o in &outs {
        assert_eq!(o.status.code(), Some(0), "{}{}", stdout(o), stderr(o));
    }
    let v: Value = serde_json::from_str(&remote_file(&repo.remote)).unwrap_or(Value::Null);
    let commits: Vec<String> = v["runs"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|r| r["commit"].as_str().map(str::to_string))
        .collect();
    assert_eq!(commits, ["aaaaaaa1111111", "bbbbbbb2222222"], "{v}");
    assert_eq!(
        remote_git(&repo.remote, &["rev-list", "--count", "main"]),
        "3"
    );
}

#[test]
fn a_corrupt_remote_baseline_is_left_untouched() {
    let corrupt = "{\"version\": 2, \"runs\": [ {\"id\": \"x\", \n";
    let repo = repo(corrupt);
    let head = remote_git(&repo.remote, &["rev-parse", "main"]);
    let current = run_file(
        repo._dir.path(),
        "run.json",
        "abcdef1234567890",
        "2026-03-01T10:00:00Z",
        3.3,
    );
    let out = run(&mut record(&repo, &current));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("benchmarks/baseline.json:"), "{err}");
    assert!(
        err.contains("not valid JSON") && err.contains("left untouched"),
        "{err}"
    );
    assert_eq!(remote_git(&repo.remote, &["rev-parse", "main"]), head);
    assert_eq!(remote_file(&repo.remote), corrupt);
    assert_eq!(
        std::fs::read_to_string(repo.workspace.join("benchmarks/baseline.json")).unwrap(),
        corrupt
    );
}

#[test]
fn pull_requests_refuse_unless_forced() {
    let repo = repo(&seed_baseline());
    let current = run_file(
        repo._dir.path(),
        "run.json",
        "abcdef1234567890",
        "2026-03-01T10:00:00Z",
        3.3,
    );
    let out = run(record(&repo, &current).env("GITHUB_EVENT_NAME", "pull_request"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("refusing to record"),
        "{}",
        stderr(&out)
    );
    assert_eq!(remote_file(&repo.remote), seed_baseline());
    let out = run(record(&repo, &current)
        .env("GITHUB_EVENT_NAME", "pull_request")
        .arg("--force"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_workflow_on_another_branch_neither_records_nor_publishes() {
    let repo = repo(&seed_baseline());
    let head = remote_git(&repo.remote, &["rev-parse", "main"]);
    let current = run_file(
        repo._dir.path(),
        "run.json",
        "abcdef1234567890",
        "2026-03-01T10:00:00Z",
        3.3,
    );
    let event = repo._dir.path().join("event.json");
    write(
        &event,
        r#"{"inputs": {"phase": "all"}, "ref": "refs/heads/feature", "repository": {"default_branch": "main"}}"#,
    );
    let on_branch = |cmd: &mut Command| {
        cmd.env("GITHUB_EVENT_NAME", "workflow_dispatch")
            .env("GITHUB_EVENT_PATH", &event)
            .env("GITHUB_REF", "refs/heads/feature");
    };
    let mut cmd = record(&repo, &current);
    on_branch(&mut cmd);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        said.contains("not recording the benchmark run: this run is on refs/heads/feature")
            && said.contains("--from-any-branch"),
        "{said}"
    );
    assert_eq!(remote_git(&repo.remote, &["rev-parse", "main"]), head);
    assert_eq!(remote_file(&repo.remote), seed_baseline());

    // Nor does it publish the default branch's site.
    let publish = || {
        let mut cmd = bin();
        cmd.current_dir(&repo.workspace)
            .env("GITHUB_SHA", "abcdef1234567890")
            .args(["publish", "--push"]);
        cmd
    };
    let mut cmd = publish();
    on_branch(&mut cmd);
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let said = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        said.contains("not publishing the site: this run is on refs/heads/feature"),
        "{said}"
    );
    assert_eq!(
        remote_git(&repo.remote, &["branch", "--list", "gh-pages"]),
        ""
    );

    // With the explicit flag, or on the default branch, both write.
    let mut cmd = record(&repo, &current);
    on_branch(&mut cmd);
    let out = run(cmd.arg("--from-any-branch"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(remote_file(&repo.remote).contains("abcdef1234567890"));
    let out = run(publish()
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_REF", "refs/heads/main"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        remote_git(&repo.remote, &["branch", "--list", "gh-pages"]).contains("gh-pages"),
        "{}",
        stderr(&out)
    );
}

//! Pushes and scratch space through the real binary: a push the remote's hook refuses
//! is reported with the remote's message at once (not retried as a race), the clone
//! lives under the output folder (not `$TMPDIR`), and scratch a killed run left behind
//! (a clone, a `.tmp` file beside `baseline.json`) is removed by the next run.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

fn workspace(root: &Path) -> PathBuf {
    let ws = root.join("ws");
    write(
        &ws.join("benchmarks/baseline.json"),
        r#"{"2026-02-03": {"coreml": {"stft_sec": 0.42}, "pytorch": {"stft_sec": 0.38}}}"#,
    );
    ws
}

/// A bare repository whose pre-receive hook runs `script` (sh).
fn remote_with_hook(root: &Path, script: &str) -> PathBuf {
    let remote = root.join("remote.git");
    git(
        root,
        &["init", "--quiet", "--bare", &remote.to_string_lossy()],
    );
    let hook = remote.join("hooks/pre-receive");
    write(&hook, &format!("#!/bin/sh\n{script}\n"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    remote
}

fn age(path: &Path, secs: u64) {
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    f.set_modified(SystemTime::now() - Duration::from_secs(secs))
        .unwrap_or_else(|e| panic!("{e}"));
}

#[test]
fn a_push_refused_by_a_hook_is_reported_with_its_message_and_not_retried() {
    let dir = tempdir();
    let ws = workspace(dir.path());
    let count = dir.path().join("hook-calls");
    let remote = remote_with_hook(
        dir.path(),
        &format!(
            "echo call >> '{}'\necho 'GH006: Protected branch update failed for refs/heads/gh-pages.' >&2\nexit 1",
            count.display()
        ),
    );
    let out = run(bin()
        .current_dir(&ws)
        .args(["publish", "--push", "--remote"])
        .arg(&remote));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("pre-receive hook declined"), "{err}");
    assert!(
        err.contains("GH006: Protected branch update failed"),
        "{err}"
    );
    assert!(!err.contains("others kept pushing"), "{err}");
    let calls = std::fs::read_to_string(&count).unwrap();
    assert_eq!(calls.lines().count(), 1, "pushed more than once");
}

#[test]
fn the_clone_lives_under_the_out_dir_and_a_dead_runs_clone_is_removed() {
    let dir = tempdir();
    let ws = workspace(dir.path());
    let tmp = dir.path().join("tmp");
    std::fs::create_dir_all(&tmp).unwrap_or_else(|e| panic!("{e}"));
    let out_dir = ws.join(".htdemucs-devops");
    // What kill -9 during an earlier push left: a clone with its (now free) lock.
    let dead = out_dir.join("git-Dead01");
    write(&dead.join("repo/index.html"), "old");
    write(&dead.join(".lock"), "");
    age(&dead.join(".lock"), 600);
    // During the push, the hook lists $TMPDIR and the output folder.
    let seen = dir.path().join("seen");
    let remote = remote_with_hook(
        dir.path(),
        &format!(
            "ls -A \"$TMPDIR\" > '{0}.tmp'\nls -A '{1}' > '{0}.out'\nexit 0",
            seen.display(),
            out_dir.display()
        ),
    );
    let out = run(bin()
        .current_dir(&ws)
        .env("TMPDIR", &tmp)
        .args(["publish", "--push", "--remote"])
        .arg(&remote));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let in_tmp = std::fs::read_to_string(seen.with_extension("tmp")).unwrap();
    assert_eq!(in_tmp.trim(), "", "the clone went to $TMPDIR");
    let in_out = std::fs::read_to_string(seen.with_extension("out")).unwrap();
    assert!(
        in_out
            .lines()
            .any(|l| l.starts_with("git-") && l != "git-Dead01"),
        "{in_out}"
    );
    assert!(!dead.exists(), "the dead run's clone is still there");
    // And ours is gone once the push is done.
    let left: Vec<String> = std::fs::read_dir(&out_dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("git-"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn temp_files_a_killed_record_left_beside_the_baseline_are_removed() {
    let dir = tempdir();
    let ws = workspace(dir.path());
    let bench = ws.join("benchmarks");
    // Left by kill -9 during `record --local`: a full-size copy under our scratch name
    // and one under the name earlier versions used.
    let big = "x".repeat(1 << 20);
    let ours = bench.join(".baseline.json.Ab12Cd.tmp");
    let legacy = bench.join(".tmpQw3rTy");
    write(&ours, &big);
    write(&legacy, &big);
    age(&ours, 60);
    age(&legacy, 7200);
    // Someone else's file of a similar name stays.
    let foreign = bench.join(".other.json.Ab12Cd.tmp");
    write(&foreign, "keep");
    age(&foreign, 60);
    write(
        &ws.join("current.json"),
        r#"{"coreml": {"stft_sec": 0.41}, "pytorch": {"stft_sec": 0.39}}"#,
    );
    let out = run(bin().current_dir(&ws).args([
        "benchmark",
        "record",
        "--local",
        "--current",
        "current.json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        !ours.exists() && !legacy.exists(),
        "stale temp files remain"
    );
    assert!(foreign.exists());
    let names: Vec<String> = std::fs::read_dir(&bench)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(
        names
            .iter()
            .all(|n| !n.ends_with(".tmp") || n.starts_with(".other")),
        "{names:?}"
    );
    let text = std::fs::read_to_string(bench.join("baseline.json")).unwrap();
    assert!(text.contains("0.41"), "the run was recorded: {text}");
}

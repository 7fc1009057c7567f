//! Baseline maintenance through the real binary: `benchmark ack` starts a new window,
//! `benchmark history` lists runs and acknowledgements, `benchmark prune` is explicit.

use crate::benchmark::{bench, compare, json_out, row};
use crate::common::*;
use serde_json::Value;

#[test]
fn ack_starts_a_new_window_and_prune_is_explicit() {
    let dir = tempdir();
    let file = dir.path().join("b.json");
    write(
        &file,
        &std::fs::read_to_string(bench("history.json")).unwrap(),
    );
    let base = || {
        let mut c = bin();
        c.current_dir(dir.path());
        c
    };
    // Acknowledge the freq branch change from the fifth run on: only runs 5-6 remain.
    let out = run(base().args([
        "benchmark",
        "ack",
        "--baseline",
        "b.json",
        "--from",
        "5555555",
        "--backend",
        "coreml",
        "--metric",
        "freq_branch_sec",
        "--reason",
        "switched to <float16>",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = compare(
        dir.path(),
        &file,
        &bench("current.json"),
        &["--format", "json"],
    );
    let v = json_out(&out);
    assert_eq!(row(&v, "coreml", "freq_branch_sec")["history_runs"], 2);
    assert_eq!(row(&v, "coreml", "time_branch_sec")["history_runs"], 6);
    let out = run(base().args(["benchmark", "history", "--baseline", "b.json"]));
    let text = stdout(&out);
    assert!(text.contains("7 runs in"), "{text}");
    assert!(
        text.contains("acknowledged from 5555555 (coreml, freq_branch_sec): switched to <float16>"),
        "{text}"
    );

    let out = run(base().args(["benchmark", "prune", "--baseline", "b.json"]));
    assert_eq!(out.status.code(), Some(2), "prune needs a rule");
    let before = std::fs::read(&file).unwrap();
    let out = run(base().args([
        "benchmark",
        "prune",
        "--baseline",
        "b.json",
        "--keep-last",
        "2",
        "--dry-run",
    ]));
    assert!(
        stdout(&out).contains("4 runs to remove"),
        "{}",
        stdout(&out)
    );
    assert_eq!(std::fs::read(&file).unwrap(), before);
    let out = run(base().args([
        "benchmark",
        "prune",
        "--baseline",
        "b.json",
        "--before",
        "2026-02-12",
    ]));
    assert!(
        stdout(&out).contains("3 runs removed, 4 kept"),
        "{}",
        stdout(&out)
    );
    let v: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap_or(Value::Null);
    assert_eq!(v["runs"].as_array().map(Vec::len), Some(4));
    assert_eq!(v["acknowledgements"].as_array().map(Vec::len), Some(1));
}

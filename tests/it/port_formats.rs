//! A port's own benchmark files read as they are: `run_benchmark.py`'s `latest.json`
//! (top-level metadata, per-stage `null`s) against a `{}` or date-keyed baseline with
//! `null`s; `null` is "not measured", never 0, never an error, never judged.

use crate::benchmark::{json_out, row};
use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub(crate) fn port(name: &str) -> PathBuf {
    fixtures().join("port-formats").join(name)
}

fn compare(dir: &Path, baseline: &Path, current: &Path, extra: &[&str]) -> std::process::Output {
    run(bin()
        .current_dir(dir)
        .args(["benchmark", "compare", "--baseline"])
        .arg(baseline)
        .arg("--current")
        .arg(current)
        .args(extra))
}

/// Every row whose current value is 0 (a `null` must never become one).
fn zero_rows(v: &Value) -> Vec<String> {
    v["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["current"].as_f64() == Some(0.0) || r["baseline"].as_f64() == Some(0.0))
        .map(|r| format!("{}/{}", r["backend"], r["metric"]))
        .collect()
}

#[test]
fn latest_json_against_an_empty_baseline() {
    let dir = tempdir();
    let out = compare(
        dir.path(),
        &port("baseline-empty.json"),
        &port("latest.json"),
        &["--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_out(&out);
    for stage in [
        "stft_sec",
        "freq_branch_sec",
        "time_branch_sec",
        "istft_sec",
    ] {
        let r = row(&v, "pytorch", stage);
        assert_eq!(r["verdict"], "not-measured", "{r}");
        assert!(r["current"].is_null(), "{r}");
        let s = v["stages"]
            .as_array()
            .and_then(|ss| ss.iter().find(|s| s["metric"] == stage))
            .unwrap_or_else(|| panic!("no stage line {stage}: {v}"));
        assert!(s["reference"].is_null() && s["delta_pct"].is_null(), "{s}");
        assert!(s["candidate"].as_f64().is_some_and(|c| c > 0.0), "{s}");
    }
    assert_eq!(row(&v, "pytorch", "full_pipeline_sec")["current"], 4.12);
    assert_eq!(row(&v, "coreml", "stft_sec")["verdict"], "new");
    // Top-level metadata: the audio length labels the STFT line; nothing became a backend.
    assert_eq!(v["audio_seconds"], 30.0);
    assert!(v["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .all(|r| r["backend"] != "date" && r["backend"] != "num_runs"));
    assert!(zero_rows(&v).is_empty(), "{:?}", zero_rows(&v));

    let md = run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "compare", "--format", "markdown", "--baseline"])
        .arg(port("baseline-empty.json"))
        .arg("--current")
        .arg(port("latest.json")));
    assert_eq!(md.status.code(), Some(0), "{}", stderr(&md));
    let text = stdout(&md);
    let stft = text
        .lines()
        .find(|l| l.starts_with("| STFT"))
        .unwrap_or_else(|| panic!("no STFT line: {text}"));
    assert!(
        stft.contains("not measured") && stft.contains("| — |"),
        "{stft}"
    );
    assert!(text.contains("| not-measured |"), "{text}");
}

#[test]
fn date_keyed_baseline_with_nulls_compares_and_migrates_without_loss() {
    let dir = tempdir();
    let out = compare(
        dir.path(),
        &port("baseline-dated.json"),
        &port("latest.json"),
        &["--format", "json", "--fail-on-regression"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_out(&out);
    assert_eq!(v["baseline_runs"], 3);
    // Judged where both sides measured; the nulls are not judged, whatever history has.
    assert_eq!(
        row(&v, "coreml", "full_pipeline_sec")["verdict"],
        "unchanged"
    );
    let stft = row(&v, "pytorch", "stft_sec");
    assert_eq!(stft["verdict"], "not-measured", "{stft}");
    assert!(
        stft["current"].is_null() && stft["change_pct"].is_null(),
        "{stft}"
    );
    assert_eq!(row(&v, "pytorch", "istft_sec")["baseline"], Value::Null);
    assert_eq!(v["regressions"], 0);
    assert!(zero_rows(&v).is_empty(), "{:?}", zero_rows(&v));

    // Recording migrates the date-keyed file: every dated entry kept, nulls remembered.
    let base = dir.path().join("baseline.json");
    std::fs::copy(port("baseline-dated.json"), &base).unwrap_or_else(|e| panic!("{e}"));
    let rec = run(bin()
        .current_dir(dir.path())
        .args([
            "benchmark",
            "record",
            "--local",
            "--force",
            "--from-any-branch",
        ])
        .arg("--baseline")
        .arg(&base)
        .arg("--current")
        .arg(port("latest.json")));
    assert_eq!(rec.status.code(), Some(0), "{}", stderr(&rec));
    let saved: Value = serde_json::from_str(&std::fs::read_to_string(&base).unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    let runs = saved["runs"].as_array().cloned().unwrap();
    assert_eq!(runs.len(), 4, "{saved}");
    for day in ["2025-01-03", "2025-01-04", "2025-01-05"] {
        let r = runs
            .iter()
            .find(|r| r["migrated_from"] == day)
            .unwrap_or_else(|| panic!("entry {day} lost: {saved}"));
        assert!(r["results"]["pytorch"].get("istft_sec").is_none(), "{r}");
        assert!(r["not_measured"]["pytorch"]
            .as_array()
            .is_some_and(|ms| ms.iter().any(|m| m == "istft_sec")));
        assert_eq!(r["audio_seconds"], 30.0);
    }
    let oldest = runs.iter().find(|r| r["migrated_from"] == "2025-01-03");
    assert_eq!(
        oldest.map(|r| r["results"]["pytorch"]["stft_sec"].clone()),
        Some(Value::from(0.03))
    );
    // The migrated file reads back (a second compare against it works).
    let again = compare(
        dir.path(),
        &base,
        &port("latest.json"),
        &["--format", "json"],
    );
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert_eq!(json_out(&again)["baseline_runs"], 4);
}

#[test]
fn nulls_everywhere_are_not_measured_and_a_string_is_an_error() {
    let dir = tempdir();
    let out = compare(
        dir.path(),
        &port("baseline-dated.json"),
        &port("latest-all-null.json"),
        &["--format", "json", "--fail-on-regression"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_out(&out);
    assert_eq!(v["regressions"], 0);
    let rows = v["rows"].as_array().cloned().unwrap();
    assert!(!rows.is_empty());
    for r in &rows {
        assert_eq!(r["verdict"], "not-measured", "{r}");
        assert!(r["current"].is_null(), "{r}");
    }

    let bad = compare(
        dir.path(),
        &port("baseline-empty.json"),
        &port("latest-string.json"),
        &[],
    );
    assert_eq!(bad.status.code(), Some(2));
    let err = stderr(&bad);
    assert!(
        err.contains("latest-string.json") && err.contains("coreml.stft_sec"),
        "{err}"
    );
    assert!(err.contains("\"0.05 s\""), "{err}");
}

#[test]
fn benchmark_run_reads_latest_json_as_a_producer_results_file() {
    let dir = tempdir();
    let bench = dir.path().join("benchmarks");
    std::fs::create_dir_all(&bench).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(port("latest.json"), bench.join("latest.json")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(port("baseline-dated.json"), bench.join("baseline.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "benchmark:\n  repetitions: 2\n  producers:\n    - name: run_benchmark\n      command: [\"true\"]\n      results_file: benchmarks/latest.json\n",
    );
    let out = run(bin().current_dir(dir.path()).args([
        "benchmark",
        "run",
        "--format",
        "json",
        "--fail-on-regression",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_out(&out);
    let r = row(&v, "pytorch", "freq_branch_sec");
    assert_eq!(r["verdict"], "not-measured", "{r}");
    assert_eq!(row(&v, "coreml", "freq_branch_sec")["samples"], 2);
    // The stored run keeps the nulls as not measured; the Bencher export has no 0 for them.
    let saved: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".htdemucs-devops/benchmark-run.json")).unwrap(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(saved["$meta"]["not_measured"]["pytorch"]
        .as_array()
        .is_some_and(|ms| ms.len() == 4));
    assert_eq!(saved["$meta"]["num_runs"], 3);
    let bmf: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".htdemucs-devops/benchmark-run.bmf.json"))
            .unwrap(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    assert!(bmf["pytorch"].get("stft-sec").is_none(), "{bmf}");
    assert!(bmf["pytorch"]["full-pipeline-sec"]["value"]
        .as_f64()
        .is_some());
}

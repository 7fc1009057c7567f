//! `benchmark compare | run | history | prune | ack` through the real binary: the
//! table and Markdown (snapshots), JSON rows, adapters, the seed's baseline, bad input.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

pub(crate) fn bench(name: &str) -> PathBuf {
    fixtures().join("bench").join(name)
}

pub(crate) fn compare(
    dir: &Path,
    baseline: &Path,
    current: &Path,
    extra: &[&str],
) -> std::process::Output {
    run(bin()
        .current_dir(dir)
        .arg("benchmark")
        .arg("compare")
        .arg("--baseline")
        .arg(baseline)
        .arg("--current")
        .arg(current)
        .args(extra))
}

pub(crate) fn json_out(o: &std::process::Output) -> Value {
    serde_json::from_str(&stdout(o)).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stdout(o)))
}

pub(crate) fn row<'a>(v: &'a Value, backend: &str, metric: &str) -> &'a Value {
    v["rows"]
        .as_array()
        .and_then(|rows| {
            rows.iter()
                .find(|r| r["backend"] == backend && r["metric"] == metric)
        })
        .unwrap_or_else(|| panic!("no row {backend}/{metric} in {v}"))
}

#[test]
fn text_table_snapshot() {
    let dir = tempdir();
    let out = compare(
        dir.path(),
        &bench("history.json"),
        &bench("current.json"),
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    insta::assert_snapshot!("benchmark_text_table", stdout(&out));
    // Locally the findings go to stderr as lines, the report to the out dir.
    assert!(
        stderr(&out).contains("warning: [Benchmark regression: coreml freq_branch_sec]"),
        "{}",
        stderr(&out)
    );
    assert!(dir.path().join(".htdemucs-devops/benchmark.json").is_file());
}

#[test]
fn markdown_section_snapshot() {
    let dir = tempdir();
    let out = compare(
        dir.path(),
        &bench("history.json"),
        &bench("current.json"),
        &["--format", "markdown"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let md = stdout(&out);
    // Not gated: the regressions warn, and the section's symbol says so (❌ is for a
    // failed phase, see fail_on_regression_in_actions_errors_and_sets_outputs).
    assert!(md.starts_with("⚠️ **Benchmark:** 2 regressions"), "{md}");
    assert!(!md.lines().next().unwrap().contains('❌'), "{md}");
    insta::assert_snapshot!("benchmark_markdown", md);
}

#[test]
fn json_rows_carry_every_verdict() {
    let dir = tempdir();
    let out = compare(
        dir.path(),
        &bench("history.json"),
        &bench("current.json"),
        &["--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_out(&out);
    for r in v["rows"].as_array().into_iter().flatten() {
        for key in [
            "backend",
            "metric",
            "baseline",
            "current",
            "change_pct",
            "verdict",
        ] {
            assert!(r.get(key).is_some(), "row without {key}: {r}");
        }
    }
    // Baseline = median of the six same-runner runs; the 30 %-slow run does not move it.
    let freq = row(&v, "coreml", "freq_branch_sec");
    assert_eq!(freq["verdict"], "regression");
    assert_eq!(freq["history_runs"], 6);
    assert_eq!(freq["same_runner"], true);
    assert!(
        (freq["baseline"].as_f64().unwrap_or(0.0) - 3.2261).abs() < 0.01,
        "{freq}"
    );
    assert_eq!(
        row(&v, "coreml", "time_branch_sec")["verdict"],
        "improvement"
    );
    assert_eq!(row(&v, "coreml", "stft_sec")["verdict"], "unchanged");
    assert_eq!(row(&v, "coreml", "stft_sec")["samples"], 3);
    assert_eq!(row(&v, "coreml", "encoder_peak_mb")["verdict"], "new");
    assert_eq!(row(&v, "pytorch", "model_load_sec")["verdict"], "missing");
    // The same change seen by the portable ratio (judged on every testbed).
    let ratio = row(&v, "coreml/pytorch", "freq_branch_sec");
    assert_eq!(ratio["verdict"], "regression");
    assert_eq!(ratio["kind"], "ratio");
    assert_eq!(v["verdict"], "regression");
    assert_eq!(v["regressions"], 2);
    assert_eq!(v["testbed_runs"], 6);
    assert_eq!(v["candidate"], "coreml");
    assert_eq!(v["reference"], "pytorch");
}

#[test]
fn fail_on_regression_in_actions_errors_and_sets_outputs() {
    let dir = tempdir();
    let out = run(bin_in_actions(dir.path())
        .current_dir(dir.path())
        .args(["benchmark", "compare", "--fail-on-regression", "--baseline"])
        .arg(bench("history.json"))
        .arg("--current")
        .arg(bench("current.json")));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let cmds = workflow_commands(&stdout(&out));
    assert!(
        cmds.iter().any(
            |c| c.starts_with("::error title=Benchmark regression%3A coreml freq_branch_sec::")
        ),
        "{cmds:?}"
    );
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("::notice title=Benchmark improvement")),
        "{cmds:?}"
    );
    let outputs = std::fs::read_to_string(dir.path().join("output.txt")).unwrap();
    assert!(outputs.contains("regressions<<"), "{outputs}");
    assert!(outputs.contains("\n2\n"), "{outputs}");
    assert!(outputs.contains("benchmark-verdict<<"), "{outputs}");
    assert!(
        outputs.contains("verdict<<") && outputs.contains("2 regressions and 2 improvements"),
        "{outputs}"
    );
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    // Regressions fail this phase: the section says ❌, as the phase's status does.
    assert!(
        summary.contains("❌ **Benchmark:** 2 regressions"),
        "{summary}"
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".htdemucs-devops/benchmark.json")).unwrap(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(report["status"], "failed");
    assert_eq!(report["outputs"]["regressions"], "2");
    assert_eq!(
        row(&report["data"], "coreml", "freq_branch_sec")["verdict"],
        "regression"
    );
}

#[test]
fn seed_baseline_reads_compares_and_migrates_unchanged_in_meaning() {
    let dir = tempdir();
    let seed_text = std::fs::read_to_string(fixtures().join("bench/seed-baseline.json")).unwrap();
    // The committed example is the seed's, byte for byte.
    let committed = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("benchmarks/baseline.json"),
    )
    .unwrap();
    assert_eq!(committed, seed_text);
    // One entry is too little history to know the noise: shown, not judged.
    let out = compare(
        dir.path(),
        &bench("seed-baseline.json"),
        &bench("seed-current.json"),
        &["--format", "json"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_out(&out);
    assert_eq!(v["verdict"], "new-testbed", "{v}");
    assert_eq!(row(&v, "coreml", "stft_sec")["verdict"], "new-testbed");
    // With `--min-runs 1` the seed's one entry is the baseline, as in the design.
    let out = compare(
        dir.path(),
        &bench("seed-baseline.json"),
        &bench("seed-current.json"),
        &["--format", "json", "--min-runs", "1"],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_out(&out);
    let rows = v["rows"].as_array().cloned().unwrap();
    // 14 backend × metric rows and the 5 CoreML ÷ PyTorch stage-timing ratios.
    assert_eq!(rows.len(), 19);
    assert_eq!(rows.iter().filter(|r| r["kind"] == "ratio").count(), 5);
    assert!(
        rows.iter()
            .all(|r| r["verdict"] == "unchanged" && r["change_pct"] == 0.0),
        "{v}"
    );
    assert_eq!(row(&v, "coreml", "memory_peak_mb")["baseline"], 1840.0);

    // Recording into it migrates to the versioned schema, keeping the seed's entry.
    let file = dir.path().join("baseline.json");
    write(&file, &seed_text);
    let out = run(bin()
        .current_dir(dir.path())
        .args([
            "benchmark",
            "record",
            "--local",
            "--baseline",
            "baseline.json",
            "--current",
        ])
        .arg(bench("current.json")));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let migrated: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap_or(Value::Null);
    let seed: Value = serde_json::from_str(&seed_text).unwrap_or(Value::Null);
    assert_eq!(migrated["version"], 2);
    let runs = migrated["runs"].as_array().cloned().unwrap();
    assert_eq!(runs.len(), 2);
    assert_eq!(runs[0]["migrated_from"], "2026-02-03");
    assert_eq!(runs[0]["timestamp"], "2026-02-03T00:00:00Z");
    for (backend, metrics) in seed["2026-02-03"].as_object().into_iter().flatten() {
        for (metric, value) in metrics.as_object().into_iter().flatten() {
            assert_eq!(
                runs[0]["results"][backend][metric].as_f64(),
                value.as_f64(),
                "{backend}.{metric}"
            );
        }
    }
    // The migrated seed entry alone compares exactly like the seed file did.
    let mut only_seed = migrated.clone();
    only_seed["runs"] = Value::Array(vec![runs[0].clone()]);
    let migrated_file = dir.path().join("migrated.json");
    write(&migrated_file, &only_seed.to_string());
    let again = json_out(&compare(
        dir.path(),
        &migrated_file,
        &bench("seed-current.json"),
        &["--format", "json", "--min-runs", "1"],
    ));
    assert_eq!(again["rows"], v["rows"]);
    assert_eq!(again["stages"], v["stages"]);
}

#[test]
fn corrupt_baseline_exits_2_and_stays_byte_for_byte() {
    let dir = tempdir();
    let file = dir.path().join("benchmarks/baseline.json");
    let corrupt = "{\n  \"2026-02-03\": {\"coreml\": {\"stft_sec\": 0.42,,}}\n";
    write(&file, corrupt);
    for args in [
        vec!["benchmark", "compare", "--current"],
        vec!["benchmark", "record", "--local", "--current"],
    ] {
        let out = run(bin()
            .current_dir(dir.path())
            .args(&args)
            .arg(bench("current.json")));
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        let err = stderr(&out);
        assert!(err.contains("benchmarks/baseline.json:2:"), "{err}");
        assert!(err.contains("not valid JSON"), "{err}");
        assert!(err.contains("left untouched"), "{err}");
        assert_eq!(std::fs::read(&file).unwrap(), corrupt.as_bytes());
    }
    // A malformed value is named by backend and metric.
    write(
        &file,
        "{\"2026-02-03\": {\"coreml\": {\"stft_sec\": \"fast\"}}}",
    );
    let out = run(bin().current_dir(dir.path()).args(["benchmark", "history"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("coreml.stft_sec"), "{}", stderr(&out));
}

#[test]
fn run_merges_repetitions_and_stamps_the_runner() {
    let dir = tempdir();
    let current = bench("current.json");
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        &format!(
            "benchmark:\n  warmup: 1\n  repetitions: 2\n  baseline: history.json\n  producers:\n    - name: recorded\n      command: [cat, {:?}]\n",
            current.display()
        ),
    );
    std::fs::copy(bench("history.json"), dir.path().join("history.json")).unwrap();
    let out = run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "run", "--format", "json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("[3/3] benchmark: recorded repetition 2/2"),
        "{}",
        stderr(&out)
    );
    let run_file: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".htdemucs-devops/benchmark-run.json")).unwrap(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(
        run_file["coreml"]["stft_sec"].as_array().map(Vec::len),
        Some(6)
    );
    assert_eq!(
        run_file["coreml"]["freq_branch_sec"]
            .as_array()
            .map(Vec::len),
        Some(2)
    );
    assert_eq!(run_file["$meta"]["fingerprint"]["os"], std::env::consts::OS);
    assert_eq!(
        run_file["$meta"]["fingerprint"]["tools"]["coremltools"],
        "8.1"
    );
    assert!(dir
        .path()
        .join(".htdemucs-devops/benchmark-run.bmf.json")
        .is_file());
    // The portable figures go with the run (and so into baseline.json on record).
    let derived = &run_file["$meta"]["derived"];
    assert!(
        derived["coreml/pytorch"]["freq_branch_sec"]
            .as_f64()
            .is_some_and(|r| r > 0.5 && r < 1.0),
        "{derived}"
    );
    assert!(
        derived["coreml"]["freq_branch_sec_share"]
            .as_f64()
            .is_some(),
        "{derived}"
    );
    // Recorded, they are part of the run in baseline.json.
    let rec = run(bin().current_dir(dir.path()).args([
        "benchmark",
        "record",
        "--local",
        "--baseline",
        "history.json",
    ]));
    assert_eq!(rec.status.code(), Some(0), "{}", stderr(&rec));
    let history: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("history.json")).unwrap())
            .unwrap_or(Value::Null);
    let last = history["runs"]
        .as_array()
        .and_then(|r| r.last())
        .cloned()
        .unwrap();
    assert_eq!(last["derived"], *derived, "{last}");
    // This machine is another testbed than the history's: times are not judged against
    // another machine's; the ratios are.
    let v = json_out(&out);
    assert_eq!(
        row(&v, "coreml", "freq_branch_sec")["verdict"],
        "new-testbed"
    );
    assert_eq!(row(&v, "coreml", "freq_branch_sec")["history_runs"], 0);
    assert_eq!(
        row(&v, "coreml/pytorch", "freq_branch_sec")["verdict"],
        "regression"
    );
    assert_eq!(v["testbed_runs"], 0);

    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "benchmark:\n  producers: []\n",
    );
    let out = run(bin().current_dir(dir.path()).args(["benchmark", "run"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("benchmark.producers"),
        "{}",
        stderr(&out)
    );
}

//! Testbeds and portable ratios through the real binary: a history from runner A and a
//! current run from runner B 1.6x slower on every stage is `new-testbed` (no warning,
//! no red, the PR comment says so); the same with one stage's CoreML ÷ PyTorch ratio
//! worsened is exactly that regression; config maps several fingerprints onto one
//! testbed.

use crate::benchmark::{json_out, row};
use crate::common::*;
use crate::report_helpers::*;
use crate::report_server::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};

const STAGES: &[(&str, f64, f64)] = &[
    // metric, coreml, pytorch (seconds; MB for memory)
    ("stft_sec", 0.42, 0.38),
    ("freq_branch_sec", 3.21, 4.87),
    ("time_branch_sec", 2.89, 3.92),
    ("istft_sec", 0.31, 0.29),
    ("full_pipeline_sec", 8.12, 11.2),
    ("model_load_sec", 2.1, 3.2),
    ("memory_peak_mb", 1840.0, 2910.0),
];

fn runner_a() -> Value {
    json!({"os": "linux", "os_version": "Ubuntu 24.04.2 LTS", "arch": "x86_64",
           "cpu": "AMD EPYC 7763 64-Core Processor", "runner": "ubuntu24"})
}

fn runner_b() -> Value {
    json!({"os": "macos", "os_version": "15.1", "arch": "aarch64",
           "cpu": "Apple M2", "runner": "macos15"})
}

/// One run's results: every time scaled by `speed` (and the run's `drift`), CoreML's
/// `worse` stage by a further `worse_by`; five samples per time, one memory figure.
fn results(speed: f64, drift: f64, worse: &str, worse_by: f64) -> Value {
    let spread = [1.0, 1.012, 0.991, 1.004, 0.995];
    let mut backends = serde_json::Map::new();
    for (i, backend) in ["coreml", "pytorch"].iter().enumerate() {
        let mut metrics = serde_json::Map::new();
        for (m, c, p) in STAGES {
            let base = if i == 0 { *c } else { *p };
            let value = if m.ends_with("_mb") {
                json!(base * (1.0 + drift / 4.0))
            } else {
                let f = if i == 0 && *m == worse { worse_by } else { 1.0 };
                json!(spread
                    .iter()
                    .map(|s| base * speed * drift * f * s)
                    .collect::<Vec<f64>>())
            };
            metrics.insert(m.to_string(), value);
        }
        backends.insert(backend.to_string(), Value::Object(metrics));
    }
    Value::Object(backends)
}

/// Five runs on runner A, each with its own small drift shared by both backends.
fn history_on_a(dir: &Path) -> PathBuf {
    let runs: Vec<Value> = [1.0, 1.015, 0.99, 1.02, 0.985]
        .iter()
        .enumerate()
        .map(|(i, drift)| {
            json!({"id": format!("run-{i}"), "timestamp": format!("2026-03-0{}T10:00:00Z", i + 1),
                   "commit": format!("{i}{i}{i}{i}{i}{i}{i}abc"), "fingerprint": runner_a(),
                   "results": results(1.0, *drift, "", 1.0)})
        })
        .collect();
    let path = dir.join("benchmarks/baseline.json");
    write(
        &path,
        &serde_json::to_string_pretty(&json!({"version": 2, "runs": runs})).unwrap(),
    );
    path
}

fn current(dir: &Path, fingerprint: Value, worse: &str, worse_by: f64) -> PathBuf {
    let mut run = results(1.6, 1.0, worse, worse_by);
    run["$meta"] = json!({"timestamp": "2026-03-09T10:00:00Z", "commit": "9999999def",
                          "fingerprint": fingerprint});
    let path = dir.join("current.json");
    write(&path, &run.to_string());
    path
}

/// `benchmark compare` as a workflow step (annotations, outputs, step summary).
fn compare_in_actions(dir: &Path, current: &Path, extra: &[&str]) -> std::process::Output {
    run(bin_in_actions(dir)
        .current_dir(dir)
        .args(["benchmark", "compare", "--format", "json", "--current"])
        .arg(current)
        .args(extra))
}

/// The PR comment the report step posts from this benchmark report.
fn pr_comment(dir: &Path) -> String {
    let gh = FakeGitHub::start();
    let out = run_report(&mut report_cmd(dir, &gh, &dir.join(".htdemucs-devops")));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let ours = gh.marked(MARKER);
    assert_eq!(ours.len(), 1, "{:#?}", gh.log());
    ours[0].body.clone()
}

#[test]
fn another_runner_1_6x_slower_is_a_new_testbed_not_a_wall_of_red() {
    let dir = tempdir();
    history_on_a(dir.path());
    let cur = current(dir.path(), runner_b(), "", 1.0);
    let out = compare_in_actions(dir.path(), &cur, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cmds = workflow_commands(&stdout(&out));
    assert!(
        !cmds
            .iter()
            .any(|c| c.starts_with("::warning") || c.starts_with("::error")),
        "{cmds:?}"
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".htdemucs-devops/benchmark.json")).unwrap(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(report["status"], "passed");
    let v = &report["data"];
    assert_eq!(v["verdict"], "new-testbed", "{v}");
    assert_eq!(v["regressions"], 0);
    assert_eq!(v["testbed_runs"], 0);
    for r in v["rows"].as_array().into_iter().flatten() {
        if r["kind"] == "ratio" {
            assert_eq!(r["verdict"], "unchanged", "{r}");
            assert_eq!(r["history_runs"], 5, "{r}");
        } else {
            assert_eq!(r["verdict"], "new-testbed", "{r}");
            assert!(r["current"].as_f64().is_some(), "numbers shown: {r}");
        }
    }
    let headline =
        "first run on macOS 15.1 / Apple M2: no history here yet; 3 more runs before verdicts";
    let outputs = outputs(dir.path());
    assert_eq!(
        output_value(dir.path(), "regressions").as_deref(),
        Some("0")
    );
    assert_eq!(
        output_value(dir.path(), "benchmark-verdict").as_deref(),
        Some("new-testbed")
    );
    assert!(
        output_value(dir.path(), "verdict").is_some_and(|l| l.starts_with(headline)),
        "{outputs}"
    );
    assert_eq!(
        output_value(dir.path(), "status").as_deref(),
        Some("passed")
    );
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(summary.contains(headline), "{summary}");
    assert!(summary.contains("new testbed"), "{summary}");
    assert!(
        summary.contains(
            "_Δ vs baseline compares the CoreML ÷ PyTorch ratio with runs on other testbeds;"
        ),
        "the ratio column says what it compares against: {summary}"
    );
    for red in ["❌", "⚠️", "| Regression |", "regressions and"] {
        assert!(!summary.contains(red), "{red} in\n{summary}");
    }
    let comment = pr_comment(dir.path());
    assert!(comment.contains(headline), "{comment}");
    assert!(
        comment.contains("✅ benchmark: first run on macOS 15.1"),
        "{comment}"
    );
    for red in ["❌", "⚠️", "| Regression |", "regressions and"] {
        assert!(!comment.contains(red), "{red} in\n{comment}");
    }
    // Recorded (with its portable figures), it is this testbed's first run.
    let rec = run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "record", "--local", "--current"])
        .arg(&cur));
    assert_eq!(rec.status.code(), Some(0), "{}", stderr(&rec));
    let base: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("benchmarks/baseline.json")).unwrap(),
    )
    .unwrap_or(Value::Null);
    let last = &base["runs"][5];
    assert!(
        last["derived"]["coreml/pytorch"]["freq_branch_sec"]
            .as_f64()
            .is_some(),
        "{last}"
    );
    // The next run on B (another commit) has one run of history there.
    let mut next: Value =
        serde_json::from_str(&std::fs::read_to_string(&cur).unwrap()).unwrap_or(Value::Null);
    next["$meta"]["commit"] = json!("aaaaaaa123");
    next["$meta"]["timestamp"] = json!("2026-03-10T10:00:00Z");
    let next_file = dir.path().join("next.json");
    write(&next_file, &next.to_string());
    let again = json_out(&run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "compare", "--format", "json", "--current"])
        .arg(&next_file)));
    assert!(
        again["verdict"] == "new-testbed" && again["testbed_runs"] == 1,
        "{again}"
    );
    let text = stdout(&run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "compare", "--current"])
        .arg(&next_file)));
    assert!(
        text.contains("1 earlier run on macOS 15.1 / Apple M2 so far: 2 more runs before verdicts"),
        "{text}"
    );
}

#[test]
fn a_worse_coreml_pytorch_ratio_is_a_regression_on_any_testbed() {
    let dir = tempdir();
    history_on_a(dir.path());
    let cur = current(dir.path(), runner_b(), "freq_branch_sec", 1.3);
    let out = compare_in_actions(dir.path(), &cur, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cmds = workflow_commands(&stdout(&out));
    let warnings: Vec<&String> = cmds.iter().filter(|c| c.starts_with("::warning")).collect();
    assert_eq!(warnings.len(), 1, "{cmds:?}");
    assert!(
        warnings[0].starts_with(
            "::warning title=Benchmark regression%3A coreml/pytorch freq_branch_sec::"
        ),
        "{warnings:?}"
    );
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".htdemucs-devops/benchmark.json")).unwrap(),
    )
    .unwrap_or(Value::Null);
    let v = &report["data"];
    assert_eq!(v["regressions"], 1, "{v}");
    let regs: Vec<&Value> = v["rows"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|r| r["verdict"] == "regression")
        .collect();
    assert_eq!(regs.len(), 1);
    let ratio = row(v, "coreml/pytorch", "freq_branch_sec");
    assert_eq!(ratio["verdict"], "regression");
    assert_eq!(ratio["kind"], "ratio");
    let change = ratio["change_pct"].as_f64().unwrap_or(0.0);
    assert!((change - 30.0).abs() < 1.0, "{ratio}");
    // The time itself is not judged against another machine's.
    assert_eq!(
        row(v, "coreml", "freq_branch_sec")["verdict"],
        "new-testbed"
    );
    let headline = output_value(dir.path(), "verdict").unwrap();
    assert!(
        headline.starts_with("first run on macOS 15.1 / Apple M2: no history here yet; 3 more runs before verdicts. CoreML's Freq branch went from 0.66× to 0.86× of PyTorch (1 regression in 5 ratios"),
        "{headline}"
    );
    assert_eq!(report["status"], "warned");
    // The section's symbol follows the phase's status: warned, not failed.
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("⚠️ **Benchmark:** first run on"),
        "{summary}"
    );
    assert!(!summary.contains("❌ **Benchmark"), "{summary}");
    assert!(
        summary.contains("| CoreML ÷ PyTorch · Freq branch | 0.66× | 0.86× | **\\+30"),
        "{summary}"
    );
    let comment = pr_comment(dir.path());
    assert!(comment.contains("⚠️ benchmark: first run on"), "{comment}");
    assert!(!comment.contains("❌ **Benchmark"), "{comment}");
    // Gated, the same regression fails the phase and the section says ❌.
    let out = compare_in_actions(dir.path(), &cur, &["--fail-on-regression"]);
    assert_eq!(out.status.code(), Some(1));
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("❌ **Benchmark:** first run on"),
        "{summary}"
    );
}

#[test]
fn config_maps_fingerprints_onto_one_testbed_and_a_name_splits_them() {
    let dir = tempdir();
    history_on_a(dir.path());
    // Another EPYC on the same image, 1.6x slower: a different runner kind...
    let other_epyc = json!({"os": "linux", "os_version": "Ubuntu 24.04.2 LTS", "arch": "x86_64",
                            "cpu": "AMD EPYC 9V74 80-Core Processor", "runner": "ubuntu24"});
    let cur = current(dir.path(), other_epyc, "", 1.0);
    let v = json_out(&run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "compare", "--format", "json", "--current"])
        .arg(&cur)));
    assert_eq!(v["verdict"], "new-testbed", "{v}");
    // ...that the config declares the same testbed: now its times are judged.
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "benchmark:\n  testbeds:\n    ubuntu-epyc:\n      - {os: linux, cpu: \"AMD EPYC*\", runner: ubuntu24}\n",
    );
    let compare = |extra: &[&str]| {
        json_out(&run(bin()
            .current_dir(dir.path())
            .args(["benchmark", "compare", "--format", "json", "--current"])
            .arg(&cur)
            .args(extra)))
    };
    let v = compare(&[]);
    assert_eq!(v["testbed"], "ubuntu-epyc", "{v}");
    let listed = stdout(&run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "history"])));
    assert_eq!(listed.matches("ubuntu-epyc").count(), 5, "{listed}");
    assert_eq!(v["testbed_runs"], 5);
    assert_eq!(v["verdict"], "regression");
    assert_eq!(row(&v, "coreml", "stft_sec")["verdict"], "regression");
    assert_eq!(row(&v, "coreml", "memory_peak_mb")["verdict"], "unchanged");
    assert_eq!(
        row(&v, "coreml/pytorch", "stft_sec")["verdict"],
        "unchanged"
    );
    // A run named as another testbed is that testbed's first.
    let v = compare(&["--testbed", "m1-selfhosted"]);
    assert_eq!(v["verdict"], "new-testbed", "{v}");
    assert!(
        v["testbed_label"]
            .as_str()
            .is_some_and(|l| l.starts_with("m1-selfhosted (Ubuntu 24.04.2 LTS / AMD EPYC 9V74")),
        "{v}"
    );
    // A malformed mapping is a config error naming the key.
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "benchmark:\n  testbeds:\n    bad:\n      - {gpu: x}\n",
    );
    let out = run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "compare", "--current"])
        .arg(&cur));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("testbeds"), "{}", stderr(&out));
}

//! `benchmark compare` on every input format (github-action-benchmark, Bencher Metric
//! Format, hyperfine, the stage runner's document), the BMF export, and untrusted names.

use crate::benchmark::{bench, compare, json_out, row};
use crate::common::*;
use serde_json::Value;

#[test]
fn adapters_read_gab_bmf_and_hyperfine() {
    let dir = tempdir();
    let cases: &[(&str, &str, &[&str], &str, &str)] = &[
        ("gab/smaller.json", "auto", &[], "coreml", "freq_branch"),
        (
            "gab/bigger.json",
            "gab-bigger",
            &[],
            "coreml",
            "separations",
        ),
        ("bencher/bmf.json", "auto", &[], "coreml", "latency_ns"),
        (
            "hyperfine/stages.json",
            "auto",
            &[],
            "coreml",
            "full_pipeline_sec",
        ),
    ];
    for (file, format, _, backend, metric) in cases {
        let out = run(bin()
            .current_dir(dir.path())
            .args([
                "benchmark",
                "compare",
                "--format",
                "json",
                "--input-format",
                format,
                "--current",
            ])
            .arg(fixtures().join(file)));
        assert_eq!(out.status.code(), Some(0), "{file}: {}", stderr(&out));
        let v = json_out(&out);
        let r = row(&v, backend, metric);
        assert_eq!(r["verdict"], "new", "{file}: no baseline yet");
        assert!(r["current"].as_f64().unwrap_or(0.0) > 0.0, "{file}: {r}");
    }
    // hyperfine's times are samples; the bigger-is-better file keeps its direction.
    let out = run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "compare", "--format", "json", "--current"])
        .arg(fixtures().join("hyperfine/stages.json")));
    assert_eq!(
        row(&json_out(&out), "pytorch", "full_pipeline_sec")["samples"],
        5
    );
    let out = run(bin()
        .current_dir(dir.path())
        .args([
            "benchmark",
            "compare",
            "--format",
            "json",
            "--input-format",
            "gab-bigger",
            "--current",
        ])
        .arg(fixtures().join("gab/bigger.json")));
    let v = json_out(&out);
    assert_eq!(row(&v, "coreml", "separations")["direction"], "bigger");
    assert_eq!(row(&v, "coreml", "separations")["unit"], "songs/min");
}

#[test]
fn exports_bencher_metric_format() {
    let dir = tempdir();
    let out = compare(
        dir.path(),
        &bench("history.json"),
        &bench("current.json"),
        &["--format", "bmf"],
    );
    let v = json_out(&out);
    assert_eq!(v["coreml"]["freq-branch-sec"]["value"], 3.95);
    assert_eq!(v["coreml"]["stft-sec"]["lower_value"], 0.42);
    assert_eq!(v["coreml"]["stft-sec"]["upper_value"], 0.43);
}

#[test]
fn reads_the_stage_runner_output_and_falls_back_to_its_backends() {
    // The stage runner's document (see its results.rs): per-stage samples, load times and
    // peaks, a `$meta` with nested objects. No `coreml` backend: the table falls back.
    let dir = tempdir();
    let out = run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "compare", "--format", "json", "--current"])
        .arg(bench("runner-output.json")));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let v = json_out(&out);
    assert_eq!(v["candidate"], "converted");
    assert_eq!(v["reference"], "pytorch");
    assert_eq!(v["audio_seconds"], 7.8);
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join(".htdemucs-devops/benchmark.json")).unwrap(),
    )
    .unwrap_or(Value::Null);
    assert_eq!(
        report["data"]["current_run"]["$meta"]["fingerprint"]["torch"],
        "2.13.0"
    );
    assert_eq!(
        report["data"]["current_run"]["$meta"]["backends"]["pytorch"]["engine"],
        "torch"
    );
    let stages: Vec<&str> = v["stages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["metric"].as_str())
        .collect();
    assert_eq!(
        stages,
        [
            "stft_sec",
            "freq_branch_sec",
            "istft_sec",
            "full_pipeline_sec",
            "model_load_sec",
            "memory_peak_mb",
            "stft_load_sec",
            "stft_peak_mb"
        ]
    );
    let text = run(bin()
        .current_dir(dir.path())
        .args(["benchmark", "compare", "--current"])
        .arg(bench("runner-output.json")));
    let t = stdout(&text);
    assert!(
        t.starts_with("                   converted  PyTorch"),
        "{t}"
    );
    assert!(t.contains("STFT (7.8s audio)"), "{t}");
}

#[test]
fn untrusted_names_are_escaped_everywhere() {
    let dir = tempdir();
    let evil = dir.path().join("evil.json");
    write(
        &evil,
        r#"{"<img src=x onerror=alert(1)>|x": {"a|b_sec": 2.0, "stft_sec": 1.0}, "pytorch": {"stft_sec": 1.0, "a|b_sec": 1.0}}"#,
    );
    let base = dir.path().join("base.json");
    write(
        &base,
        r#"{"2026-01-01": {"<img src=x onerror=alert(1)>|x": {"a|b_sec": 1.0, "stft_sec": 1.0}, "pytorch": {"stft_sec": 1.0, "a|b_sec": 1.0}}}"#,
    );
    let out = compare(dir.path(), &base, &evil, &["--format", "markdown"]);
    let md = stdout(&out);
    assert!(!md.contains("<img"), "{md}");
    assert!(
        md.contains("&lt;img src=x onerror=alert\\(1\\)&gt;\\|x"),
        "{md}"
    );
    assert!(md.contains("A\\|b"), "{md}");
    let out = run(bin_in_actions(dir.path())
        .current_dir(dir.path())
        .args(["benchmark", "compare", "--baseline"])
        .arg(&base)
        .arg("--current")
        .arg(&evil));
    let cmds = workflow_commands(&stdout(&out));
    let warning = cmds
        .iter()
        .find(|c| c.starts_with("::warning"))
        .cloned()
        .unwrap();
    assert!(warning.contains("a|b_sec"), "{cmds:?}");
    // One command: nothing in the names can end the title or start another command.
    assert_eq!(warning.matches("::").count(), 2, "{warning}");
    assert!(
        warning.contains("title=Benchmark regression%3A "),
        "{warning}"
    );
    // A results file that is not JSON is a clear error naming it.
    write(&dir.path().join("broken.json"), "coreml: fast\n");
    let out = run(bin().current_dir(dir.path()).args([
        "benchmark",
        "compare",
        "--current",
        "broken.json",
    ]));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("broken.json:1:1: not valid JSON"),
        "{}",
        stderr(&out)
    );
}

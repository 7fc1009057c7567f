//! A port's parity outputs read as they are: a flat folder of `{stem}_pytorch.wav` /
//! `{stem}_coreml.wav` compared stem by stem (`parity.pairs`, `--pairs`), and the
//! `metrics.csv` (`stem,sdr,sir,sar`) its scripts computed, gated by `min_sdr_db`.

use crate::common::*;
use crate::port_formats::port;
use serde_json::Value;
use std::path::Path;

const STEMS: [&str; 6] = ["drums", "bass", "other", "vocals", "guitar", "piano"];

/// A workspace with the fixture's stems copied to `out/` and `config` as its config.
fn workspace(config: &str) -> tempfile::TempDir {
    let dir = tempdir();
    let out = dir.path().join("out");
    std::fs::create_dir_all(&out).unwrap_or_else(|e| panic!("{e}"));
    for stem in STEMS {
        for backend in ["pytorch", "coreml"] {
            let name = format!("{stem}_{backend}.wav");
            std::fs::copy(port("stems").join(&name), out.join(&name))
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
    std::fs::copy(port("metrics.csv"), out.join("metrics.csv")).unwrap_or_else(|e| panic!("{e}"));
    write(&dir.path().join(".github/htdemucs-devops.yml"), config);
    dir
}

fn parity(dir: &Path, args: &[&str]) -> (std::process::Output, Value) {
    let out = run(bin()
        .current_dir(dir)
        .args(["parity", "--format", "json"])
        .args(args));
    let v = serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null);
    (out, v)
}

fn checks(v: &Value) -> Vec<Value> {
    v["checks"]
        .as_array()
        .cloned()
        .expect("the report has a checks array")
}

fn check<'a>(v: &'a Value, array: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .and_then(|cs| cs.iter().find(|c| c["array"] == array))
        .unwrap_or_else(|| panic!("no check {array:?} in {v}"))
}

#[test]
fn pairs_from_the_config_compare_the_six_stems() {
    let dir = workspace("parity:\n  pairs:\n    dir: out\n");
    let (out, v) = parity(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cs = checks(&v);
    assert_eq!(cs.len(), 6, "{v}");
    for stem in STEMS {
        let c = check(&v, stem);
        assert_eq!(c["passed"], true, "{c}");
        assert_eq!(c["stage"], "stems");
        assert!(c["sdr_db"].as_f64().is_some_and(|s| s > 60.0), "{c}");
    }
    assert!(v["reference"]
        .as_str()
        .is_some_and(|r| r.ends_with("out/{stem}_pytorch.wav")));
    // The metrics.csv beside the stems is neither a stem nor flagged (other extension).
    assert!(!stderr(&out).contains("metrics.csv"), "{}", stderr(&out));
}

#[test]
fn a_one_sided_stem_is_a_counted_failure_naming_the_missing_file() {
    let dir = workspace("");
    let out_dir = dir.path().join("out");
    std::fs::remove_file(out_dir.join("guitar_coreml.wav")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(
        out_dir.join("drums_coreml.wav"),
        out_dir.join("drums_onnx.wav"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let (out, v) = parity(dir.path(), &["--pairs", "out"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(checks(&v).len(), 6);
    assert_eq!(v["passed"], false);
    let guitar = check(&v, "guitar");
    assert_eq!(guitar["passed"], false);
    let problem = guitar["problems"][0]
        .as_str()
        .expect("guitar has a problem");
    assert!(
        problem.starts_with(
            "the candidate file out/guitar_coreml.wav is missing: out/guitar_pytorch.wav"
        ),
        "{problem}"
    );
    assert_eq!(
        checks(&v).iter().filter(|c| c["passed"] == false).count(),
        1
    );
    // A file of another backend is named, not compared.
    assert!(
        stderr(&out).contains("\"drums_onnx.wav\""),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_custom_pattern_and_backends() {
    let dir = tempdir();
    let stems = dir.path().join("sep");
    std::fs::create_dir_all(&stems).unwrap_or_else(|e| panic!("{e}"));
    for stem in ["drums", "bass"] {
        for (backend, short) in [("pytorch", "ref"), ("coreml", "ane")] {
            std::fs::copy(
                port("stems").join(format!("{stem}_{backend}.wav")),
                stems.join(format!("{short}-{stem}.wav")),
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
    }
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "parity:\n  pairs:\n    dir: sep\n    pattern: \"{backend}-{stem}.wav\"\n    reference: ref\n    candidate: ane\n",
    );
    let (out, v) = parity(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(checks(&v).len(), 2);
    check(&v, "drums");

    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "parity:\n  pairs:\n    dir: sep\n    pattern: \"{stem}.wav\"\n",
    );
    let (bad, _) = parity(dir.path(), &[]);
    assert_eq!(bad.status.code(), Some(2));
    assert!(
        stderr(&bad).contains("htdemucs-devops.yml") && stderr(&bad).contains("{backend}"),
        "{}",
        stderr(&bad)
    );
    write(&dir.path().join(".github/htdemucs-devops.yml"), "");
    let (bad, _) = parity(dir.path(), &["--pairs", "sep", "--pattern", "x.wav"]);
    assert_eq!(bad.status.code(), Some(2), "{}", stderr(&bad));
    assert!(stderr(&bad).contains("--pattern"), "{}", stderr(&bad));
}

#[test]
fn metrics_csv_gives_one_sdr_check_per_stem() {
    let dir = workspace("");
    let (out, v) = parity(dir.path(), &["--metrics", "out/metrics.csv"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(checks(&v).len(), 6);
    let drums = check(&v, "drums");
    assert_eq!(drums["reported"]["sdr_db"], 48.21);
    assert_eq!(drums["reported"]["sir_db"], 61.02);
    assert_eq!(drums["reported"]["source"], "out/metrics.csv:2");
    assert!(check(&v, "piano")["reported"].get("sir_db").is_none());

    // The stems stage's own minimum gates the reported SDRs.
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "parity:\n  metrics_csv: out/metrics.csv\n  stages:\n    stems:\n      min_sdr_db: 45\n",
    );
    let (out, v) = parity(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let mut failed: Vec<String> = checks(&v)
        .iter()
        .filter(|c| c["passed"] == false)
        .filter_map(|c| c["array"].as_str().map(str::to_string))
        .collect();
    failed.sort();
    assert_eq!(failed, ["guitar", "piano"], "{v}");
    let p = check(&v, "guitar")["problems"][0]
        .as_str()
        .expect("guitar has a problem")
        .to_string();
    assert!(p.contains("41.9") && p.contains("out/metrics.csv:6"), "{p}");

    // Pairs and metrics together: one report.
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "parity:\n  metrics_csv: out/metrics.csv\n  pairs:\n    dir: out\n  stages:\n    stems:\n      min_sdr_db: 40\n",
    );
    let (out, v) = parity(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(checks(&v).len(), 12);
}

#[test]
fn bad_metrics_csv_is_an_error_naming_file_and_line() {
    let dir = tempdir();
    let (out, _) = parity(
        dir.path(),
        &["--metrics", &port("metrics-string.csv").to_string_lossy()],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("metrics-string.csv:3")
            && err.contains("column sdr")
            && err.contains("52.7 dB"),
        "{err}"
    );
    let unclosed = dir.path().join("m.csv");
    write(&unclosed, "stem,sdr,sir,sar\ndrums,1,2,3\n\"bass,4,5,6\n");
    let (out, _) = parity(dir.path(), &["--metrics", "m.csv"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("m.csv:3: a quoted field is never closed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hostile_metrics_csv_keeps_names_exact_and_gates_nan_and_empty() {
    let dir = tempdir();
    let (out, v) = parity(
        dir.path(),
        &["--metrics", &port("metrics-hostile.csv").to_string_lossy()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(checks(&v).len(), 4);
    let forged = check(&v, "say \"hi\"\n::error::PWN01 forged");
    assert_eq!(forged["passed"], false);
    assert_eq!(
        check(&v, "::warning::PWN02 ##[error]PWN03 <b>x</b>")["passed"],
        true
    );
    let nan = check(&v, "bass");
    assert_eq!(nan["reported"]["sdr_db"], "nan");
    assert!(nan["problems"][0]
        .as_str()
        .is_some_and(|p| p.contains("NaN")));
    let empty = check(&v, "other");
    assert!(empty["reported"].get("sdr_db").is_none(), "{empty}");
    assert!(empty["problems"][0]
        .as_str()
        .is_some_and(|p| p.contains("not measured")));
}

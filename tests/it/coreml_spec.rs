//! The `.mlpackage` check on Linux: real packages converted here with coremltools through
//! `torch.export` (tests/fixtures/coreml/convert.py), read by `coreml inspect` and compared
//! with coremltools' own `get_spec()`; `parity` passes on the converted model and fails,
//! before anything runs, on a copy whose output was renamed.

use crate::common::*;
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The converted models, made once per test process (a few seconds of coremltools).
fn models() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("coreml-models");
        let _ = std::fs::remove_dir_all(&dir);
        let python = python_with_numpy();
        let out = Command::new(&python)
            .arg(fixtures().join("coreml/convert.py"))
            .arg(&dir)
            .output()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
        assert!(
            out.status.success(),
            "converting the test models with coremltools failed (is `coremltools` from \
             requirements-dev.txt installed in {}?):\n{}",
            python.display(),
            stderr(&out)
        );
        dir
    })
}

fn inspect(path: &Path) -> Value {
    let out = run(bin()
        .args(["coreml", "inspect", "--format", "json"])
        .arg(path));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)))
}

/// Our JSON in the shape `convert.py` writes coremltools' answer in.
fn as_expected(ours: &Value) -> Value {
    let features = |list: &Value| -> Value {
        let items = list.as_array().cloned().expect("a list of features");
        Value::Array(
            items
                .iter()
                .map(|f| {
                    let mut e = serde_json::json!({
                        "name": f["name"], "shape": f["shape"], "dtype": f["dtype"],
                    });
                    match f["flexibility"]["kind"].as_str() {
                        Some("range") => e["range"] = f["flexibility"]["shapes"].clone(),
                        Some("enumerated") => e["enumerated"] = f["flexibility"]["shapes"].clone(),
                        _ => {}
                    }
                    e
                })
                .collect(),
        )
    };
    serde_json::json!({
        "spec_version": ours["spec_version"],
        "model_type": ours["model_type"],
        "inputs": features(&ours["inputs"]),
        "outputs": features(&ours["outputs"]),
    })
}

#[test]
fn inspect_agrees_with_coremltools_get_spec() {
    let dir = models();
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap()).unwrap();
    let names = [
        "fp32.mlpackage",
        "fp16.mlpackage",
        "renamed.mlpackage",
        "flexible.mlmodel",
    ];
    for name in names {
        let ours = inspect(&dir.join(name));
        assert_eq!(as_expected(&ours), expected[name], "{name}");
    }
    // The facts the check relies on, spelled out: float16 outputs, and the rename.
    let fp16 = inspect(&dir.join("fp16.mlpackage"));
    assert_eq!(fp16["outputs"][0]["dtype"], "float16");
    assert_eq!(fp16["inputs"][0]["dtype"], "float32");
    let renamed = inspect(&dir.join("renamed.mlpackage"));
    assert_eq!(renamed["outputs"][0]["name"], "add_70");
    let text = stdout(&run(bin()
        .args(["coreml", "inspect"])
        .arg(dir.join("fp16.mlpackage"))));
    assert!(
        text.contains("output  add_66  float16 [1, 1, 4, 16, 8]"),
        "{text}"
    );
}

const PIPELINE: &str = "\
sample_rate: 44100
channels: 2
backends:
  pytorch: {engine: torch}
  coreml: {engine: coreml}
stages:
  - name: stft
    inputs: [{name: audio, from: audio, shape: [1, 2, -1]}]
    outputs: [spectrogram]
    artifacts: {pytorch: build/stft.pt}
  - name: model
    inputs:
      - {name: spectrogram, from: stft.spectrogram, shape: [1, 4, 16, SPEC_FRAMES]}
      - {name: raw_audio, from: audio, shape: [1, 2, -1]}
    outputs: [add_66, add_67]
    artifacts: {pytorch: build/model.pt, coreml: MODEL}
";

/// A workspace with the pipeline spec (default `parity.run.spec`), the model copied in
/// as `Model.mlpackage`, and two identical arrays to compare.
fn workspace(model: &str, frames: &str) -> tempfile::TempDir {
    let ws = tempdir();
    let spec = PIPELINE
        .replace("SPEC_FRAMES", frames)
        .replace("MODEL", "Model.mlpackage");
    write(&ws.path().join("pipeline.yml"), &spec);
    copy_dir(&models().join(model), &ws.path().join("Model.mlpackage"));
    let npy = npy_f32(&[4], &[0.1, 0.2, 0.3, 0.4]);
    std::fs::create_dir_all(ws.path().join("a")).unwrap();
    std::fs::create_dir_all(ws.path().join("b")).unwrap();
    std::fs::write(ws.path().join("a/x.npy"), &npy).unwrap();
    std::fs::write(ws.path().join("b/x.npy"), &npy).unwrap();
    ws
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap_or_else(|e| panic!("{}: {e}", to.display()));
    for entry in std::fs::read_dir(from).unwrap_or_else(|e| panic!("{}: {e}", from.display())) {
        let entry = entry.unwrap_or_else(|e| panic!("{e}"));
        let target = to.join(entry.file_name());
        if entry.path().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}

fn parity_files(ws: &Path) -> std::process::Output {
    run(bin()
        .current_dir(ws)
        .args(["parity", "--reference", "a", "--candidate", "b"]))
}

#[test]
fn parity_passes_on_the_converted_model_and_fails_on_a_renamed_copy() {
    for model in ["fp32.mlpackage", "fp16.mlpackage"] {
        let ws = workspace(model, "8");
        let out = parity_files(ws.path());
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{model}: {err}{}", stdout(&out));
        assert!(err.contains("matches stage `model`"), "{err}");
    }

    let ws = workspace("renamed.mlpackage", "8");
    let out = parity_files(ws.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    for want in [
        "Model.mlpackage",
        "pipeline.yml",
        "stage `model`",
        "`add_66` not found",
        "expects outputs add_66, add_67, the model has add_70, add_67",
        "rename_feature",
        "coreml inspect",
    ] {
        assert!(err.contains(want), "missing {want:?} in: {err}");
    }
    assert!(
        !ws.path().join(".htdemucs-devops/parity.json").exists(),
        "no comparison may run against a model that does not fit the spec"
    );

    // `parity run` stops at the check too, before it looks for a stage runner.
    let out = run(bin().current_dir(ws.path()).args([
        "parity",
        "run",
        "--runner",
        "/nonexistent/htdemucs-stage-runner",
    ]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("`add_66` not found"), "{err}");
}

#[test]
fn shapes_are_checked_with_wildcards_and_flexible_sizes() {
    // The fixed model takes 8 spectrogram frames, not 9.
    let ws = workspace("fp32.mlpackage", "9");
    let out = run(bin().current_dir(ws.path()).args(["coreml", "check"]));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("input `spectrogram`: the spec expects shape [1, 4, 16, 9], the model takes float32 [1, 4, 16, 8]"),
        "{err}"
    );
    let ws = workspace("fp32.mlpackage", "-1");
    let out = run(bin().current_dir(ws.path()).args(["coreml", "check"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));

    // A bare .mlmodel with enumerated spectrogram shapes and a range of audio lengths.
    let ws = tempdir();
    std::fs::copy(
        models().join("flexible.mlmodel"),
        ws.path().join("flexible.mlmodel"),
    )
    .unwrap();
    for (frames, samples, ok) in [
        ("16", "500", true),
        ("8", "64", true),
        ("12", "500", false),
        ("16", "10", false),
    ] {
        let spec = PIPELINE
            .replace("SPEC_FRAMES", frames)
            .replace("MODEL", "flexible.mlmodel")
            .replace(
                "[1, 2, -1]}\n    outputs: [add",
                &format!("[1, 2, {samples}]}}\n    outputs: [add"),
            );
        write(&ws.path().join("p.yml"), &spec);
        let out = run(bin()
            .current_dir(ws.path())
            .args(["coreml", "check", "--spec", "p.yml"]));
        assert_eq!(
            out.status.code(),
            Some(if ok { 0 } else { 2 }),
            "{frames} frames, {samples} samples: {}",
            stderr(&out)
        );
    }
}

#[test]
fn unreadable_packages_name_the_file_and_the_fix() {
    let ws = tempdir();
    let pkg = ws.path().join("Broken.mlpackage");
    std::fs::create_dir_all(&pkg).unwrap();
    let out = run(bin().args(["coreml", "inspect"]).arg(&pkg));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("Broken.mlpackage") && err.contains("Manifest.json"),
        "{err}"
    );

    // A manifest may not point outside the package.
    write(
        &pkg.join("Manifest.json"),
        r#"{"rootModelIdentifier": "x", "itemInfoEntries": {"x": {"path": "../../etc/passwd"}}}"#,
    );
    let err = stderr(&run(bin().args(["coreml", "inspect"]).arg(&pkg)));
    assert!(err.contains("leaves the package"), "{err}");

    // Not a protobuf: a truncated field.
    write(
        &pkg.join("Manifest.json"),
        r#"{"rootModelIdentifier": "x", "itemInfoEntries": {"x": {"path": "com.apple.CoreML/model.mlmodel"}}}"#,
    );
    write(
        &pkg.join("Data/com.apple.CoreML/model.mlmodel"),
        "\u{12}\u{7f}abc",
    );
    let out = run(bin().args(["coreml", "inspect"]).arg(&pkg));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("not a readable Core ML specification") && err.contains("byte"),
        "{err}"
    );
}

#[test]
fn declared_dtypes_are_checked_against_the_model_per_backend() {
    // The port's model: float32 in, float16 out; PyTorch returns float32 for the same stage.
    let declare = |out: &str| {
        PIPELINE
            .replace("SPEC_FRAMES", "-1")
            .replace("MODEL", "Model.mlpackage")
            .replace(
                "outputs: [add_66, add_67]",
                &format!(
                    "outputs:\n      - {{name: add_66, dtype: {out}}}\n      - {{name: add_67, dtype: {out}}}"
                ),
            )
    };
    let ws = workspace("fp16.mlpackage", "-1");
    for (out, ok) in [
        ("{pytorch: float32, coreml: float16}", true),
        ("float16", true),
        ("{pytorch: float32, coreml: float32}", false),
    ] {
        write(&ws.path().join("pipeline.yml"), &declare(out));
        let res = run(bin().current_dir(ws.path()).args(["coreml", "check"]));
        let err = stderr(&res);
        assert_eq!(
            res.status.code(),
            Some(if ok { 0 } else { 2 }),
            "{out}: {err}"
        );
        if !ok {
            assert!(
                err.contains("`add_66`: the spec declares dtype float32, the model's is float16"),
                "{err}"
            );
        }
    }
}

//! The Core ML backend on a Mac (macOS CI builds with `--features coreml`): the float32 and
//! float16 packages of tests/fixtures/coreml/convert.py (converted with coremltools through
//! `torch.export`, as the port converts) run through the runner; the float16 model's
//! outputs come back as float16, and agree with the float32 model's within float16's
//! precision.

use std::process::Command;

use htdemucs_devops::runner::npz::read_npz;
use htdemucs_devops::runner::DType;

use crate::common::{python, run_ok, runner_ok};

#[test]
fn float16_outputs_are_read_as_float16_and_match_the_float32_model() {
    let dir = tempfile::tempdir().unwrap();
    let models = dir.path().join("models");
    let fixture = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/coreml");
    run_ok(
        Command::new(python())
            .arg(fixture.join("convert.py"))
            .arg(&models),
    );
    // The spectrogram comes from a small external command (the same values for both
    // backends); the raw audio is the runner's test signal, 64 samples at 6400 Hz.
    let py = python().display().to_string();
    let make = "import sys, numpy as np; np.save(sys.argv[1], \
                np.random.default_rng(0).standard_normal((1, 4, 16, 8)).astype('f4'))";
    let command = format!("{{command: [{py:?}, -c, {make:?}, \"{{output:spectrogram}}\"]}}");
    let spec = dir.path().join("pipeline.yml");
    std::fs::write(
        &spec,
        format!(
            "name: toy\nsample_rate: 6400\nchannels: 2\n\
             backends:\n  fp32: {{engine: coreml, compute_units: cpu}}\n  \
             fp16: {{engine: coreml, compute_units: cpu}}\n\
             stages:\n  - name: stft\n    inputs: [{{name: audio, from: audio}}]\n    \
             outputs: [spectrogram]\n    artifacts:\n      fp32: {command}\n      fp16: {command}\n  \
             - name: separate\n    inputs:\n      \
             - {{name: spectrogram, from: stft.spectrogram, shape: [1, 4, 16, 8]}}\n      \
             - {{name: raw_audio, from: audio, shape: [1, 2, 64]}}\n    \
             outputs: [add_66, add_67]\n    artifacts:\n      \
             fp32: {m}/fp32.mlpackage\n      fp16: {m}/fp16.mlpackage\n",
            m = models.display()
        ),
    )
    .unwrap();
    let mut captured = Vec::new();
    for backend in ["fp32", "fp16"] {
        let capture = dir.path().join(format!("{backend}.npz"));
        let results = dir.path().join(format!("{backend}.json"));
        runner_ok(&[
            "--spec",
            spec.to_str().unwrap(),
            "--backend",
            backend,
            "--signal-seconds",
            "0.01",
            "--warmup",
            "0",
            "--repeat",
            "1",
            "--out",
            results.to_str().unwrap(),
            "--capture",
            capture.to_str().unwrap(),
        ]);
        captured.push(read_npz(&capture).unwrap());
    }
    let (fp32, fp16) = (&captured[0], &captured[1]);
    for name in ["separate.add_66", "separate.add_67"] {
        assert_eq!(fp32[name].dtype(), DType::Float32, "{name}");
        assert_eq!(fp16[name].dtype(), DType::Float16, "{name}");
        assert_eq!(fp32[name].shape(), fp16[name].shape(), "{name}");
        let (a, b) = (fp32[name].to_f64(), fp16[name].to_f64());
        let peak = a.iter().fold(0f64, |m, v| m.max(v.abs()));
        let worst = a
            .iter()
            .zip(&b)
            .fold(0f64, |m, (x, y)| m.max((x - y).abs()));
        assert!(
            worst <= 4e-3 * peak.max(1.0),
            "{name}: max |Δ| {worst} (peak {peak})"
        );
    }
}

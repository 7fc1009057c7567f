//! The real HTDemucs (demucs 4.1.0, seeded random weights, reduced widths, the real 7.8 s
//! segment) through the stage runner in segments, against demucs's own `apply_model`.
//!
//! `examples/htdemucs/model/export.py` traces the port's cut (STFT / separate / iSTFT + sum)
//! and `reference.py` runs `apply_model(model, audio, shifts=0, split=True, overlap=0.25,
//! transition_power=1)` on the audio the runner captured: the test computes both.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use serde_json::Value;

use crate::common::*;

fn example_src() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("examples/htdemucs")
}

/// The example's pipeline with a small 4-source HTDemucs exported beside it (once).
fn htdemucs() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("htdemucs-small");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::copy(example_src().join("pipeline.yml"), dir.join("pipeline.yml")).unwrap();
        python_ok(&[
            s(&example_src().join("model/export.py")),
            "--out",
            s(&dir.join("build")),
            "--size",
            "small",
            "--sources",
            "4",
        ]);
        dir
    })
}

fn python_ok(args: &[&str]) {
    let out = Command::new(python()).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{args:?} failed (demucs 4.1.0 in the venv? `make setup`):\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn run(dir: &Path, backend: &str, extra: &[&str]) -> (PathBuf, Value) {
    let spec = htdemucs().join("pipeline.yml");
    let npz = dir.join(format!("{backend}.npz"));
    let json = dir.join(format!("{backend}.json"));
    let mut args = vec!["--spec", s(&spec), "--backend", backend];
    args.extend([
        "--warmup",
        "0",
        "--repeat",
        "1",
        "--capture",
        s(&npz),
        "--out",
        s(&json),
    ]);
    args.extend(extra);
    runner_ok(&args);
    (
        npz,
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap(),
    )
}

#[test]
fn thirty_seconds_in_segments_match_demucs_apply_model() {
    let dir = tempfile::tempdir().unwrap();
    let (npz, doc) = run(dir.path(), "pytorch", &["--signal-seconds", "30"]);
    let reference = dir.path().join("apply_model.npz");
    python_ok(&[
        s(&example_src().join("model/reference.py")),
        "--build",
        s(&htdemucs().join("build")),
        "--capture",
        s(&npz),
        "--out",
        s(&reference),
    ]);
    let ours = load(&npz);
    let demucs = load(&reference);
    let (sources, want) = (&ours["istft.sources"], &demucs["sources"]);
    assert_eq!(sources.shape(), &[1, 4, 2, 1_323_000]);
    assert!(
        peak(want) > 1e-3,
        "demucs's output is silent: the comparison would prove nothing"
    );
    let diff = sources.max_abs_diff(want).unwrap();
    assert!(
        diff <= 1e-5 * peak(want).max(1.0),
        "runner vs apply_model: max |Δ| = {diff}"
    );

    // Six segments: the spectrogram and both branches are captured per segment.
    assert_eq!(ours["stft.spectrogram"].shape(), &[6, 4, 2048, 336]);
    assert_eq!(ours["separate.add_66"].shape(), &[6, 4, 4, 2048, 336]);
    assert_eq!(ours["separate.add_67"].shape(), &[6, 4, 2, 343_980]);
    let segments = &doc["$meta"]["backends"]["pytorch"]["segments"];
    let offsets: Vec<u64> = segments["windows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w["offset"].as_u64().unwrap())
        .collect();
    assert_eq!(
        offsets,
        [0, 257_985, 515_970, 773_955, 1_031_940, 1_289_925]
    );
    // The stage's figure is the whole input's: the sum of its six segments.
    for stage in ["stft", "separate", "istft"] {
        let whole = doc["pytorch"][format!("{stage}_sec")][0].as_f64().unwrap();
        let per = segments["stage_sec"][stage].as_array().unwrap();
        assert_eq!(per.len(), 6);
        let sum: f64 = per.iter().map(|p| p[0].as_f64().unwrap()).sum();
        assert!((sum - whole).abs() < 1e-9, "{stage}: {sum} vs {whole}");
    }
    assert_eq!(doc["$meta"]["audio_seconds"], 30.0);
}

/// CI's smoke test of the example: one segment (5 s < the 5.85 s stride) of the small
/// model, the float16 candidate chained and isolated, each compared with the float32
/// reference by the parity phase under its default tolerances.
#[test]
fn one_segment_of_the_example_passes_parity() {
    let dir = tempfile::tempdir().unwrap();
    let (reference, doc) = run(dir.path(), "pytorch", &["--signal-seconds", "5"]);
    let windows = &doc["$meta"]["backends"]["pytorch"]["segments"]["windows"];
    assert_eq!(windows.as_array().unwrap().len(), 1, "{windows}");
    let (chained, _) = run(dir.path(), "converted", &["--signal-seconds", "5"]);
    let isolated_dir = dir.path().join("isolated");
    std::fs::create_dir(&isolated_dir).unwrap();
    let (isolated, _) = run(
        &isolated_dir,
        "converted",
        &["--inputs-from", s(&reference)],
    );
    for (mode, candidate) in [("chained", &chained), ("isolated", &isolated)] {
        let out_dir = dir.path().join(format!("parity-{mode}"));
        let out = Command::new(MAIN)
            .args([
                "parity",
                "--reference",
                s(&reference),
                "--candidate",
                s(candidate),
            ])
            .args(["--out-dir", s(&out_dir)])
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{mode}: {text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for array in [
            "stft.spectrogram",
            "separate.add_66",
            "separate.add_67",
            "istft.sources",
        ] {
            assert!(
                text.contains(array),
                "{mode}: {array} not compared:\n{text}"
            );
        }
    }
}

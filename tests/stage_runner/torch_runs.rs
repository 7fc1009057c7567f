//! Real libtorch runs of the example: stage-by-stage equals whole pipeline, isolation, results JSON.

use htdemucs_devops::runner::META;
use serde_json::Value;

use crate::common::*;

fn capture(
    spec_file: &str,
    backend: &str,
    extra: &[&str],
) -> (tempfile::TempDir, std::path::PathBuf, Value) {
    let dir = tempfile::tempdir().unwrap();
    let npz = dir.path().join(format!("{backend}.npz"));
    let json = dir.path().join("results.json");
    let spec = spec(spec_file);
    let mut args = vec!["--spec", &spec, "--backend", backend];
    // Outputs do not depend on repetitions: keep the runs short unless a test asks.
    for (flag, default) in [("--warmup", "0"), ("--repeat", "1")] {
        if !extra.contains(&flag) {
            args.extend([flag, default]);
        }
    }
    if !extra.contains(&"--inputs-from") {
        // Isolated runs take the reference's audio.
        args.extend(["--signal-seconds", "1"]);
    }
    args.extend(["--capture", s(&npz), "--out", s(&json)]);
    args.extend(extra);
    runner_ok(&args);
    let doc = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (dir, npz, doc)
}

#[test]
fn stages_one_after_another_equal_full_pipeline() {
    for backend in ["pytorch", "converted"] {
        let (_d, npz, _) = capture("pipeline.yml", backend, &[]);
        let arrays = load(&npz);
        let staged = &arrays["istft.stems"];
        let full = &arrays["full_pipeline.stems"];
        assert_eq!(staged.shape(), &[1, 4, 2, 44_100]);
        assert!(
            peak(full) > 1e-3,
            "{backend}: output is silent, the comparison would prove nothing"
        );
        let diff = staged.max_abs_diff(full).unwrap();
        assert!(
            diff <= 1e-5 * peak(full).max(1.0),
            "{backend}: staged vs full differ by {diff}"
        );
    }
}

#[test]
fn joint_branches_model_with_two_inputs_and_outputs_equals_full_pipeline() {
    let (_d, npz, doc) = capture("pipeline-joint.yml", "pytorch", &[]);
    let arrays = load(&npz);
    assert_eq!(arrays["branches.freq_out"].shape(), &[1, 4, 4, 256, 345]);
    assert_eq!(arrays["branches.time_out"].shape(), &[1, 4, 2, 44_100]);
    let diff = arrays["istft.stems"]
        .max_abs_diff(&arrays["full_pipeline.stems"])
        .unwrap();
    assert!(diff <= 1e-5, "joint staged vs full differ by {diff}");
    // Timed as one stage: no invented per-branch split.
    assert!(doc["pytorch"].get("branches_sec").is_some());
    assert!(doc["pytorch"].get("freq_branch_sec").is_none());
}

#[test]
fn converted_differs_from_pytorch_by_float16_error_only() {
    let (_a, p, _) = capture("pipeline.yml", "pytorch", &[]);
    let (_b, c, _) = capture("pipeline.yml", "converted", &[]);
    let (p, c) = (load(&p), load(&c));
    assert_eq!(
        p["stft.spectrogram"], c["stft.spectrogram"],
        "STFT stays float32 in both"
    );
    let diff = p["full_pipeline.stems"]
        .max_abs_diff(&c["full_pipeline.stems"])
        .unwrap();
    assert!(
        diff > 0.0 && diff < 1e-2,
        "float16 error should be small but present, got {diff}"
    );
}

#[test]
fn isolated_mode_feeds_each_stage_the_reference_inputs() {
    let (_a, reference, _) = capture("pipeline.yml", "pytorch", &[]);
    let (_b, chained, _) = capture("pipeline.yml", "converted", &[]);
    let (_c, isolated, doc) = capture(
        "pipeline.yml",
        "converted",
        &["--inputs-from", s(&reference)],
    );
    let (r, ch, iso) = (load(&reference), load(&chained), load(&isolated));
    // istft is float32 in both variants: fed the reference's own branch outputs it must
    // reproduce the reference exactly, while the chained run carries float16 error into it.
    let iso_diff = iso["istft.stems"].max_abs_diff(&r["istft.stems"]).unwrap();
    let chained_diff = ch["istft.stems"].max_abs_diff(&r["istft.stems"]).unwrap();
    assert!(
        iso_diff <= 1e-6,
        "isolated istft differs from reference by {iso_diff}"
    );
    assert!(
        chained_diff > 10.0 * iso_diff.max(1e-7),
        "chained {chained_diff} vs isolated {iso_diff}"
    );
    assert_eq!(
        doc[META]["audio_seconds"], 1.0,
        "the reference's audio was the input"
    );
    assert_eq!(iso["audio"], r["audio"]);
    // Giving audio as well as a reference that has it is ambiguous: exit 2.
    let spec = spec("pipeline.yml");
    let err = runner_fails(&[
        "--spec",
        &spec,
        "--backend",
        "converted",
        "--inputs-from",
        s(&reference),
        "--signal-seconds",
        "1",
    ]);
    assert!(err.contains("already holds the `audio` array"), "{err}");
    assert_eq!(
        doc[META]["backends"]["converted"]["inputs_from"],
        Value::String(s(&reference).into())
    );
}

#[test]
fn results_json_has_the_benchmark_producer_shape() {
    let (_d, _, doc) = capture(
        "pipeline.yml",
        "pytorch",
        &["--warmup", "1", "--repeat", "2", "--threads", "1"],
    );
    let m = doc["pytorch"].as_object().unwrap();
    let stages = [
        "stft",
        "freq_branch",
        "time_branch",
        "istft",
        "full_pipeline",
    ];
    let mut load_sum = 0.0;
    for stage in stages {
        let samples = m[&format!("{stage}_sec")].as_array().unwrap();
        assert_eq!(samples.len(), 2, "{stage}: one sample per repetition");
        assert!(samples.iter().all(|v| v.as_f64().unwrap() > 0.0));
        load_sum += m[&format!("{stage}_load_sec")].as_f64().unwrap();
        // What the stage added, not the process's peak: well under the stage window's
        // peak, which includes libtorch and everything held before.
        let added = m[&format!("{stage}_mem_increase_mb")].as_f64().unwrap();
        let info = doc[META]["backends"]["pytorch"]["stages"]
            .as_array()
            .unwrap()
            .iter()
            .find(|s| s["name"] == stage)
            .unwrap();
        let window = info["window_peak_mb"].as_f64().unwrap();
        assert!(
            added >= 0.0 && added + 10.0 < window,
            "{stage}: +{added} MB of {window} MB"
        );
        assert!(window <= m["memory_peak_mb"].as_f64().unwrap());
        assert!(m.get(&format!("{stage}_peak_mb")).is_none());
    }
    assert!((m["total_load_sec"].as_f64().unwrap() - load_sum).abs() < 1e-9);
    assert!(m.get("model_load_sec").is_none());
    let meta = &doc[META];
    assert_eq!(meta["threads"], 1);
    assert_eq!(meta["audio_seconds"], 1.0);
    assert_eq!(meta["fingerprint"]["torch"], "2.13.0");
    assert_eq!(meta["fingerprint"]["tools"]["torch"], "2.13.0");
    // The one-time TorchScript set-up is measured, and kept out of the stage loads.
    assert!(
        meta["backends"]["pytorch"]["runtime_init_sec"]
            .as_f64()
            .unwrap()
            > 0.0
    );
    assert_eq!(meta["stages"].as_array().unwrap().len(), stages.len());
}

#[test]
fn a_stage_named_model_keeps_its_own_load_time() {
    let spec = example().join("pipeline-model.yml");
    std::fs::write(
        &spec,
        "sample_rate: 44100\nchannels: 2\nbackends: {pytorch: {engine: torch}}\nstages:\n\
         - {name: stft, inputs: [audio], outputs: [spectrogram], artifacts: {pytorch: build/pytorch/stft.pt}}\n\
         - {name: model, inputs: [audio], outputs: [stems], artifacts: {pytorch: build/pytorch/full_pipeline.pt}}\n",
    )
    .unwrap();
    let (_d, _, doc) = capture("pipeline-model.yml", "pytorch", &[]);
    let m = doc["pytorch"].as_object().unwrap();
    let (stft, model) = (
        m["stft_load_sec"].as_f64().unwrap(),
        m["model_load_sec"].as_f64().unwrap(),
    );
    let total = m["total_load_sec"].as_f64().unwrap();
    assert!(
        (stft + model - total).abs() < 1e-9,
        "{stft} + {model} != {total}"
    );
    assert!(model < total, "the model stage's own load, not the total");

    // A stage whose keys would clash with the total is refused before anything runs.
    std::fs::write(
        &spec,
        "sample_rate: 44100\nchannels: 2\nbackends: {pytorch: {engine: torch}}\nstages:\n\
         - {name: total, inputs: [audio], outputs: [s], artifacts: {pytorch: build/pytorch/stft.pt}}\n",
    )
    .unwrap();
    let err = runner_fails(&["--spec", s(&spec), "--backend", "pytorch"]);
    assert!(err.contains("`total_load_sec`"), "{err}");
}

/// `parity run` starts one runner process per backend and mode through the launcher
/// (`runner::launch`); each runs under the launcher's allocator and thread settings and
/// records them, the same for every process.
#[test]
fn parity_run_launches_each_backend_under_the_same_settings() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("cfg.yml"),
        format!(
            "parity:\n  run:\n    spec: {}\n    reference_backend: pytorch\n    \
             candidate_backend: converted\n    signal_seconds: 0.5\n",
            spec("pipeline.yml")
        ),
    )
    .unwrap();
    let out = std::process::Command::new(MAIN)
        .current_dir(dir.path())
        .args(["parity", "run", "--config", "cfg.yml", "--runner", RUNNER])
        .args(["--threads", "1", "--out-dir", "out", "--format", "json"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(0), "{stderr}");
    let clip = dir.path().join("out/parity-run/0-signal-0.5s");
    let mut seen = Vec::new();
    for run in ["reference", "candidate-chained", "candidate-isolated"] {
        let text = std::fs::read_to_string(clip.join(format!("{run}.json"))).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        let settings = &doc[META]["run_settings"];
        assert_eq!(settings["threads"], 1, "{run}: {settings}");
        assert_eq!(settings["env"]["OMP_NUM_THREADS"], "1", "{run}: {settings}");
        if cfg!(all(target_os = "linux", target_env = "gnu")) {
            assert_eq!(settings["env"]["MALLOC_ARENA_MAX"], "2", "{settings}");
            assert_eq!(settings["env"]["GLIBC_TUNABLES"], "glibc.malloc.hugetlb=1");
        }
        assert_eq!(&doc[META]["fingerprint"]["run_settings"], settings);
        seen.push(settings.clone());
    }
    assert!(seen.windows(2).all(|w| w[0] == w[1]), "{seen:?}");
}

//! `parity run` through the real binaries on a pipeline cut the way HTDemucsCoreML is cut:
//! an STFT and an iSTFT outside any model (`shared:`, TorchScript standing in for the Swift
//! vDSP code), a model stage per backend (the candidate's deliberately float16-rounded), an
//! external-command stage (a Python script standing in for the port's Swift CLI) and a
//! skipped stage.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::*;

const EXPORT: &str = r#"
import sys, torch
out = sys.argv[1]
torch.manual_seed(0)
N, H, T = 256, 64, 22050

class Stft(torch.nn.Module):
    def forward(self, audio):
        x = torch.nn.functional.pad(audio, (N // 2, N // 2), mode="reflect")[0]
        z = torch.stft(x, N, H, window=torch.hann_window(N), center=False, return_complex=True)
        r = torch.view_as_real(z).permute(0, 3, 1, 2)
        return r.reshape(1, 4, z.shape[1], z.shape[2])

class Istft(torch.nn.Module):
    def forward(self, spec):
        r = spec.reshape(2, 2, spec.shape[2], spec.shape[3]).permute(0, 2, 3, 1).contiguous()
        y = torch.istft(torch.view_as_complex(r), N, H, window=torch.hann_window(N), length=T)
        return y.unsqueeze(0)

class Model(torch.nn.Module):
    def __init__(self, half):
        super().__init__()
        self.conv = torch.nn.Conv2d(4, 4, 3, padding=1)
        self.half_ = half
        if half:  # the candidate: float16 weights and outputs, as a CoreML conversion has
            with torch.no_grad():
                self.conv.weight.copy_(self.conv.weight.half().float())
    def forward(self, x):
        y = x + 0.1 * self.conv(x)
        return y.half().float() if self.half_ else y

class Gain(torch.nn.Module):
    def forward(self, x):
        return 0.5 * x

audio = torch.randn(1, 2, T)
spec = Stft()(audio)
torch.jit.trace(Stft(), audio).save(f"{out}/stft.pt")
torch.jit.trace(Istft(), spec).save(f"{out}/istft.pt")
torch.manual_seed(1)
m32 = Model(False).eval()
m16 = Model(True).eval()
m16.conv.bias.data.copy_(m32.conv.bias.data)
with torch.no_grad():
    m16.conv.weight.copy_(m32.conv.weight.half().float())
torch.jit.trace(m32, spec).save(f"{out}/model32.pt")
torch.jit.trace(m16, spec).save(f"{out}/model16.pt")
torch.jit.trace(Gain(), spec).save(f"{out}/gain.pt")
"#;

/// Stands in for the port's Swift CLI: reads `{input:...}` .npy, writes `{output:...}` .npy.
const CLI: &str = r#"
import sys, numpy as np
x = np.load(sys.argv[2])
np.save(sys.argv[3], (0.5 * x).astype(np.float32))
"#;

const SPEC: &str = "sample_rate: 44100
channels: 2
backends:
  pytorch: {engine: torch}
  port: {engine: torch}
stages:
  - name: stft
    shared: pytorch
    inputs: [{name: audio, from: audio, shape: [1, 2, -1]}]
    outputs: [spectrogram]
    artifacts: {pytorch: build/stft.pt}
  - name: model
    inputs: [stft.spectrogram]
    outputs: [masked]
    artifacts: {pytorch: build/model32.pt, port: build/model16.pt}
  - name: gain
    inputs: [model.masked]
    outputs: [scaled]
    artifacts:
      pytorch: build/gain.pt
      port: GAIN_PORT
  - name: istft
    shared: pytorch
    inputs: [gain.scaled]
    outputs: [stems]
    artifacts: {pytorch: build/istft.pt}
";

fn project(gain_port: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let build = dir.path().join("build");
    std::fs::create_dir_all(&build).unwrap();
    let script = dir.path().join("export.py");
    std::fs::write(&script, EXPORT).unwrap();
    run_ok(Command::new(python()).arg(&script).arg(&build));
    std::fs::write(dir.path().join("cli.py"), CLI).unwrap();
    std::fs::write(
        dir.path().join("pipeline.yml"),
        SPEC.replace("GAIN_PORT", gain_port),
    )
    .unwrap();
    let config = dir.path().join(".github/htdemucs-devops.yml");
    std::fs::create_dir_all(config.parent().unwrap()).unwrap();
    std::fs::write(
        config,
        "parity:\n  run:\n    spec: pipeline.yml\n    reference_backend: pytorch\n    candidate_backend: port\n    signal_seconds: 0.5\n",
    )
    .unwrap();
    dir
}

fn parity_run(dir: &Path, extra: &[&str]) -> (Option<i32>, Value, String) {
    let out = Command::new(MAIN)
        .current_dir(dir)
        .args(["parity", "run", "--runner", RUNNER, "--format", "json"])
        .args(extra)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let v = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}\n{stderr}"));
    (out.status.code(), v, stderr)
}

fn find<'a>(v: &'a Value, mode: &str, array: &str) -> Option<&'a Value> {
    v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["mode"] == mode && c["array"] == array)
}

fn snr(c: &Value) -> f64 {
    match &c["snr_db"] {
        Value::String(s) if s == "inf" => f64::INFINITY,
        x => x.as_f64().unwrap(),
    }
}

#[test]
fn shared_stft_istft_chained_and_isolated_name_the_model_stage() {
    let dir = project("build/gain.pt");
    let (code, v, err) = parity_run(dir.path(), &["--threads", "1"]);
    assert_eq!(code, Some(0), "{err}\n{v:#}");
    // The shared STFT is computed once: never compared, in either mode.
    assert!(find(&v, "chained", "stft.spectrogram").is_none());
    assert!(find(&v, "isolated", "stft.spectrogram").is_none());
    // Chained: the float16 model's error reaches the end, through the shared iSTFT that the
    // candidate ran on its own values.
    let chained_end = find(&v, "chained", "istft.stems").unwrap();
    assert!(snr(chained_end).is_finite(), "{chained_end}");
    // Isolated: the model is the only stage with an error of its own.
    let model = snr(find(&v, "isolated", "model.masked").unwrap());
    assert!(model.is_finite() && model > 40.0, "{model}");
    assert_eq!(
        snr(find(&v, "isolated", "gain.scaled").unwrap()),
        f64::INFINITY
    );
    assert!(find(&v, "isolated", "istft.stems").is_none());
    let introduced = &v["introduced"][0];
    assert_eq!(introduced["stage"], "model", "{v:#}");
    assert_eq!(v["run"]["threads"], 1);
    assert_eq!(v["run"]["threads_used"]["port"], 1);
    assert_eq!(
        (v["run"]["warmup"].as_u64(), v["run"]["repeat"].as_u64()),
        (Some(0), Some(1))
    );
    assert!(v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["stage"] == "stft"));

    // The Markdown says it in words.
    let md = Command::new(MAIN)
        .current_dir(dir.path())
        .args([
            "parity", "run", "--runner", RUNNER, "--format", "markdown", "--mode", "isolated",
        ])
        .output()
        .unwrap();
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(
        md.contains("introduced at stage <code>model</code>"),
        "{md}"
    );
    assert!(
        md.contains("Runs: isolated mode, 0 warm-up + 1 run(s)"),
        "{md}"
    );

    // Isolated only, one stage: the candidate runs just that stage.
    let (code, v, err) = parity_run(dir.path(), &["--mode", "isolated", "--stage", "gain"]);
    assert_eq!(code, Some(0), "{err}");
    let arrays: Vec<&str> = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["array"].as_str().unwrap())
        .collect();
    assert!(
        arrays.iter().all(|a| *a == "gain.scaled" || *a == "audio"),
        "{arrays:?}"
    );
    assert!(v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .all(|c| c["mode"] == "isolated"));
    let (code, _, err) = parity_run_raw(dir.path(), &["--stage", "nope"]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("--stage nope") && err.contains("stft, model, gain, istft"),
        "{err}"
    );
}

fn parity_run_raw(dir: &Path, extra: &[&str]) -> (Option<i32>, String, String) {
    let out = Command::new(MAIN)
        .current_dir(dir)
        .args(["parity", "run", "--runner", RUNNER])
        .args(extra)
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn external_command_stage_stands_in_for_the_swift_cli() {
    let py = python().display().to_string();
    let dir = project(&format!(
        "{{command: [{py}, cli.py, gain, '{{input:masked}}', '{{output:scaled}}'], timeout_sec: 120}}"
    ));
    let (code, v, err) = parity_run(dir.path(), &[]);
    assert_eq!(code, Some(0), "{err}\n{v:#}");
    // The command computed the same gain: exact in isolation, so the model still introduces the error.
    assert_eq!(
        snr(find(&v, "isolated", "gain.scaled").unwrap()),
        f64::INFINITY
    );
    assert_eq!(v["introduced"][0]["stage"], "model");
    assert!(v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .any(|n| n["stage"] == "gain" && n["note"].as_str().unwrap().contains("external command")));
    let results: Value = serde_json::from_str(
        &std::fs::read_to_string(
            dir.path()
                .join(".htdemucs-devops/parity-run/0-signal-0.5s/candidate-chained.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let stages = results["$meta"]["backends"]["port"]["stages"]
        .as_array()
        .unwrap();
    assert!(
        stages
            .iter()
            .any(|s| s["name"] == "gain" && s["implementation"] == "command"),
        "{stages:?}"
    );
    assert!(
        results["port"]["gain_sec"].as_array().unwrap()[0]
            .as_f64()
            .unwrap()
            > 0.0
    );

    // A failing command: exit 2, the stage and its stderr named.
    std::fs::write(
        dir.path().join("cli.py"),
        "import sys\nsys.exit('vDSP setup failed')\n",
    )
    .unwrap();
    let (code, _, err) = parity_run_raw(dir.path(), &[]);
    assert_eq!(code, Some(2));
    assert!(
        err.contains("stage `gain`") && err.contains("vDSP setup failed"),
        "{err}"
    );
}

#[test]
fn skipped_stage_consumers_get_the_reference_values() {
    let dir = project("{skip: \"the port has no gain stage\"}");
    let (code, v, err) = parity_run(dir.path(), &[]);
    assert_eq!(code, Some(0), "{err}\n{v:#}");
    assert!(find(&v, "chained", "gain.scaled").is_none());
    assert!(find(&v, "isolated", "gain.scaled").is_none());
    let note = v["notes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["stage"] == "gain")
        .unwrap();
    assert!(
        note["note"]
            .as_str()
            .unwrap()
            .contains("the port has no gain stage"),
        "{note}"
    );
    assert!(
        note["note"]
            .as_str()
            .unwrap()
            .contains("reference's values"),
        "{note}"
    );
    // Chained: the iSTFT after the skipped stage is fed the reference's gain output, so the
    // shared iSTFT is taken from the reference too: nothing of the candidate's to compare.
    assert!(find(&v, "chained", "istft.stems").is_none());
    assert!(snr(find(&v, "chained", "model.masked").unwrap()).is_finite());
    assert_eq!(v["introduced"][0]["stage"], "model");
}

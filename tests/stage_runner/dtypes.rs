//! Dtypes kept end to end and clear spec errors, through the real binaries: tiny TorchScript
//! stages that return complex64, float16 and int64 are captured as such, feed the next
//! stage in their own dtype, are compared by `htdemucs-devops parity`, and are checked
//! against the spec's `dtype` declarations.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use crate::common::*;

/// The spec: `make` returns complex64/float16/int64 from the audio, `use` takes them back.
/// `{DECL}` (how `make` declares its `half` output), `{MAKE}` and `{DIR}` are replaced per test.
const SPEC: &str = "sample_rate: 8000
channels: 1
backends: {ref: {engine: torch}, cand: {engine: torch}}
stages:
  - name: make
    inputs: [{name: x, from: audio, shape: [1, 1, -1], dtype: float32}]
    outputs:
      - {name: spec, dtype: complex64}
      - {DECL}
      - {name: index, dtype: int64, shape: [1, 1, -1]}
    artifacts: {ref: {DIR}/{MAKE}.pt, cand: {DIR}/make_cand.pt}
  - name: use
    inputs: [make.spec, {from: make.half, dtype: float16}, make.index]
    outputs: [mag, half2, index2]
    artifacts: {ref: {DIR}/use.pt, cand: {DIR}/use.pt}
";

/// Writes the TorchScript fixtures: `make.pt` (complex64, float16, int64 outputs),
/// `make_cand.pt` (the same with the complex output slightly perturbed), `make32.pt`
/// (its `half` output left float32) and `use.pt` (asserts its inputs' dtypes).
const EXPORT: &str = r#"
import sys, torch
out = sys.argv[1]

class Make(torch.nn.Module):
    def __init__(self, wobble: float, half: bool):
        super().__init__()
        self.wobble = wobble
        self.half = half
    def forward(self, x):
        spec = torch.complex(x, -x * (1.0 + self.wobble))
        h = x * 0.5
        h = h.to(torch.float16) if self.half else h
        return spec, h, (x * 100.0).round().to(torch.int64)

class Use(torch.nn.Module):
    def forward(self, spec, half, index):
        assert spec.dtype == torch.complex64
        assert half.dtype == torch.float16
        assert index.dtype == torch.int64
        return spec.abs(), half * 2.0, index + 1

torch.jit.script(Make(0.0, True)).save(f"{out}/make.pt")
torch.jit.script(Make(1e-3, True)).save(f"{out}/make_cand.pt")
torch.jit.script(Make(0.0, False)).save(f"{out}/make32.pt")
torch.jit.script(Use()).save(f"{out}/use.pt")
"#;

/// The exported fixtures, once per test binary.
fn modules() -> &'static Path {
    static DIR: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    DIR.get_or_init(|| {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("dtype-fixtures");
        std::fs::create_dir_all(&dir).unwrap();
        // TorchScript reads the module's source: run from a file, not `python -c`.
        let script = dir.join("export.py");
        std::fs::write(&script, EXPORT).unwrap();
        let out = Command::new(python())
            .arg(&script)
            .arg(&dir)
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "export failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// A folder with `pipeline.yml`: `make` runs `make_module` and declares `half` as `decl`.
fn fixture(make_module: &str, decl: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let spec = SPEC
        .replace("{DECL}", decl)
        .replace("{MAKE}", make_module)
        .replace("{DIR}", s(modules()));
    std::fs::write(dir.path().join("pipeline.yml"), spec).unwrap();
    dir
}

fn run(dir: &Path, backend: &str, extra: &[&str]) -> PathBuf {
    let npz = dir.join(format!("{backend}.npz"));
    let spec = dir.join("pipeline.yml");
    let mut args = vec![
        "--spec",
        s(&spec),
        "--backend",
        backend,
        "--warmup",
        "0",
        "--repeat",
        "1",
        "--capture",
        s(&npz),
    ];
    if !extra.contains(&"--inputs-from") {
        args.extend(["--signal-seconds", "0.05"]);
    }
    args.extend(extra);
    runner_ok(&args);
    npz
}

#[test]
fn complex_half_and_int_outputs_are_captured_and_fed_on_in_their_dtype() {
    let dir = fixture("make", "{name: half, dtype: float16}");
    let npz = run(dir.path(), "ref", &[]);
    let arrays = load_arrays(&npz);
    let dtype = |k: &str| arrays[k].dtype().name();
    assert_eq!(dtype("audio"), "float32");
    assert_eq!(dtype("make.spec"), "complex64");
    assert_eq!(dtype("make.half"), "float16");
    assert_eq!(dtype("make.index"), "int64");
    // `use` asserted its inputs' dtypes; its outputs keep theirs.
    assert_eq!(dtype("use.half2"), "float16");
    assert_eq!(dtype("use.index2"), "int64");
    assert_eq!(dtype("use.mag"), "float32");
    // The complex values themselves: x - i·x, interleaved (re, im).
    let audio = arrays["audio"].to_f64();
    let spec = arrays["make.spec"].to_f64();
    assert_eq!(spec.len(), 2 * audio.len());
    assert!(audio.iter().any(|v| v.abs() > 0.1), "silent input");
    for (i, x) in audio.iter().enumerate() {
        assert_eq!((spec[2 * i], spec[2 * i + 1]), (*x, -*x));
    }
    // numpy reads the capture with the same dtypes.
    let check = Command::new(python())
        .args([
            "-c",
            "import sys, numpy as np; z = np.load(sys.argv[1]); \
             print(z['make.spec'].dtype, z['make.half'].dtype, z['make.index'].dtype)",
        ])
        .arg(&npz)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&check.stdout).trim(),
        "complex64 float16 int64",
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // Isolated mode uploads the reference's float16 array as float16 (`use` asserts it).
    let iso = run(dir.path(), "cand", &["--inputs-from", s(&npz)]);
    assert_eq!(load_arrays(&iso)["use.half2"], arrays["use.half2"]);
}

#[test]
fn parity_compares_complex_values_and_flags_real_against_complex() {
    let dir = fixture("make", "{name: half, dtype: float16}");
    let reference = run(dir.path(), "ref", &[]);
    let candidate = run(dir.path(), "cand", &[]);
    let parity = |candidate: &Path| {
        let out = Command::new(MAIN)
            .current_dir(dir.path())
            .args(["parity", "--reference", s(&reference), "--candidate"])
            .arg(candidate)
            .args(["--format", "json"])
            .output()
            .unwrap();
        let v: Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stderr)));
        (out.status.code(), v)
    };
    let (_, v) = parity(&candidate);
    let check = |v: &Value, name: &str| {
        v["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["array"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("no {name} in {v:#}"))
    };
    let spec = check(&v, "make.spec");
    assert_eq!(spec["reference_dtype"], "complex64");
    assert_eq!(spec["candidate_dtype"], "complex64");
    // cand = x - i·x·(1 + 1e-3): |cand - ref| = 1e-3·|x|, |ref| = sqrt(2)·|x|, so the
    // complex SNR is 20·log10(sqrt(2)·1e3) ≈ 63.0 dB and the largest error is 1e-3·max|x|.
    let snr = spec["snr_db"].as_f64().unwrap();
    assert!((snr - 63.01).abs() < 0.05, "complex SNR {snr}");
    let audio = load_arrays(&reference)["audio"].to_f64();
    let peak = audio.iter().fold(0.0f64, |m, v| m.max(v.abs()));
    let max_abs = spec["max_abs"].as_f64().unwrap();
    assert!(
        (max_abs - 1e-3 * peak).abs() < 1e-6,
        "max |Δ| {max_abs} vs {}",
        1e-3 * peak
    );
    assert!((spec["cosine"].as_f64().unwrap() - 1.0).abs() < 1e-5);
    assert_eq!(check(&v, "make.half")["candidate_dtype"], "float16");
    assert_eq!(check(&v, "make.half")["passed"], true);

    // A candidate whose `make.spec` is float32 (the real part only): a finding, not a crash.
    let mut arrays = load_arrays(&candidate);
    let real: Vec<f32> = arrays["make.spec"]
        .to_f64()
        .chunks(2)
        .map(|c| c[0] as f32)
        .collect();
    let shape = arrays["make.spec"].shape().to_vec();
    let real = htdemucs_devops::runner::ArrayF32::new(shape, real).unwrap();
    arrays.insert("make.spec".into(), real.into());
    let broken = dir.path().join("real.npz");
    htdemucs_devops::runner::npz::write_npz(&broken, arrays.iter().map(|(k, v)| (k.as_str(), v)))
        .unwrap();
    let (code, v) = parity(&broken);
    assert_eq!(code, Some(1), "a failed check, not a tool error");
    let spec = check(&v, "make.spec");
    let problems = spec["problems"].to_string();
    assert!(
        problems.contains("dtype mismatch: reference complex64 vs candidate float32"),
        "{problems}"
    );
}

#[test]
fn fp16_vs_fp32_is_compared_numerically() {
    // The candidate returns the `half` output as float32, as PyTorch does where CoreML
    // returns float16: compared after widening, judged by the tolerances alone.
    let dir = fixture("make", "half");
    let reference = run(dir.path(), "ref", &[]);
    // `use` asserts a float16 input, so run only `make` (as make32.pt) in a one-stage spec.
    let wide = fixture("make32", "half");
    let spec = wide.path().join("pipeline.yml");
    let one = std::fs::read_to_string(&spec).unwrap();
    std::fs::write(&spec, &one[..one.find("  - name: use").unwrap()]).unwrap();
    let out = run(wide.path(), "ref", &[]);
    let result = Command::new(MAIN)
        .args([
            "parity",
            "--reference",
            s(&reference),
            "--candidate",
            s(&out),
        ])
        .args(["--format", "json"])
        .output()
        .unwrap();
    let v: Value = serde_json::from_slice(&result.stdout).unwrap();
    let half = v["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["array"] == "make.half")
        .unwrap();
    assert_eq!(
        (&half["reference_dtype"], &half["candidate_dtype"]),
        (&Value::from("float16"), &Value::from("float32"))
    );
    assert_eq!(half["passed"], true, "{half:#}");
    assert!(
        half["max_abs"].as_f64().unwrap() > 0.0,
        "float16 rounding is visible"
    );
}

#[test]
fn declared_float16_output_that_is_float32_fails_naming_both() {
    let dir = fixture("make32", "{name: half, dtype: float16}");
    let spec = dir.path().join("pipeline.yml");
    let err = runner_fails(&[
        "--spec",
        s(&spec),
        "--backend",
        "ref",
        "--signal-seconds",
        "0.05",
        "--repeat",
        "1",
    ]);
    assert!(
        err.contains("stage `make`")
            && err.contains("output `half` has dtype float32")
            && err.contains("declares dtype float16")
            && err.contains(s(&spec))
            && err.contains("make32.pt"),
        "{err}"
    );
}

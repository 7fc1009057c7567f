//! Shared helpers for the stage runner's tests: build the example's TorchScript once, run the binary.
//!
//! The artifacts are never committed: the first test that needs them runs the example's
//! exporter (with the project's Python: `$HTDEMUCS_PYTHON`, `$HTDEMUCS_VENV` (set by the
//! Makefile), `$VIRTUAL_ENV`, `./.venv`, or `python3` on PATH) into this test binary's
//! scratch folder.

// Without feature `torch` only some helpers are used.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::OnceLock;

use htdemucs_devops::runner::{npz::read_npz, Array, ArrayF32};

pub const RUNNER: &str = env!("CARGO_BIN_EXE_htdemucs-stage-runner");
pub const MAIN: &str = env!("CARGO_BIN_EXE_htdemucs-devops");

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The Python that has torch (same rules as the Makefile's venv).
pub fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("HTDEMUCS_PYTHON") {
        return PathBuf::from(p);
    }
    for venv in ["HTDEMUCS_VENV", "VIRTUAL_ENV"] {
        if let Some(dir) = std::env::var_os(venv) {
            return PathBuf::from(dir).join("bin/python");
        }
    }
    let local = manifest_dir().join(".venv/bin/python");
    if local.is_file() {
        return local;
    }
    PathBuf::from("python3")
}

/// A folder holding `pipeline.yml`, `pipeline-joint.yml` and the exported `build/`.
pub fn example() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let src = manifest_dir().join("examples/htdemucs-mini");
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("htdemucs-mini");
        std::fs::create_dir_all(&dir).unwrap();
        for spec in ["pipeline.yml", "pipeline-joint.yml"] {
            std::fs::copy(src.join(spec), dir.join(spec)).unwrap();
        }
        let out = Command::new(python())
            .arg(src.join("model/export.py"))
            .arg("--out")
            .arg(dir.join("build"))
            .output()
            .unwrap_or_else(|e| {
                panic!(
                    "cannot run {} (set HTDEMUCS_PYTHON): {e}",
                    python().display()
                )
            });
        assert!(
            out.status.success(),
            "exporting the example failed; run `make setup`:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        dir
    })
}

/// The environment the runner needs: its libtorch found through the test's Python, the
/// way the main binary finds it (the runner has no rpath).
pub fn runner_env() -> Vec<(String, String)> {
    let cfg = htdemucs_devops::runner::libtorch::TorchConfig {
        python: Some(python()),
        ..Default::default()
    };
    htdemucs_devops::runner::libtorch::runner_env(Path::new(RUNNER), &cfg, Path::new(".")).unwrap()
}

/// Runs `cmd` (a helper script, a venv tool) and asserts success, printing its stderr otherwise.
pub fn run_ok(cmd: &mut Command) -> Output {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{:?} failed: {}",
        cmd,
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the stage runner with `args`.
pub fn runner(args: &[&str]) -> Output {
    Command::new(RUNNER)
        .args(args)
        .envs(runner_env())
        .output()
        .unwrap()
}

/// Runs the runner and asserts success, printing its stderr otherwise.
pub fn runner_ok(args: &[&str]) -> Output {
    let out = runner(args);
    assert!(
        out.status.success(),
        "runner failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// Runs the runner and asserts exit 2; returns its stderr.
pub fn runner_fails(args: &[&str]) -> String {
    let out = runner(args);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    assert_eq!(
        out.status.code(),
        Some(2),
        "expected exit 2, stderr: {stderr}"
    );
    stderr
}

pub fn spec(name: &str) -> String {
    example().join(name).display().to_string()
}

/// A capture's arrays as float32 (every array the example captures is real).
pub fn load(path: &Path) -> std::collections::BTreeMap<String, ArrayF32> {
    read_npz(path)
        .unwrap()
        .into_iter()
        .map(|(k, v)| (k, v.to_f32().unwrap()))
        .collect()
}

/// A capture's arrays as stored, each in its own dtype.
pub fn load_arrays(path: &Path) -> std::collections::BTreeMap<String, Array> {
    read_npz(path).unwrap()
}

pub fn peak(a: &ArrayF32) -> f32 {
    a.data().iter().fold(0.0, |m, v| m.max(v.abs()))
}

pub fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

//! `run_stage_runner`: how the main binary runs `htdemucs-stage-runner`, one process per backend.
//!
//! The main binary never links libtorch or CoreML; it spawns the runner for each backend in
//! turn (never in parallel: they would compete for the same cores and skew each other's
//! times), reads each process's results JSON and merges them. A process per backend also
//! means each backend's peak memory is its own, not the sum of both runtimes. A runner
//! linked to libtorch gets its library path from `libtorch::runner_env`, for its process only.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use super::results::merge_results;

/// Environment variable that overrides where the runner binary is.
pub const RUNNER_ENV: &str = "HTDEMUCS_STAGE_RUNNER";
/// The runner's executable name.
pub const RUNNER_BIN: &str = "htdemucs-stage-runner";

/// The audio every backend is fed.
#[derive(Clone, Debug)]
pub enum AudioSource {
    /// A WAV file.
    Wav(PathBuf),
    /// The generated test signal, this many seconds long.
    Signal(f64),
}

/// One run of the runner over several backends.
#[derive(Clone, Debug)]
pub struct RunnerInvocation {
    /// The runner binary; `None` finds it with [`locate_runner`].
    pub program: Option<PathBuf>,
    /// Pipeline spec file.
    pub spec: PathBuf,
    /// Backends to run, in order, one process each.
    pub backends: Vec<String>,
    /// Input audio.
    pub audio: AudioSource,
    /// Untimed runs per stage.
    pub warmup: usize,
    /// Timed runs per stage.
    pub repeat: usize,
    /// Intra-op threads (`None`: the backend's default).
    pub threads: Option<usize>,
    /// When set, each backend's outputs are captured to `<dir>/<backend>.npz`.
    pub capture_dir: Option<PathBuf>,
    /// Isolated mode: every stage fed from this reference capture.
    pub inputs_from: Option<PathBuf>,
}

/// The runner could not be started or a backend's run failed.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct SpawnError {
    /// What failed, including the runner's own error output.
    pub message: String,
    /// The runner's exit code, when it ran (2: bad input or setup).
    pub exit_code: Option<i32>,
}

/// Finds the runner: `$HTDEMUCS_STAGE_RUNNER`, next to the current executable (or its
/// parent, for test binaries in `target/*/deps`), then `PATH`.
pub fn locate_runner() -> Result<PathBuf, SpawnError> {
    if let Some(path) = std::env::var_os(RUNNER_ENV) {
        return Ok(PathBuf::from(path));
    }
    let name = format!("{RUNNER_BIN}{}", std::env::consts::EXE_SUFFIX);
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let candidate = dir.join(&name);
            if candidate.is_file() {
                return Ok(candidate);
            }
        }
    }
    let on_path = std::env::var_os("PATH").map(|p| {
        std::env::split_paths(&p)
            .map(|d| d.join(&name))
            .find(|c| c.is_file())
    });
    on_path.flatten().ok_or_else(|| SpawnError {
        message: format!(
            "cannot find `{RUNNER_BIN}` next to this binary or on PATH; build it with \
             `cargo build --release --features torch --bin {RUNNER_BIN}` or set {RUNNER_ENV}"
        ),
        exit_code: None,
    })
}

/// Runs every backend in its own runner process and returns the merged results JSON.
pub fn run_stage_runner(inv: &RunnerInvocation) -> Result<Value, SpawnError> {
    let program = match &inv.program {
        Some(p) => p.clone(),
        None => locate_runner()?,
    };
    let scratch = tempfile::tempdir().map_err(|e| SpawnError {
        message: format!("cannot create a temporary directory for runner results: {e}"),
        exit_code: None,
    })?;
    // Without a config, libtorch comes from $HTDEMUCS_LIBTORCH or the default Python.
    let cwd = std::env::current_dir().unwrap_or_default();
    let env = super::libtorch::runner_env(&program, &Default::default(), &cwd).map_err(|e| {
        SpawnError {
            message: e.to_string(),
            exit_code: None,
        }
    })?;
    let mut parts = Vec::with_capacity(inv.backends.len());
    for backend in &inv.backends {
        let out = scratch.path().join(format!("{backend}.json"));
        let mut cmd = command(&program, inv, backend, &out);
        cmd.envs(env.iter().map(|(k, v)| (k, v)));
        let settings = super::settings::RunnerSettings {
            threads: inv.threads,
            env: None,
        };
        cmd.envs(settings.launch_env());
        let output = cmd.output().map_err(|e| SpawnError {
            message: format!("cannot start {}: {e}", program.display()),
            exit_code: None,
        })?;
        if !output.status.success() {
            let stderr = String::from_utf8_lossy(&output.stderr);
            return Err(SpawnError {
                message: format!(
                    "backend `{backend}`: {} failed: {}",
                    program.display(),
                    stderr.trim()
                ),
                exit_code: output.status.code(),
            });
        }
        let text = std::fs::read_to_string(&out).map_err(|e| SpawnError {
            message: format!(
                "backend `{backend}`: runner wrote no results to {}: {e}",
                out.display()
            ),
            exit_code: None,
        })?;
        let doc: Value = serde_json::from_str(&text).map_err(|e| SpawnError {
            message: format!(
                "backend `{backend}`: results in {} are not JSON: {e}",
                out.display()
            ),
            exit_code: None,
        })?;
        parts.push(doc);
    }
    merge_results(parts).map_err(|message| SpawnError {
        message,
        exit_code: None,
    })
}

fn command(program: &Path, inv: &RunnerInvocation, backend: &str, out: &Path) -> Command {
    let mut cmd = Command::new(program);
    crate::secrets::scrub_child_env(&mut cmd);
    cmd.arg("--spec")
        .arg(&inv.spec)
        .args(["--backend", backend]);
    match &inv.audio {
        AudioSource::Wav(path) => cmd.arg("--audio").arg(path),
        AudioSource::Signal(seconds) => cmd.arg("--signal-seconds").arg(seconds.to_string()),
    };
    cmd.args([
        "--warmup",
        &inv.warmup.to_string(),
        "--repeat",
        &inv.repeat.to_string(),
    ]);
    if let Some(t) = inv.threads {
        cmd.args(["--threads", &t.to_string()]);
    }
    cmd.arg("--out").arg(out);
    if let Some(dir) = &inv.capture_dir {
        cmd.arg("--capture").arg(dir.join(format!("{backend}.npz")));
    }
    if let Some(reference) = &inv.inputs_from {
        cmd.arg("--inputs-from").arg(reference);
    }
    cmd
}

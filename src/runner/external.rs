//! External command stages: the stage's inputs written as `.npy`/`.npz`, the program run
//! (argv, no shell, secrets scrubbed from its environment, a timeout), its outputs read back.
//!
//! This is how a port's own code outside any model (HTDemucsCoreML's Swift/vDSP STFT, run
//! through its CLI) takes part in a pipeline. Each run is timed from spawn to exit, like a
//! user invoking the CLI; writing inputs and reading outputs are outside the timed region,
//! as `prepare`/`download` are for model stages. The program runs in the spec's directory;
//! a program path with a `/` is relative to it, a bare name is looked up on `PATH`.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use wait_timeout::ChildExt;

use super::array::Array;
use super::error::RunnerError;
use super::npz;
use super::spec::{PipelineSpec, StageSpec};
use super::stage_impl::{parse_arg, CommandSpec, Piece};

/// Thread-count variables set for a command when the run fixes intra-op threads, so an
/// OpenMP/MKL/OpenBLAS/Accelerate program uses as many threads as the model stages.
pub const THREAD_VARS: [&str; 4] = [
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "VECLIB_MAXIMUM_THREADS",
];

/// How often a command runs and with how many threads.
#[derive(Clone, Copy, Debug)]
pub struct Repetitions {
    /// Untimed runs first.
    pub warmup: usize,
    /// Timed runs.
    pub repeat: usize,
    /// Intra-op threads (`None`: the program's own default).
    pub threads: Option<usize>,
}

/// What a command stage produced.
#[derive(Debug)]
pub struct CommandOutcome {
    /// The program as run (for the results).
    pub program: PathBuf,
    /// Seconds per timed run.
    pub samples: Vec<f64>,
    /// Outputs in the stage's order.
    pub outputs: Vec<Array>,
}

/// Runs a command stage `reps.warmup + reps.repeat` times on `inputs` (by input name).
pub fn run_command(
    spec: &PipelineSpec,
    stage: &StageSpec,
    cmd: &CommandSpec,
    inputs: &BTreeMap<String, &Array>,
    reps: Repetitions,
) -> Result<CommandOutcome, RunnerError> {
    let base = if spec.base_dir.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        spec.base_dir.clone()
    };
    let spec_err = |m: String| RunnerError::stage(&stage.name, &spec.path, m);
    let scratch = tempfile::Builder::new()
        .prefix("htdemucs-stage-")
        .tempdir()
        .map_err(|e| spec_err(format!("cannot create a scratch folder: {e}")))?;
    let dir = scratch.path();
    let io_err = |path: &Path, e: std::io::Error| {
        RunnerError::stage(
            &stage.name,
            path,
            format!("cannot write the command's input: {e}"),
        )
    };
    let file_of = |kind: &str, name: &str| {
        let safe: String = name
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        dir.join(format!("{kind}-{safe}.npy"))
    };
    let input_of = |name: &str| {
        inputs
            .get(name)
            .copied()
            .ok_or_else(|| spec_err(format!("input `{name}` was not provided")))
    };
    let (inputs_npz, outputs_npz) = (dir.join("inputs.npz"), dir.join("outputs.npz"));
    let mut argv: Vec<String> = Vec::with_capacity(cmd.command.len());
    let mut out_files: BTreeMap<String, PathBuf> = BTreeMap::new();
    let mut wants_npz = false;
    for arg in &cmd.command {
        let mut text = String::new();
        for piece in parse_arg(arg).map_err(&spec_err)? {
            let path = match piece {
                Piece::Text(t) => {
                    text.push_str(&t);
                    continue;
                }
                Piece::Dir => dir.to_path_buf(),
                Piece::Input(n) => {
                    let path = file_of("input", &n);
                    if !path.is_file() {
                        std::fs::write(&path, npz::npy_bytes(input_of(&n)?))
                            .map_err(|e| io_err(&path, e))?;
                    }
                    path
                }
                Piece::Inputs => {
                    if !inputs_npz.is_file() {
                        npz::write_npz(&inputs_npz, inputs.iter().map(|(k, v)| (k.as_str(), *v)))?;
                    }
                    inputs_npz.clone()
                }
                Piece::Output(n) => {
                    let path = file_of("output", &n);
                    out_files.insert(n, path.clone());
                    path
                }
                Piece::Outputs => {
                    wants_npz = true;
                    outputs_npz.clone()
                }
            };
            text.push_str(&path.to_string_lossy());
        }
        argv.push(text);
    }
    let Some((first, args)) = argv.split_first() else {
        return Err(spec_err("`command:` is empty".into()));
    };
    let program = if first.contains('/') {
        std::path::absolute(base.join(first)).unwrap_or_else(|_| base.join(first))
    } else {
        PathBuf::from(first)
    };
    let fail = |m: String| RunnerError::stage(&stage.name, &program, m);
    let timeout = Duration::try_from_secs_f64(cmd.timeout_sec)
        .map_err(|e| spec_err(format!("`timeout_sec: {}`: {e}", cmd.timeout_sec)))?;
    let mut samples = Vec::with_capacity(reps.repeat);
    for i in 0..reps.warmup + reps.repeat {
        // A run must write its own outputs: never read a previous run's.
        for path in out_files.values().chain(wants_npz.then_some(&outputs_npz)) {
            let _ = std::fs::remove_file(path);
        }
        let (out_log, err_log) = (dir.join("stdout.txt"), dir.join("stderr.txt"));
        let log = |p: &Path| File::create(p).map_err(|e| io_err(p, e));
        let mut command = Command::new(&program);
        crate::secrets::scrub_child_env(&mut command);
        command
            .args(args)
            .current_dir(&base)
            .stdin(Stdio::null())
            .stdout(log(&out_log)?)
            .stderr(log(&err_log)?);
        if let Some(t) = reps.threads {
            for var in THREAD_VARS {
                command.env(var, t.to_string());
            }
        }
        let started = Instant::now();
        let mut child = command.spawn().map_err(|e| {
            fail(format!(
                "cannot start the command ({e}); check `command:` under `artifacts:` in {}",
                spec.path.display()
            ))
        })?;
        let status = match child.wait_timeout(timeout) {
            Ok(Some(status)) => status,
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(fail(format!(
                    "the command did not finish within {} s and was stopped; raise `timeout_sec:` in {}{}",
                    cmd.timeout_sec,
                    spec.path.display(),
                    stderr_tail(&err_log)
                )));
            }
            Err(e) => return Err(fail(format!("waiting for the command failed: {e}"))),
        };
        let dt = started.elapsed().as_secs_f64();
        if !status.success() {
            let code = status.code().map_or_else(
                || "was killed by a signal".to_string(),
                |c| format!("exited {c}"),
            );
            return Err(fail(format!("the command {code}{}", stderr_tail(&err_log))));
        }
        if i >= reps.warmup {
            samples.push(dt);
        }
    }
    let from_npz = if wants_npz {
        Some(npz::read_npz(&outputs_npz).map_err(|e| {
            fail(format!(
                "the command exited 0 but its `{{outputs}}` file is unusable: {e}"
            ))
        })?)
    } else {
        None
    };
    let mut outputs = Vec::with_capacity(stage.outputs.len());
    for name in stage.outputs.iter().map(|o| &o.name) {
        let array = match (out_files.get(name), &from_npz) {
            (Some(path), _) => {
                let bytes = std::fs::read(path).map_err(|e| {
                    fail(format!(
                        "the command exited 0 but did not write output `{name}` ({}): {e}",
                        path.display()
                    ))
                })?;
                npz::parse_npy(&bytes)
                    .map_err(|m| fail(format!("output `{name}` ({}): {m}", path.display())))?
            }
            (None, Some(arrays)) => arrays.get(name).cloned().ok_or_else(|| {
                fail(format!(
                    "the command's `{{outputs}}` file has no array `{name}` (it has: {})",
                    arrays.keys().cloned().collect::<Vec<_>>().join(", ")
                ))
            })?,
            (None, None) => {
                return Err(spec_err(format!(
                    "output `{name}` is written by no placeholder of the command"
                )))
            }
        };
        outputs.push(array);
    }
    Ok(CommandOutcome {
        program,
        samples,
        outputs,
    })
}

/// The end of the command's error output, for the error message.
fn stderr_tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(20)..].join("\n");
    if tail.is_empty() {
        " (it wrote nothing to stderr)".into()
    } else {
        let cut: String = tail
            .chars()
            .rev()
            .take(4000)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        format!("; its stderr:\n{cut}")
    }
}

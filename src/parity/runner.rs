//! `parity run`: drives `htdemucs-stage-runner` once per backend and mode on each clip
//! and collects the `.npz` captures to compare. The runner's CLI is the contract:
//! `--spec FILE --backend NAME [--audio FILE | --signal-seconds N] [--capture OUT.npz]
//! [--inputs-from REF.npz] [--out RESULTS.json]`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

use crate::console::Console;
use crate::process::{run_tool, Launch};

pub use crate::runner::spawn::RUNNER_BIN as RUNNER_NAME;

/// The runner to use: an explicit path, else the runner crate's own search
/// (`$HTDEMUCS_STAGE_RUNNER`, next to our executable, then PATH), else the bare name so
/// that starting it reports it as not installed.
pub fn locate(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(|| crate::runner::locate_runner().ok())
        .unwrap_or_else(|| PathBuf::from(RUNNER_NAME))
}

/// One clip's input for the runner.
#[derive(Debug, Clone)]
pub enum Input {
    Audio(PathBuf),
    Signal(f64),
}

impl Input {
    pub fn label(&self) -> String {
        match self {
            Input::Audio(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
            Input::Signal(s) => format!("signal-{s}s"),
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Input::Audio(p) => vec!["--audio".into(), p.display().to_string()],
            Input::Signal(s) => vec!["--signal-seconds".into(), s.to_string()],
        }
    }
}

/// One runner invocation.
pub struct Invocation<'a> {
    pub runner: &'a Path,
    pub spec: &'a Path,
    pub backend: &'a str,
    pub input: &'a Input,
    pub capture: &'a Path,
    pub inputs_from: Option<&'a Path>,
    pub cwd: &'a Path,
    /// The runner's extra environment (its libtorch: `runner::libtorch::runner_env`).
    pub env: &'a [(String, String)],
}

/// Runs the stage runner and checks it produced its capture.
pub fn invoke(console: &Console, inv: &Invocation<'_>) -> Result<()> {
    let mut argv = vec![
        inv.runner.display().to_string(),
        "--spec".into(),
        inv.spec.display().to_string(),
        "--backend".into(),
        inv.backend.to_string(),
    ];
    argv.extend(["--capture".into(), inv.capture.display().to_string()]);
    match inv.inputs_from {
        // Isolated: the reference capture holds the input audio too, and the runner takes
        // it from there (naming the audio again is an error).
        Some(r) => argv.extend(["--inputs-from".into(), r.display().to_string()]),
        None => argv.extend(inv.input.args()),
    }
    argv.extend([
        "--out".into(),
        inv.capture.with_extension("json").display().to_string(),
    ]);
    let mode = if inv.inputs_from.is_some() {
        "isolated"
    } else {
        "chained"
    };
    let title = format!(
        "stage runner {} {mode} on {}",
        inv.backend,
        inv.input.label()
    );
    match run_tool(console, &title, &argv, inv.cwd, inv.env)? {
        Launch::NotInstalled => bail!(
            "the stage runner {} is not installed (build it with `cargo build --features torch \
             --bin {RUNNER_NAME}`, put it on PATH, or set parity.run.runner / --runner)",
            inv.runner.display()
        ),
        Launch::Ran(run) if run.code != Some(0) => {
            let tail: Vec<&str> = run.stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "{title} failed (exit {}): {}",
                run.code
                    .map_or("by a signal".to_string(), |c| c.to_string()),
                tail.join(" | ")
            )
        }
        Launch::Ran(_) => {
            if !inv.capture.is_file() {
                bail!(
                    "{title} exited 0 but wrote no capture at {}",
                    inv.capture.display()
                );
            }
            Ok::<(), anyhow::Error>(())
        }
    }
    .with_context(|| format!("parity run: {}", inv.input.label()))
}

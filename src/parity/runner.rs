//! `parity run`: drives `htdemucs-stage-runner` once per backend and mode on each clip
//! and collects the `.npz` captures to compare. The runner's CLI is the contract:
//! `--spec FILE --backend NAME [--audio FILE | --signal-seconds N] [--capture OUT.npz]
//! [--inputs-from REF.npz] [--out RESULTS.json]`.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

use crate::console::Console;
use crate::process::{run_tool, Launch};

pub const RUNNER_NAME: &str = "htdemucs-stage-runner";

/// The runner to use: an explicit path, else the one next to our executable, else the
/// name (looked up on PATH when started).
pub fn locate(explicit: Option<PathBuf>) -> PathBuf {
    if let Some(p) = explicit {
        return p;
    }
    if let Some(dir) = std::env::current_exe()
        .ok()
        .and_then(|e| e.parent().map(Path::to_path_buf))
    {
        let beside = dir.join(RUNNER_NAME);
        if beside.is_file() {
            return beside;
        }
    }
    PathBuf::from(RUNNER_NAME)
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
    argv.extend(inv.input.args());
    argv.extend(["--capture".into(), inv.capture.display().to_string()]);
    if let Some(r) = inv.inputs_from {
        argv.extend(["--inputs-from".into(), r.display().to_string()]);
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
    match run_tool(console, &title, &argv, inv.cwd, &[])? {
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

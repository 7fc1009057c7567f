//! `parity run`: drives `htdemucs-stage-runner` once per backend and mode on each clip
//! and collects the `.npz` captures to compare. The runner's CLI is the contract:
//! `--spec FILE --backend NAME [--audio FILE | --signal-seconds N] [--capture OUT.npz]
//! [--inputs-from REF.npz | --shared-from REF.npz] [--stage NAME]... [--warmup N]
//! [--repeat N] [--threads N] [--out RESULTS.json]`.
//!
//! [`plan_stages`] decides, from the pipeline spec, which stages each backend runs and which
//! arrays are compared: a stage the candidate does not compute itself (another backend's
//! `shared:` stage, `skip:`) is left out of the comparison, with a note saying what fed its
//! consumers.

use anyhow::{bail, Context, Result};
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::output::console::Console;
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

/// Warm-up, repetitions and threads, identical for every backend.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup: usize,
    pub repeat: usize,
    pub threads: Option<usize>,
}

/// One runner invocation.
pub struct Invocation<'a> {
    pub runner: &'a Path,
    pub spec: &'a Path,
    pub backend: &'a str,
    pub input: &'a Input,
    pub capture: &'a Path,
    pub inputs_from: Option<&'a Path>,
    /// Chained mode: the reference capture feeding stages this backend does not run.
    pub shared_from: Option<&'a Path>,
    /// Stages to run (empty: all).
    pub stages: &'a [String],
    pub timing: Timing,
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
    if let Some(r) = inv.shared_from {
        argv.extend(["--shared-from".into(), r.display().to_string()]);
    }
    for stage in inv.stages {
        argv.extend(["--stage".into(), stage.clone()]);
    }
    argv.extend([
        "--warmup".into(),
        inv.timing.warmup.to_string(),
        "--repeat".into(),
        inv.timing.repeat.to_string(),
    ]);
    let mut env = inv.env.to_vec();
    if let Some(t) = inv.timing.threads {
        argv.extend(["--threads".into(), t.to_string()]);
        for var in crate::runner::external::THREAD_VARS {
            env.push((var.to_string(), t.to_string()));
        }
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
    match run_tool(console, &title, &argv, inv.cwd, &env)? {
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

/// Which stages each backend runs and which are compared, from the spec and a selection.
#[derive(Debug, Default, PartialEq)]
pub struct StagePlan {
    /// Stages the reference runs (empty: all): the selection and everything upstream of it.
    pub reference: Vec<String>,
    /// Stages the candidate runs (empty: all).
    pub candidate: Vec<String>,
    /// Stages whose arrays are compared.
    pub compared: BTreeSet<String>,
    /// Shared stages: compared only where the candidate ran them (its capture has them).
    pub shared: BTreeSet<String>,
    /// Stages left out of the comparison (or computed unusually), with why.
    pub notes: Vec<crate::parity::stages::StageNote>,
}

/// Plans a `parity run`: `only` (empty: all) minus `skip` are selected; unknown names are
/// errors listing the spec's stages.
pub fn plan_stages(
    spec: &crate::runner::PipelineSpec,
    reference: &str,
    candidate: &str,
    only: &[String],
    skip: &[String],
) -> Result<StagePlan> {
    use crate::parity::stages::StageNote;
    use crate::runner::stage_impl::Implementation;
    spec.backend(reference)?;
    spec.backend(candidate)?;
    let names: Vec<&str> = spec.stages.iter().map(|s| s.name.as_str()).collect();
    for (flag, list) in [("--stage", only), ("--skip-stage", skip)] {
        if let Some(bad) = list.iter().find(|n| !names.contains(&n.as_str())) {
            bail!(
                "{flag} {bad}: the pipeline spec {} has no such stage (its stages: {})",
                spec.path.display(),
                names.join(", ")
            );
        }
    }
    let selected: Vec<String> = names
        .iter()
        .filter(|n| only.is_empty() || only.iter().any(|o| o == *n))
        .filter(|n| !skip.iter().any(|s| s == *n))
        .map(|n| n.to_string())
        .collect();
    if selected.is_empty() {
        bail!("--stage/--skip-stage leave no stage to compare");
    }
    // The reference also runs what feeds the selection, so its capture holds every input.
    let mut needed: BTreeSet<String> = selected.iter().cloned().collect();
    for stage in spec.stages.iter().rev() {
        if needed.contains(&stage.name) {
            for input in &stage.inputs {
                if let Some((producer, _)) = input.from.split_once('.') {
                    needed.insert(producer.to_string());
                }
            }
        }
    }
    let all = selected.len() == names.len();
    let mut plan = StagePlan {
        reference: if all {
            Vec::new()
        } else {
            names
                .iter()
                .filter(|n| needed.contains(**n))
                .map(|n| n.to_string())
                .collect()
        },
        candidate: if all { Vec::new() } else { selected.clone() },
        ..Default::default()
    };
    let computes = |stage: &crate::runner::StageSpec, backend: &str| match &stage.shared {
        Some(owner) => owner == backend,
        None => matches!(
            stage.artifacts.get(backend),
            Some(Implementation::Artifact(_) | Implementation::Command(_))
        ),
    };
    for stage in spec.stages.iter().filter(|s| selected.contains(&s.name)) {
        let name = stage.name.clone();
        let note = |note: String, compared: bool| StageNote {
            stage: name.clone(),
            note,
            compared,
        };
        if let Some(owner) = &stage.shared {
            plan.notes.push(note(
                format!(
                    "shared: backend `{owner}`'s implementation serves both backends; fed the reference's \
                     values (isolated mode, or inputs that do not depend on the candidate) the candidate \
                     takes the reference's outputs and nothing is compared; downstream of the candidate's \
                     own stages (chained mode) it runs on the candidate's values and is compared"
                ),
                true,
            ));
            plan.shared.insert(stage.name.clone());
            plan.compared.insert(stage.name.clone());
            continue;
        }
        if !computes(stage, reference) {
            plan.notes.push(note(
                format!(
                    "the reference `{reference}` does not compute it: nothing to compare against"
                ),
                false,
            ));
            continue;
        }
        match stage.artifacts.get(candidate) {
            Some(Implementation::Artifact(_)) => {}
            Some(Implementation::Command(c)) => plan.notes.push(note(
                format!(
                    "computed on the candidate by an external command (`{}`)",
                    c.command.first().map(String::as_str).unwrap_or_default()
                ),
                true,
            )),
            other => {
                let why = match other {
                    Some(Implementation::Skip { skip }) => {
                        format!("skipped on the candidate ({skip})")
                    }
                    _ => format!("the candidate `{candidate}` has no implementation"),
                };
                plan.notes.push(note(
                    format!("{why}; in chained mode its consumers got the reference's values; not compared"),
                    false,
                ));
                continue;
            }
        }
        plan.compared.insert(stage.name.clone());
    }
    Ok(plan)
}

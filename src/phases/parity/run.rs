//! `parity run`: runs the stage runner for the reference and the candidate on each clip
//! (chained, isolated or both), compares the captures stage by stage and says where the
//! error is introduced. Parity needs outputs, not timings: one run per stage by default.

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use std::path::{Path, PathBuf};

use super::{finish, overrides, shard_label, ParityOptions};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::parity::compare::{self, Labels};
use crate::parity::model::{Check, Mode};
use crate::parity::plan::plan_stages;
use crate::parity::report::ParityReport;
use crate::parity::shard::shard_of;
use crate::parity::source::Source;
use crate::parity::stages::RunSettings;
use crate::runner::launch::{self, Input, Invocation, Timing};

#[derive(Debug, Args)]
pub struct RunArgs {
    /// The stage runner program [default: parity.run.runner, else next to this binary, else PATH]
    #[arg(long, value_name = "PROGRAM")]
    pub runner: Option<PathBuf>,
    /// WAV clips to run (overrides parity.run.clips)
    #[arg(long = "clip", value_name = "FILE")]
    pub clips: Vec<PathBuf>,
    /// chained: each backend feeds its own outputs forward (error accumulates); isolated:
    /// every candidate stage gets the reference's inputs (names the stage that introduces
    /// the error); both [default: both, or chained when parity.run.isolated is false]
    #[arg(long, value_enum, value_name = "MODE")]
    pub mode: Option<RunMode>,
    /// Compare only this stage (repeatable); the reference still runs what feeds it
    #[arg(long = "stage", value_name = "NAME")]
    pub stages: Vec<String>,
    /// Leave this stage out (repeatable): neither backend runs it unless it feeds a selected stage
    #[arg(long = "skip-stage", value_name = "NAME")]
    pub skip_stages: Vec<String>,
    /// Untimed runs per stage before the captured one. Parity compares outputs, not
    /// timings, so none by default (`benchmark run` is for timings)
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub warmup: usize,
    /// Runs per stage; the last one's outputs are compared. One by default
    #[arg(long, value_name = "N", default_value_t = 1, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub repeat: usize,
    /// Intra-op threads on every backend: libtorch's set_num_threads in the runner, and
    /// OMP/MKL/OpenBLAS/vecLib thread variables for the runner and the commands it starts;
    /// recorded in the report [default: each backend's own]
    #[arg(long, value_name = "N", value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
    pub threads: Option<usize>,
    #[command(flatten)]
    pub opts: ParityOptions,
}

/// Which runs `parity run` makes and compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RunMode {
    Chained,
    Isolated,
    Both,
}

impl RunMode {
    fn name(self) -> &'static str {
        match self {
            RunMode::Chained => "chained",
            RunMode::Isolated => "isolated",
            RunMode::Both => "chained and isolated",
        }
    }
}

pub fn run_runner(ctx: &Ctx, args: &RunArgs) -> Result<Outcome> {
    let cfg = &ctx.config.parity.run;
    let runner = launch::locate(
        args.runner
            .clone()
            .or_else(|| cfg.runner.as_ref().map(|p| ctx.resolve(p))),
    );
    let spec = ctx.resolve(&cfg.spec);
    let mode = args.mode.unwrap_or(if cfg.isolated {
        RunMode::Both
    } else {
        RunMode::Chained
    });
    let (reference_backend, candidate_backend) = (&cfg.reference_backend, &cfg.candidate_backend);
    // The spec says which stages each backend computes; a spec the runner would reject
    // is reported here, before any backend runs.
    let plan = match crate::runner::PipelineSpec::load(&spec) {
        Ok(parsed) => Some(plan_stages(
            &parsed,
            reference_backend,
            candidate_backend,
            &args.stages,
            &args.skip_stages,
        )?),
        // A runner other than ours may read another format: leave the spec to it.
        Err(_) if args.runner.is_some() || cfg.runner.is_some() => None,
        Err(e) => return Err(e.into()),
    };
    let plan = plan.unwrap_or_default();
    // The allocator and thread settings every backend gets (`runner:` in the config); an
    // explicit --threads wins over the configured count.
    let env = launch::environment(
        &runner,
        &ctx.config.torch,
        &ctx.config.runner,
        args.threads,
        &ctx.root,
    )?;
    let clips: Vec<PathBuf> = if args.clips.is_empty() {
        cfg.clips.clone()
    } else {
        args.clips.clone()
    };
    let inputs: Vec<Input> = if clips.is_empty() {
        vec![Input::Signal(cfg.signal_seconds)]
    } else {
        clips.iter().map(|c| Input::Audio(ctx.resolve(c))).collect()
    };
    let inputs = shard_of(&inputs, args.opts.shard);
    let timing = Timing {
        warmup: args.warmup,
        repeat: args.repeat,
        threads: args.threads,
    };
    let work = ctx.out_dir.join("parity-run");
    let ov = overrides(&args.opts);
    let mut checks: Vec<Check> = Vec::new();
    let mut settings = RunSettings {
        mode: mode.name().into(),
        warmup: timing.warmup,
        repeat: timing.repeat,
        threads: timing.threads,
        threads_used: Default::default(),
        stages: plan.compared.iter().cloned().collect(),
    };
    if args.stages.is_empty() && args.skip_stages.is_empty() {
        settings.stages.clear();
    }
    for (k, input) in inputs.iter().enumerate() {
        let dir = work.join(format!("{k}-{}", sanitize_file(&input.label())));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        let reference = dir.join("reference.npz");
        let chained = dir.join("candidate-chained.npz");
        let isolated = dir.join("candidate-isolated.npz");
        let mut call = |backend: &String,
                        capture: &Path,
                        from: Option<&Path>,
                        shared: Option<&Path>,
                        stages: &[String]| {
            let results = launch::run(
                ctx.console,
                &Invocation {
                    runner: &runner,
                    spec: &spec,
                    backend,
                    input,
                    capture,
                    inputs_from: from,
                    shared_from: shared,
                    stages,
                    timing,
                    cwd: &ctx.root,
                    env: &env,
                },
            )
            .with_context(|| format!("parity run: {}", input.label()))?;
            if let Some(t) = results.as_ref().and_then(threads_used) {
                settings.threads_used.insert(backend.clone(), t);
            }
            Ok::<(), anyhow::Error>(())
        };
        call(reference_backend, &reference, None, None, &plan.reference)?;
        let mut pairs = Vec::new();
        if mode != RunMode::Isolated {
            // Stages the candidate does not run take the reference's values.
            call(
                candidate_backend,
                &chained,
                None,
                Some(&reference),
                &plan.candidate,
            )?;
            pairs.push((Mode::Chained, chained.clone()));
        }
        if mode != RunMode::Chained {
            call(
                candidate_backend,
                &isolated,
                Some(&reference),
                None,
                &plan.candidate,
            )?;
            pairs.push((Mode::Isolated, isolated.clone()));
        }
        for (mode, cand) in pairs {
            let mut r = Source::open(&reference)?;
            let mut c = Source::open(&cand)?;
            let everything = plan.notes.is_empty() && plan.compared.is_empty();
            let in_candidate = c.names();
            let names: Vec<String> = compare::all_names(&r, &c)
                .into_iter()
                .filter(|n| compared(n, &plan.compared, everything))
                // A shared stage is compared where the candidate ran it on its own values.
                .filter(|n| {
                    let stage = n.split_once('.').map_or("", |(s, _)| s);
                    !plan.shared.contains(stage) || in_candidate.contains(n)
                })
                .collect();
            let labels = Labels {
                clip: Some(input.label()),
                mode: Some(mode),
            };
            checks.extend(compare::compare(
                ctx.console,
                &mut r,
                &mut c,
                &names,
                &ctx.config.parity.tolerances(&ov),
                &labels,
            )?);
        }
    }
    let mut report = ParityReport::new(
        reference_backend.clone(),
        candidate_backend.clone(),
        shard_label(&args.opts),
        ctx.config.parity.defaults(&ov),
        checks,
    );
    report.run = Some(settings);
    report.notes = plan.notes;
    finish(ctx, report, &args.opts)
}

/// Whether an array takes part: the input audio always; a stage's outputs when the plan
/// compares that stage (`everything`: no plan, a foreign runner's spec).
fn compared(array: &str, stages: &std::collections::BTreeSet<String>, everything: bool) -> bool {
    match array.split_once('.') {
        _ if everything => true,
        None => true,
        Some((stage, _)) => stages.contains(stage),
    }
}

/// The thread count a runner reported in its results (`$meta.threads`).
fn threads_used(doc: &serde_json::Value) -> Option<usize> {
    doc.get(crate::runner::META)?
        .get("threads")?
        .as_u64()
        .and_then(|t| usize::try_from(t).ok())
}

fn sanitize_file(s: &str) -> String {
    s.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

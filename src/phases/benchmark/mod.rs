//! The benchmark phase: `benchmark run | compare | record | history | prune | ack`.
//! Orchestration only; the engine lives in `crate::bench`. Arguments are in [`args`],
//! `record` in [`record`], the baseline maintenance commands in [`maintain`].

mod args;
pub mod branch;
pub mod config;
mod maintain;
mod record;

pub use args::*;

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};

use crate::bench::baseline;
use crate::bench::compare::{compare, pick_backends};
use crate::bench::fingerprint;
use crate::bench::ingest::{self, InputFormat};
use crate::bench::report::BenchmarkReport;
use crate::bench::run::Run;
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::fs::write_atomic;
use crate::git;

pub fn run(ctx: &Ctx, args: &BenchmarkArgs) -> Result<Outcome> {
    match &args.command {
        BenchCommand::Compare(a) => {
            let run = ingest::read_file(&ctx.resolve(&a.current), a.input_format)?;
            compare_and_emit(ctx, run, &a.opts)
        }
        BenchCommand::Run(a) => run_producers(ctx, a),
        BenchCommand::Record(a) => record::record_run(ctx, a),
        BenchCommand::History(a) => maintain::history(ctx, a),
        BenchCommand::Prune(a) => maintain::prune(ctx, a),
        BenchCommand::Ack(a) => maintain::ack(ctx, a),
    }
}

pub(super) fn baseline_path(ctx: &Ctx, given: &Option<PathBuf>) -> PathBuf {
    ctx.resolve(given.as_ref().unwrap_or(&ctx.config.benchmark.baseline))
}

fn compare_and_emit(ctx: &Ctx, run: Run, o: &CompareOpts) -> Result<Outcome> {
    let cfg = &ctx.config.benchmark;
    let path = baseline_path(ctx, &o.baseline);
    // An explicitly named baseline must exist; the default one may not exist yet.
    let (base, _) = if o.baseline.is_some() {
        baseline::load(&path)?
    } else {
        baseline::load_or_empty(&path)?
    };
    let mut opts = cfg.options();
    if let Some(w) = o.window {
        opts.rule.window = w.max(1);
    }
    if let Some(c) = &o.candidate {
        opts.candidate = c.clone();
    }
    if let Some(r) = &o.reference {
        opts.reference = r.clone();
    }
    if let Some(n) = o.min_runs {
        opts.min_runs = n.max(1);
    }
    let mut run = run;
    if let Some(t) = &o.testbed {
        run.meta.fingerprint.testbed = Some(t.clone());
    }
    let mut comparison = compare(&base, &run, &opts);
    comparison.change_points =
        crate::bench::changes::recent(&base, &opts, comparison.testbed.as_deref());
    let report = BenchmarkReport {
        comparison,
        baseline_path: crate::paths::relativize(&path.display().to_string(), &ctx.root, &ctx.root),
        fail_on_regression: o.fail_on_regression || cfg.fail_on_regression,
        current_run: run.to_design_json(),
    };
    let show = crate::bench::report::show(o.format, &report, &run);
    ctx.emit(&report, show)
}

/// Commit, ref and time of this run, from Actions or the local repository. With `ours`,
/// this machine's fingerprint replaces the producers' (they ran here); otherwise it is
/// only filled in when the run has none.
pub(super) fn stamp(ctx: &Ctx, run: &mut Run, ours: bool) {
    let env = ctx.env;
    if run.meta.commit.is_none() {
        run.meta.commit = env.sha.clone().or_else(|| git::head_commit(&ctx.root));
    }
    if run.meta.git_ref.is_none() {
        run.meta.git_ref = env.git_ref.clone();
    }
    if run.meta.timestamp.is_none() {
        run.meta.timestamp = Some(jiff::Timestamp::now().to_string());
    }
    let cfg = &ctx.config.benchmark;
    if ours || run.meta.fingerprint.key().is_none() {
        let mut fp = fingerprint::collect(env);
        if ours {
            fp.testbed.clone_from(&cfg.testbed);
        }
        fp.fill_from(&run.meta.fingerprint);
        run.meta.fingerprint = fp;
    }
    // The portable figures go with the run into baseline.json.
    let (c, r) = pick_backends(run, &cfg.candidate, &cfg.reference);
    run.meta.derived =
        crate::bench::portable::derive(&run.results, c.as_deref(), r.as_deref(), &run.meta.metrics);
}

/// Producers whose runs say they ran under different allocator or thread settings cannot
/// share one run: their numbers would differ by the settings, not the backends.
fn check_same_settings(run: &Run, one: &Run, producer: &str) -> Result<()> {
    let key = "run_settings";
    let (Some(have), Some(new)) = (
        run.meta.fingerprint.extra.get(key),
        one.meta.fingerprint.extra.get(key),
    ) else {
        return Ok(());
    };
    if have != new {
        bail!(
            "benchmark producer {producer:?} ran under other allocator/thread settings than the \
             producers before it ({new} vs {have}); give every producer the same `--threads` and \
             environment (the `runner:` section of the config sets them for the stage runner)"
        );
    }
    Ok(())
}

fn run_producers(ctx: &Ctx, a: &RunArgs) -> Result<Outcome> {
    let cfg = &ctx.config.benchmark;
    let producers: Vec<_> = cfg
        .producers
        .iter()
        .filter(|p| a.producer.is_empty() || a.producer.contains(&p.name))
        .collect();
    if producers.is_empty() {
        bail!(
            "no benchmark producers to run: add `benchmark.producers` (name, command) to {} or compare a results file with `benchmark compare --current FILE`",
            ctx.config_path.as_deref().map_or(crate::config::DEFAULT_CONFIG_PATH.into(), |p| p.display().to_string())
        );
    }
    let warmup = a.warmup.unwrap_or(cfg.warmup);
    let reps = a.repetitions.unwrap_or(cfg.repetitions).max(1);
    let total = producers.len() as u64 * u64::from(warmup + reps);
    let progress = ctx.console.progress(total, "benchmark");
    let mut run = Run::default();
    for p in &producers {
        let (program, args) = p
            .command
            .split_first()
            .with_context(|| format!("benchmark producer {:?} has an empty command", p.name))?;
        let cwd = ctx.resolve(p.working_directory.as_deref().unwrap_or(Path::new(".")));
        // The stage runner, named without a path, is found beside this binary first and
        // gets its libtorch and the `runner:` allocator and thread settings.
        let line = crate::runner::launch::CommandLine::new(
            program,
            args,
            &cwd,
            &ctx.config.torch,
            &ctx.config.runner,
            &ctx.root,
        )?;
        for i in 0..warmup + reps {
            let what = if i < warmup {
                format!("{} warm-up {}/{warmup}", p.name, i + 1)
            } else {
                format!("{} repetition {}/{reps}", p.name, i - warmup + 1)
            };
            progress.step(&what);
            let out = line.command().output().with_context(|| {
                format!(
                    "cannot start benchmark producer {:?} ({}) in {}",
                    p.name,
                    line.program().display(),
                    cwd.display()
                )
            })?;
            if !out.status.success() {
                progress.finish();
                ctx.console.raw(&String::from_utf8_lossy(&out.stderr));
                bail!(
                    "benchmark producer {:?} failed ({}) during {what}",
                    p.name,
                    out.status
                );
            }
            progress.inc();
            if i < warmup {
                continue;
            }
            let format = p.format.unwrap_or(InputFormat::Auto);
            let one = match &p.results_file {
                Some(f) => ingest::read_file(&cwd.join(f), format)?,
                None => ingest::read_str(
                    &String::from_utf8_lossy(&out.stdout),
                    &format!("output of benchmark producer {:?}", p.name),
                    format,
                )?,
            };
            check_same_settings(&run, &one, &p.name)?;
            run.merge(&one);
        }
    }
    progress.finish();
    stamp(ctx, &mut run, true);
    if let Some(t) = &a.opts.testbed {
        run.meta.fingerprint.testbed = Some(t.clone());
    }
    let json = serde_json::to_vec_pretty(&run.to_design_json())?;
    write_atomic(&ctx.out_dir.join("benchmark-run.json"), &json)?;
    let bmf = serde_json::to_vec_pretty(&ingest::to_bmf(&run))?;
    write_atomic(&ctx.out_dir.join("benchmark-run.bmf.json"), &bmf)?;
    ctx.console.info(&format!(
        "run written to {} (Bencher Metric Format: benchmark-run.bmf.json)",
        ctx.out_dir.join("benchmark-run.json").display()
    ));
    compare_and_emit(ctx, run, &a.opts)
}

//! The parity phase: `parity --reference A --candidate B` compares files, `parity run`
//! runs the stage runner for both backends (chained and isolated) and compares its
//! captures, `parity merge` combines shard reports. All three end in one report.

pub mod config;
pub mod coreml;
pub mod port;
mod run;

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output::{PhaseReport, Show};
use crate::parity::compare::{self, Labels};
use crate::parity::model::Check;
use crate::parity::report::{Format, ParityReport};
use crate::parity::shard::{parse_shard, shard_of};
use crate::parity::source::Source;
use config::{Overrides, Rule};
pub use run::RunArgs;

#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct ParityArgs {
    #[command(subcommand)]
    pub command: Option<ParityCommand>,
    /// Reference arrays: an .npz file, a folder of .npy files or a folder of WAV stems
    #[arg(long, value_name = "PATH", requires = "candidate")]
    pub reference: Option<PathBuf>,
    /// Candidate arrays, matched to the reference by name
    #[arg(long, value_name = "PATH", requires = "reference")]
    pub candidate: Option<PathBuf>,
    /// One folder holding both sides as `{stem}_{backend}.wav` [default: parity.pairs.dir]
    #[arg(long, value_name = "DIR", conflicts_with_all = ["reference", "candidate"])]
    pub pairs: Option<PathBuf>,
    /// File names in --pairs [default: parity.pairs.pattern, {stem}_{backend}.wav]
    #[arg(long, value_name = "PATTERN")]
    pub pattern: Option<String>,
    /// A metrics.csv (stem,sdr,sir,sar) the port computed: one SDR check per stem
    /// [default: parity.metrics_csv]
    #[arg(long, value_name = "FILE", conflicts_with_all = ["reference", "candidate"])]
    pub metrics: Option<PathBuf>,
    #[command(flatten)]
    pub opts: ParityOptions,
}

#[derive(Debug, Subcommand)]
pub enum ParityCommand {
    /// Run the stage runner for the reference and candidate backends and compare
    Run(RunArgs),
    /// Combine shard reports (parity.json files) into one report
    Merge(MergeArgs),
}

#[derive(Debug, Args)]
pub struct MergeArgs {
    /// Shard reports (files or globs), e.g. shards/*/parity.json
    #[arg(required = true, value_name = "FILE_OR_GLOB")]
    pub reports: Vec<String>,
    #[command(flatten)]
    pub opts: ParityOptions,
}

/// Options shared by every form of the command.
#[derive(Debug, Args, Clone, Default)]
pub struct ParityOptions {
    /// Absolute tolerance for every array (overrides the config)
    #[arg(long, value_name = "ATOL", value_parser = parse_tolerance, allow_hyphen_values = true)]
    pub atol: Option<f64>,
    /// Relative tolerance for every array (overrides the config)
    #[arg(long, value_name = "RTOL", value_parser = parse_tolerance, allow_hyphen_values = true)]
    pub rtol: Option<f64>,
    /// Minimum SNR in dB for every array (overrides the config)
    #[arg(long, value_name = "DB", value_parser = parse_min_db, allow_hyphen_values = true)]
    pub min_snr_db: Option<f64>,
    /// Compare only shard I of N (1-based) of the arrays (or clips, with `run`)
    #[arg(long, value_name = "I/N", value_parser = parse_shard)]
    pub shard: Option<(usize, usize)>,
    /// What to print: a text table, the JSON report, JUnit XML, the Markdown section or the HTML page
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,
    /// Also write JUnit XML here [always written to <out-dir>/parity.junit.xml]
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
    /// Also write the HTML report here [always written to <out-dir>/parity.html]
    #[arg(long, value_name = "FILE")]
    pub html: Option<PathBuf>,
}

/// `--atol`/`--rtol`: a finite number ≥ 0 (a NaN would let anything pass).
fn parse_tolerance(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|e| format!("{e}"))?;
    Rule::Tolerance.check("the tolerance", v)
}

/// `--min-snr-db`: not NaN, not +inf.
fn parse_min_db(s: &str) -> std::result::Result<f64, String> {
    let v: f64 = s.trim().parse().map_err(|e| format!("{e}"))?;
    Rule::MinimumDb.check("the minimum", v)
}

pub fn run(ctx: &Ctx, args: &ParityArgs) -> Result<Outcome> {
    // The Core ML models must still fit the pipeline spec: checked on any OS, first.
    if !matches!(args.command, Some(ParityCommand::Merge(_))) {
        coreml::verify_configured(ctx)?;
    }
    match &args.command {
        Some(ParityCommand::Run(r)) => run::run_runner(ctx, r),
        Some(ParityCommand::Merge(m)) => merge(ctx, m),
        None => {
            if let (Some(reference), Some(candidate)) = (&args.reference, &args.candidate) {
                return compare_files(ctx, reference, candidate, &args.opts);
            }
            let cfg = &ctx.config.parity;
            if args.pairs.is_some()
                || args.metrics.is_some()
                || cfg.pairs.is_some()
                || cfg.metrics_csv.is_some()
            {
                return compare_port(ctx, args);
            }
            bail!(
                "parity needs --reference PATH and --candidate PATH, --pairs DIR or --metrics \
                 FILE (or parity.pairs / parity.metrics_csv in the config, or `parity run` / \
                 `parity merge`); see `htdemucs-devops parity --help`"
            );
        }
    }
}

pub(crate) fn overrides(o: &ParityOptions) -> Overrides {
    Overrides {
        atol: o.atol,
        rtol: o.rtol,
        min_snr_db: o.min_snr_db,
    }
}

pub(crate) fn shard_label(o: &ParityOptions) -> Option<String> {
    o.shard.map(|(i, n)| format!("{i}/{n}"))
}

fn compare_files(
    ctx: &Ctx,
    reference: &Path,
    candidate: &Path,
    opts: &ParityOptions,
) -> Result<Outcome> {
    let (rp, cp) = (ctx.resolve(reference), ctx.resolve(candidate));
    let mut r = Source::open(&rp)?;
    let mut c = Source::open(&cp)?;
    let names = shard_of(&compare::all_names(&r, &c), opts.shard);
    let ov = overrides(opts);
    let checks = compare::compare(
        ctx.console,
        &mut r,
        &mut c,
        &names,
        &ctx.config.parity.tolerances(&ov),
        &Labels::default(),
    )?;
    let report = ParityReport::new(
        display(ctx, &rp),
        display(ctx, &cp),
        shard_label(opts),
        ctx.config.parity.defaults(&ov),
        checks,
    );
    finish(ctx, report, opts)
}

/// `parity --pairs DIR` / `--metrics FILE` (or their config keys): a port's own stems
/// and metrics, in one report (`port`).
fn compare_port(ctx: &Ctx, args: &ParityArgs) -> Result<Outcome> {
    let ov = overrides(&args.opts);
    let inputs = port::PortInputs {
        pairs: args.pairs.as_deref(),
        pattern: args.pattern.as_deref(),
        metrics: args.metrics.as_deref(),
    };
    let report = port::port_report(ctx, &inputs, &ov, args.opts.shard)?;
    finish(ctx, report, &args.opts)
}

pub(crate) fn display(ctx: &Ctx, p: &Path) -> String {
    crate::paths::relativize(&p.to_string_lossy(), &ctx.root, &ctx.root)
}

fn merge(ctx: &Ctx, args: &MergeArgs) -> Result<Outcome> {
    let mut files: Vec<PathBuf> = Vec::new();
    for pattern in &args.reports {
        let full = ctx.resolve(Path::new(pattern));
        let text = full.to_string_lossy().into_owned();
        let mut hits: Vec<PathBuf> = glob::glob(&text)
            .with_context(|| format!("bad glob {pattern:?}"))?
            .filter_map(|p| p.ok())
            .collect();
        if hits.is_empty() {
            bail!("no shard report matches {pattern:?} (give parity.json files written by `parity --shard I/N`)");
        }
        hits.sort();
        files.extend(hits);
    }
    let mut reports = Vec::new();
    for f in &files {
        let envelope = PhaseReport::read(f)?;
        if envelope.phase != "parity" {
            bail!(
                "{} is a {} report, not a parity report",
                f.display(),
                envelope.phase
            );
        }
        let r: ParityReport = serde_json::from_value(envelope.data).with_context(|| {
            format!(
                "{} has no readable parity data (re-run the phase)",
                f.display()
            )
        })?;
        reports.push((f.clone(), r));
    }
    // Every shard of a split must be there exactly once: a missing matrix job must not
    // let the merged report pass.
    let shards: Vec<(usize, usize, &Path)> = reports
        .iter()
        .filter_map(|(f, r)| {
            let (i, n) = r.shard.as_deref()?.split_once('/')?;
            Some((i.parse().ok()?, n.parse().ok()?, f.as_path()))
        })
        .collect();
    if let Some(&(_, n, _)) = shards.first() {
        for i in 1..=n {
            let found: Vec<&Path> = shards
                .iter()
                .filter(|(si, sn, _)| *si == i && *sn == n)
                .map(|s| s.2)
                .collect();
            match found.len() {
                1 => {}
                0 => bail!("shard {i}/{n} is missing from the reports given to parity merge"),
                _ => bail!(
                    "shard {i}/{n} appears more than once ({})",
                    found
                        .iter()
                        .map(|p| p.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        if shards.iter().any(|s| s.1 != n) {
            bail!("the shard reports come from different splits (not all are …/{n})");
        }
    }
    let Some((_, first)) = reports.first() else {
        bail!("parity merge needs at least one report");
    };
    let (reference, candidate, tolerance) = (
        first.reference.clone(),
        first.candidate.clone(),
        first.tolerance,
    );
    let (first_run, first_notes) = (first.run.clone(), first.notes.clone());
    // A shard's verdicts are not taken on trust: each check is judged again from its own
    // figures and tolerance, so an edited or inconsistent report cannot turn green.
    let checks: Vec<Check> = reports
        .into_iter()
        .flat_map(|(_, r)| r.checks)
        .map(rejudge)
        .collect();
    let mut report = ParityReport::new(reference, candidate, None, tolerance, checks);
    report.run = first_run;
    report.notes = first_notes;
    finish(ctx, report, &args.opts)
}

/// A merged check passes only when its shard said so, it lists no problem, and its
/// metrics (when present) break no rule of its tolerance.
fn rejudge(mut check: Check) -> Check {
    if let Some(r) = &check.reported {
        port::judge_reported(&mut check.problems, r, &check.tolerance);
    }
    if let Some(m) = &check.metrics {
        let mut found = Vec::new();
        compare::judge(&mut found, m, &check.tolerance);
        for p in found {
            if !check.problems.contains(&p) {
                check.problems.push(p);
            }
        }
    }
    check.passed = check.passed && check.problems.is_empty();
    check
}

/// Writes JUnit and HTML next to the JSON report (and where asked), then emits.
pub(crate) fn finish(ctx: &Ctx, report: ParityReport, opts: &ParityOptions) -> Result<Outcome> {
    let junit = crate::parity::junit::render(&report);
    let html = crate::parity::render_html(&report)?;
    crate::fs::write_atomic(&ctx.out_dir.join("parity.junit.xml"), junit.as_bytes())?;
    crate::fs::write_atomic(&ctx.out_dir.join("parity.html"), html.as_bytes())?;
    if let Some(p) = &opts.junit {
        crate::fs::write_atomic(p, junit.as_bytes())?;
    }
    if let Some(p) = &opts.html {
        crate::fs::write_atomic(p, html.as_bytes())?;
    }
    let show = match opts.format {
        Format::Text => Show::Summary,
        Format::Markdown => Show::Markdown,
        Format::Json => Show::Document(report.json_text()),
        Format::Junit => Show::Document(junit),
        Format::Html => Show::Document(html),
    };
    ctx.emit(&report, show)
}

//! The benchmark phase: `benchmark run | compare | record | history | prune | ack`.
//! Orchestration only; the engine lives in `crate::bench`.

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::bench::baseline::{self, Ack};
use crate::bench::compare::{compare, Options};
use crate::bench::decide::Rule;
use crate::bench::ingest::{self, InputFormat};
use crate::bench::record;
use crate::bench::report::{BenchmarkReport, OutputFormat};
use crate::bench::run::Run;
use crate::bench::{fingerprint, render};
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::git;
use crate::report::{terminal, write_atomic};

#[derive(Debug, Args)]
pub struct BenchmarkArgs {
    #[command(subcommand)]
    pub command: BenchCommand,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// Run the configured producers (warm-up, repetitions), stamp the runner fingerprint,
    /// write <out-dir>/benchmark-run.json and compare it with the baseline
    Run(RunArgs),
    /// Compare a results file with the baseline: per backend × metric verdicts
    Compare(CompareArgs),
    /// Append a run to baseline.json and commit it to the branch (push with retries)
    Record(RecordArgs),
    /// List the recorded runs and acknowledgements
    History(HistoryArgs),
    /// Remove old runs from baseline.json (the only way its history shrinks)
    Prune(PruneArgs),
    /// Acknowledge an intended change: start a new baseline window from a commit on
    Ack(AckArgs),
}

/// Options shared by `run` and `compare`.
#[derive(Debug, Args)]
pub struct CompareOpts {
    /// Baseline file [default: benchmark.baseline, benchmarks/baseline.json]
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// What to print on stdout
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Regressions are errors and exit 1
    #[arg(long)]
    pub fail_on_regression: bool,
    /// Compare with at most this many recent runs [default: benchmark.window, 10]
    #[arg(long, value_name = "N")]
    pub window: Option<usize>,
    /// The table's first column [default: benchmark.candidate, coreml]
    #[arg(long, value_name = "BACKEND")]
    pub candidate: Option<String>,
    /// The table's second column [default: benchmark.reference, pytorch]
    #[arg(long, value_name = "BACKEND")]
    pub reference: Option<String>,
}

#[derive(Debug, Args)]
pub struct CompareArgs {
    /// The current results (design JSON, github-action-benchmark, BMF or hyperfine JSON)
    #[arg(long, value_name = "FILE")]
    pub current: PathBuf,
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,
    #[command(flatten)]
    pub opts: CompareOpts,
}

#[derive(Debug, Args)]
pub struct RunArgs {
    /// Run only these producers (repeatable) [default: all configured]
    #[arg(long, value_name = "NAME")]
    pub producer: Vec<String>,
    /// Repetitions whose samples are merged [default: benchmark.repetitions]
    #[arg(long, value_name = "N")]
    pub repetitions: Option<u32>,
    /// Discarded warm-up runs [default: benchmark.warmup]
    #[arg(long, value_name = "N")]
    pub warmup: Option<u32>,
    #[command(flatten)]
    pub opts: CompareOpts,
}

#[derive(Debug, Args)]
pub struct RecordArgs {
    /// The run to record [default: <out-dir>/benchmark-run.json]
    #[arg(long, value_name = "FILE")]
    pub current: Option<PathBuf>,
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub input_format: InputFormat,
    /// Baseline file, relative to the repository root [default: benchmark.baseline]
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Only rewrite the local file; no commit, no push
    #[arg(long)]
    pub local: bool,
    /// Remote name or URL [default: benchmark.record.remote, else the repository's origin]
    #[arg(long, value_name = "REMOTE")]
    pub remote: Option<String>,
    /// Branch to commit to [default: benchmark.record.branch, main]
    #[arg(long, value_name = "BRANCH")]
    pub branch: Option<String>,
    /// Commit message; {short_sha} and {sha} are replaced
    #[arg(long, value_name = "TEXT")]
    pub message: Option<String>,
    #[arg(long, value_name = "NAME")]
    pub author_name: Option<String>,
    #[arg(long, value_name = "EMAIL")]
    pub author_email: Option<String>,
    /// Push attempts [default: benchmark.record.max_attempts, 5]
    #[arg(long, value_name = "N")]
    pub max_attempts: Option<u32>,
    /// Record even on a pull request
    #[arg(long)]
    pub force: bool,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Print JSON instead of a table
    #[arg(long)]
    pub json: bool,
}

#[derive(Debug, Args)]
pub struct PruneArgs {
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// Keep the newest N runs of each runner kind
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    /// Remove runs older than this date (YYYY-MM-DD) or time (RFC 3339)
    #[arg(long, value_name = "DATE")]
    pub before: Option<String>,
    /// Show what would be removed, change nothing
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Args)]
pub struct AckArgs {
    #[arg(long, value_name = "FILE")]
    pub baseline: Option<PathBuf>,
    /// The commit whose run starts the new window (a prefix is enough)
    #[arg(long = "from", value_name = "COMMIT")]
    pub from_commit: String,
    /// Only this backend [default: all]
    #[arg(long)]
    pub backend: Option<String>,
    /// Only this metric [default: all]
    #[arg(long)]
    pub metric: Option<String>,
    /// Why the change is intended (kept in baseline.json)
    #[arg(long)]
    pub reason: String,
}

pub fn run(ctx: &Ctx, args: &BenchmarkArgs) -> Result<Outcome> {
    match &args.command {
        BenchCommand::Compare(a) => {
            let run = ingest::read_file(&ctx.resolve(&a.current), a.input_format)?;
            compare_and_emit(ctx, run, &a.opts)
        }
        BenchCommand::Run(a) => run_producers(ctx, a),
        BenchCommand::Record(a) => record_run(ctx, a),
        BenchCommand::History(a) => history(ctx, a),
        BenchCommand::Prune(a) => prune(ctx, a),
        BenchCommand::Ack(a) => ack(ctx, a),
    }
}

fn baseline_path(ctx: &Ctx, given: &Option<PathBuf>) -> PathBuf {
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
    let opts = Options {
        rule: Rule {
            window: o.window.unwrap_or(cfg.window).max(1),
            noise_sigmas: cfg.noise_sigmas,
        },
        thresholds: cfg.thresholds,
        metrics: cfg.metrics.clone(),
        candidate: o.candidate.clone().unwrap_or_else(|| cfg.candidate.clone()),
        reference: o.reference.clone().unwrap_or_else(|| cfg.reference.clone()),
    };
    let comparison = compare(&base, &run, &opts);
    let report = BenchmarkReport {
        comparison,
        baseline_path: crate::paths::relativize(&path.display().to_string(), &ctx.root, &ctx.root),
        fail_on_regression: o.fail_on_regression || cfg.fail_on_regression,
        current_run: run.to_design_json(),
        format: o.format,
        run,
    };
    crate::report::emit(ctx.console, &ctx.out_dir, &report)
}

/// Commit, ref and time of this run, from Actions or the local repository. With `ours`,
/// this machine's fingerprint replaces the producers' (they ran here); otherwise it is
/// only filled in when the run has none.
fn stamp(ctx: &Ctx, run: &mut Run, ours: bool) {
    let env = ctx.console.env();
    if run.meta.commit.is_none() {
        run.meta.commit = env.sha.clone().or_else(|| git::head_commit(&ctx.root));
    }
    if run.meta.git_ref.is_none() {
        run.meta.git_ref = env.git_ref.clone();
    }
    if run.meta.timestamp.is_none() {
        run.meta.timestamp = Some(jiff::Timestamp::now().to_string());
    }
    if ours || run.meta.fingerprint.key().is_none() {
        let mut fp = fingerprint::collect(env);
        fp.fill_from(&run.meta.fingerprint);
        run.meta.fingerprint = fp;
    }
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
        for i in 0..warmup + reps {
            let what = if i < warmup {
                format!("{} warm-up {}/{warmup}", p.name, i + 1)
            } else {
                format!("{} repetition {}/{reps}", p.name, i - warmup + 1)
            };
            progress.step(&what);
            let out = std::process::Command::new(program)
                .args(args)
                .current_dir(&cwd)
                .stdin(std::process::Stdio::null())
                .output()
                .with_context(|| {
                    format!(
                        "cannot start benchmark producer {:?} ({program}) in {}",
                        p.name,
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
            run.merge(&one);
        }
    }
    progress.finish();
    stamp(ctx, &mut run, true);
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

fn record_run(ctx: &Ctx, a: &RecordArgs) -> Result<Outcome> {
    let env = ctx.console.env();
    let on_pr = matches!(
        env.event_name.as_deref(),
        Some("pull_request" | "pull_request_target")
    );
    if on_pr && !a.force {
        bail!("refusing to record a benchmark run from a pull request (the baseline follows the default branch); run `benchmark record` on push to main, or pass --force");
    }
    let rc = &ctx.config.benchmark.record;
    let current = a
        .current
        .clone()
        .unwrap_or_else(|| ctx.out_dir.join("benchmark-run.json"));
    let mut run = ingest::read_file(&ctx.resolve(&current), a.input_format)?;
    stamp(ctx, &mut run, false);
    let rel = a
        .baseline
        .clone()
        .unwrap_or_else(|| ctx.config.benchmark.baseline.clone());
    if a.local {
        let path = ctx.resolve(&rel);
        let changed = record::append_to_file(&path, &run)?;
        ctx.console.print(&if changed {
            format!("recorded the run in {}\n", path.display())
        } else {
            format!("{} already has this run; nothing changed\n", path.display())
        });
        return Ok(Outcome::Ok);
    }
    let top = git::toplevel(&ctx.root)?;
    let abs = ctx.resolve(&rel);
    let in_repo = abs
        .strip_prefix(&top)
        .map(Path::to_path_buf)
        .unwrap_or(rel.clone());
    let remote_arg = a
        .remote
        .clone()
        .or_else(|| rc.remote.clone())
        .unwrap_or_else(|| "origin".into());
    // A remote name is looked up in the workspace; anything else is a URL or a path.
    let remote = match git::remote_url(&top, &remote_arg) {
        Ok(url) => url,
        Err(_) if remote_arg != "origin" => remote_arg.clone(),
        Err(e) => return Err(e),
    };
    let spec = git::PushSpec {
        remote,
        branch: a.branch.clone().unwrap_or_else(|| rc.branch.clone()),
        author: git::Identity {
            name: a
                .author_name
                .clone()
                .unwrap_or_else(|| rc.author_name.clone()),
            email: a
                .author_email
                .clone()
                .unwrap_or_else(|| rc.author_email.clone()),
        },
        message: record::message(
            a.message.as_deref().unwrap_or(&rc.message),
            run.meta.commit.as_deref(),
        ),
        max_attempts: a.max_attempts.unwrap_or(rc.max_attempts).max(1),
        backoff: Duration::from_millis(250),
        create_branch: false,
        config: git::auth_config(&top),
    };
    let pushed = record::append_on_remote(&spec, &in_repo, &run)?;
    ctx.console.print(&match &pushed.commit {
        Some(c) => format!(
            "recorded the run in {} on {} as {} (attempt {})\n",
            in_repo.display(),
            spec.branch,
            &c[..c.len().min(12)],
            pushed.attempts
        ),
        None => format!(
            "{} on {} already has this run; nothing pushed\n",
            in_repo.display(),
            spec.branch
        ),
    });
    Ok(Outcome::Ok)
}

fn history(ctx: &Ctx, a: &HistoryArgs) -> Result<Outcome> {
    let path = baseline_path(ctx, &a.baseline);
    let (b, _) = baseline::load(&path)?;
    if a.json {
        ctx.console
            .print(&(serde_json::to_string_pretty(&b)? + "\n"));
        return Ok(Outcome::Ok);
    }
    let rows: Vec<Vec<String>> = b
        .runs
        .iter()
        .map(|r| {
            let metrics: usize = r.results.values().map(|m| m.len()).sum();
            vec![
                terminal::sanitize(r.meta.timestamp.as_deref().unwrap_or("")),
                terminal::sanitize(
                    &r.meta
                        .commit
                        .as_deref()
                        .map_or("—".into(), |c| c[..c.len().min(7)].to_string()),
                ),
                terminal::sanitize(&r.meta.fingerprint.key().unwrap_or_else(|| "unknown".into())),
                terminal::sanitize(
                    &r.results
                        .keys()
                        .map(|k| render::backend_name(k))
                        .collect::<Vec<_>>()
                        .join(", "),
                ),
                metrics.to_string(),
            ]
        })
        .collect();
    let mut out = terminal::table(
        &["Recorded", "Commit", "Runner", "Backends", "Metrics"],
        &rows,
        &[false, false, false, false, true],
    );
    out.push_str(&format!("{} runs in {}\n", b.runs.len(), path.display()));
    for ack in &b.acknowledgements {
        out.push_str(&terminal::sanitize(&format!(
            "acknowledged from {} ({}{}): {}\n",
            ack.from_commit,
            ack.backend.as_deref().unwrap_or("all backends"),
            ack.metric
                .as_deref()
                .map(|m| format!(", {m}"))
                .unwrap_or_default(),
            ack.reason
        )));
    }
    ctx.console.print(&out);
    Ok(Outcome::Ok)
}

fn prune(ctx: &Ctx, a: &PruneArgs) -> Result<Outcome> {
    if a.keep_last.is_none() && a.before.is_none() {
        bail!("say what to prune: --keep-last N and/or --before DATE");
    }
    let before = a
        .before
        .as_deref()
        .map(|s| {
            s.parse::<jiff::Timestamp>()
                .or_else(|_| format!("{s}T00:00:00Z").parse::<jiff::Timestamp>())
                .with_context(|| {
                    format!("--before {s:?} is not a date (YYYY-MM-DD) or an RFC 3339 time")
                })
        })
        .transpose()?;
    let path = baseline_path(ctx, &a.baseline);
    let (mut b, _) = baseline::load(&path)?;
    let removed = b.prune(a.keep_last, before);
    let mut out = String::new();
    for id in &removed {
        out.push_str(&format!(
            "{} {}\n",
            if a.dry_run { "would remove" } else { "removed" },
            terminal::sanitize(id)
        ));
    }
    if !a.dry_run && !removed.is_empty() {
        b.save(&path, true)?;
    }
    out.push_str(&format!(
        "{} runs {}, {} kept in {}\n",
        removed.len(),
        if a.dry_run { "to remove" } else { "removed" },
        b.runs.len(),
        path.display()
    ));
    ctx.console.print(&out);
    Ok(Outcome::Ok)
}

fn ack(ctx: &Ctx, a: &AckArgs) -> Result<Outcome> {
    if a.from_commit.trim().len() < 4 || a.reason.trim().is_empty() {
        bail!("--from needs a commit (at least 4 hex digits) and --reason a non-empty text");
    }
    let path = baseline_path(ctx, &a.baseline);
    let (mut b, _) = baseline::load_or_empty(&path)?;
    b.acknowledgements.push(Ack {
        from_commit: a.from_commit.trim().to_string(),
        created_at: jiff::Timestamp::now().to_string(),
        backend: a.backend.clone(),
        metric: a.metric.clone(),
        reason: a.reason.clone(),
    });
    b.save(&path, false)?;
    ctx.console.print(&format!(
        "acknowledged: from {} on, {} starts a new baseline window (commit {} to keep it)\n",
        a.from_commit,
        match (&a.backend, &a.metric) {
            (None, None) => "every metric".to_string(),
            (b, m) => format!(
                "{} {}",
                b.as_deref().unwrap_or("every backend's"),
                m.as_deref().unwrap_or("metrics")
            ),
        },
        path.display()
    ));
    Ok(Outcome::Ok)
}

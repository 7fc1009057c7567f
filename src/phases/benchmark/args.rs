//! Command-line arguments of `benchmark run | compare | record | history | prune | ack`
//! (clap derive; doc comments are the `--help` text).

use clap::{Args, Subcommand};
use std::path::PathBuf;

use crate::bench::ingest::InputFormat;
use crate::bench::report::OutputFormat;

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
    /// List the recorded runs, acknowledgements and change points (where each series stepped, per testbed)
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
    /// Compare with at most this many recent runs [default: benchmark.window, 20]
    #[arg(long, value_name = "N")]
    pub window: Option<usize>,
    /// The table's first column [default: benchmark.candidate, coreml]
    #[arg(long, value_name = "BACKEND")]
    pub candidate: Option<String>,
    /// The table's second column [default: benchmark.reference, pytorch]
    #[arg(long, value_name = "BACKEND")]
    pub reference: Option<String>,
    /// Name the current run's testbed [default: benchmark.testbed, else the runner kind]
    #[arg(long, value_name = "NAME")]
    pub testbed: Option<String>,
    /// Runs a testbed needs before its times and memory are judged [default:
    /// benchmark.min_runs, 3]
    #[arg(long, value_name = "N")]
    pub min_runs: Option<usize>,
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
    /// Record a run made on another branch than the baseline's (by default such runs,
    /// e.g. a `workflow_dispatch` from a feature branch, are not recorded)
    #[arg(long)]
    pub from_any_branch: bool,
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

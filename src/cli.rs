//! The command line (clap derive) and which phase each subcommand runs. Doc comments
//! here are the `--help` text.

use clap::{Args, Parser, Subcommand};
use std::path::PathBuf;

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::phases;

pub const EXIT_CODES_HELP: &str = "\
Exit codes:
  0  all good
  1  the phase found a problem (lint errors, failing tests, ...)
  2  the tool could not do its job (bad config, unreadable input, bad usage)";

/// CI for PyTorch -> CoreML model ports: lint, test, parity, benchmark and publish,
/// with annotations, step summaries and reports that fit where it runs.
#[derive(Debug, Parser)]
#[command(name = "htdemucs-devops", version, after_help = EXIT_CODES_HELP, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every phase understands.
#[derive(Debug, Args)]
pub struct GlobalArgs {
    /// Config file [default: <root>/.github/htdemucs-devops.yml, defaults if absent]
    #[arg(
        long,
        global = true,
        value_name = "FILE",
        env = "HTDEMUCS_DEVOPS_CONFIG"
    )]
    pub config: Option<PathBuf>,
    /// Folder for the phase reports (JSON) and other outputs
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        default_value = ".htdemucs-devops"
    )]
    pub out_dir: PathBuf,
    /// Workspace root that paths are made relative to [default: $GITHUB_WORKSPACE or the current folder]
    #[arg(long, global = true, value_name = "DIR")]
    pub root: Option<PathBuf>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the configured linters (or ingest their reports) and report diagnostics
    #[command(after_help = EXIT_CODES_HELP)]
    Lint(crate::phases::lint::LintArgs),
    /// Run the configured test commands (or ingest JUnit/xUnit files) and report results
    #[command(after_help = EXIT_CODES_HELP)]
    Test(crate::phases::test::TestArgs),
    /// Merge the phase reports into one sticky PR comment, check runs and the step summary
    #[command(after_help = EXIT_CODES_HELP)]
    Report(crate::phases::report::ReportArgs),
    /// Scaffold a consumer repository: Makefile, pre-commit hooks, Dependabot, config and
    /// CI workflows (never overwrites without --force; --check reports drift)
    #[command(after_help = EXIT_CODES_HELP)]
    Init(crate::phases::init::InitArgs),
    /// Benchmarks: run producers, compare with baseline.json, record runs on main
    #[command(after_help = EXIT_CODES_HELP)]
    Benchmark(crate::phases::benchmark::BenchmarkArgs),
    /// Render the GitHub Pages site (parity, benchmarks, history charts, archive) and push it to gh-pages
    #[command(after_help = EXIT_CODES_HELP)]
    Publish(crate::phases::publish::PublishArgs),
    /// Compare reference and candidate arrays stage by stage (files, or `parity run` with the stage runner)
    #[command(after_help = EXIT_CODES_HELP)]
    Parity(Box<crate::phases::parity::ParityArgs>),
    /// The stage runner's torch: `status` (which libtorch it would get) and `provision`
    /// (install its exact torch into a private cache folder)
    #[command(after_help = EXIT_CODES_HELP)]
    Torch(crate::phases::torch::TorchArgs),
    /// Core ML models on any OS: `inspect` prints an .mlpackage's inputs and outputs,
    /// `check` compares the pipeline spec's Core ML stages with their models
    #[command(after_help = EXIT_CODES_HELP)]
    Coreml(crate::phases::parity::coreml::CoremlArgs),
}

impl Command {
    /// Runs the phase this subcommand names.
    pub fn run(&self, ctx: &Ctx) -> anyhow::Result<Outcome> {
        match self {
            Command::Lint(args) => phases::lint::run(ctx, args),
            Command::Test(args) => phases::test::run(ctx, args),
            Command::Report(args) => phases::report::run(ctx, args),
            Command::Init(args) => phases::init::run(ctx, args),
            Command::Benchmark(args) => phases::benchmark::run(ctx, args),
            Command::Publish(args) => phases::publish::run(ctx, args),
            Command::Parity(args) => phases::parity::run(ctx, args),
            Command::Torch(args) => phases::torch::run(ctx, args),
            Command::Coreml(args) => phases::parity::coreml::run(ctx, args),
        }
    }
}

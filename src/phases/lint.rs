//! The lint phase (being written): runs linters or ingests their reports.

use anyhow::Result;
use clap::Args;

use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, Args)]
pub struct LintArgs {
    /// Ingest a report produced elsewhere instead of running the tool: TOOL=FILE, where
    /// TOOL is ruff, swiftlint, swiftformat or generic (repeatable)
    #[arg(long = "report", value_name = "TOOL=FILE")]
    pub reports: Vec<String>,
    /// Run the formatters' fix mode before linting
    #[arg(long)]
    pub fix: bool,
}

pub fn run(_ctx: &Ctx, _args: &LintArgs) -> Result<Outcome> {
    anyhow::bail!("lint is not implemented yet")
}

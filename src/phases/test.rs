//! The test phase (being written): runs test commands or ingests JUnit/xUnit files.

use anyhow::Result;
use clap::Args;

use crate::context::Ctx;
use crate::exit::Outcome;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Ingest JUnit/xUnit result files instead of running the tests (file or glob, repeatable)
    #[arg(long, value_name = "FILE_OR_GLOB")]
    pub junit: Vec<String>,
}

pub fn run(_ctx: &Ctx, _args: &TestArgs) -> Result<Outcome> {
    anyhow::bail!("test is not implemented yet")
}

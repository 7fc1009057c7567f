//! The test phase: runs the configured test commands (or ingests JUnit/xUnit files
//! given with `--junit`) and reports totals, failures with locations and slow tests.

mod commands;
pub mod config;
mod location;
mod markdown;
pub mod model;
mod render;

use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::PathBuf;

use crate::context::Ctx;
use crate::exit::Outcome;
use model::Collector;

#[derive(Debug, Args)]
pub struct TestArgs {
    /// Ingest JUnit/xUnit result files instead of running the tests (file or glob,
    /// repeatable). Paths inside the files are taken as relative to the root.
    #[arg(long, value_name = "FILE_OR_GLOB")]
    pub junit: Vec<String>,
}

/// Expands `--junit` arguments (relative to the current folder). Each must name at
/// least one file: a typo must not look like "no tests ran".
fn expand(patterns: &[String]) -> Result<Vec<PathBuf>> {
    let mut files: Vec<PathBuf> = Vec::new();
    for pat in patterns {
        let literal = !pat.contains(['*', '?', '[']);
        if literal {
            let p = PathBuf::from(pat);
            if !p.is_file() {
                bail!("--junit {pat}: no such file (give a JUnit/xUnit XML file or a glob)");
            }
            if !files.contains(&p) {
                files.push(p);
            }
            continue;
        }
        let mut found = false;
        for entry in glob::glob(pat).with_context(|| format!("--junit {pat}: not a valid glob"))? {
            let p = entry.with_context(|| format!("--junit {pat}: cannot list a match"))?;
            if p.is_file() {
                found = true;
                if !files.contains(&p) {
                    files.push(p);
                }
            }
        }
        if !found {
            bail!("--junit {pat}: the glob matched no file");
        }
    }
    Ok(files)
}

pub fn run(ctx: &Ctx, args: &TestArgs) -> Result<Outcome> {
    let cfg = &ctx.config.test;
    let mut collector = Collector::new(cfg.slowest);
    if args.junit.is_empty() {
        let commands = cfg.commands.clone().unwrap_or_else(commands::defaults);
        for cmd in &commands {
            commands::run_one(ctx, cmd, &mut collector)?;
        }
    } else {
        let cwd = std::env::current_dir().context("cannot read the current folder")?;
        for file in expand(&args.junit)? {
            let shown = crate::paths::relativize(&file.to_string_lossy(), &cwd, &ctx.root);
            collector.ingest(&file, &shown, &ctx.root, &ctx.root)?;
        }
    }
    let report = collector.finish(cfg.fail_if_no_tests);
    ctx.emit(&report, crate::output::Show::Summary)
}

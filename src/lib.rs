//! htdemucs-devops: the library behind the `htdemucs-devops` binary. Data flows one way:
//! config -> collect (tools, files) -> a phase report (pure model) -> render -> effects.

pub mod audio;
pub mod bench;
pub mod chart;
pub mod cli;
pub mod config;
pub mod context;
pub mod coreml_spec;
pub mod exit;
pub mod fs;
pub mod fuzzing;
pub mod git;
pub mod github;
pub mod html;
pub mod ingest;
pub mod npy;
pub mod output;
pub mod parity;
pub mod paths;
pub mod phases;
pub mod process;
pub mod run_env;
pub mod runner;
pub mod scratch;
pub mod secrets;
pub mod simd;
pub mod site;
pub mod token;
pub mod yaml_depth;

use anyhow::{Context as _, Result};
use clap::Parser;

use crate::cli::Cli;
use crate::context::Ctx;
use crate::exit::{Outcome, TOOL_ERROR};
use crate::output::console::Console;
use crate::run_env::RunEnv;

/// Parses the command line, runs the phase and returns the process exit code.
pub fn run_cli() -> i32 {
    let env = RunEnv::from_process();
    let console = Console::new(&env);
    console.guard_panics();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are successes; usage errors are "could not do its job".
            if env.host.speaks_workflow_commands() {
                // The arguments echoed in a usage error came from a workflow file: through
                // the console's sink like any other text.
                let text = e.render().to_string();
                if e.use_stderr() {
                    console.eprint(&text);
                } else {
                    console.print(&text);
                }
            } else {
                let _ = e.print();
            }
            return if e.use_stderr() { TOOL_ERROR } else { 0 };
        }
    };
    match run(cli, &console, &env) {
        Ok(outcome) => outcome.code(),
        Err(e) => {
            console.fatal(&format!("{e:#}"));
            TOOL_ERROR
        }
    }
}

fn run(cli: Cli, console: &Console, env: &RunEnv) -> Result<Outcome> {
    let cwd = std::env::current_dir().context("cannot read the current folder")?;
    let root = cli
        .global
        .root
        .clone()
        .or_else(|| env.workspace.clone())
        .map(|r| if r.is_absolute() { r } else { cwd.join(r) })
        .unwrap_or_else(|| cwd.clone());
    if !root.is_dir() {
        anyhow::bail!(
            "the workspace root {} is not a folder (check --root or GITHUB_WORKSPACE)",
            root.display()
        );
    }
    let loaded = config::load(cli.global.config.as_deref(), &root)?;
    let out_dir = if cli.global.out_dir.is_absolute() {
        cli.global.out_dir.clone()
    } else {
        cwd.join(&cli.global.out_dir)
    };
    let ctx = Ctx {
        console,
        env,
        config: loaded.config,
        config_path: loaded.path,
        root,
        out_dir,
    };
    cli.command.run(&ctx)
}

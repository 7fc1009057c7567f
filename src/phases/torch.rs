//! `htdemucs-devops torch status | provision`: which libtorch the stage runner would get,
//! and installing its own torch into a private cache folder (src/runner/provision.rs).

use anyhow::{bail, Context as _, Result};
use clap::{Args, Subcommand};
use std::path::{Path, PathBuf};

use crate::context::Ctx;
use crate::exit::Outcome;
use crate::runner::libtorch::{self, TorchConfig};
use crate::runner::provision::{self, Mode, Sources};

#[derive(Debug, Args)]
pub struct TorchArgs {
    #[command(subcommand)]
    pub command: TorchCommand,
}

#[derive(Debug, Subcommand)]
pub enum TorchCommand {
    /// Show the torch release the stage runner was built for, the mode, the private copy
    /// and the libtorch the runner would get (exit 2 when it would get none)
    Status(StatusArgs),
    /// Install the stage runner's torch (`torch==<its release>`, no dependencies) into the
    /// private cache folder; nothing is downloaded when it is already there
    Provision(ProvisionArgs),
}

/// What both subcommands need to know.
#[derive(Debug, Args)]
pub struct Target {
    /// The stage runner whose torch release counts [default: $HTDEMUCS_STAGE_RUNNER,
    /// beside this binary, then PATH]
    #[arg(long, value_name = "PATH")]
    pub runner: Option<PathBuf>,
    /// A torch release to use instead of the runner's (e.g. before the runner is built)
    #[arg(long, value_name = "X.Y.Z")]
    pub torch_version: Option<String>,
    /// Folder that holds private torch copies [default: torch.cache in the config,
    /// $HTDEMUCS_TORCH_CACHE, $RUNNER_TOOL_CACHE/htdemucs-devops, ~/.cache/htdemucs-devops]
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[command(flatten)]
    pub target: Target,
    /// Write `version`, `dir`, `mode` and `cache` (true when the action should cache the
    /// private copy) to $GITHUB_OUTPUT, and report a missing libtorch without failing
    #[arg(long)]
    pub github_output: bool,
}

#[derive(Debug, Args)]
pub struct ProvisionArgs {
    #[command(flatten)]
    pub target: Target,
    /// pip's index [default: torch.index_url in the config; on Linux the CPU wheels at
    /// https://download.pytorch.org/whl/cpu; elsewhere pip's own]
    #[arg(long, value_name = "URL")]
    pub index_url: Option<String>,
    /// A folder of wheels (or a page of links) for pip, repeatable
    #[arg(long, value_name = "DIR|URL")]
    pub find_links: Vec<String>,
    /// Use only --find-links, no index
    #[arg(long)]
    pub no_index: bool,
}

pub fn run(ctx: &Ctx, args: &TorchArgs) -> Result<Outcome> {
    match &args.command {
        TorchCommand::Status(a) => status(ctx, a),
        TorchCommand::Provision(a) => provision_cmd(ctx, a),
    }
}

/// The config's torch section with `--cache-dir` applied, and the runner's release
/// (`None`: a runner without libtorch).
fn resolve(ctx: &Ctx, t: &Target) -> Result<(TorchConfig, Option<String>, PathBuf)> {
    let mut cfg = ctx.config.torch.clone();
    if let Some(d) = &t.cache_dir {
        let cwd = std::env::current_dir().context("cannot read the current folder")?;
        cfg.cache = Some(cwd.join(d));
    }
    let runner = crate::parity::runner::locate(t.runner.clone());
    let wanted = match &t.torch_version {
        Some(v) => Some(libtorch::release_of(v).to_string()),
        None => libtorch::built_for(&runner)?,
    };
    Ok((cfg, wanted, runner))
}

fn status(ctx: &Ctx, a: &StatusArgs) -> Result<Outcome> {
    let (cfg, wanted, runner) = resolve(ctx, &a.target)?;
    let mode = provision::mode(&cfg)?;
    let c = ctx.console;
    c.info(&format!("stage runner: {}", runner.display()));
    c.info(&format!("mode: {}", mode.name()));
    let Some(wanted) = wanted else {
        c.info("built for torch: none (the runner does not link libtorch; nothing to find)");
        write_outputs(ctx, a, &[("mode", mode.name()), ("cache", "false")])?;
        return Ok(Outcome::Ok);
    };
    c.info(&format!("built for torch: {wanted}"));
    let dir = provision::private_dir(&provision::cache_base(&cfg, &ctx.root), &wanted);
    let here = provision::present(&dir).is_some();
    c.info(&format!(
        "private torch: {} ({})",
        dir.display(),
        if here { "present" } else { "absent" }
    ));
    let explicit = libtorch::explicit(&cfg, &ctx.root).is_some();
    let cache = mode == Mode::Provision && !explicit;
    let dir_text = dir.to_string_lossy();
    write_outputs(
        ctx,
        a,
        &[
            ("version", &wanted),
            ("dir", &dir_text),
            ("mode", mode.name()),
            ("cache", if cache { "true" } else { "false" }),
        ],
    )?;
    if cache && !here {
        c.info("libtorch: installed into the private folder when the runner first starts");
        return Ok(Outcome::Ok);
    }
    match provision::locate(&cfg, &ctx.root, &wanted) {
        Ok(found) => {
            c.info(&format!(
                "libtorch: {} (torch {}, {})",
                found.lib_dir.display(),
                found.version.as_deref().unwrap_or("of an unknown release"),
                found.via
            ));
            Ok(Outcome::Ok)
        }
        Err(e) if a.github_output => {
            c.info(&format!("libtorch: none: {e}"));
            Ok(Outcome::Ok)
        }
        Err(e) => Err(e.into()),
    }
}

fn write_outputs(ctx: &Ctx, a: &StatusArgs, pairs: &[(&str, &str)]) -> Result<()> {
    if !a.github_output {
        return Ok(());
    }
    let Some(path) = &ctx.env.output_file else {
        bail!("--github-output needs $GITHUB_OUTPUT (it is set in a GitHub Actions step)");
    };
    let pairs: Vec<(String, String)> = pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    crate::output::step_files::append_outputs(Path::new(path), &pairs)
}

fn provision_cmd(ctx: &Ctx, a: &ProvisionArgs) -> Result<Outcome> {
    let (cfg, wanted, runner) = resolve(ctx, &a.target)?;
    let Some(wanted) = wanted else {
        bail!(
            "{} does not link libtorch (no `{}` marker), so there is no torch release to \
             provision; pass --torch-version, or --runner with a torch-linked runner",
            runner.display(),
            libtorch::MARK_PREFIX.trim_end()
        );
    };
    let sources = Sources {
        index_url: a.index_url.clone(),
        find_links: a.find_links.clone(),
        no_index: a.no_index,
    };
    let dir = provision::private_dir(&provision::cache_base(&cfg, &ctx.root), &wanted);
    if provision::present(&dir).is_none() {
        ctx.console.info(&format!(
            "installing torch=={wanted} into {} (no dependencies)",
            dir.display()
        ));
    }
    let done = provision::provision(&cfg, &ctx.root, &wanted, &sources)?;
    let verb = if done.installed {
        "installed"
    } else {
        "already present, nothing downloaded"
    };
    ctx.console.info(&format!(
        "torch {wanted}: {verb}: libtorch in {}",
        done.found.lib_dir.display()
    ));
    Ok(Outcome::Ok)
}

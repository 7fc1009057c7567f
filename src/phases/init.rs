//! `htdemucs-devops init`: scaffolds a consumer repository (Makefile, pre-commit hooks,
//! SwiftFormat options, Dependabot, the config file and the CI workflows) from templates
//! embedded in the binary, never overwriting without `--force`; `--check` reports drift.

mod templates;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use std::path::Path;

use crate::config::DEFAULT_CONFIG_PATH;
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::report::{Annotation, Level};

use templates::{detect_cli_product, validate, Kind};
pub use templates::{render_all, InitConfig, Rendered};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Report files that differ from what init would generate (exit 1 on drift); write nothing
    #[arg(long)]
    pub check: bool,
    /// Overwrite files that differ from what init would generate
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
    /// Swift product built by `make build-cli` [default: the first `.executable` in
    /// Package.swift, else htdemucs-cli]; stored in the config's `init` section
    #[arg(long, value_name = "NAME")]
    pub cli_product: Option<String>,
    /// Runner label for the macOS jobs [default: macos-14]; stored in the config
    #[arg(long, value_name = "LABEL")]
    pub runs_on: Option<String>,
}

pub fn run(ctx: &Ctx, args: &InitArgs) -> Result<Outcome> {
    let mut settings = ctx.config.init.clone();
    let config_exists = ctx.config_path.is_some();
    // Flags only shape a first scaffold; afterwards the config file is the one source,
    // or `--check` would disagree with what `init` wrote.
    if let Some(p) = &args.cli_product {
        settings.cli_product = Some(p.clone());
    }
    if let Some(r) = &args.runs_on {
        settings.runs_on = r.clone();
    }
    if config_exists && (args.cli_product.is_some() || args.runs_on.is_some()) {
        bail!(
            "--cli-product and --runs-on only shape a first scaffold; {} exists, so edit its `init` section instead",
            ctx.config_path.as_deref().unwrap_or(Path::new(DEFAULT_CONFIG_PATH)).display()
        );
    }
    if settings.cli_product.is_none() {
        settings.cli_product = Some(detect_cli_product(&ctx.root));
    }
    let config_label = ctx
        .config_path
        .as_deref()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|| DEFAULT_CONFIG_PATH.to_string());
    validate(&settings, &config_label)?;
    let files = render_all(&settings)?;
    if args.check {
        check(ctx, &files)
    } else {
        write(ctx, &files, args.force)
    }
}

/// What is on disk compared with what would be generated.
enum State {
    Missing,
    Same,
    Differs { line: usize },
}

fn state(root: &Path, file: &Rendered) -> Result<State> {
    let path = root.join(file.path);
    match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(State::Missing),
        Err(e) => Err(e).with_context(|| format!("cannot read {}", path.display())),
        Ok(_) if file.kind == Kind::Starter => Ok(State::Same),
        Ok(text) if text == file.text => Ok(State::Same),
        Ok(text) => Ok(State::Differs {
            line: first_difference(&text, &file.text),
        }),
    }
}

/// 1-based number of the first line where `a` and `b` differ.
fn first_difference(a: &str, b: &str) -> usize {
    let mut la = a.lines();
    let mut lb = b.lines();
    let mut n = 1;
    loop {
        match (la.next(), lb.next()) {
            (Some(x), Some(y)) if x == y => n += 1,
            (None, None) => return n,
            _ => return n,
        }
    }
}

fn check(ctx: &Ctx, files: &[Rendered]) -> Result<Outcome> {
    let style = ctx.console.style();
    // One annotation per drifted file, on its first differing line, so a workflow run
    // shows the drift in the file view.
    let mut drift = Vec::new();
    for f in files {
        let mut a = match state(&ctx.root, f)? {
            State::Same => {
                ctx.console
                    .print(&format!("{} {}", style.green("up to date"), f.path));
                continue;
            }
            State::Missing => {
                ctx.console
                    .print(&format!("{} {}", style.red("   missing"), f.path));
                Annotation::new(
                    Level::Error,
                    format!("{} is missing (run htdemucs-devops init)", f.path),
                )
            }
            State::Differs { line } => {
                ctx.console.print(&format!(
                    "{} {} (from line {line})",
                    style.red("   drifted"),
                    f.path
                ));
                let mut a = Annotation::new(
                    Level::Error,
                    format!(
                        "{} differs from what init generates, from line {line} (run htdemucs-devops init --force, or list it under init.skip)",
                        f.path
                    ),
                );
                a.line = Some(u32::try_from(line).unwrap_or(u32::MAX));
                a
            }
        };
        // A file annotation for both: the terminal lines above already say it locally.
        a.file = Some(f.path.to_string());
        a.title = Some("scaffold drift".into());
        drift.push(a);
    }
    if drift.is_empty() {
        ctx.console
            .print(&format!("{} files match their templates", files.len()));
        return Ok(Outcome::Ok);
    }
    ctx.console.annotate(&drift, "the output of init --check");
    ctx.console.print(&format!(
        "{} of {} files drifted: run htdemucs-devops init (--force to overwrite), or list them under init.skip",
        drift.len(),
        files.len()
    ));
    Ok(Outcome::Problem)
}

fn write(ctx: &Ctx, files: &[Rendered], force: bool) -> Result<Outcome> {
    let style = ctx.console.style();
    let mut kept = Vec::new();
    for f in files {
        let path = ctx.root.join(f.path);
        let verb = match state(&ctx.root, f)? {
            State::Same => "unchanged",
            State::Missing => "created",
            // The config file is the user's after the first init, even with --force.
            State::Differs { .. } if !force || f.kind == Kind::Starter => {
                kept.push(f.path);
                continue;
            }
            State::Differs { .. } => "overwritten",
        };
        if verb != "unchanged" {
            crate::report::write_atomic(&path, f.text.as_bytes())?;
        }
        ctx.console.print(&format!(
            "{} {}",
            style.green(&format!("{verb:>11}")),
            f.path
        ));
    }
    if kept.is_empty() {
        return Ok(Outcome::Ok);
    }
    for path in &kept {
        ctx.console.print(&format!(
            "{} {path}",
            style.yellow(&format!("{:>11}", "kept"))
        ));
        ctx.console.say(
            Level::Warning,
            &format!(
                "{path} exists and differs from the template; kept it (use --force to overwrite)"
            ),
        );
    }
    Ok(Outcome::Problem)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_difference_counts_lines() {
        assert_eq!(first_difference("a\nb\nc", "a\nb\nc"), 4);
        assert_eq!(first_difference("a\nx\nc", "a\nb\nc"), 2);
        assert_eq!(first_difference("a\nb", "a\nb\nc"), 3);
    }
}

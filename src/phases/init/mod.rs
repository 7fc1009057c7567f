//! `htdemucs-devops init`: scaffolds a consumer repository (Makefile, pre-commit hooks,
//! SwiftFormat options, Dependabot, the config file and the CI workflows) from templates
//! embedded in the binary, or adopts an existing port (a marked block in its Makefile and
//! CI workflow, merged hooks, its suites wired into the config); never overwrites a whole
//! file without `--force`; `--check` reports drift, `--dry-run` shows the diff.

mod adopt;
mod blocks;
pub mod config;
mod files;
mod stems;
mod templates;

use anyhow::{bail, Context as _, Result};
use clap::Args;
use std::path::Path;

use crate::config::DEFAULT_CONFIG_PATH;
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::output::{Annotation, Level};

use blocks::{diff, last_top_level_key_is, missing_hooks, missing_updates, upsert, CI_MARKERS};
use templates::{detect_cli_product, validate, Kind};
pub use templates::{render_all, Rendered, Repo};

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Report files that differ from what init would generate (exit 1 on drift); write nothing
    #[arg(long)]
    pub check: bool,
    /// Overwrite files that differ from what init would generate
    #[arg(long, conflicts_with = "check")]
    pub force: bool,
    /// Print what init would write, as a diff, and write nothing
    #[arg(long, conflicts_with = "check")]
    pub dry_run: bool,
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
    let mut repo = adopt::read_repo(&ctx.root);
    let mut adoption = adopt::Adoption::default();
    // A first init reads what the port already has; afterwards the config is the source.
    if !config_exists && !args.check {
        let (config, a) = adopt::adopt(&ctx.root, &mut settings);
        repo.adopted_config = config;
        adoption = a;
    }
    // One ruff: the pre-commit pin (which Dependabot moves) beats init.ruff_version.
    if let Some(v) = adopt::pinned_ruff(&ctx.root) {
        settings.ruff_version = v;
    }
    validate(&settings, &config_label)?;
    let files = render_all(&settings, &repo)?;
    if args.check {
        return check(ctx, &files);
    }
    let outcome = write(ctx, &files, args.force, args.dry_run, &mut adoption.todo)?;
    let style = ctx.console.style();
    if !adoption.found.is_empty() {
        ctx.console
            .print(&style.bold("Adopted from this repository:"));
        for f in &adoption.found {
            ctx.console.print(&format!("  - {f}"));
        }
    }
    if !adoption.todo.is_empty() {
        ctx.console.print(&style.bold("Left to you:"));
        for t in &adoption.todo {
            ctx.console.print(&format!("  - {t}"));
        }
    }
    Ok(outcome)
}

/// What is on disk compared with what would be generated.
enum State {
    Missing,
    Same,
    Differs { line: usize },
}

fn state(root: &Path, file: &Rendered) -> Result<State> {
    let path = root.join(file.path);
    let text = match std::fs::read_to_string(&path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(State::Missing),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        Ok(text) => text,
    };
    Ok(match file.kind {
        Kind::Starter => State::Same,
        Kind::Managed if text == file.text => State::Same,
        Kind::Managed => State::Differs {
            line: first_difference(&text, &file.text),
        },
        Kind::Block(m) => match m.find(&text) {
            Some(r) if text[r.clone()] == file.block => State::Same,
            Some(r) => State::Differs {
                line: text[..r.start].lines().count()
                    + first_difference(&text[r.clone()], &file.block),
            },
            None => State::Differs {
                line: text.lines().count() + 1,
            },
        },
        Kind::Hooks if missing_hooks(&file.text, &text).is_empty() => State::Same,
        Kind::Hooks => State::Differs {
            line: text.lines().count() + 1,
        },
        Kind::Updates if missing_updates(&file.text, &text).is_empty() => State::Same,
        Kind::Updates => State::Differs {
            line: text.lines().count() + 1,
        },
    })
}

/// The content init would give an existing file it only partly owns, or `Err` with what
/// the maintainer has to do instead when it cannot place its part safely.
fn merged(file: &Rendered, text: &str) -> std::result::Result<String, String> {
    match file.kind {
        Kind::Block(m) if m == CI_MARKERS && m.find(text).is_none() => {
            if last_top_level_key_is(text, "jobs") {
                Ok(upsert(text, &m, &file.block))
            } else {
                Err(format!(
                    "{}: `jobs:` is not its last section, so init did not add its job; add this under `jobs:`:\n{}",
                    file.path, file.block
                ))
            }
        }
        Kind::Block(m) => Ok(upsert(text, &m, &file.block)),
        Kind::Hooks => {
            let chunks: Vec<String> = missing_hooks(&file.text, text)
                .into_iter()
                .map(|(_, chunk)| chunk)
                .collect();
            let block = CI_MARKERS.wrap(&chunks.join("\n"));
            if last_top_level_key_is(text, "repos") {
                Ok(upsert(text, &CI_MARKERS, &block))
            } else {
                Err(format!(
                    "{}: `repos:` is not its last section, so init did not add its hooks; add these under `repos:`:\n{block}",
                    file.path
                ))
            }
        }
        Kind::Updates => {
            let block = CI_MARKERS.wrap(&missing_updates(&file.text, text).join("\n"));
            if last_top_level_key_is(text, "updates") {
                Ok(upsert(text, &CI_MARKERS, &block))
            } else {
                Err(format!(
                    "{}: `updates:` is not its last section, so init did not add its entries; add these under `updates:`:\n{block}",
                    file.path
                ))
            }
        }
        Kind::Managed | Kind::Starter => Ok(file.text.clone()),
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
                // Init restores its own block or hooks without --force; whole files need it.
                let fix = match f.kind {
                    Kind::Block(_) | Kind::Hooks | Kind::Updates => "run htdemucs-devops init",
                    Kind::Managed | Kind::Starter => "run htdemucs-devops init --force",
                };
                let mut a = Annotation::new(
                    Level::Error,
                    format!(
                        "{} differs from what init generates, from line {line} ({fix}, or list it under init.skip)",
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

fn write(
    ctx: &Ctx,
    files: &[Rendered],
    force: bool,
    dry_run: bool,
    todo: &mut Vec<String>,
) -> Result<Outcome> {
    let style = ctx.console.style();
    let mut kept = Vec::new();
    for f in files {
        let path = ctx.root.join(f.path);
        let current = std::fs::read_to_string(&path).ok();
        let (verb, new_text) = match (state(&ctx.root, f)?, &current) {
            (State::Same, _) => ("unchanged", None),
            (State::Missing, _) | (_, None) => ("created", Some(f.text.clone())),
            (State::Differs { .. }, Some(text)) => match f.kind {
                Kind::Block(_) | Kind::Hooks | Kind::Updates => match merged(f, text) {
                    Ok(new) => (
                        if matches!(f.kind, Kind::Hooks | Kind::Updates) {
                            "merged"
                        } else {
                            "updated"
                        },
                        Some(new),
                    ),
                    Err(todo_item) => {
                        todo.push(todo_item);
                        ("left alone", None)
                    }
                },
                // The config file is the user's after the first init, even with --force.
                Kind::Managed | Kind::Starter if !force || f.kind == Kind::Starter => {
                    kept.push(f.path);
                    continue;
                }
                Kind::Managed | Kind::Starter => ("overwritten", Some(f.text.clone())),
            },
        };
        if let Some(new) = &new_text {
            if dry_run {
                ctx.console.print(&diff(f.path, current.as_deref(), new));
            } else {
                if let Some(dir) = path.parent() {
                    std::fs::create_dir_all(dir)
                        .with_context(|| format!("cannot create {}", dir.display()))?;
                }
                crate::fs::write_atomic(&path, new.as_bytes())?;
            }
        }
        let verb = if dry_run && new_text.is_some() {
            format!("would be {verb}")
        } else {
            verb.to_string()
        };
        ctx.console.print(&format!(
            "{} {}",
            style.green(&format!("{verb:>11}")),
            f.path
        ));
    }
    if dry_run {
        ctx.console.print("dry run: nothing was written");
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

//! `htdemucs-devops init`: scaffolds a consumer repository (Makefile, pre-commit hooks,
//! SwiftFormat options, Dependabot, the config file and the CI workflows) from templates
//! embedded in the binary, never overwriting without `--force`; `--check` reports drift.

use anyhow::{bail, Context as _, Result};
use clap::Args;
use minijinja::syntax::SyntaxConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::config::DEFAULT_CONFIG_PATH;
use crate::context::Ctx;
use crate::exit::Outcome;
use crate::report::Level;

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

/// The `init` section of `.github/htdemucs-devops.yml`: what the scaffold is rendered
/// from, so that `init --check` regenerates exactly what `init` wrote.
#[derive(Debug, Clone, PartialEq, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct InitConfig {
    /// The `uses:` reference of this action in the generated workflows.
    pub action: String,
    /// Runner label for the jobs that need macOS (lint, build+test, parity, benchmark).
    pub runs_on: String,
    pub python_version: String,
    /// Requirements file for the Python virtual environment (also the venv cache key).
    pub requirements: String,
    /// `None`: detected from Package.swift when rendering.
    pub cli_product: Option<String>,
    /// Where `make test-parity` finds the Python parity tests.
    pub parity_tests: String,
    pub swift_version: String,
    /// Generated files (paths as listed by `init`) that are neither written nor checked.
    pub skip: Vec<String>,
}

impl Default for InitConfig {
    fn default() -> Self {
        InitConfig {
            action: "zakkeown/htdemucs-devops@v1".into(),
            runs_on: "macos-14".into(),
            python_version: "3.11".into(),
            requirements: "requirements.txt".into(),
            cli_product: None,
            parity_tests: "tests/parity".into(),
            swift_version: "5.9".into(),
            skip: Vec::new(),
        }
    }
}

/// Whether `--check` compares a file's content or only that it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// Regenerated from the settings: drift is reported.
    Managed,
    /// Written once, then the user's to edit (the config file itself).
    Starter,
}

/// (template name, path in the repository, kind). The order is the order of the output.
const FILES: &[(&str, &str, Kind)] = &[
    ("Makefile", "Makefile", Kind::Managed),
    (
        "pre-commit-config.yaml",
        ".pre-commit-config.yaml",
        Kind::Managed,
    ),
    ("swiftformat", ".swiftformat", Kind::Managed),
    ("dependabot.yml", ".github/dependabot.yml", Kind::Managed),
    ("htdemucs-devops.yml", DEFAULT_CONFIG_PATH, Kind::Starter),
    ("ci.yml", ".github/workflows/ci.yml", Kind::Managed),
    (
        "ci-comment.yml",
        ".github/workflows/ci-comment.yml",
        Kind::Managed,
    ),
];

const TEMPLATES: &[(&str, &str)] = &[
    ("Makefile", include_str!("../../templates/init/Makefile")),
    (
        "pre-commit-config.yaml",
        include_str!("../../templates/init/pre-commit-config.yaml"),
    ),
    (
        "swiftformat",
        include_str!("../../templates/init/swiftformat"),
    ),
    (
        "dependabot.yml",
        include_str!("../../templates/init/dependabot.yml"),
    ),
    (
        "htdemucs-devops.yml",
        include_str!("../../templates/init/htdemucs-devops.yml"),
    ),
    ("ci.yml", include_str!("../../templates/init/ci.yml")),
    (
        "ci-comment.yml",
        include_str!("../../templates/init/ci-comment.yml"),
    ),
];

/// Pre-commit hook revisions the scaffold pins (the foundation design's).
const SWIFTFORMAT_REV: &str = "0.54.0";
const RUFF_REV: &str = "v0.4.0";
const HOOKS_REV: &str = "v4.6.0";

/// One rendered file.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub path: &'static str,
    kind: Kind,
    pub text: String,
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

/// The first `.executable(name: "...")` product of Package.swift, else `htdemucs-cli`.
fn detect_cli_product(root: &Path) -> String {
    let text = std::fs::read_to_string(root.join("Package.swift")).unwrap_or_default();
    text.split(".executable(")
        .nth(1)
        .and_then(|rest| rest.split("name:").nth(1))
        .and_then(|rest| rest.split('"').nth(1))
        .filter(|name| is_safe(name))
        .map(str::to_string)
        .unwrap_or_else(|| "htdemucs-cli".to_string())
}

/// Settings end up in YAML, Makefile recipes and shell; a small character set keeps them
/// from changing the meaning of any of those.
fn is_safe(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/@+-".contains(c))
}

fn validate(s: &InitConfig, config: &str) -> Result<()> {
    let cli = s.cli_product.clone().unwrap_or_default();
    let fields = [
        ("action", &s.action),
        ("runs_on", &s.runs_on),
        ("python_version", &s.python_version),
        ("requirements", &s.requirements),
        ("cli_product", &cli),
        ("parity_tests", &s.parity_tests),
        ("swift_version", &s.swift_version),
    ];
    for (key, value) in fields {
        if !is_safe(value) {
            bail!("{config}: init.{key} is {value:?}; use letters, digits and . _ / @ + - only");
        }
    }
    if !s.action.contains('@') && !s.action.starts_with("./") {
        bail!(
            "{config}: init.action is {:?}; give a reference like zakkeown/htdemucs-devops@v1",
            s.action
        );
    }
    for skipped in &s.skip {
        if !FILES.iter().any(|(_, path, _)| path == skipped) {
            let known: Vec<&str> = FILES.iter().map(|(_, p, _)| *p).collect();
            bail!(
                "{config}: init.skip lists {skipped:?}, which init does not generate; it generates {}",
                known.join(", ")
            );
        }
    }
    Ok(())
}

/// Renders every scaffold file from `settings` (with `cli_product` resolved).
pub fn render_all(settings: &InitConfig) -> Result<Vec<Rendered>> {
    let mut env = crate::render::environment();
    // GitHub's `${{ }}` expressions fill the workflows; `[[ ]]` marks ours instead.
    let syntax = SyntaxConfig::builder()
        .variable_delimiters("[[", "]]")
        .block_delimiters("[%", "%]")
        .comment_delimiters("[#", "#]")
        .build()
        .context("template syntax")?;
    env.set_syntax(syntax);
    for (name, text) in TEMPLATES {
        env.add_template(name, text)
            .with_context(|| format!("embedded template init/{name} is invalid"))?;
    }
    let skip_yaml = if settings.skip.is_empty() {
        "[]".to_string()
    } else {
        let items: Vec<String> = settings.skip.iter().map(|s| format!("\"{s}\"")).collect();
        format!("[{}]", items.join(", "))
    };
    let vars = minijinja::context! {
        action => settings.action,
        runs_on => settings.runs_on,
        python_version => settings.python_version,
        requirements => settings.requirements,
        cli_product => settings.cli_product.clone().unwrap_or_default(),
        parity_tests => settings.parity_tests,
        swift_version => settings.swift_version,
        skip_yaml => skip_yaml,
        swiftformat_rev => SWIFTFORMAT_REV,
        ruff_rev => RUFF_REV,
        hooks_rev => HOOKS_REV,
    };
    let mut out = Vec::new();
    for (name, path, kind) in FILES {
        if settings.skip.iter().any(|s| s == path) {
            continue;
        }
        let text = env
            .get_template(name)
            .and_then(|t| t.render(&vars))
            .with_context(|| format!("cannot render init/{name}"))?;
        out.push(Rendered {
            path,
            kind: *kind,
            text,
        });
    }
    Ok(out)
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
    let mut drift = 0;
    for f in files {
        match state(&ctx.root, f)? {
            State::Same => ctx
                .console
                .print(&format!("{} {}", style.green("up to date"), f.path)),
            State::Missing => {
                drift += 1;
                ctx.console.say(
                    Level::Error,
                    &format!("{} is missing (run htdemucs-devops init)", f.path),
                );
            }
            State::Differs { line } => {
                drift += 1;
                ctx.console.say(
                    Level::Error,
                    &format!(
                        "{} differs from what init generates, from line {line} (run htdemucs-devops init --force, or list it under init.skip)",
                        f.path
                    ),
                );
            }
        }
    }
    if drift == 0 {
        ctx.console
            .print(&format!("{} files match their templates", files.len()));
        Ok(Outcome::Ok)
    } else {
        ctx.console
            .print(&format!("{drift} of {} files drifted", files.len()));
        Ok(Outcome::Problem)
    }
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
    fn every_file_renders_and_the_yaml_parses() {
        let s = InitConfig {
            cli_product: Some("htdemucs-cli".into()),
            ..InitConfig::default()
        };
        let files = render_all(&s).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(files.len(), FILES.len());
        for f in &files {
            assert!(!f.text.contains("[["), "{}: unrendered variable", f.path);
            if f.path.ends_with(".yml") || f.path.ends_with(".yaml") {
                serde_yaml_ng::from_str::<serde_yaml_ng::Value>(&f.text)
                    .unwrap_or_else(|e| panic!("{}: {e}", f.path));
            }
        }
    }

    #[test]
    fn unsafe_settings_are_refused_naming_the_key() {
        let mut s = InitConfig {
            runs_on: "macos-14\n  evil: true".into(),
            ..InitConfig::default()
        };
        s.cli_product = Some("x".into());
        let err = validate(&s, "c.yml").err().map(|e| e.to_string());
        assert!(err.unwrap_or_default().starts_with("c.yml: init.runs_on"));
        let s = InitConfig {
            skip: vec!["nope.txt".into()],
            cli_product: Some("x".into()),
            ..InitConfig::default()
        };
        let err = validate(&s, "c.yml").err().map(|e| e.to_string());
        assert!(err
            .unwrap_or_default()
            .contains("init.skip lists \"nope.txt\""));
    }

    #[test]
    fn cli_product_comes_from_package_swift() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(detect_cli_product(dir.path()), "htdemucs-cli");
        std::fs::write(
            dir.path().join("Package.swift"),
            "products: [\n .library(name: \"Lib\", targets: [\"L\"]),\n .executable(name: \"sep-cli\", targets: [\"C\"])]",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(detect_cli_product(dir.path()), "sep-cli");
    }

    #[test]
    fn first_difference_counts_lines() {
        assert_eq!(first_difference("a\nb\nc", "a\nb\nc"), 4);
        assert_eq!(first_difference("a\nx\nc", "a\nb\nc"), 2);
        assert_eq!(first_difference("a\nb", "a\nb\nc"), 3);
    }
}

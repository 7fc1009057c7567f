//! The scaffold `init` writes: the `init` config section it is rendered from, the list
//! of generated files, the embedded templates (`[[ ]]` syntax, since GitHub's `${{ }}`
//! fills the workflows) and the checks that keep settings safe to render.

use anyhow::{bail, Context as _, Result};
use minijinja::syntax::SyntaxConfig;
use serde::{Deserialize, Serialize};
use std::path::Path;

use crate::config::DEFAULT_CONFIG_PATH;

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
    /// The ruff release pinned everywhere: the pre-commit hook's rev (`v` + this),
    /// `make setup`'s install and the CI lint job, so they never disagree on formatting.
    pub ruff_version: String,
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
            ruff_version: RUFF_VERSION.into(),
            skip: Vec::new(),
        }
    }
}

/// Whether `--check` compares a file's content or only that it exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Kind {
    /// Regenerated from the settings: drift is reported.
    Managed,
    /// Written once, then the user's to edit (the config file itself).
    Starter,
}

/// (template name, path in the repository, kind). The order is the order of the output.
pub(super) const FILES: &[(&str, &str, Kind)] = &[
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
    ("Makefile", include_str!("../../../templates/init/Makefile")),
    (
        "pre-commit-config.yaml",
        include_str!("../../../templates/init/pre-commit-config.yaml"),
    ),
    (
        "swiftformat",
        include_str!("../../../templates/init/swiftformat"),
    ),
    (
        "dependabot.yml",
        // The consumers' template is the one at the repository root, so there is one copy.
        include_str!("../../../dependabot-template.yml"),
    ),
    (
        "htdemucs-devops.yml",
        include_str!("../../../templates/init/htdemucs-devops.yml"),
    ),
    ("ci.yml", include_str!("../../../templates/init/ci.yml")),
    (
        "ci-comment.yml",
        include_str!("../../../templates/init/ci-comment.yml"),
    ),
];

/// Pre-commit hook revisions the scaffold pins (the foundation design's).
const SWIFTFORMAT_REV: &str = "0.54.0";
/// The ruff release this repository develops with (requirements-dev.txt pins the same).
pub(super) const RUFF_VERSION: &str = "0.17.6";
const HOOKS_REV: &str = "v4.6.0";

/// One rendered file.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub path: &'static str,
    pub(super) kind: Kind,
    pub text: String,
}

/// The first `.executable(name: "...")` product of Package.swift, else `htdemucs-cli`.
pub(super) fn detect_cli_product(root: &Path) -> String {
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

pub(super) fn validate(s: &InitConfig, config: &str) -> Result<()> {
    let cli = s.cli_product.clone().unwrap_or_default();
    let fields = [
        ("action", &s.action),
        ("runs_on", &s.runs_on),
        ("python_version", &s.python_version),
        ("requirements", &s.requirements),
        ("cli_product", &cli),
        ("parity_tests", &s.parity_tests),
        ("swift_version", &s.swift_version),
        ("ruff_version", &s.ruff_version),
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
        ruff_version => settings.ruff_version,
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
    fn the_default_ruff_is_the_one_requirements_dev_pins() {
        let pins = include_str!("../../../requirements-dev.txt");
        assert!(
            pins.lines()
                .any(|l| l.trim() == format!("ruff=={RUFF_VERSION}")),
            "requirements-dev.txt and RUFF_VERSION disagree"
        );
        let files = render_all(&InitConfig {
            cli_product: Some("x".into()),
            ..InitConfig::default()
        })
        .unwrap_or_else(|e| panic!("{e:#}"));
        let text = |p: &str| {
            files
                .iter()
                .find(|f| f.path == p)
                .map(|f| f.text.clone())
                .unwrap_or_default()
        };
        assert!(text(".pre-commit-config.yaml").contains(&format!("rev: \"v{RUFF_VERSION}\"")));
        assert!(text("Makefile").contains(&format!("RUFF_VERSION ?= {RUFF_VERSION}")));
        assert!(text(".github/workflows/ci.yml").contains(&format!("ruff=={RUFF_VERSION}")));
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
}

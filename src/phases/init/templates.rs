//! The scaffold `init` writes: rendered from the `init` config section, the list
//! of generated files and how each is owned (whole file, a marked block, merged hooks),
//! the embedded templates (`[[ ]]` syntax, since GitHub's `${{ }}` fills the workflows)
//! and the checks that keep settings safe to render.

use anyhow::{bail, Context as _, Result};
use minijinja::syntax::SyntaxConfig;
use std::collections::BTreeMap;
use std::path::Path;

use super::config::{InitConfig, DEFAULT_ACTION, RUFF_VERSION};
#[cfg(test)]
use super::files::WORKFLOW_PATH;
pub(super) use super::files::{Kind, FILES, TARGETS, TEMPLATES};

/// What rendering needs from the repository as it is (read fresh by `init` and by
/// `--check` alike, so both render the same).
#[derive(Debug, Clone, Default)]
pub struct Repo {
    /// Targets the user's Makefile defines outside our block.
    pub make_targets: Vec<String>,
    /// The user's CI workflow: its `name:` and whether it has a `phase` dispatch input.
    pub ci_name: Option<String>,
    pub ci_has_phase_input: bool,
    /// Extra config sections (YAML) adoption proposes for a first config file.
    pub adopted_config: String,
}

/// The htdemucs-devops release `action` runs: its ref when that is a full version
/// (`@v1.2.3`), else this binary's (a moving `@v1`, a branch, `./`).
pub(super) fn devops_version(action: &str) -> String {
    action
        .rsplit_once('@')
        .and_then(|(_, r)| r.strip_prefix('v'))
        .filter(|v| {
            let parts: Vec<&str> = v.split('.').collect();
            parts.len() == 3
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        })
        .unwrap_or(env!("CARGO_PKG_VERSION"))
        .to_string()
}

/// Pre-commit hook revisions the scaffold pins (the foundation design's).
const SWIFTFORMAT_REV: &str = "0.54.0";
/// Prints the ruff version `.pre-commit-config.yaml` pins (its ruff-pre-commit `rev`), else
/// [`RUFF_VERSION`]: the Makefile's `make setup` and the CI lint job both read the pin at
/// run time, so the one bump Dependabot makes moves them all and nothing generated drifts.
/// Single-quoted for the shell; no quote, `$` or `#` inside, so Make and YAML take it as is.
fn ruff_lookup() -> String {
    format!(
        "-c 'import os,re;p=\".pre-commit-config.yaml\";t=open(p).read() if os.path.exists(p) else \"\";\
         m=re.search(r\"ruff-pre-commit[^\\n]*\\n\\s*rev:\\s*[\\x22\\x27]?v?([0-9][\\w.]*)\",t);\
         print(m.group(1) if m else \"{RUFF_VERSION}\")'"
    )
}
const HOOKS_REV: &str = "v4.6.0";

/// One rendered file.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub path: &'static str,
    pub(super) kind: Kind,
    /// The whole file, as written when it does not exist yet.
    pub text: String,
    /// For `Kind::Block`: the marked block (markers included) init owns in the file.
    pub block: String,
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
        ("venv", &s.venv),
        ("baseline", &s.baseline),
        ("swift_version", &s.swift_version),
        ("ruff_version", &s.ruff_version),
    ];
    for (key, value) in fields {
        if !is_safe(value) {
            bail!("{config}: init.{key} is {value:?}; use letters, digits and . _ / @ + - only");
        }
    }
    for (key, value) in s
        .stems
        .iter()
        .map(|v| ("stems", v))
        .chain(s.brew.iter().map(|v| ("brew", v)))
    {
        if !is_safe(value) {
            bail!("{config}: init.{key} has {value:?}; use letters, digits and . _ / @ + - only");
        }
    }
    if !s.action.contains('@') && !s.action.starts_with("./") {
        bail!(
            "{config}: init.action is {:?}; give a reference like {DEFAULT_ACTION}",
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

/// Renders every scaffold file from `settings` (with `cli_product` resolved) for `repo`.
pub fn render_all(settings: &InitConfig, repo: &Repo) -> Result<Vec<Rendered>> {
    let mut env = crate::output::templates::environment();
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
    let quoted = |items: &[String]| {
        let items: Vec<String> = items.iter().map(|s| format!("\"{s}\"")).collect();
        format!("[{}]", items.join(", "))
    };
    let missing: Vec<&str> = TARGETS
        .iter()
        .map(|(t, _)| *t)
        .filter(|t| !repo.make_targets.iter().any(|m| m == t))
        .collect();
    let descriptions: BTreeMap<&str, &str> = TARGETS.iter().copied().collect();
    let setup = if settings.brew.is_empty() {
        String::new()
    } else {
        format!("brew install {}", settings.brew.join(" "))
    };
    let phase = if repo.ci_name.is_none() || repo.ci_has_phase_input {
        "${{ inputs.phase || 'all' }}"
    } else {
        "all"
    };
    let mut vars = BTreeMap::new();
    let mut set = |k: &str, v: minijinja::Value| {
        vars.insert(k.to_string(), v);
    };
    set("action", settings.action.clone().into());
    set("devops_version", devops_version(&settings.action).into());
    set("runs_on", settings.runs_on.clone().into());
    set("python_version", settings.python_version.clone().into());
    set("requirements", settings.requirements.clone().into());
    set(
        "cli_product",
        settings.cli_product.clone().unwrap_or_default().into(),
    );
    set("parity_tests", settings.parity_tests.clone().into());
    set("venv", settings.venv.clone().into());
    set("baseline", settings.baseline.clone().into());
    set("stems", settings.stems.clone().unwrap_or_default().into());
    set(
        "stems_yaml",
        settings
            .stems
            .clone()
            .map(|s| format!("\"{s}\""))
            .unwrap_or_else(|| "null".into())
            .into(),
    );
    set(
        "parity_mode",
        if settings.stems.is_some() {
            "stems"
        } else {
            "run"
        }
        .into(),
    );
    set("brew_yaml", quoted(&settings.brew).into());
    set("setup", setup.into());
    set("phase", phase.into());
    set("swift_version", settings.swift_version.clone().into());
    set("ruff_version", settings.ruff_version.clone().into());
    set("ruff_lookup", ruff_lookup().into());
    set("skip_yaml", quoted(&settings.skip).into());
    set("swiftformat_rev", SWIFTFORMAT_REV.into());
    set("hooks_rev", HOOKS_REV.into());
    set("missing", minijinja::Value::from_serialize(&missing));
    set(
        "descriptions",
        minijinja::Value::from_serialize(&descriptions),
    );
    set(
        "ci_name",
        repo.ci_name.clone().unwrap_or("CI".into()).into(),
    );
    set("adopted", repo.adopted_config.clone().into());
    let render = |name: &str, vars: &BTreeMap<String, minijinja::Value>| {
        env.get_template(name)
            .and_then(|t| t.render(vars))
            .with_context(|| format!("cannot render init/{name}"))
    };
    let mut out = Vec::new();
    for (name, path, kind) in FILES {
        if settings.skip.iter().any(|s| s == path) {
            continue;
        }
        let mut block = String::new();
        if let Kind::Block(m) = kind {
            let inner = match *name {
                "Makefile" => render("makefile-block.mk", &vars)?,
                _ => render("ci-job.yml", &vars)?,
            };
            block = m.wrap(&inner);
        }
        let mut file_vars = vars.clone();
        file_vars.insert("block".into(), block.trim_end().to_string().into());
        let text = render(name, &file_vars)?;
        out.push(Rendered {
            path,
            kind: *kind,
            text,
            block,
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
        let files = render_all(&s, &Repo::default()).unwrap_or_else(|e| panic!("{e:#}"));
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
        assert!(err.expect("refused").starts_with("c.yml: init.runs_on"));
        let s = InitConfig {
            skip: vec!["nope.txt".into()],
            cli_product: Some("x".into()),
            ..InitConfig::default()
        };
        let err = validate(&s, "c.yml").err().map(|e| e.to_string());
        assert!(err
            .expect("refused")
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
        let files = render_all(
            &InitConfig {
                cli_product: Some("x".into()),
                ..InitConfig::default()
            },
            &Repo::default(),
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        let text = |p: &str| {
            files
                .iter()
                .find(|f| f.path == p)
                .map(|f| f.text.clone())
                .unwrap_or_else(|| panic!("{p} is not rendered"))
        };
        assert!(text(".pre-commit-config.yaml").contains(&format!("rev: \"v{RUFF_VERSION}\"")));
        // Setup and CI read the pin at run time; our default is only their fallback.
        let lookup = ruff_lookup();
        assert!(text("htdemucs-devops.mk")
            .contains(&format!("RUFF_VERSION ?= $(shell python3 {lookup})")));
        assert!(text(WORKFLOW_PATH).contains(&format!("ruff_version=\"$(python {lookup})\"")));
        assert!(
            lookup.contains(&format!("else \"{RUFF_VERSION}\"")),
            "{lookup}"
        );
    }

    #[test]
    fn setup_installs_the_release_the_action_runs() {
        assert_eq!(devops_version("o/r@v2.3.4"), "2.3.4");
        for moving in ["o/r@v1", "o/r@main", "./", "o/r@v1.2.x"] {
            assert_eq!(
                devops_version(moving),
                env!("CARGO_PKG_VERSION"),
                "{moving}"
            );
        }
        let files = render_all(
            &InitConfig {
                cli_product: Some("x".into()),
                ..InitConfig::default()
            },
            &Repo::default(),
        )
        .unwrap_or_else(|e| panic!("{e:#}"));
        let text = |p: &str| {
            files
                .iter()
                .find(|f| f.path == p)
                .map(|f| f.text.clone())
                .unwrap_or_else(|| panic!("{p} is not rendered"))
        };
        let version = env!("CARGO_PKG_VERSION");
        assert!(
            text("htdemucs-devops.mk").contains(&format!("HTDEMUCS_DEVOPS_VERSION ?= {version}\n"))
        );
        assert!(
            text(WORKFLOW_PATH).contains(&format!("uses: zakkeown/htdemucs-devops@v{version}\n"))
        );
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

//! Which linters the lint phase runs: the built-in defaults for a Swift + Python CoreML
//! port, the config's `lint.tools` resolved against them, and `--report TOOL=FILE`.

use anyhow::{bail, Result};
use std::path::{Path, PathBuf};

use super::config::{LintConfig, LintTool};
use crate::ingest::diagnostic::Format;

/// A linter ready to run: every default filled in and validated.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    pub name: String,
    pub command: Vec<String>,
    /// `None` when the tool has no fix mode.
    pub fix_command: Option<Vec<String>>,
    pub format: Format,
    /// Absolute folder to run in.
    pub cwd: PathBuf,
    pub required: bool,
}

/// What a built-in tool name brings.
struct BuiltIn {
    name: &'static str,
    command: &'static [&'static str],
    fix: Option<&'static [&'static str]>,
    format: Format,
}

/// The defaults, in the order they run: formatters' fixes before the linters that
/// would otherwise report what they fix (ruff's import sorting before ruff format).
const BUILT_IN: [BuiltIn; 4] = [
    BuiltIn {
        name: "swiftformat",
        command: &["swiftformat", "--lint", "."],
        fix: Some(&["swiftformat", "."]),
        format: Format::Swiftformat,
    },
    BuiltIn {
        name: "swiftlint",
        command: &["swiftlint", "lint", "--reporter", "json"],
        fix: None,
        format: Format::SwiftlintJson,
    },
    BuiltIn {
        name: "ruff-check",
        command: &["ruff", "check", "--output-format", "json", "."],
        fix: Some(&["ruff", "check", "--fix", "."]),
        format: Format::RuffJson,
    },
    BuiltIn {
        name: "ruff-format",
        command: &["ruff", "format", "--check", "."],
        fix: Some(&["ruff", "format", "."]),
        format: Format::RuffFormat,
    },
];

fn argv(words: &[&str]) -> Vec<String> {
    words.iter().map(|w| w.to_string()).collect()
}

fn built_in(name: &str) -> Option<&'static BuiltIn> {
    BUILT_IN.iter().find(|b| b.name == name)
}

/// Resolves the config's tools (or the defaults) into runnable specs. `config_name` is
/// the config file's name for messages.
pub fn resolve(cfg: &LintConfig, root: &Path, config_name: &str) -> Result<Vec<ToolSpec>> {
    let entries: Vec<LintTool> = match &cfg.tools {
        Some(tools) => tools.clone(),
        None => BUILT_IN
            .iter()
            .map(|b| LintTool {
                name: b.name.to_string(),
                ..LintTool::default()
            })
            .collect(),
    };
    let mut specs: Vec<ToolSpec> = Vec::with_capacity(entries.len());
    for (i, t) in entries.iter().enumerate() {
        let place = format!("{config_name}: lint.tools[{i}]");
        let name = t.name.trim();
        if name.is_empty() {
            bail!("{place} has no `name` (use a built-in name — {} — or your own with `command` and `format`)", built_in_names());
        }
        if !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        {
            bail!("{place}: the tool name `{name}` may only use letters, digits, `-`, `_` and `.`");
        }
        if specs.iter().any(|s| s.name == name) {
            bail!("{place}: the tool name `{name}` is used twice; give each entry its own name");
        }
        let base = built_in(name);
        let command = match (&t.command, base) {
            (Some(c), _) if c.is_empty() || c[0].trim().is_empty() => {
                bail!("{place} (`{name}`): `command` is empty; give the program and its arguments as a list")
            }
            (Some(c), _) => c.clone(),
            (None, Some(b)) => argv(b.command),
            (None, None) => bail!(
                "{place}: `{name}` is not a built-in tool ({}), so it needs `command` (a list: program and arguments) and `format`",
                built_in_names()
            ),
        };
        let format = match (t.format, base) {
            (Some(f), _) => f,
            (None, Some(b)) => b.format,
            (None, None) => bail!(
                "{place} (`{name}`): say how to read its output with `format` ({})",
                format_names()
            ),
        };
        let fix_command = match (&t.fix_command, base) {
            (Some(c), _) if c.is_empty() => None,
            (Some(c), _) => Some(c.clone()),
            (None, Some(b)) => b.fix.map(argv),
            (None, None) => None,
        };
        let cwd = match &t.working_directory {
            Some(d) if d.is_absolute() => d.clone(),
            Some(d) => root.join(d),
            None => root.to_path_buf(),
        };
        specs.push(ToolSpec {
            name: name.to_string(),
            command,
            fix_command,
            format,
            cwd,
            required: t.required,
        });
    }
    Ok(specs)
}

pub fn built_in_names() -> String {
    BUILT_IN
        .iter()
        .map(|b| format!("`{}`", b.name))
        .collect::<Vec<_>>()
        .join(", ")
}

pub fn format_names() -> String {
    Format::ALL
        .iter()
        .map(|f| format!("`{}`", f.name()))
        .collect::<Vec<_>>()
        .join(", ")
}

/// One `--report TOOL=FILE`.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSpec {
    /// The tool name the findings are attributed to.
    pub tool: String,
    pub format: Format,
    pub file: PathBuf,
    /// Folder relative paths in the report are relative to.
    pub base: PathBuf,
}

/// Reads `--report TOOL=FILE`. TOOL is `ruff` (check JSON), `ruff-format`, `swiftlint`,
/// `swiftformat`, `generic`, or the name of a configured tool (its format and folder
/// are used).
pub fn parse_report_arg(arg: &str, tools: &[ToolSpec], root: &Path) -> Result<ReportSpec> {
    let Some((tool, file)) = arg.split_once('=') else {
        bail!("--report {arg:?}: expected TOOL=FILE, e.g. --report ruff=ruff.json");
    };
    let (tool, file) = (tool.trim(), file.trim());
    if file.is_empty() {
        bail!("--report {arg:?}: the file is missing after `=`");
    }
    let configured = tools.iter().find(|t| t.name == tool);
    let (format, base) = match (tool, configured) {
        (_, Some(t)) => (t.format, t.cwd.clone()),
        ("ruff", None) => (Format::RuffJson, root.to_path_buf()),
        ("generic", None) => (Format::Generic, root.to_path_buf()),
        _ => match built_in(tool) {
            Some(b) => (b.format, root.to_path_buf()),
            None => bail!(
                "--report {arg:?}: unknown tool `{tool}`; use ruff, ruff-format, swiftlint, swiftformat, generic or a tool named in lint.tools"
            ),
        },
    };
    Ok(ReportSpec {
        tool: tool.to_string(),
        format,
        file: PathBuf::from(file),
        base,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str) -> LintTool {
        LintTool {
            name: name.into(),
            ..LintTool::default()
        }
    }

    #[test]
    fn defaults_are_the_four_built_ins() {
        let specs = resolve(&LintConfig::default(), Path::new("/r"), "c.yml")
            .unwrap_or_else(|e| panic!("{e:#}"));
        let names: Vec<_> = specs.iter().map(|s| s.name.as_str()).collect();
        assert_eq!(
            names,
            ["swiftformat", "swiftlint", "ruff-check", "ruff-format"]
        );
        assert_eq!(specs[1].command.join(" "), "swiftlint lint --reporter json");
        assert_eq!(specs[1].fix_command, None);
        assert_eq!(
            specs[2].fix_command.as_ref().map(|c| c.join(" ")),
            Some("ruff check --fix .".to_string())
        );
        assert_eq!(specs[3].cwd, Path::new("/r"));
    }

    #[test]
    fn custom_tools_need_command_and_format() {
        let mut cfg = LintConfig {
            tools: Some(vec![tool("mypy")]),
            ..LintConfig::default()
        };
        let e = resolve(&cfg, Path::new("/r"), "c.yml")
            .err()
            .map(|e| e.to_string());
        assert!(e.unwrap().contains("needs `command`"));
        if let Some(t) = cfg.tools.as_mut() {
            t[0].command = Some(vec!["mypy".into(), ".".into()]);
            t[0].working_directory = Some("py".into());
        }
        let e = resolve(&cfg, Path::new("/r"), "c.yml")
            .err()
            .map(|e| e.to_string());
        assert!(e.unwrap().contains("`format`"));
        if let Some(t) = cfg.tools.as_mut() {
            t[0].format = Some(Format::Generic);
        }
        let specs = resolve(&cfg, Path::new("/r"), "c.yml").unwrap();
        assert_eq!(specs[0].cwd, Path::new("/r/py"));
    }

    #[test]
    fn duplicate_names_are_refused() {
        let cfg = LintConfig {
            tools: Some(vec![tool("swiftlint"), tool("swiftlint")]),
            ..LintConfig::default()
        };
        assert!(resolve(&cfg, Path::new("/r"), "c.yml").is_err());
    }

    #[test]
    fn report_args() {
        let specs = resolve(&LintConfig::default(), Path::new("/r"), "c").unwrap();
        let r = parse_report_arg("ruff=out/r.json", &specs, Path::new("/r"))
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.format, Format::RuffJson);
        assert_eq!(r.file, Path::new("out/r.json"));
        let r = parse_report_arg("swiftlint=s.json", &specs, Path::new("/r"))
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.format, Format::SwiftlintJson);
        assert!(parse_report_arg("eslint=x", &specs, Path::new("/r")).is_err());
        assert!(parse_report_arg("ruff", &specs, Path::new("/r")).is_err());
        assert!(parse_report_arg("ruff=", &specs, Path::new("/r")).is_err());
    }
}

//! `.github/htdemucs-devops.yml`: the root `Config` composing one section per phase (each
//! defined in its phase's `config.rs`) and the engine sections, and its loading: strict
//! (unknown keys and wrong types are errors naming the file, line and key), with defaults
//! for a Swift + Python CoreML port when there is no file at all.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::path::{Path, PathBuf};

/// Where the config lives when `--config` is not given, relative to the root.
pub const DEFAULT_CONFIG_PATH: &str = ".github/htdemucs-devops.yml";

/// The whole configuration. Every section has defaults.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub lint: crate::phases::lint::config::LintConfig,
    pub test: crate::phases::test::config::TestConfig,
    pub report: crate::phases::report::config::ReportConfig,
    /// What `init` renders the scaffold from.
    pub init: crate::phases::init::config::InitConfig,
    pub benchmark: crate::phases::benchmark::config::BenchmarkConfig,
    pub publish: crate::phases::publish::config::PublishConfig,
    pub parity: crate::phases::parity::config::ParityConfig,
    /// Where the stage runner's libtorch comes from (src/runner/libtorch.rs).
    pub torch: crate::runner::libtorch::TorchConfig,
    /// Allocator and threads for every stage runner process (src/runner/settings.rs).
    pub runner: crate::runner::settings::RunnerSettings,
}

/// A loaded config and where it came from (for error messages and the report).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub config: Config,
    /// `None` when no file existed and defaults are used.
    pub path: Option<PathBuf>,
}

/// Loads the config: `explicit` must exist; otherwise `<root>/.github/htdemucs-devops.yml`
/// is used when present, else defaults.
pub fn load(explicit: Option<&Path>, root: &Path) -> Result<Loaded> {
    let (path, must_exist) = match explicit {
        Some(p) => (p.to_path_buf(), true),
        None => (root.join(DEFAULT_CONFIG_PATH), false),
    };
    let text = match crate::fs::read_text(&path, "the config file") {
        Ok(t) => t,
        Err(e) if e.is_not_found() && !must_exist => {
            return Ok(Loaded {
                config: Config::default(),
                path: None,
            });
        }
        Err(e) => return Err(e).context("check the --config path"),
    };
    let config = parse(&text, &path)?;
    Ok(Loaded {
        config,
        path: Some(path),
    })
}

/// Parses config text; `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<Config> {
    if text.trim().is_empty() {
        return Ok(Config::default());
    }
    if let Err(e) = crate::yaml_depth::check(text) {
        bail!("{}:{}: {e}", path.display(), e.line);
    }
    match serde_yaml_ng::from_str::<Config>(text) {
        Ok(c) => Ok(c),
        Err(e) => {
            let place = match e.location() {
                Some(loc) => format!("{}:{}:{}", path.display(), loc.line(), loc.column()),
                None => path.display().to_string(),
            };
            // serde_yaml_ng prefixes the key path ("lint.tools[0]: unknown field ...") and
            // appends "at line L column C"; the position is already in `place`.
            let msg = e.to_string();
            let msg = msg.split(" at line ").next().unwrap_or(&msg).to_string();
            bail!("{place}: {msg}\n  fix the key or value (the README's Configuration section lists every key)")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_and_missing_give_defaults() {
        let c = parse("", Path::new("c.yml")).unwrap();
        assert!(c.test.fail_if_no_tests);
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let l = load(None, dir.path()).unwrap_or_else(|e| panic!("{e:#}"));
        assert!(l.path.is_none());
    }

    #[test]
    fn explicit_missing_file_is_an_error() {
        let err = load(Some(Path::new("/nonexistent/x.yml")), Path::new("."))
            .err()
            .map(|e| format!("{e:#}"));
        assert!(err.unwrap().contains("/nonexistent/x.yml"));
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let text = "lint:\n  fail_on_warnings: true\n  colour: red\n";
        let err = parse(text, Path::new(".github/htdemucs-devops.yml"))
            .err()
            .map(|e| e.to_string())
            .unwrap();
        assert!(err.starts_with(".github/htdemucs-devops.yml:3:"), "{err}");
        assert!(err.contains("colour"), "{err}");
    }

    #[test]
    fn wrong_type_names_the_key() {
        let err = parse("test:\n  slowest: many\n", Path::new("c.yml"))
            .err()
            .map(|e| e.to_string())
            .unwrap();
        assert!(err.starts_with("c.yml:2:"), "{err}");
        assert!(err.contains("slowest"), "{err}");
    }
}

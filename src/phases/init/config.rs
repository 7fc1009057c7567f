//! The `init` section of `.github/htdemucs-devops.yml`: what the scaffold is rendered
//! from, and the pins (this action's release, ruff's) it defaults to.

use serde::{Deserialize, Serialize};

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
    /// The Python virtual environment `make setup` creates (and CI caches).
    pub venv: String,
    /// The benchmark history `make benchmark-compare` reads.
    pub baseline: String,
    /// The port's folder of stem pairs: when set, the parity job and `make parity-report`
    /// run `parity` on what `parity.pairs` / `parity.metrics_csv` name (init wires them
    /// to this folder); when unset, they run `parity run`.
    pub stems: Option<String>,
    /// Homebrew formulae the macOS jobs install first (e.g. ffmpeg for SwiftFFmpeg).
    pub brew: Vec<String>,
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
            action: DEFAULT_ACTION.into(),
            runs_on: "macos-14".into(),
            python_version: "3.11".into(),
            requirements: "requirements.txt".into(),
            cli_product: None,
            parity_tests: "tests/parity".into(),
            venv: ".venv".into(),
            baseline: "benchmarks/baseline.json".into(),
            stems: None,
            brew: Vec::new(),
            swift_version: "5.9".into(),
            ruff_version: RUFF_VERSION.into(),
            skip: Vec::new(),
        }
    }
}

/// This release of the action: `make setup` installs the same release into the venv.
pub(super) const DEFAULT_ACTION: &str =
    concat!("zakkeown/htdemucs-devops@v", env!("CARGO_PKG_VERSION"));

/// The ruff release this repository develops with (requirements-dev.txt pins the same).
pub(super) const RUFF_VERSION: &str = "0.17.6";

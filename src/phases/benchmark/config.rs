//! The `benchmark` section of `.github/htdemucs-devops.yml`.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::bench::fingerprint::Testbeds;
use crate::bench::ingest::InputFormat;
use crate::bench::metric::{MetricOverride, Thresholds};

/// `benchmark:` — every key optional.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct BenchmarkConfig {
    /// The history file, relative to the root.
    pub baseline: PathBuf,
    /// The table's first value column (falls back to another backend when absent).
    pub candidate: String,
    /// The table's second value column.
    pub reference: String,
    /// How many recent comparable runs form the baseline.
    pub window: usize,
    /// A change must also exceed this many standard deviations of the history's noise.
    pub noise_sigmas: f64,
    /// Runs on the same testbed before time and memory metrics get verdicts (fewer: the
    /// verdict is `new-testbed`); at least 1.
    pub min_runs: usize,
    /// How far (percent, one SD) a CoreML ÷ PyTorch ratio may move between testbeds; a
    /// ratio judged against other testbeds' history allows for it (or for the spread
    /// measured between the recorded testbeds, when larger).
    pub ratio_testbed_shift: f64,
    /// The name of this machine's testbed, stamped on the runs `benchmark run` makes
    /// (default: the runner kind: OS, architecture, CPU, runner image).
    pub testbed: Option<String>,
    /// Testbed name → the fingerprints that count as that testbed (a runner kind as
    /// `benchmark history` prints it, or `{os, os_version, arch, cpu, runner}` with `*`).
    pub testbeds: Testbeds,
    /// Default thresholds in percent: `time` (10), `memory` (15), `other` (10).
    pub thresholds: Thresholds,
    /// Per-metric `threshold`, `direction` (smaller|bigger), `unit`, `label`.
    pub metrics: BTreeMap<String, MetricOverride>,
    /// Commands that print (or write) a results JSON; run by `benchmark run`.
    pub producers: Vec<Producer>,
    /// Producer runs discarded before measuring.
    pub warmup: u32,
    /// Producer runs whose samples are merged.
    pub repetitions: u32,
    /// Regressions are errors and exit 1 (same as `--fail-on-regression`).
    pub fail_on_regression: bool,
    pub record: RecordConfig,
}

impl Default for BenchmarkConfig {
    fn default() -> Self {
        BenchmarkConfig {
            baseline: PathBuf::from("benchmarks/baseline.json"),
            candidate: "coreml".into(),
            reference: "pytorch".into(),
            window: 20,
            noise_sigmas: 2.75,
            min_runs: crate::bench::decide::MIN_RUNS_FOR_NOISE,
            ratio_testbed_shift: 5.0,
            testbed: None,
            testbeds: Testbeds::new(),
            thresholds: Thresholds::default(),
            metrics: BTreeMap::new(),
            producers: Vec::new(),
            warmup: 0,
            repetitions: 1,
            fail_on_regression: false,
            record: RecordConfig::default(),
        }
    }
}

/// One producer command.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Producer {
    pub name: String,
    pub command: Vec<String>,
    /// Read the results from this file (relative to the working directory) instead of
    /// stdout.
    pub results_file: Option<PathBuf>,
    pub working_directory: Option<PathBuf>,
    /// Format of the results (default: detected).
    pub format: Option<InputFormat>,
}

/// `benchmark.record`: how `benchmark record` commits to the baseline branch.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct RecordConfig {
    /// Remote name or URL [default: the workspace's `origin`].
    pub remote: Option<String>,
    pub branch: String,
    pub author_name: String,
    pub author_email: String,
    /// `{short_sha}` and `{sha}` are replaced.
    pub message: String,
    /// Push attempts before giving up (each re-fetches and re-applies the append).
    pub max_attempts: u32,
}

impl Default for RecordConfig {
    fn default() -> Self {
        RecordConfig {
            remote: None,
            branch: "main".into(),
            author_name: "github-actions[bot]".into(),
            author_email: "41898282+github-actions[bot]@users.noreply.github.com".into(),
            message: "chore(bench): record {short_sha}".into(),
            max_attempts: 5,
        }
    }
}

impl BenchmarkConfig {
    /// The comparison options this config describes (flags may override fields).
    pub fn options(&self) -> crate::bench::compare::Options {
        crate::bench::compare::Options {
            rule: crate::bench::decide::Rule {
                window: self.window.max(1),
                noise_sigmas: self.noise_sigmas,
            },
            min_runs: self.min_runs.max(1),
            ratio_shift: self.ratio_testbed_shift.max(0.0) / 100.0,
            testbeds: self.testbeds.clone(),
            thresholds: self.thresholds,
            metrics: self.metrics.clone(),
            candidate: self.candidate.clone(),
            reference: self.reference.clone(),
        }
    }
}

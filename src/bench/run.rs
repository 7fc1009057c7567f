//! The run model: backend → metric → value (one number or samples), plus metadata
//! (when, which commit, on what runner, what was not measured), and merging runs. Its
//! JSON form is read and written in `super::design`.

use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::metric::MetricOverride;
use super::stats;

pub use super::design::{parse_metrics, parse_value, META_KEY};

/// One measurement: a single number, or the samples of repeated runs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Value {
    Number(f64),
    Samples(Vec<f64>),
}

impl Value {
    pub fn samples(&self) -> &[f64] {
        match self {
            Value::Number(v) => std::slice::from_ref(v),
            Value::Samples(s) => s,
        }
    }

    /// The robust summary of this value: the median of its samples, which up to half of
    /// them being spikes (a GC pause, a cold cache) cannot move far.
    pub fn center(&self) -> f64 {
        stats::median(self.samples())
    }

    /// Appends `other`'s samples (repetitions of a producer).
    pub fn merge(&mut self, other: &Value) {
        // In place: a metric repeated n times in one input costs O(n), not O(n²).
        match self {
            Value::Samples(all) => all.extend_from_slice(other.samples()),
            Value::Number(v) => {
                let mut all = vec![*v];
                all.extend_from_slice(other.samples());
                *self = Value::Samples(all);
            }
        }
    }

    /// Multiplies every sample (unit conversion).
    pub fn scaled(&self, factor: f64) -> Value {
        match self {
            Value::Number(v) => Value::Number(v * factor),
            Value::Samples(s) => Value::Samples(s.iter().map(|v| v * factor).collect()),
        }
    }
}

/// backend → metric → value.
pub type Results = BTreeMap<String, BTreeMap<String, Value>>;

/// What the run ran on. Runs are compared with history from the same runner kind
/// ([`Fingerprint::key`]); tool versions are recorded but do not split the history.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Fingerprint {
    /// `macos`, `linux`, ... (Rust's `std::env::consts::OS` spelling).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub os_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arch: Option<String>,
    /// CPU or chip model (`Apple M1`, `AMD EPYC 7763 64-Core Processor`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu: Option<String>,
    /// Runner image or label (`macos-14`, `ubuntu24`), or the host name locally.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub runner: Option<String>,
    /// The testbed's name when one was given (`benchmark.testbed`, `--testbed`); without
    /// it the testbed is the runner kind ([`Fingerprint::key`]), see `bench::fingerprint`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub testbed: Option<String>,
    /// Tool versions where known: `torch`, `coremltools`, `swift`, ...
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub tools: BTreeMap<String, String>,
    /// Anything else a producer wrote (e.g. the stage runner's `torch` version and
    /// `cpus`), kept as is.
    #[serde(flatten)]
    pub extra: BTreeMap<String, serde_json::Value>,
}

impl Fingerprint {
    /// The runner kind: OS, architecture, CPU and runner label. `None` when nothing is
    /// known (e.g. entries migrated from the date-keyed format).
    pub fn key(&self) -> Option<String> {
        if self.os.is_none() && self.arch.is_none() && self.cpu.is_none() && self.runner.is_none() {
            return None;
        }
        let part = |v: &Option<String>| v.clone().unwrap_or_else(|| "?".into());
        Some(format!(
            "{} {} / {} / {}",
            part(&self.os),
            part(&self.arch),
            part(&self.cpu),
            part(&self.runner)
        ))
    }

    /// Fills fields that are unknown here from `other` (tools merged, ours win).
    pub fn fill_from(&mut self, other: &Fingerprint) {
        for (mine, theirs) in [
            (&mut self.os, &other.os),
            (&mut self.os_version, &other.os_version),
            (&mut self.arch, &other.arch),
            (&mut self.cpu, &other.cpu),
            (&mut self.runner, &other.runner),
            (&mut self.testbed, &other.testbed),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
        for (k, v) in &other.tools {
            self.tools.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &other.extra {
            self.extra.entry(k.clone()).or_insert_with(|| v.clone());
        }
    }
}

/// Metadata of a run (the `$meta` object of the single-entry format).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunMeta {
    /// RFC 3339 UTC time the run was made.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub commit: Option<String>,
    #[serde(rename = "ref", skip_serializing_if = "Option::is_none")]
    pub git_ref: Option<String>,
    #[serde(skip_serializing_if = "is_default")]
    pub fingerprint: Fingerprint,
    /// Seconds of audio each pipeline pass processed (shown as "STFT (7.8s audio)").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub audio_seconds: Option<f64>,
    /// Units and directions learned from the input (GAB units, Bencher measures).
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub metrics: BTreeMap<String, MetricOverride>,
    /// Machine-independent figures derived from the results when the run was stamped
    /// (`bench::portable`): candidate ÷ reference per stage, each stage's share.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub derived: Results,
    /// backend → metrics the input gave as `null`: not measured (a script that only
    /// times the full pipeline of one backend). Never a value, never judged.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub not_measured: BTreeMap<String, BTreeSet<String>>,
    /// Any other metadata a producer wrote, kept as is.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, serde_json::Value>,
}

fn is_default(f: &Fingerprint) -> bool {
    *f == Fingerprint::default()
}

/// A benchmark run.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Run {
    pub meta: RunMeta,
    pub results: Results,
}

impl Run {
    /// Merges another run's results into this one: samples of the same backend and
    /// metric are appended, metadata fills in what is unknown.
    pub fn merge(&mut self, other: &Run) {
        for (backend, metrics) in &other.results {
            let mine = self.results.entry(backend.clone()).or_default();
            for (metric, value) in metrics {
                match mine.get_mut(metric) {
                    Some(v) => v.merge(value),
                    None => {
                        mine.insert(metric.clone(), value.clone());
                    }
                }
            }
        }
        let m = &mut self.meta;
        m.fingerprint.fill_from(&other.meta.fingerprint);
        if m.audio_seconds.is_none() {
            m.audio_seconds = other.meta.audio_seconds;
        }
        for (k, v) in &other.meta.metrics {
            m.metrics.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (k, v) in &other.meta.extra {
            m.extra.entry(k.clone()).or_insert_with(|| v.clone());
        }
        for (b, ms) in &other.meta.not_measured {
            m.not_measured
                .entry(b.clone())
                .or_default()
                .extend(ms.iter().cloned());
        }
        // A metric measured by any repetition is measured.
        for (b, ms) in &mut m.not_measured {
            if let Some(have) = self.results.get(b) {
                ms.retain(|metric| !have.contains_key(metric));
            }
        }
        m.not_measured.retain(|_, ms| !ms.is_empty());
        for (mine, theirs) in [
            (&mut m.timestamp, &other.meta.timestamp),
            (&mut m.commit, &other.meta.commit),
            (&mut m.git_ref, &other.meta.git_ref),
        ] {
            if mine.is_none() {
                mine.clone_from(theirs);
            }
        }
    }

    /// Whether the input gave `backend`/`metric` as `null` (and no value).
    pub fn is_not_measured(&self, backend: &str, metric: &str) -> bool {
        self.meta
            .not_measured
            .get(backend)
            .is_some_and(|ms| ms.contains(metric))
    }

    /// Every (backend, metric) pair.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str, &Value)> {
        self.results
            .iter()
            .flat_map(|(b, ms)| ms.iter().map(move |(m, v)| (b.as_str(), m.as_str(), v)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn merge_appends_samples() {
        let mut a = Run::from_design_json(&json!({"b": {"m": 1.0}}), "a").unwrap();
        let b = Run::from_design_json(&json!({"b": {"m": [2.0, 3.0], "n": 4.0}}), "b").unwrap();
        a.merge(&b);
        assert_eq!(a.results["b"]["m"].samples(), &[1.0, 2.0, 3.0]);
        assert_eq!(a.results["b"]["n"], Value::Number(4.0));
    }
}

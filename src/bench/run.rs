//! The run model: backend → metric → value (one number or samples), plus metadata
//! (when, which commit, on what runner), and the design's single-entry JSON format
//! (`{"coreml": {"stft_sec": 0.42}, "$meta": {...}}`) it is read from and written to.

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

use super::metric::MetricOverride;
use super::stats;

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

/// The reserved top-level key for metadata; every key starting with `$` is not a backend.
pub const META_KEY: &str = "$meta";

/// A top-level number of this name is the seconds of audio each pass processed.
pub const AUDIO_SECONDS_KEY: &str = "audio_duration_sec";

/// Top-level values that are metadata rather than a backend's metrics.
fn is_scalar(v: &serde_json::Value) -> bool {
    matches!(
        v,
        serde_json::Value::Null
            | serde_json::Value::Bool(_)
            | serde_json::Value::Number(_)
            | serde_json::Value::String(_)
    )
}

impl Run {
    /// Reads the single-entry format. `origin` names the input in messages.
    pub fn from_design_json(value: &serde_json::Value, origin: &str) -> Result<Run> {
        let obj = value.as_object().with_context(|| {
            format!("{origin}: expected a JSON object like {{\"coreml\": {{\"stft_sec\": 0.42}}}}")
        })?;
        let mut run = Run::default();
        if let Some(v) = obj.get(META_KEY) {
            run.meta = serde_json::from_value(v.clone())
                .with_context(|| format!("{origin}: \"$meta\" is malformed"))?;
        }
        let mut top_level = Vec::new();
        for (key, v) in obj {
            if key.starts_with('$') {
                continue;
            }
            if is_scalar(v) {
                top_level.push((key, v));
                continue;
            }
            let (metrics, nulls) = parse_metrics_nullable(v, origin, key)?;
            if !nulls.is_empty() {
                run.meta
                    .not_measured
                    .entry(key.clone())
                    .or_default()
                    .extend(nulls);
            }
            run.results.insert(key.clone(), metrics);
        }
        // Top-level numbers and strings are metadata (`run_benchmark.py`'s `date`,
        // `audio_duration_sec`, `num_runs`); `$meta` wins where both say something.
        for (key, v) in top_level {
            if key == AUDIO_SECONDS_KEY && run.meta.audio_seconds.is_none() {
                run.meta.audio_seconds = v.as_f64().filter(|s| s.is_finite() && *s > 0.0);
            }
            run.meta
                .extra
                .entry(key.clone())
                .or_insert_with(|| v.clone());
        }
        if run.results.is_empty() {
            bail!("{origin}: no backend results found (expected {{\"<backend>\": {{\"<metric>\": number or [samples]}}}})");
        }
        Ok(run)
    }

    /// The single-entry format with `$meta` first.
    pub fn to_design_json(&self) -> serde_json::Value {
        let mut obj = serde_json::Map::new();
        if let Ok(meta) = serde_json::to_value(&self.meta) {
            if meta.as_object().is_some_and(|m| !m.is_empty()) {
                obj.insert(META_KEY.to_string(), meta);
            }
        }
        for (backend, metrics) in &self.results {
            obj.insert(
                backend.clone(),
                serde_json::to_value(metrics).unwrap_or(serde_json::Value::Null),
            );
        }
        serde_json::Value::Object(obj)
    }

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

/// Parses `{"metric": number | [numbers]}` for one backend, rejecting non-finite values
/// and `null` (stored results hold only measured values).
pub fn parse_metrics(
    v: &serde_json::Value,
    origin: &str,
    backend: &str,
) -> Result<BTreeMap<String, Value>> {
    let (out, nulls) = parse_metrics_nullable(v, origin, backend)?;
    if let Some(metric) = nulls.first() {
        bail!("{origin}: {backend}.{metric}: expected a finite number, found null");
    }
    Ok(out)
}

/// [`parse_metrics`] where `null` means "not measured": such metrics are returned
/// apart, never as a value.
pub fn parse_metrics_nullable(
    v: &serde_json::Value,
    origin: &str,
    backend: &str,
) -> Result<(BTreeMap<String, Value>, BTreeSet<String>)> {
    let obj = v.as_object().with_context(|| {
        format!("{origin}: backend \"{backend}\" must map metric names to numbers or sample arrays (null: not measured)")
    })?;
    let mut out = BTreeMap::new();
    let mut nulls = BTreeSet::new();
    for (metric, val) in obj {
        if val.is_null() {
            nulls.insert(metric.clone());
            continue;
        }
        let value = parse_value(val).with_context(|| format!("{origin}: {backend}.{metric}"))?;
        out.insert(metric.clone(), value);
    }
    Ok((out, nulls))
}

/// One value: a finite number or a non-empty array of finite numbers.
pub fn parse_value(val: &serde_json::Value) -> Result<Value> {
    let num = |x: &serde_json::Value| -> Result<f64> {
        match x.as_f64() {
            Some(f) if f.is_finite() => Ok(f),
            _ => bail!("expected a finite number, found {x}"),
        }
    };
    match val {
        serde_json::Value::Array(items) if !items.is_empty() => Ok(Value::Samples(
            items.iter().map(num).collect::<Result<Vec<_>>>()?,
        )),
        serde_json::Value::Array(_) => bail!("the sample array is empty"),
        other => Ok(Value::Number(num(other)?)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn reads_numbers_samples_and_meta() {
        let v = json!({
            "$meta": {"fingerprint": {"os": "linux", "tools": {"torch": "2.13.0"}}, "audio_seconds": 7.8, "note": "x"},
            "$comment": "ignored",
            "coreml": {"stft_sec": 0.42, "freq_branch_sec": [3.2, 3.3]},
            "pytorch": {"stft_sec": 0.38}
        });
        let run = Run::from_design_json(&v, "r.json").unwrap_or_default();
        assert_eq!(run.results.len(), 2);
        assert_eq!(
            run.results["coreml"]["freq_branch_sec"].samples(),
            &[3.2, 3.3]
        );
        assert_eq!(run.meta.audio_seconds, Some(7.8));
        assert_eq!(run.meta.fingerprint.tools["torch"], "2.13.0");
        assert_eq!(run.meta.extra["note"], "x");
        let back = Run::from_design_json(&run.to_design_json(), "again").unwrap_or_default();
        assert_eq!(back, run);
    }

    #[test]
    fn rejects_bad_values_naming_the_place() {
        let err = Run::from_design_json(&json!({"coreml": {"stft_sec": "fast"}}), "r.json")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap_or_default();
        assert!(err.contains("r.json: coreml.stft_sec"), "{err}");
        assert!(Run::from_design_json(&json!({"coreml": {"x": []}}), "r").is_err());
        assert!(Run::from_design_json(&json!({}), "r").is_err());
    }

    #[test]
    fn top_level_scalars_are_metadata_and_nulls_not_measured() {
        let v = json!({
            "date": "2025-01-06", "audio_duration_sec": 30.0, "num_runs": 3,
            "coreml": {"stft_sec": 0.05},
            "pytorch": {"stft_sec": null, "full_pipeline_sec": 4.1}
        });
        let run = Run::from_design_json(&v, "latest.json").unwrap_or_default();
        assert_eq!(run.results.len(), 2);
        assert_eq!(run.meta.audio_seconds, Some(30.0));
        assert_eq!(run.meta.extra["num_runs"], 3);
        assert!(run.is_not_measured("pytorch", "stft_sec"));
        assert!(!run.results["pytorch"].contains_key("stft_sec"));
        let back = Run::from_design_json(&run.to_design_json(), "again").unwrap_or_default();
        assert_eq!(back, run);
        // A later repetition that measures it makes it measured.
        let mut merged = run.clone();
        merged.merge(
            &Run::from_design_json(&json!({"pytorch": {"stft_sec": 0.03}}), "b")
                .unwrap_or_default(),
        );
        assert!(!merged.is_not_measured("pytorch", "stft_sec"));
        assert!(parse_metrics(&json!({"m": null}), "r", "b").is_err());
    }

    #[test]
    fn merge_appends_samples() {
        let mut a = Run::from_design_json(&json!({"b": {"m": 1.0}}), "a").unwrap_or_default();
        let b = Run::from_design_json(&json!({"b": {"m": [2.0, 3.0], "n": 4.0}}), "b")
            .unwrap_or_default();
        a.merge(&b);
        assert_eq!(a.results["b"]["m"].samples(), &[1.0, 2.0, 3.0]);
        assert_eq!(a.results["b"]["n"], Value::Number(4.0));
    }
}

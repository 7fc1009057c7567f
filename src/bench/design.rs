//! The design's single-entry JSON format of a run (`{"coreml": {"stft_sec": 0.42},
//! "$meta": {...}}`), read and written: top-level scalars are metadata (as in
//! `run_benchmark.py`'s `latest.json`), `null` metrics are "not measured".

use anyhow::{bail, Context, Result};
use std::collections::{BTreeMap, BTreeSet};

use super::run::{Run, Value};

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
        let run = Run::from_design_json(&v, "r.json").unwrap();
        assert_eq!(run.results.len(), 2);
        assert_eq!(
            run.results["coreml"]["freq_branch_sec"].samples(),
            &[3.2, 3.3]
        );
        assert_eq!(run.meta.audio_seconds, Some(7.8));
        assert_eq!(run.meta.fingerprint.tools["torch"], "2.13.0");
        assert_eq!(run.meta.extra["note"], "x");
        let back = Run::from_design_json(&run.to_design_json(), "again").unwrap();
        assert_eq!(back, run);
    }

    #[test]
    fn rejects_bad_values_naming_the_place() {
        let err = Run::from_design_json(&json!({"coreml": {"stft_sec": "fast"}}), "r.json")
            .err()
            .map(|e| format!("{e:#}"))
            .unwrap();
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
        let run = Run::from_design_json(&v, "latest.json").unwrap();
        assert_eq!(run.results.len(), 2);
        assert_eq!(run.meta.audio_seconds, Some(30.0));
        assert_eq!(run.meta.extra["num_runs"], 3);
        assert!(run.is_not_measured("pytorch", "stft_sec"));
        assert!(!run.results["pytorch"].contains_key("stft_sec"));
        let back = Run::from_design_json(&run.to_design_json(), "again").unwrap();
        assert_eq!(back, run);
        // A later repetition that measures it makes it measured.
        let mut merged = run.clone();
        merged.merge(&Run::from_design_json(&json!({"pytorch": {"stft_sec": 0.03}}), "b").unwrap());
        assert!(!merged.is_not_measured("pytorch", "stft_sec"));
        assert!(parse_metrics(&json!({"m": null}), "r", "b").is_err());
    }
}

//! Input adapters: a results file in the design's single-entry JSON,
//! github-action-benchmark's `customSmallerIsBetter` / `customBiggerIsBetter` arrays,
//! the Bencher Metric Format (BMF), or hyperfine's `--export-json`, all read into a
//! [`Run`]; and the BMF exporter.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::Path;

use super::metric::{Direction, MetricOverride};
use super::run::{parse_value, Run, Value};
use super::stats;
use crate::fs::clip;

/// Input formats (`--input-format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum InputFormat {
    /// Detect from the content (GAB arrays are read as smaller-is-better).
    Auto,
    /// `{"coreml": {"stft_sec": 0.42}, "$meta": {...}}`
    Design,
    /// github-action-benchmark `customSmallerIsBetter`
    #[value(name = "gab-smaller", alias = "customSmallerIsBetter")]
    GabSmaller,
    /// github-action-benchmark `customBiggerIsBetter`
    #[value(name = "gab-bigger", alias = "customBiggerIsBetter")]
    GabBigger,
    /// Bencher Metric Format
    Bmf,
    /// hyperfine `--export-json`
    Hyperfine,
}

/// Backend used when an input names no backend (`name` without a `/`).
pub const DEFAULT_BACKEND: &str = "default";

/// Reads a results file.
pub fn read_file(path: &Path, format: InputFormat) -> Result<Run> {
    let text = crate::fs::read_text(path, "the results file")?;
    read_str(&text, &path.display().to_string(), format)
}

/// Reads results text; `origin` names it in messages.
pub fn read_str(text: &str, origin: &str, format: InputFormat) -> Result<Run> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{origin}:{}:{}: not valid JSON ({e}); a benchmark results file must be JSON",
            e.line(),
            e.column()
        )
    })?;
    let format = if format == InputFormat::Auto {
        detect(&value)
    } else {
        format
    };
    let run = match format {
        InputFormat::Auto | InputFormat::Design => Run::from_design_json(&value, origin),
        InputFormat::GabSmaller => from_gab(&value, origin, Direction::Smaller),
        InputFormat::GabBigger => from_gab(&value, origin, Direction::Bigger),
        InputFormat::Bmf => from_bmf(&value, origin),
        InputFormat::Hyperfine => from_hyperfine(&value, origin),
    }?;
    check_units(&run, origin)?;
    Ok(run)
}

/// Longest unit accepted: units are short words (`ms`, `MiB`, `frames/s`).
pub const MAX_UNIT_CHARS: usize = 32;

/// Refuses units no person would write: they are echoed in every table row.
fn check_units(run: &Run, origin: &str) -> Result<()> {
    for (metric, o) in &run.meta.metrics {
        if let Some(unit) = &o.unit {
            let chars = unit.chars().count();
            if chars > MAX_UNIT_CHARS || unit.contains(char::is_control) {
                bail!(
                    "{origin}: the unit of {} is {chars} characters long or has control characters; a unit is a short word such as ms, MiB or ops/s (at most {MAX_UNIT_CHARS} characters, one line)",
                    clip(metric, 60)
                );
            }
        }
    }
    Ok(())
}

/// Guesses the format from the JSON's shape.
pub fn detect(v: &serde_json::Value) -> InputFormat {
    match v {
        serde_json::Value::Array(_) => InputFormat::GabSmaller,
        serde_json::Value::Object(o) if o.get("results").is_some_and(|r| r.is_array()) => {
            InputFormat::Hyperfine
        }
        serde_json::Value::Object(o) => {
            // BMF: benchmark → measure → {"value": n, ...}; design: backend → metric → n.
            let bmf = o.iter().filter(|(k, _)| !k.starts_with('$')).any(|(_, b)| {
                b.as_object().is_some_and(|ms| {
                    ms.values()
                        .any(|m| m.as_object().is_some_and(|m| m.contains_key("value")))
                })
            });
            if bmf {
                InputFormat::Bmf
            } else {
                InputFormat::Design
            }
        }
        _ => InputFormat::Design,
    }
}

/// `backend/metric` → (backend, metric); a name without `/` goes to [`DEFAULT_BACKEND`].
fn split_name(name: &str) -> (String, String) {
    match name.split_once('/') {
        Some((b, m)) if !b.trim().is_empty() && !m.trim().is_empty() => {
            (b.trim().to_string(), m.trim().to_string())
        }
        _ => (DEFAULT_BACKEND.to_string(), name.trim().to_string()),
    }
}

fn insert(run: &mut Run, backend: String, metric: String, value: Value) {
    let slot = run.results.entry(backend).or_default();
    match slot.get_mut(&metric) {
        Some(v) => v.merge(&value),
        None => {
            slot.insert(metric, value);
        }
    }
}

/// github-action-benchmark custom format: `[{"name", "unit", "value", "range"?, "extra"?}]`.
/// `name` may be `backend/metric`; the unit and the file's direction are remembered
/// for metrics whose name does not already say them.
fn from_gab(v: &serde_json::Value, origin: &str, direction: Direction) -> Result<Run> {
    let items = v.as_array().with_context(|| {
        format!("{origin}: expected a github-action-benchmark array [{{\"name\", \"unit\", \"value\"}}]")
    })?;
    let mut run = Run::default();
    for (i, item) in items.iter().enumerate() {
        let name = item
            .get("name")
            .and_then(|n| n.as_str())
            .with_context(|| format!("{origin}: entry {i} has no string \"name\""))?;
        let value = item
            .get("value")
            .with_context(|| format!("{origin}: entry {i} ({}) has no \"value\"", clip(name, 80)))
            .and_then(|v| {
                parse_value(v).with_context(|| format!("{origin}: entry {i} ({})", clip(name, 80)))
            })?;
        let unit = item.get("unit").and_then(|u| u.as_str()).unwrap_or("");
        let (backend, metric) = split_name(name);
        run.meta.metrics.insert(
            metric.clone(),
            MetricOverride {
                unit: (!unit.is_empty()).then(|| unit.to_string()),
                direction: Some(direction),
                ..Default::default()
            },
        );
        insert(&mut run, backend, metric, value);
    }
    if run.results.is_empty() {
        bail!("{origin}: the github-action-benchmark array is empty");
    }
    run.meta
        .extra
        .insert("source_format".into(), "github-action-benchmark".into());
    Ok(run)
}

/// Bencher's standard measures and how they map to our metric names.
fn bmf_measure(measure: &str) -> String {
    match measure {
        "latency" => "latency_ns".into(),
        "throughput" => "throughput_per_sec".into(),
        "file-size" => "file_size_bytes".into(),
        "build-time" => "build_time_sec".into(),
        m => m.replace('-', "_"),
    }
}

/// Bencher Metric Format: `{"benchmark": {"measure": {"value", "lower_value"?, "upper_value"?}}}`.
/// The benchmark name is the backend; the measure is the metric.
fn from_bmf(v: &serde_json::Value, origin: &str) -> Result<Run> {
    let obj = v
        .as_object()
        .with_context(|| format!("{origin}: expected a Bencher Metric Format object"))?;
    let mut run = Run::default();
    for (bench, measures) in obj {
        if bench.starts_with('$') {
            continue;
        }
        let ms = measures.as_object().with_context(|| {
            format!(
                "{origin}: benchmark {:?} must map measures to {{\"value\": n}}",
                clip(bench, 80)
            )
        })?;
        for (measure, m) in ms {
            let value = m
                .get("value")
                .with_context(|| {
                    format!(
                        "{origin}: {}.{} has no \"value\"",
                        clip(bench, 80),
                        clip(measure, 80)
                    )
                })
                .and_then(|v| {
                    parse_value(v).with_context(|| {
                        format!("{origin}: {}.{}", clip(bench, 80), clip(measure, 80))
                    })
                })?;
            let metric = bmf_measure(measure);
            insert(&mut run, bench.clone(), metric, value);
        }
    }
    if run.results.is_empty() {
        bail!("{origin}: no benchmarks in the Bencher Metric Format file");
    }
    Ok(run)
}

/// hyperfine `--export-json`: each result's `times` become samples of
/// `<backend>/<metric>` when the command name has that shape (`-n coreml/full_pipeline`
/// gives `full_pipeline_sec` of `coreml`), otherwise `wall_sec` of a backend named after
/// the command. `memory_usage_byte` (hyperfine ≥ 1.19) becomes `memory_peak_mb`.
fn from_hyperfine(v: &serde_json::Value, origin: &str) -> Result<Run> {
    let results = v
        .get("results")
        .and_then(|r| r.as_array())
        .with_context(|| format!("{origin}: expected hyperfine's {{\"results\": [...]}}"))?;
    let mut run = Run::default();
    for (i, r) in results.iter().enumerate() {
        let command = r
            .get("command")
            .and_then(|c| c.as_str())
            .with_context(|| format!("{origin}: result {i} has no \"command\""))?;
        let (backend, metric) = match command.split_once('/') {
            Some((b, m))
                if !b.contains(' ') && !m.contains(' ') && !b.is_empty() && !m.is_empty() =>
            {
                let m = if m.ends_with("_sec") {
                    m.to_string()
                } else {
                    format!("{m}_sec")
                };
                (b.to_string(), m)
            }
            _ => (command.to_string(), "wall_sec".to_string()),
        };
        let times = match r.get("times") {
            Some(t) => parse_value(t)
                .with_context(|| format!("{origin}: result {i} ({}) times", clip(command, 80)))?,
            None => parse_value(r.get("mean").unwrap_or(&serde_json::Value::Null)).with_context(
                || {
                    format!(
                        "{origin}: result {i} ({}) has neither \"times\" nor \"mean\"",
                        clip(command, 80)
                    )
                },
            )?,
        };
        insert(&mut run, backend.clone(), metric, times);
        if let Some(mem) = r.get("memory_usage_byte") {
            let bytes = parse_value(mem)
                .with_context(|| format!("{origin}: result {i} memory_usage_byte"))?;
            insert(
                &mut run,
                backend,
                "memory_peak_mb".into(),
                bytes.scaled(1e-6),
            );
        }
    }
    if run.results.is_empty() {
        bail!("{origin}: hyperfine's results array is empty");
    }
    run.meta
        .extra
        .insert("source_format".into(), "hyperfine".into());
    Ok(run)
}

/// Exports a run as Bencher Metric Format: benchmark = backend, measure = metric name,
/// `value` = median, `lower_value` / `upper_value` = min / max of the samples.
pub fn to_bmf(run: &Run) -> serde_json::Value {
    let mut out = serde_json::Map::new();
    for (backend, metrics) in &run.results {
        let mut ms = serde_json::Map::new();
        for (metric, v) in metrics {
            let (lo, hi) = stats::min_max(v.samples());
            let mut m = BTreeMap::new();
            m.insert("value", v.center());
            if v.samples().len() > 1 {
                m.insert("lower_value", lo);
                m.insert("upper_value", hi);
            }
            ms.insert(
                metric.replace('_', "-"),
                serde_json::to_value(m).unwrap_or(serde_json::Value::Null),
            );
        }
        out.insert(backend.clone(), serde_json::Value::Object(ms));
    }
    serde_json::Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::metric::{kind_of_unit, Kind};
    use serde_json::json;

    #[test]
    fn detects_each_format() {
        assert_eq!(
            detect(&json!([{"name": "a", "unit": "s", "value": 1}])),
            InputFormat::GabSmaller
        );
        assert_eq!(detect(&json!({"results": []})), InputFormat::Hyperfine);
        assert_eq!(
            detect(&json!({"b": {"latency": {"value": 1.0}}})),
            InputFormat::Bmf
        );
        assert_eq!(
            detect(&json!({"coreml": {"stft_sec": 0.4}})),
            InputFormat::Design
        );
    }

    #[test]
    fn gab_names_units_and_direction() {
        let v = json!([
            {"name": "coreml/encode", "unit": "ms", "value": 12.0},
            {"name": "throughput", "unit": "frames/s", "value": 300, "range": "± 3"}
        ]);
        let run = from_gab(&v, "g.json", Direction::Bigger).unwrap();
        assert_eq!(run.results["coreml"]["encode"], Value::Number(12.0));
        assert_eq!(
            run.results[DEFAULT_BACKEND]["throughput"],
            Value::Number(300.0)
        );
        assert_eq!(run.meta.metrics["encode"].unit.as_deref(), Some("ms"));
        assert_eq!(
            run.meta.metrics["encode"].direction,
            Some(Direction::Bigger)
        );
        assert!(from_gab(&json!([{"name": "x"}]), "g.json", Direction::Smaller).is_err());
    }

    #[test]
    fn bmf_round_trips_medians() {
        let run =
            Run::from_design_json(&json!({"coreml": {"stft_sec": [0.4, 0.5, 0.45]}}), "r").unwrap();
        let bmf = to_bmf(&run);
        assert_eq!(bmf["coreml"]["stft-sec"]["value"], json!(0.45));
        assert_eq!(bmf["coreml"]["stft-sec"]["lower_value"], json!(0.4));
        let back = from_bmf(&bmf, "b").unwrap();
        assert_eq!(back.results["coreml"]["stft_sec"], Value::Number(0.45));
    }

    #[test]
    fn kind_of_units() {
        assert_eq!(kind_of_unit("ms"), Kind::Time);
        assert_eq!(kind_of_unit("MiB"), Kind::Memory);
        assert_eq!(kind_of_unit("ops/s"), Kind::Throughput);
    }
}

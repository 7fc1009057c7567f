//! The results JSON: backend -> metric -> number or samples, plus `$meta`.
//!
//! This is the benchmark phase's producer format:
//! `{"pytorch": {"stft_sec": [..], "stft_load_sec": 0.01, "stft_mem_increase_mb": 80.5, ...,
//!   "total_load_sec": 0.3, "memory_peak_mb": 412.5}, "$meta": {...}}`.
//! Keys starting with `$` are never backends. One runner process writes one backend, so
//! each backend's memory is its own process's; the benchmark phase merges the processes' runs.
//!
//! Every stage owns the keys [`stage_metric_keys`] gives it; the run-wide totals have
//! names no stage can produce ([`metric_collision`] is part of the spec's validation).
//! Runs recorded before these names held `model_load_sec` (the sum of the loads, which
//! overwrote the load of a stage named `model`) and `<stage>_peak_mb` (whole-process
//! peaks, the model already held included); such baselines stay readable under those
//! names, which new runs no longer write because they meant something else.

use serde_json::{json, Map, Value};

use super::memory::{self, to_mb};
use super::schedule::RunOutcome;

/// The reserved top-level metadata key.
pub const META: &str = "$meta";

/// Facts about the run recorded under `$meta`.
#[derive(Clone, Debug)]
pub struct RunMeta {
    /// Backend name.
    pub backend: String,
    /// Engine description, e.g. `{"engine": "torch", "version": "2.13.0"}`.
    pub backend_info: Value,
    /// Intra-op threads the backend used.
    pub threads: usize,
    /// Length of the input audio in seconds.
    pub audio_seconds: f64,
    /// Where the audio came from (`signal:N` or a path).
    pub audio_source: String,
    /// Untimed runs per stage.
    pub warmup: usize,
    /// Timed runs per stage.
    pub repeat: usize,
    /// Isolated mode reference, if any.
    pub inputs_from: Option<String>,
    /// The engine's version for the fingerprint (e.g. torch `2.13.0`).
    pub engine_version: Option<String>,
}

/// The sum of every stage's load time.
pub const TOTAL_LOAD: &str = "total_load_sec";
/// The process's peak resident memory over the whole run (the design's "Memory peak").
pub const PROCESS_PEAK: &str = "memory_peak_mb";

/// A stage's own metrics: timed runs, load time, and the memory it added to the process
/// (its peak over what the process held before it).
pub fn stage_metric_keys(stage: &str) -> [String; 3] {
    [
        format!("{stage}_sec"),
        format!("{stage}_load_sec"),
        format!("{stage}_mem_increase_mb"),
    ]
}

/// The first clash between two stages' metric keys, or a stage's and a total's, as a
/// message for the spec's validation: a clash would let one figure overwrite another.
pub fn metric_collision<'a>(stages: impl IntoIterator<Item = &'a str>) -> Option<String> {
    let mut owner: std::collections::HashMap<String, String> = [TOTAL_LOAD, PROCESS_PEAK]
        .into_iter()
        .map(|k| (k.to_string(), String::new()))
        .collect();
    for stage in stages {
        for key in stage_metric_keys(stage) {
            match owner.get(&key) {
                Some(other) if other.is_empty() => {
                    return Some(format!(
                        "stage `{stage}` would report `{key}`, the name of a run-wide total; rename the stage"
                    ))
                }
                Some(other) => {
                    return Some(format!(
                        "stages `{other}` and `{stage}` would both report `{key}`; rename one of them"
                    ))
                }
                None => {
                    owner.insert(key, stage.to_string());
                }
            }
        }
    }
    None
}

/// The metrics object for one backend.
pub fn backend_metrics(outcome: &RunOutcome) -> Map<String, Value> {
    let mut m = Map::new();
    for stage in &outcome.stages {
        let [sec, load, mem] = stage_metric_keys(&stage.name);
        m.insert(sec, json!(stage.samples));
        m.insert(load, json!(stage.load_sec));
        if let Some(added) = stage.memory_increase_bytes {
            m.insert(mem, json!(round3(to_mb(added))));
        }
    }
    let total_load: f64 = outcome.stages.iter().map(|s| s.load_sec).sum();
    m.insert(TOTAL_LOAD.into(), json!(total_load));
    m.insert(
        PROCESS_PEAK.into(),
        json!(round3(to_mb(outcome.process_peak_bytes))),
    );
    m
}

/// The complete results document one runner process writes.
pub fn results_json(outcome: &RunOutcome, meta: &RunMeta) -> Value {
    let stages: Vec<Value> = outcome
        .stages
        .iter()
        .map(|s| {
            json!({
                "name": s.name,
                "artifact": s.artifact.display().to_string(),
                "inputs": s.inputs,
                "samples": s.samples.len(),
                "implementation": s.implementation,
                // The stage window's own peak, for reading `_mem_increase_mb`: it
                // includes what the process held before the stage.
                "window_peak_mb": s.peak_bytes.map(|b| round3(to_mb(b))),
            })
        })
        .collect();
    let mut backend_info = meta.backend_info.clone();
    if let Value::Object(info) = &mut backend_info {
        info.insert("stages".into(), json!(stages));
        info.insert("skipped_stages".into(), json!(outcome.skipped));
        let not_run: Map<String, Value> = outcome
            .not_run
            .iter()
            .map(|(s, why)| (s.clone(), json!(why)))
            .collect();
        info.insert("not_run".into(), Value::Object(not_run));
        info.insert("from_reference".into(), json!(outcome.from_reference));
        if let Some(reference) = &meta.inputs_from {
            info.insert("inputs_from".into(), json!(reference));
        }
    }
    let mut fingerprint = fingerprint();
    // Part of the fingerprint: numbers made under other allocator or thread settings are
    // another testbed's (src/bench/fingerprint.rs).
    let settings = super::settings::in_effect(meta.threads);
    if let Value::Object(f) = &mut fingerprint {
        f.insert("run_settings".into(), settings.clone());
    }
    if let (Some(v), Value::Object(f)) = (&meta.engine_version, &mut fingerprint) {
        let engine = engine_key(&meta.backend_info);
        // `tools` is where the benchmark phase keeps tool versions; the top-level key is
        // the documented producer contract.
        f.insert(engine.into(), json!(v));
        f.insert("tools".into(), json!({ engine: v }));
    }
    let mut doc = Map::new();
    doc.insert(
        META.into(),
        json!({
            "fingerprint": fingerprint,
            "stages": outcome.stages.iter().map(|s| s.name.clone()).collect::<Vec<_>>(),
            "threads": meta.threads,
            "run_settings": settings,
            "audio_seconds": meta.audio_seconds,
            "audio_source": meta.audio_source,
            "warmup": meta.warmup,
            "repeat": meta.repeat,
            "memory_method": memory::method(),
            "backends": {meta.backend.clone(): backend_info},
        }),
    );
    doc.insert(
        meta.backend.clone(),
        Value::Object(backend_metrics(outcome)),
    );
    Value::Object(doc)
}

fn engine_key(info: &Value) -> &str {
    match info.get("engine").and_then(Value::as_str) {
        Some("coreml") => "coreml",
        _ => "torch",
    }
}

/// The machine the numbers came from: compare baselines only across equal fingerprints.
pub fn fingerprint() -> Value {
    json!({
        "os": std::env::consts::OS,
        "arch": std::env::consts::ARCH,
        "cpu": cpu_model(),
        "cpus": std::thread::available_parallelism().map(usize::from).unwrap_or(1),
        // Not `runner`: the benchmark phase uses that for the CI runner image.
        "stage_runner": env!("CARGO_PKG_VERSION"),
    })
}

fn cpu_model() -> String {
    if cfg!(target_os = "macos") {
        let out = std::process::Command::new("sysctl")
            .args(["-n", "machdep.cpu.brand_string"])
            .output();
        if let Ok(o) = out {
            return String::from_utf8_lossy(&o.stdout).trim().to_string();
        }
    }
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|v| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".into())
}

fn round3(x: f64) -> f64 {
    (x * 1000.0).round() / 1000.0
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn stage_keys_never_overwrite_each_other_or_a_total() {
        assert_eq!(metric_collision(["stft", "model", "istft"]), None);
        let total = metric_collision(["stft", "total"]).unwrap();
        assert!(total.contains("`total_load_sec`"), "{total}");
        let pair = metric_collision(["a", "a_load"]).unwrap();
        assert!(pair.contains("`a` and `a_load`"), "{pair}");
    }

    #[test]
    fn a_stage_named_model_keeps_its_own_load_time() {
        use super::super::schedule::{RunOutcome, StageTiming};
        let stage = |name: &str, load_sec: f64| StageTiming {
            name: name.into(),
            artifact: "m".into(),
            load_sec,
            samples: vec![0.5],
            peak_bytes: Some(300 << 20),
            memory_increase_bytes: Some(100 << 20),
            inputs: vec![],
            implementation: String::new(),
        };
        let outcome = RunOutcome {
            stages: vec![stage("stft", 0.25), stage("model", 2.0)],
            process_peak_bytes: 900 << 20,
            ..Default::default()
        };
        let m = backend_metrics(&outcome);
        assert_eq!(m["model_load_sec"], json!(2.0));
        assert_eq!(m["total_load_sec"], json!(2.25));
        assert_eq!(m["model_mem_increase_mb"], json!(100.0));
        assert_eq!(m["memory_peak_mb"], json!(900.0));
        assert!(!m.contains_key("model_peak_mb"));
    }
}

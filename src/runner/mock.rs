//! A deterministic in-memory backend and the scheduler's tests, run without any engine linked.
//!
//! Artifacts are text files naming an operation (`double`, `sum`, `split`, `fail`), so the
//! tests exercise loading, chaining, isolation, shape checks, capture and error naming
//! exactly as the torch and CoreML backends go through them.

#![allow(clippy::unwrap_used)] // test-only module: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::array::ArrayF32;
use super::error::RunnerError;
use super::schedule::{run_pipeline, Backend, RunPlan};
use super::spec::{PipelineSpec, StageSpec};

pub(super) struct Mock;

fn map(a: &ArrayF32, f: impl Fn(f32) -> f32) -> ArrayF32 {
    ArrayF32::new(a.shape().to_vec(), a.data().iter().map(|v| f(*v)).collect()).unwrap()
}

impl Backend for Mock {
    type Module = String;
    type Value = ArrayF32;
    type Prepared = Vec<ArrayF32>;

    fn load(&mut self, artifact: &Path, _stage: &StageSpec) -> Result<String, String> {
        std::fs::read_to_string(artifact)
            .map(|s| s.trim().to_string())
            .map_err(|e| e.to_string())
    }
    fn upload(&mut self, array: &ArrayF32) -> Result<ArrayF32, String> {
        Ok(array.clone())
    }
    fn shape(&self, value: &ArrayF32) -> Vec<usize> {
        value.shape().to_vec()
    }
    fn prepare(&mut self, _m: &mut String, inputs: &[&ArrayF32]) -> Result<Vec<ArrayF32>, String> {
        Ok(inputs.iter().map(|a| (*a).clone()).collect())
    }
    fn run(&mut self, op: &mut String, x: &Vec<ArrayF32>) -> Result<Vec<ArrayF32>, String> {
        match op.as_str() {
            "double" => Ok(vec![map(&x[0], |v| 2.0 * v)]),
            "split" => Ok(vec![x[0].clone(), map(&x[0], |v| -v)]),
            "sum" => {
                let data = x[0]
                    .data()
                    .iter()
                    .zip(x[1].data())
                    .map(|(a, b)| a + b)
                    .collect();
                Ok(vec![ArrayF32::new(x[0].shape().to_vec(), data).unwrap()])
            }
            other => Err(format!("mock op `{other}` failed")),
        }
    }
    fn download(&mut self, value: &ArrayF32) -> Result<ArrayF32, String> {
        Ok(value.clone())
    }
}

const SPEC: &str = "sample_rate: 8\nchannels: 1\nbackends: {mock: {engine: torch}, other: {engine: torch}}\nstages:
  - {name: a, inputs: [{name: x, from: audio, shape: [1, 1, -1]}], outputs: [y], artifacts: {mock: a.op}}
  - {name: b, inputs: [a.y], outputs: [p, n], artifacts: {mock: b.op}}
  - {name: c, inputs: [b.p, b.n], outputs: [z], artifacts: {mock: c.op, other: c.op}}
";

fn setup(ops: [&str; 3]) -> (tempfile::TempDir, PipelineSpec) {
    let dir = tempfile::tempdir().unwrap();
    for (name, op) in ["a", "b", "c"].iter().zip(ops) {
        std::fs::write(dir.path().join(format!("{name}.op")), op).unwrap();
    }
    let path = dir.path().join("pipeline.yml");
    std::fs::write(&path, SPEC).unwrap();
    let spec = PipelineSpec::load(&path).unwrap();
    (dir, spec)
}

fn plan(backend: &str, inputs_from: Option<BTreeMap<String, ArrayF32>>) -> RunPlan {
    RunPlan {
        backend: backend.into(),
        warmup: 1,
        repeat: 3,
        capture: true,
        inputs_from: inputs_from.map(|r| (PathBuf::from("ref.npz"), r)),
        audio_source: PathBuf::from("signal"),
    }
}

fn audio() -> ArrayF32 {
    ArrayF32::new(vec![1, 1, 4], vec![1.0, 2.0, 3.0, 4.0]).unwrap()
}

#[test]
fn chained_run_times_every_repetition_and_captures_in_order() {
    let (_dir, spec) = setup(["double", "split", "sum"]);
    let out = run_pipeline(&mut Mock, &spec, &plan("mock", None), &audio()).unwrap();
    let names: Vec<&str> = out.captured.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["audio", "a.y", "b.p", "b.n", "c.z"]);
    assert_eq!(out.captured[1].1.data(), &[2.0, 4.0, 6.0, 8.0]);
    assert_eq!(out.captured[4].1.data(), &[0.0; 4]);
    assert!(out
        .stages
        .iter()
        .all(|s| s.samples.len() == 3 && s.load_sec >= 0.0));
}

#[test]
fn isolated_run_feeds_reference_inputs() {
    let (_dir, spec) = setup(["double", "split", "sum"]);
    let mut reference = BTreeMap::new();
    reference.insert("audio".into(), audio());
    reference.insert("a.y".into(), map(&audio(), |v| v + 100.0));
    reference.insert("b.p".into(), audio());
    reference.insert("b.n".into(), audio());
    let out = run_pipeline(&mut Mock, &spec, &plan("mock", Some(reference)), &audio()).unwrap();
    let get = |k: &str| out.captured.iter().find(|(n, _)| n == k).unwrap().1.clone();
    // b got the reference's a.y (101..104), not this run's (2..8).
    assert_eq!(get("b.p").data(), &[101.0, 102.0, 103.0, 104.0]);
    assert_eq!(get("c.z").data(), &[2.0, 4.0, 6.0, 8.0]);
}

#[test]
fn missing_upstream_stage_suggests_isolated_mode() {
    let (_dir, spec) = setup(["double", "split", "sum"]);
    let err = run_pipeline(&mut Mock, &spec, &plan("other", None), &audio()).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("stage `c`") && msg.contains("--inputs-from"),
        "{msg}"
    );
}

#[test]
fn errors_name_stage_and_file() {
    let (dir, spec) = setup(["double", "fail", "sum"]);
    let msg = run_pipeline(&mut Mock, &spec, &plan("mock", None), &audio())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("stage `b`") && msg.contains("b.op") && msg.contains("failed"),
        "{msg}"
    );

    let (_d, spec) = setup(["double", "double", "sum"]);
    let msg = run_pipeline(&mut Mock, &spec, &plan("mock", None), &audio())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("returned 1 output(s) but the spec lists 2"),
        "{msg}"
    );

    std::fs::remove_file(dir.path().join("a.op")).unwrap();
    let err = run_pipeline(&mut Mock, &spec_in(&dir), &plan("mock", None), &audio()).unwrap_err();
    assert!(
        matches!(&err, RunnerError::Stage { stage, file, .. } if stage == "a" && file.ends_with("a.op"))
    );
    assert_eq!(err.exit_code(), 2);
}

#[test]
fn wrong_input_shape_names_the_reference_file() {
    let (_dir, spec) = setup(["double", "split", "sum"]);
    let stereo = ArrayF32::new(vec![1, 2, 2], vec![0.0; 4]).unwrap();
    let reference = BTreeMap::from([("audio".to_string(), stereo)]);
    let msg = run_pipeline(&mut Mock, &spec, &plan("mock", Some(reference)), &audio())
        .unwrap_err()
        .to_string();
    assert!(
        msg.contains("stage `a`") && msg.contains("ref.npz") && msg.contains("[1, 1, *]"),
        "{msg}"
    );
}

fn spec_in(dir: &tempfile::TempDir) -> PipelineSpec {
    PipelineSpec::load(&dir.path().join("pipeline.yml")).unwrap()
}

/// Counts the outputs alive when each run starts, to show a repetition's outputs are freed
/// before the next repetition runs (as in a Python loop that drops an unused result).
struct Tracking {
    live: std::rc::Rc<std::cell::Cell<usize>>,
    /// Live outputs at the start of each run, per module.
    seen: Vec<(String, usize)>,
}

struct Tracked {
    array: ArrayF32,
    live: std::rc::Rc<std::cell::Cell<usize>>,
}

impl Drop for Tracked {
    fn drop(&mut self) {
        self.live.set(self.live.get() - 1);
    }
}

impl Tracking {
    fn track(&self, array: ArrayF32) -> Tracked {
        self.live.set(self.live.get() + 1);
        Tracked {
            array,
            live: self.live.clone(),
        }
    }
}

impl Backend for Tracking {
    type Module = String;
    type Value = Tracked;
    type Prepared = Vec<ArrayF32>;

    fn load(&mut self, artifact: &Path, stage: &StageSpec) -> Result<String, String> {
        Mock.load(artifact, stage)
    }

    fn upload(&mut self, array: &ArrayF32) -> Result<Tracked, String> {
        Ok(self.track(array.clone()))
    }

    fn shape(&self, value: &Tracked) -> Vec<usize> {
        value.array.shape().to_vec()
    }

    fn prepare(&mut self, _m: &mut String, inputs: &[&Tracked]) -> Result<Vec<ArrayF32>, String> {
        Ok(inputs.iter().map(|t| t.array.clone()).collect())
    }

    fn run(&mut self, op: &mut String, x: &Vec<ArrayF32>) -> Result<Vec<Tracked>, String> {
        self.seen.push((op.clone(), self.live.get()));
        let out = Mock.run(op, x)?;
        Ok(out.into_iter().map(|a| self.track(a)).collect())
    }

    fn download(&mut self, value: &Tracked) -> Result<ArrayF32, String> {
        Ok(value.array.clone())
    }
}

#[test]
fn a_repetition_frees_its_outputs_before_the_next_one_runs() {
    let (_dir, spec) = setup(["double", "split", "sum"]);
    let mut backend = Tracking {
        live: Default::default(),
        seen: Vec::new(),
    };
    let out = run_pipeline(&mut backend, &spec, &plan("mock", None), &audio()).unwrap();
    assert_eq!(out.stages.len(), 3);
    for op in ["double", "split", "sum"] {
        let counts: Vec<usize> = backend
            .seen
            .iter()
            .filter(|(o, _)| o == op)
            .map(|(_, n)| *n)
            .collect();
        // warm-up 1 + repeat 3, each starting with only the upstream values alive.
        assert_eq!(counts.len(), 4, "{op}");
        assert!(counts.iter().all(|&n| n == counts[0]), "{op}: {counts:?}");
    }
}

//! The run loop shared by every backend: load each stage, feed it, warm up, time repetitions,
//! record peak memory, and capture outputs.
//!
//! A backend only implements [`Backend`]: load an artifact, turn arrays into its native
//! values and back, and run a loaded module once. Everything measured is measured here, the
//! same way for every backend, so a difference between backends is the backends'. The timed
//! region is exactly one `Backend::run` call: converting inputs (`prepare`) and reading
//! outputs back (`download`) happen outside it, as they would in a Python `timeit` loop that
//! reuses its input tensors.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::array::ArrayF32;
use super::error::RunnerError;
use super::memory::MemoryProbe;
use super::spec::{PipelineSpec, StageSpec, AUDIO};

/// One engine (libtorch, CoreML, or a test double) seen through the runner.
pub trait Backend {
    /// A loaded artifact.
    type Module;
    /// The engine's tensor type.
    type Value;
    /// Inputs bound for one module, ready to run repeatedly.
    type Prepared;

    /// Loads one stage's artifact (timed as `<stage>_load_sec`).
    fn load(&mut self, artifact: &Path, stage: &StageSpec) -> Result<Self::Module, String>;
    /// Converts an array (audio, a reference input) into an engine value.
    fn upload(&mut self, array: &ArrayF32) -> Result<Self::Value, String>;
    /// The shape of an engine value, to check against the spec before running.
    fn shape(&self, value: &Self::Value) -> Vec<usize>;
    /// Binds inputs for repeated runs (not timed).
    fn prepare(
        &mut self,
        module: &mut Self::Module,
        inputs: &[&Self::Value],
    ) -> Result<Self::Prepared, String>;
    /// Runs the module once (timed), returning its outputs in spec order.
    fn run(
        &mut self,
        module: &mut Self::Module,
        prepared: &Self::Prepared,
    ) -> Result<Vec<Self::Value>, String>;
    /// Converts an engine value back into an array (for capture).
    fn download(&mut self, value: &Self::Value) -> Result<ArrayF32, String>;
}

/// What to run and how often.
#[derive(Clone, Debug)]
pub struct RunPlan {
    /// Backend name: selects each stage's artifact.
    pub backend: String,
    /// Untimed runs before the timed ones (lets JIT profiling and caches settle).
    pub warmup: usize,
    /// Timed runs per stage (at least 1).
    pub repeat: usize,
    /// Keep every stage output for an `.npz`.
    pub capture: bool,
    /// Isolated mode: feed every stage its inputs from this reference capture.
    pub inputs_from: Option<(PathBuf, BTreeMap<String, ArrayF32>)>,
    /// Where the audio came from, for error messages.
    pub audio_source: PathBuf,
}

/// Measurements of one stage on one backend.
#[derive(Clone, Debug)]
pub struct StageTiming {
    /// Stage name.
    pub name: String,
    /// The artifact that ran.
    pub artifact: PathBuf,
    /// Seconds to load the artifact.
    pub load_sec: f64,
    /// Seconds per timed repetition, in order.
    pub samples: Vec<f64>,
    /// High-water mark of resident memory during load and runs, where measurable.
    pub peak_bytes: Option<u64>,
    /// That peak over what the process held before the stage: the memory the stage added.
    pub memory_increase_bytes: Option<u64>,
    /// Where each input came from (`audio` or `<stage>.<output>`), in model order.
    pub inputs: Vec<String>,
}

/// Everything one backend's run produced.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// Stages that ran, in order.
    pub stages: Vec<StageTiming>,
    /// Stages skipped because the backend has no artifact for them.
    pub skipped: Vec<String>,
    /// Captured arrays, `audio` first, then `<stage>.<output>` in run order.
    pub captured: Vec<(String, ArrayF32)>,
    /// Process peak resident memory, bytes.
    pub process_peak_bytes: u64,
}

/// Runs every stage of `spec` on `backend` with `audio` as the `audio` input.
pub fn run_pipeline<B: Backend>(
    backend: &mut B,
    spec: &PipelineSpec,
    plan: &RunPlan,
    audio: &ArrayF32,
) -> Result<RunOutcome, RunnerError> {
    if plan.repeat == 0 {
        return Err(RunnerError::Usage("--repeat must be at least 1".into()));
    }
    let mut probe = MemoryProbe::new();
    let mut outcome = RunOutcome::default();
    // Values this backend produced, by `<stage>.<output>`; also where each came from.
    let mut values: HashMap<String, (B::Value, PathBuf)> = HashMap::new();
    let uploaded = backend.upload(audio).map_err(|m| {
        RunnerError::Usage(format!(
            "{}: cannot load the audio: {m}",
            plan.audio_source.display()
        ))
    })?;
    values.insert(AUDIO.to_string(), (uploaded, plan.audio_source.clone()));
    if plan.capture {
        outcome.captured.push((AUDIO.to_string(), audio.clone()));
    }
    for stage in &spec.stages {
        let Some(artifact) = spec.artifact(stage, &plan.backend) else {
            outcome.skipped.push(stage.name.clone());
            continue;
        };
        if !artifact.is_file() {
            return Err(RunnerError::stage(
                &stage.name,
                &artifact,
                format!(
                    "artifact not found for backend `{}`; build it first (for the example: `make setup`), \
                     or fix the path under `artifacts:` in {}",
                    plan.backend,
                    spec.path.display()
                ),
            ));
        }
        let isolated = isolated_inputs(backend, stage, plan)?;
        let inputs: Vec<&B::Value> = match &isolated {
            Some(owned) => owned.iter().collect(),
            None => chained_inputs(backend, stage, &values, spec)?,
        };
        let reset_ok = probe.begin_stage();
        let stage_err = |m: String| RunnerError::stage(&stage.name, &artifact, m);
        let started = Instant::now();
        let mut module = backend
            .load(&artifact, stage)
            .map_err(|m| stage_err(format!("cannot load the artifact: {m}")))?;
        let load_sec = started.elapsed().as_secs_f64();
        let prepared = backend
            .prepare(&mut module, &inputs)
            .map_err(|m| stage_err(format!("cannot bind the inputs: {m}")))?;
        let mut samples = Vec::with_capacity(plan.repeat);
        let mut last = Vec::new();
        let runs = plan.warmup + plan.repeat;
        for i in 0..runs {
            let t0 = Instant::now();
            let out = backend.run(&mut module, &prepared);
            let dt = t0.elapsed().as_secs_f64();
            let out = out.map_err(|m| stage_err(format!("running the model failed: {m}")))?;
            if i >= plan.warmup {
                samples.push(dt);
            }
            // Only the last run's outputs are kept. Every other run's are freed here,
            // before the next run starts, as a Python loop drops an unused result: the
            // engine can reuse that memory, and the stage's peak holds one set of outputs.
            if i + 1 == runs {
                last = out;
            }
        }
        let peak_bytes = probe.stage_peak(reset_ok);
        let memory_increase_bytes = probe.increase(peak_bytes);
        // Free the module and bound inputs before the next stage, so its peak is its own.
        drop(prepared);
        drop(module);
        drop(isolated);
        if last.len() != stage.outputs.len() {
            return Err(stage_err(format!(
                "the model returned {} output(s) but the spec lists {} ({}); fix `outputs:` in {}",
                last.len(),
                stage.outputs.len(),
                stage.outputs.join(", "),
                spec.path.display()
            )));
        }
        for (name, value) in stage.outputs.iter().zip(last) {
            let key = format!("{}.{name}", stage.name);
            if plan.capture {
                let array = backend
                    .download(&value)
                    .map_err(|m| stage_err(format!("cannot read output `{name}`: {m}")))?;
                outcome.captured.push((key.clone(), array));
            }
            values.insert(key, (value, artifact.clone()));
        }
        outcome.stages.push(StageTiming {
            name: stage.name.clone(),
            artifact,
            load_sec,
            samples,
            peak_bytes,
            memory_increase_bytes,
            inputs: stage.inputs.iter().map(|i| i.from.clone()).collect(),
        });
    }
    outcome.process_peak_bytes = probe.process_peak();
    Ok(outcome)
}

/// Chained mode: inputs are this backend's own upstream outputs (or the audio).
fn chained_inputs<'v, B: Backend>(
    backend: &B,
    stage: &StageSpec,
    values: &'v HashMap<String, (B::Value, PathBuf)>,
    spec: &PipelineSpec,
) -> Result<Vec<&'v B::Value>, RunnerError> {
    let mut inputs = Vec::with_capacity(stage.inputs.len());
    for input in &stage.inputs {
        let Some((value, source)) = values.get(&input.from) else {
            return Err(RunnerError::stage(
                &stage.name,
                &spec.path,
                format!(
                    "input `{}` comes from `{}`, which this backend did not produce (no artifact for that stage); \
                     run in isolated mode with `--inputs-from REF.npz`",
                    input.name, input.from
                ),
            ));
        };
        check_shape(
            stage,
            &input.name,
            &input.from,
            &backend.shape(value),
            input.shape.as_ref(),
            source,
        )?;
        inputs.push(value);
    }
    Ok(inputs)
}

/// Isolated mode: inputs come from the reference capture (the audio too, when it has one).
fn isolated_inputs<B: Backend>(
    backend: &mut B,
    stage: &StageSpec,
    plan: &RunPlan,
) -> Result<Option<Vec<B::Value>>, RunnerError> {
    let Some((ref_path, reference)) = &plan.inputs_from else {
        return Ok(None);
    };
    let mut inputs = Vec::with_capacity(stage.inputs.len());
    for input in &stage.inputs {
        let Some(array) = reference.get(&input.from) else {
            let known: Vec<&str> = reference.keys().map(String::as_str).collect();
            return Err(RunnerError::stage(
                &stage.name,
                ref_path,
                format!(
                    "the reference has no array `{}` for input `{}` (it has: {}); capture it with `--capture` \
                     on a run that includes the producing stage",
                    input.from,
                    input.name,
                    known.join(", ")
                ),
            ));
        };
        check_shape(
            stage,
            &input.name,
            &input.from,
            array.shape(),
            input.shape.as_ref(),
            ref_path,
        )?;
        let value = backend.upload(array).map_err(|m| {
            RunnerError::stage(
                &stage.name,
                ref_path,
                format!("cannot load `{}`: {m}", input.from),
            )
        })?;
        inputs.push(value);
    }
    Ok(Some(inputs))
}

fn check_shape(
    stage: &StageSpec,
    name: &str,
    from: &str,
    shape: &[usize],
    want: Option<&super::array::ShapePattern>,
    source: &Path,
) -> Result<(), RunnerError> {
    match want {
        Some(pattern) if !pattern.matches(shape) => Err(RunnerError::stage(
            &stage.name,
            source,
            format!(
                "input `{name}` (from `{from}`) has shape {shape:?} but the spec expects {pattern}; \
                 check that the input matches this pipeline"
            ),
        )),
        _ => Ok(()),
    }
}

/// Median of samples (mean of the middle two for even counts); `None` when empty.
pub fn median(samples: &[f64]) -> Option<f64> {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    let n = sorted.len();
    match n {
        0 => None,
        _ if n % 2 == 1 => Some(sorted[n / 2]),
        _ => Some((sorted[n / 2 - 1] + sorted[n / 2]) / 2.0),
    }
}

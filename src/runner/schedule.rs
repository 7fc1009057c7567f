//! The run loop shared by every backend: load each stage, feed it, warm up, time repetitions,
//! record peak memory, and capture outputs.
//!
//! A backend only implements [`Backend`]: load an artifact, turn arrays into its native
//! values and back, and run a loaded module once. Everything measured is measured here, the
//! same way for every backend, so a difference between backends is the backends'. The timed
//! region is exactly one `Backend::run` call: converting inputs (`prepare`) and reading
//! outputs back (`download`) happen outside it, as they would in a Python `timeit` loop that
//! reuses its input tensors. Which stages run and how (model, external command, shared,
//! not at all) is decided in `route.rs`; external commands run in `external.rs`.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::array::{Array, ArrayF32, DType};
use super::declare::{self, Seen};
use super::error::RunnerError;
use super::feed::{command_stage, fill_from_reference};
use super::memory::MemoryProbe;
use super::route::{route, Route, StageRouting};
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
    /// Converts an array (audio, a reference input) into an engine value of its dtype.
    fn upload(&mut self, array: &Array) -> Result<Self::Value, String>;
    /// The shape of an engine value, to check against the spec before running.
    fn shape(&self, value: &Self::Value) -> Vec<usize>;
    /// The dtype of an engine value, to check against the spec.
    fn dtype(&self, value: &Self::Value) -> Result<DType, String>;
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
    /// Converts an engine value back into an array of its dtype (for capture).
    fn download(&mut self, value: &Self::Value) -> Result<Array, String>;
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
    pub inputs_from: Option<(PathBuf, BTreeMap<String, Array>)>,
    /// Where the audio came from, for error messages.
    pub audio_source: PathBuf,
    /// Stage selection, and where values of stages this backend does not run come from.
    pub routing: StageRouting,
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
    /// How it was computed: `model`, `command` or `shared:<backend>`.
    pub implementation: String,
}

/// Everything one backend's run produced.
#[derive(Debug, Default)]
pub struct RunOutcome {
    /// Stages that ran, in order.
    pub stages: Vec<StageTiming>,
    /// Stages this backend did not run (skipped, shared by another backend, deselected).
    pub skipped: Vec<String>,
    /// Each stage not run and why, in spec order.
    pub not_run: Vec<(String, String)>,
    /// Arrays taken from the `--shared-from` capture to feed this backend's stages.
    pub from_reference: Vec<String>,
    /// Captured arrays, `audio` first, then `<stage>.<output>` in run order.
    pub captured: Vec<(String, Array)>,
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
    plan.routing.check(spec)?;
    let mut probe = MemoryProbe::new();
    let mut outcome = RunOutcome::default();
    // Values this backend produced, by `<stage>.<output>`; also where each came from.
    let mut values: HashMap<String, (B::Value, PathBuf)> = HashMap::new();
    let audio = Array::from_f32(audio);
    let uploaded = backend.upload(&audio).map_err(|m| {
        RunnerError::Usage(format!(
            "{}: cannot load the audio: {m}",
            plan.audio_source.display()
        ))
    })?;
    values.insert(AUDIO.to_string(), (uploaded, plan.audio_source.clone()));
    if plan.capture {
        outcome.captured.push((AUDIO.to_string(), audio));
    }
    let mut not_run: HashMap<String, String> = HashMap::new();
    for stage in &spec.stages {
        let reference_fed = stage.inputs.iter().all(|i| {
            i.from == AUDIO || not_run.contains_key(i.from.split('.').next().unwrap_or_default())
        });
        let how = route(
            spec,
            stage,
            &plan.backend,
            &plan.routing,
            plan.inputs_from.is_some(),
            reference_fed,
        )?;
        let implementation = how.label();
        if let Route::NotRun(why) = &how {
            outcome.skipped.push(stage.name.clone());
            outcome.not_run.push((stage.name.clone(), why.clone()));
            not_run.insert(stage.name.clone(), why.clone());
            continue;
        }
        if plan.inputs_from.is_none() {
            fill_from_reference(backend, stage, plan, &not_run, &mut values, &mut outcome)?;
        }
        let artifact = match how {
            Route::NotRun(_) => continue,
            Route::Command { command, .. } => {
                let timing = command_stage(
                    backend,
                    spec,
                    stage,
                    command,
                    plan,
                    &mut values,
                    &mut outcome,
                )?;
                outcome.stages.push(StageTiming {
                    implementation,
                    ..timing
                });
                continue;
            }
            Route::Model { artifact, .. } => artifact,
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
        let isolated = isolated_inputs(backend, stage, plan, spec)?;
        let inputs: Vec<&B::Value> = match &isolated {
            Some(owned) => owned.iter().collect(),
            None => chained_inputs(backend, stage, &values, spec, &plan.backend)?,
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
            let dtype = backend.dtype(&value).map_err(&stage_err)?;
            let seen = Seen {
                what: format!("output `{name}`"),
                shape: &backend.shape(&value),
                dtype,
            };
            let declared = (name.shape.as_ref(), name.dtype.as_ref());
            declare::check(
                &stage.name,
                &artifact,
                &spec.path,
                &plan.backend,
                &seen,
                declared,
            )?;
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
            implementation,
        });
    }
    outcome.process_peak_bytes = probe.process_peak();
    Ok(outcome)
}

/// Chained mode: inputs are this backend's own upstream outputs (or the audio).
pub(super) fn chained_inputs<'v, B: Backend>(
    backend: &B,
    stage: &StageSpec,
    values: &'v HashMap<String, (B::Value, PathBuf)>,
    spec: &PipelineSpec,
    backend_name: &str,
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
        let dtype = backend
            .dtype(value)
            .map_err(|m| RunnerError::stage(&stage.name, source, m))?;
        check_input(
            stage,
            input,
            (&backend.shape(value), dtype),
            source,
            spec,
            backend_name,
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
    spec: &PipelineSpec,
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
        let seen = (array.shape(), array.dtype());
        check_input(stage, input, seen, ref_path, spec, &plan.backend)?;
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

pub(super) fn check_input(
    stage: &StageSpec,
    input: &super::spec::InputSpec,
    (shape, dtype): (&[usize], DType),
    source: &Path,
    spec: &PipelineSpec,
    backend: &str,
) -> Result<(), RunnerError> {
    let seen = Seen {
        what: format!("input `{}` (from `{}`)", input.name, input.from),
        shape,
        dtype,
    };
    let declared = (input.shape.as_ref(), input.dtype.as_ref());
    declare::check(&stage.name, source, &spec.path, backend, &seen, declared)
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

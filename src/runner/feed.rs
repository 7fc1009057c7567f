//! Feeding stages that are not this backend's own models: inputs taken from the reference
//! capture (`--shared-from`) when their producer did not run here, and external command
//! stages, whose arrays pass through files (`external.rs`).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use super::array::Array;
use super::error::RunnerError;
use super::external::{run_command, Repetitions};
use super::schedule::{chained_inputs, check_input, Backend, RunOutcome, RunPlan, StageTiming};
use super::spec::{PipelineSpec, StageSpec};
use super::stage_impl::CommandSpec;

/// Chained mode: an input whose producing stage this backend did not run is taken from the
/// `--shared-from` capture (uploaded once, kept for later consumers).
pub(super) fn fill_from_reference<B: Backend>(
    backend: &mut B,
    stage: &StageSpec,
    plan: &RunPlan,
    not_run: &HashMap<String, String>,
    values: &mut HashMap<String, (B::Value, PathBuf)>,
    outcome: &mut RunOutcome,
) -> Result<(), RunnerError> {
    for input in &stage.inputs {
        if values.contains_key(&input.from) {
            continue;
        }
        let producer = input.from.split('.').next().unwrap_or_default();
        let Some(why) = not_run.get(producer) else {
            continue;
        };
        let found = plan
            .routing
            .shared_from
            .as_ref()
            .map(|(path, arrays)| (path, arrays.get(&input.from)));
        let (path, array) = match found {
            Some((path, Some(array))) => (path, array),
            Some((path, None)) => {
                return Err(RunnerError::stage(
                    &stage.name,
                    path,
                    format!(
                        "input `{}` comes from `{}`, which backend `{}` did not compute ({why}), and this \
                         --shared-from capture has no such array; capture the reference with that stage included",
                        input.name, input.from, plan.backend
                    ),
                ))
            }
            None => {
                return Err(RunnerError::stage(
                    &stage.name,
                    &plan.audio_source,
                    format!(
                        "input `{}` comes from `{}`, which backend `{}` did not compute ({why}); pass \
                         `--shared-from REF.npz` (a capture of the reference backend) so this stage gets \
                         the reference's values, or run isolated with `--inputs-from REF.npz`",
                        input.name, input.from, plan.backend
                    ),
                ))
            }
        };
        let value = backend.upload(array).map_err(|m| {
            RunnerError::stage(
                &stage.name,
                path,
                format!("cannot load `{}`: {m}", input.from),
            )
        })?;
        values.insert(input.from.clone(), (value, path.clone()));
        outcome.from_reference.push(input.from.clone());
    }
    Ok(())
}

/// Runs a command stage: inputs handed over as arrays, outputs read back into the backend.
pub(super) fn command_stage<B: Backend>(
    backend: &mut B,
    spec: &PipelineSpec,
    stage: &StageSpec,
    command: &CommandSpec,
    plan: &RunPlan,
    values: &mut HashMap<String, (B::Value, PathBuf)>,
    outcome: &mut RunOutcome,
) -> Result<StageTiming, RunnerError> {
    let mut owned: BTreeMap<String, Array> = BTreeMap::new();
    match &plan.inputs_from {
        Some((ref_path, reference)) => {
            for input in &stage.inputs {
                let array = reference.get(&input.from).ok_or_else(|| {
                    RunnerError::stage(
                        &stage.name,
                        ref_path,
                        format!(
                            "the reference has no array `{}` for input `{}`",
                            input.from, input.name
                        ),
                    )
                })?;
                check_input(
                    stage,
                    input,
                    (array.shape(), array.dtype()),
                    ref_path,
                    spec,
                    &plan.backend,
                )?;
                owned.insert(input.name.clone(), array.clone());
            }
        }
        None => {
            let inputs = chained_inputs(backend, stage, values, spec, &plan.backend)?;
            for (input, value) in stage.inputs.iter().zip(inputs) {
                let array = backend.download(value).map_err(|m| {
                    RunnerError::stage(
                        &stage.name,
                        &spec.path,
                        format!("cannot read input `{}`: {m}", input.name),
                    )
                })?;
                owned.insert(input.name.clone(), array);
            }
        }
    }
    let borrowed: BTreeMap<String, &Array> = owned.iter().map(|(k, v)| (k.clone(), v)).collect();
    let reps = Repetitions {
        warmup: plan.warmup,
        repeat: plan.repeat,
        threads: plan.routing.threads,
    };
    let ran = run_command(spec, stage, command, &borrowed, reps)?;
    drop(borrowed);
    drop(owned);
    for (name, array) in stage.outputs.iter().zip(ran.outputs) {
        let key = format!("{}.{name}", stage.name);
        let value = backend.upload(&array).map_err(|m| {
            RunnerError::stage(
                &stage.name,
                &ran.program,
                format!("cannot load output `{name}`: {m}"),
            )
        })?;
        if plan.capture {
            outcome.captured.push((key.clone(), array));
        }
        values.insert(key, (value, ran.program.clone()));
    }
    Ok(StageTiming {
        name: stage.name.clone(),
        artifact: ran.program,
        load_sec: 0.0,
        samples: ran.samples,
        // The program's memory is its own process's, not this one's.
        peak_bytes: None,
        memory_increase_bytes: None,
        inputs: stage.inputs.iter().map(|i| i.from.clone()).collect(),
        implementation: String::new(),
    })
}

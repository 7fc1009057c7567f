//! Which stages a backend computes, and how: its own model, an external command, a shared
//! implementation, or not at all (skipped, deselected, shared from a capture).
//!
//! The decision is the same for every engine and kept apart from the timing loop
//! (`schedule.rs`). A stage this backend does not run feeds its consumers, in chained mode,
//! from the `--shared-from` capture of the reference backend: that is how a `shared:` stage
//! is "computed once" and how a skipped stage's consumers get the reference's values.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::array::Array;
use super::error::RunnerError;
use super::spec::{PipelineSpec, StageSpec};
use super::stage_impl::{CommandSpec, Implementation};

/// Stage selection and the source of values for stages this backend does not run.
#[derive(Clone, Debug, Default)]
pub struct StageRouting {
    /// Chained mode: a capture of the reference backend; outputs of stages this backend does
    /// not run come from here.
    pub shared_from: Option<(PathBuf, BTreeMap<String, Array>)>,
    /// Only these stages run (empty: every stage).
    pub only: Vec<String>,
    /// These stages do not run.
    pub skip: Vec<String>,
    /// Intra-op threads, also given to external commands (`None`: their default).
    pub threads: Option<usize>,
}

impl StageRouting {
    /// Checks that every selected stage exists; names the spec's stages otherwise.
    pub fn check(&self, spec: &PipelineSpec) -> Result<(), RunnerError> {
        for (flag, names) in [("--stage", &self.only), ("--skip-stage", &self.skip)] {
            if let Some(bad) = names
                .iter()
                .find(|n| !spec.stages.iter().any(|s| &s.name == *n))
            {
                return Err(RunnerError::Usage(format!(
                    "{flag} {bad}: {} has no such stage (its stages: {})",
                    spec.path.display(),
                    spec.stages
                        .iter()
                        .map(|s| s.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )));
            }
        }
        Ok(())
    }

    fn selected(&self, stage: &str) -> Result<(), String> {
        if !self.only.is_empty() && !self.only.iter().any(|s| s == stage) {
            return Err("not selected (--stage)".into());
        }
        if self.skip.iter().any(|s| s == stage) {
            return Err("deselected (--skip-stage)".into());
        }
        Ok(())
    }
}

/// What a backend does with one stage.
#[derive(Debug)]
pub enum Route<'s> {
    /// The backend's engine loads this model artifact.
    Model {
        /// The artifact, resolved against the spec's directory.
        artifact: PathBuf,
        /// Set when the artifact is another backend's `shared:` implementation.
        shared_by: Option<&'s str>,
    },
    /// An external command computes it.
    Command {
        /// The command.
        command: &'s CommandSpec,
        /// Set when the command is another backend's `shared:` implementation.
        shared_by: Option<&'s str>,
    },
    /// Not run on this backend, for this reason.
    NotRun(String),
}

impl Route<'_> {
    /// How the stage was computed, for the results (`model`, `command`, `shared:<backend>`).
    pub fn label(&self) -> String {
        match self {
            Route::Model {
                shared_by: Some(b), ..
            }
            | Route::Command {
                shared_by: Some(b), ..
            } => {
                format!("shared:{b}")
            }
            Route::Model { .. } => "model".into(),
            Route::Command { .. } => "command".into(),
            Route::NotRun(_) => "not run".into(),
        }
    }
}

/// Decides what `backend` does with `stage`; `isolated` when every input comes from a
/// reference capture, `reference_fed` when this stage's inputs equal the reference's (the
/// audio, or outputs of stages this backend took from the reference). A shared stage is
/// taken from `--shared-from` only then: downstream of this backend's own model it runs
/// the shared implementation on this backend's values.
pub fn route<'s>(
    spec: &'s PipelineSpec,
    stage: &'s StageSpec,
    backend: &str,
    routing: &StageRouting,
    isolated: bool,
    reference_fed: bool,
) -> Result<Route<'s>, RunnerError> {
    if let Err(why) = routing.selected(&stage.name) {
        return Ok(Route::NotRun(why));
    }
    let Some(owner) = stage.shared.as_deref() else {
        return Ok(implementation_of(spec, stage, backend));
    };
    if owner == backend {
        return Ok(implementation_of(spec, stage, backend));
    }
    let shared = format!("shared: backend `{owner}`'s implementation feeds every backend");
    if isolated {
        return Ok(Route::NotRun(shared));
    }
    if let Some((path, arrays)) = routing.shared_from.as_ref().filter(|_| reference_fed) {
        if stage
            .outputs
            .iter()
            .all(|o| arrays.contains_key(&format!("{}.{o}", stage.name)))
        {
            return Ok(Route::NotRun(format!(
                "{shared}; its outputs come from {}",
                path.display()
            )));
        }
    }
    let same_engine =
        spec.backends.get(owner).map(|b| b.engine) == spec.backends.get(backend).map(|b| b.engine);
    match implementation_of(spec, stage, owner) {
        Route::Command { command, .. } => Ok(Route::Command {
            command,
            shared_by: Some(owner),
        }),
        Route::Model { artifact, .. } if same_engine => Ok(Route::Model {
            artifact,
            shared_by: Some(owner),
        }),
        _ => Err(RunnerError::stage(
            &stage.name,
            &spec.path,
            format!(
                "the stage is `shared: {owner}`, whose model this backend's engine cannot load; {}",
                if reference_fed {
                    format!("pass `--shared-from` a capture of backend `{owner}` (`parity run` does) so its outputs are taken from there")
                } else {
                    "its inputs are this backend's own outputs, so it must run here: give the shared \
                     implementation as a `command:` (it runs in any backend's process), or run isolated"
                        .to_string()
                }
            ),
        )),
    }
}

fn implementation_of<'s>(spec: &'s PipelineSpec, stage: &'s StageSpec, backend: &str) -> Route<'s> {
    match stage.artifacts.get(backend) {
        Some(Implementation::Artifact(p)) => Route::Model {
            artifact: spec.base_dir.join(p),
            shared_by: None,
        },
        Some(Implementation::Command(command)) => Route::Command {
            command,
            shared_by: None,
        },
        Some(Implementation::Skip { skip }) => Route::NotRun(format!("skipped: {skip}")),
        None => Route::NotRun(format!(
            "no implementation for backend `{backend}` under `artifacts:`"
        )),
    }
}

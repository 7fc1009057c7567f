//! The stage runner's backend-independent half: spec, inputs, scheduling, measurement, output.
//!
//! `htdemucs-stage-runner` (src/bin/stage_runner) links a backend (tch, Core ML) and
//! implements [`schedule::Backend`]; everything else a run needs lives here, compiled into
//! the library without any backend so it is testable anywhere and the main binary can call
//! [`run_stage_runner`] without linking libtorch.

pub mod array;
pub mod declare;
pub mod error;
pub mod external;
mod feed;
pub mod libtorch;
pub mod memory;
#[cfg(test)]
mod mock;
pub mod npz;
pub mod provision;
pub mod results;
pub mod route;
#[cfg(test)]
mod route_tests;
pub mod schedule;
pub mod segment;
pub mod segment_run;
pub mod settings;
pub mod signal;
pub mod spawn;
pub mod spec;
mod spec_checks;
pub mod stage_impl;
pub mod strided;
pub mod wav;

pub use array::{Array, ArrayF32, DType, ShapePattern};
pub use error::{RunnerError, EXIT_BAD_INPUT};
pub use results::{merge_results, results_json, RunMeta, META};
pub use route::StageRouting;
pub use schedule::{run_pipeline, Backend, RunOutcome, RunPlan, StageTiming};
pub use segment::Segmenting;
pub use segment_run::run_segmented;
pub use spawn::{locate_runner, run_stage_runner, AudioSource, RunnerInvocation, SpawnError};
pub use spec::{BackendSpec, ComputeUnits, Engine, PipelineSpec, StageSpec};

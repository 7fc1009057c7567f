//! Integration tests of `htdemucs-stage-runner` through its binary, on the htdemucs-mini example.

#![allow(clippy::unwrap_used)] // a failed unwrap is a failed test

mod common;
#[cfg(all(target_os = "macos", feature = "coreml"))]
mod coreml_runs;
#[cfg(feature = "torch")]
mod dtypes;
mod errors;
mod linking;
#[cfg(feature = "torch")]
mod outside_stages;
#[cfg(feature = "torch")]
mod segmented;
#[cfg(feature = "torch")]
mod torch_runs;

//! The Core ML backend compiled on its own against the shim of the runner types.
#[path = "../../../../../src/bin/stage_runner/coreml.rs"]
mod coreml;

fn main() {
    let _ = coreml::CoremlBackend::new(htdemucs_devops::runner::ComputeUnits::All);
}

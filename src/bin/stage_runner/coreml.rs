//! The CoreML backend (macOS only): `.mlpackage`/`.mlmodelc` models through coreml-rs.
//!
//! Deliberately thin: load with the requested compute units, bind inputs by the spec's input
//! names, predict, read outputs by the spec's output names. Timing, memory, capture and
//! validation are the shared scheduler's. coreml-rs reads outputs as float32 only, which is
//! what the parity phase wants. It cannot be compiled off macOS (its build script runs
//! `swift build`), so this file is only checked on macOS CI.

use std::path::Path;

use coreml_rs::{ComputePlatform, CoreMLModelOptions, CoreMLModelWithState};
use htdemucs_devops::runner::{ArrayF32, Backend, ComputeUnits, StageSpec};
use ndarray::{ArrayD, IxDyn};

/// CoreML as a runner backend.
pub struct CoremlBackend {
    units: ComputeUnits,
}

/// A loaded model with the names to bind.
pub struct Loaded {
    model: CoreMLModelWithState,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl CoremlBackend {
    /// A backend using `units` (`all` is coreml-rs's widest choice, CPU + Neural Engine).
    pub fn new(units: ComputeUnits) -> Self {
        Self { units }
    }

    fn platform(&self) -> ComputePlatform {
        match self.units {
            ComputeUnits::Cpu => ComputePlatform::Cpu,
            ComputeUnits::Gpu => ComputePlatform::CpuAndGpu,
            ComputeUnits::Ane | ComputeUnits::All => ComputePlatform::CpuAndANE,
        }
    }
}

impl Backend for CoremlBackend {
    type Module = Loaded;
    type Value = ArrayF32;
    type Prepared = Vec<ArrayD<f32>>;

    fn load(&mut self, artifact: &Path, stage: &StageSpec) -> Result<Loaded, String> {
        let options = CoreMLModelOptions {
            compute_platform: self.platform(),
            ..Default::default()
        };
        // `.mlmodelc` is already compiled; `.mlpackage`/`.mlmodel` are compiled on load.
        let compiled = artifact.extension().is_some_and(|e| e == "mlmodelc");
        let model = if compiled {
            CoreMLModelWithState::new_compiled(artifact, options)
        } else {
            CoreMLModelWithState::new(artifact, options)
        };
        let model = model.load().map_err(|e| e.to_string())?;
        Ok(Loaded {
            model,
            inputs: stage.inputs.iter().map(|i| i.name.clone()).collect(),
            outputs: stage.outputs.clone(),
        })
    }

    fn upload(&mut self, array: &ArrayF32) -> Result<ArrayF32, String> {
        Ok(array.clone())
    }

    fn shape(&self, value: &ArrayF32) -> Vec<usize> {
        value.shape().to_vec()
    }

    fn prepare(
        &mut self,
        _m: &mut Loaded,
        inputs: &[&ArrayF32],
    ) -> Result<Vec<ArrayD<f32>>, String> {
        inputs
            .iter()
            .map(|a| {
                ArrayD::from_shape_vec(IxDyn(a.shape()), a.data().to_vec())
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    fn run(
        &mut self,
        m: &mut Loaded,
        prepared: &Vec<ArrayD<f32>>,
    ) -> Result<Vec<ArrayF32>, String> {
        for (name, array) in m.inputs.iter().zip(prepared) {
            // add_input takes ownership; the copy is inside the timed region, as it is
            // for any caller of coreml-rs that reuses its input.
            m.model
                .add_input(name, array.clone())
                .map_err(|e| format!("input `{name}`: {e}"))?;
        }
        let mut output = m.model.predict().map_err(|e| e.to_string())?;
        m.outputs
            .iter()
            .map(|name| {
                let array = output
                    .outputs
                    .remove(name)
                    .ok_or_else(|| format!("the model has no output `{name}`"))?
                    .extract_to_tensor::<f32>();
                ArrayF32::new(array.shape().to_vec(), array.iter().copied().collect())
                    .map_err(|e| e.to_string())
            })
            .collect()
    }

    fn download(&mut self, value: &ArrayF32) -> Result<ArrayF32, String> {
        Ok(value.clone())
    }
}

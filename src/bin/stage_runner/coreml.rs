//! The CoreML backend (macOS only): `.mlpackage`/`.mlmodelc` models through coreml-rs.
//!
//! Deliberately thin: load with the requested compute units, bind inputs by the spec's input
//! names, predict, read outputs by the spec's output names. Timing, memory, capture and
//! validation are the shared scheduler's. Values keep their dtype: float32, float16 and
//! int32 inputs are bound as such, and every output array coreml-rs returns (float32,
//! float16, integers) becomes an `Array` of that dtype, float16 kept as its IEEE bit
//! patterns (decoded by the crate's one float16 decoder, `crate::npy`, when compared).
//! coreml-rs 0.5.4 itself refuses, before predicting, any model with an output that is
//! not float32 (its model description reports only float32 outputs); that refusal is
//! turned into an error saying so and how to re-convert. It cannot be compiled off macOS
//! (its build script runs `swift build`), so this file is only checked on macOS CI.

use std::path::Path;

use coreml_rs::mlarray::MLArray;
use coreml_rs::{ComputePlatform, CoreMLModelOptions, CoreMLModelWithState};
use htdemucs_devops::runner::{Array, Backend, ComputeUnits, DType, StageSpec};
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

/// An input converted to the element type coreml-rs binds.
pub enum Input {
    F32(ArrayD<f32>),
    F16(ArrayD<half::f16>),
    I32(ArrayD<i32>),
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

fn shaped<T>(shape: &[usize], data: Vec<T>) -> Result<ArrayD<T>, String> {
    ArrayD::from_shape_vec(IxDyn(shape), data).map_err(|e| e.to_string())
}

fn input(a: &Array) -> Result<Input, String> {
    let pairs = a.bytes().chunks_exact(2).map(|c| [c[0], c[1]]);
    let quads = a.bytes().chunks_exact(4).map(|c| [c[0], c[1], c[2], c[3]]);
    match a.dtype() {
        DType::Float32 => {
            shaped(a.shape(), quads.map(f32::from_le_bytes).collect()).map(Input::F32)
        }
        DType::Float16 => shaped(
            a.shape(),
            pairs
                .map(|b| half::f16::from_bits(u16::from_le_bytes(b)))
                .collect(),
        )
        .map(Input::F16),
        DType::Int32 => shaped(a.shape(), quads.map(i32::from_le_bytes).collect()).map(Input::I32),
        other => Err(format!(
            "CoreML inputs are bound as float32, float16 or int32; this input is {other}"
        )),
    }
}

fn le_bytes<T: Copy, const N: usize>(
    a: &ArrayD<T>,
    to: impl Fn(T) -> [u8; N],
) -> (Vec<usize>, Vec<u8>) {
    // `iter` walks in logical C order whatever the memory layout.
    (a.shape().to_vec(), a.iter().flat_map(|v| to(*v)).collect())
}

fn output(array: MLArray) -> Result<Array, String> {
    let (dtype, (shape, bytes)) = match &array {
        MLArray::Float32Array(a) => (DType::Float32, le_bytes(a, f32::to_le_bytes)),
        MLArray::Float16Array(a) => (DType::Float16, le_bytes(a, |h| h.to_bits().to_le_bytes())),
        MLArray::Int32Array(a) => (DType::Int32, le_bytes(a, i32::to_le_bytes)),
        MLArray::Int16Array(a) => (DType::Int16, le_bytes(a, i16::to_le_bytes)),
        MLArray::Int8Array(a) => (DType::Int8, le_bytes(a, i8::to_le_bytes)),
        MLArray::UInt32Array(a) => (DType::Uint32, le_bytes(a, u32::to_le_bytes)),
        MLArray::UInt16Array(a) => (DType::Uint16, le_bytes(a, u16::to_le_bytes)),
        MLArray::UInt8Array(a) => (DType::Uint8, le_bytes(a, u8::to_le_bytes)),
    };
    Array::from_bytes(dtype, shape, bytes).map_err(|e| e.to_string())
}

impl Backend for CoremlBackend {
    type Module = Loaded;
    type Value = Array;
    type Prepared = Vec<Input>;

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
            outputs: stage.outputs.iter().map(|o| o.name.clone()).collect(),
        })
    }

    fn upload(&mut self, array: &Array) -> Result<Array, String> {
        Ok(array.clone())
    }

    fn shape(&self, value: &Array) -> Vec<usize> {
        value.shape().to_vec()
    }

    fn dtype(&self, value: &Array) -> Result<DType, String> {
        Ok(value.dtype())
    }

    fn prepare(&mut self, _m: &mut Loaded, inputs: &[&Array]) -> Result<Vec<Input>, String> {
        inputs.iter().map(|a| input(a)).collect()
    }

    fn run(&mut self, m: &mut Loaded, prepared: &Vec<Input>) -> Result<Vec<Array>, String> {
        for (name, array) in m.inputs.iter().zip(prepared) {
            // add_input takes ownership; the copy is inside the timed region, as it is
            // for any caller of coreml-rs that reuses its input.
            let bound = match array {
                Input::F32(a) => m.model.add_input(name, a.clone()),
                Input::F16(a) => m.model.add_input(name, a.clone()),
                Input::I32(a) => m.model.add_input(name, a.clone()),
            };
            bound.map_err(|e| format!("input `{name}`: {e}"))?;
        }
        let mut output_map = m.model.predict().map_err(|e| {
            let text = e.to_string();
            if text.contains("non-f32 output") {
                format!(
                    "{text}: coreml-rs 0.5.4 runs only models whose outputs are all float32, and \
                     one of this model's outputs is not (a float16 mlProgram output?); re-convert \
                     with float32 outputs (coremltools: outputs=[ct.TensorType(name=..., \
                     dtype=np.float32)]), which keeps float16 compute inside the model"
                )
            } else {
                text
            }
        })?;
        m.outputs
            .iter()
            .map(|name| {
                let array = output_map
                    .outputs
                    .remove(name)
                    .ok_or_else(|| format!("the model has no output `{name}`"))?;
                output(array).map_err(|e| format!("output `{name}`: {e}"))
            })
            .collect()
    }

    fn download(&mut self, value: &Array) -> Result<Array, String> {
        Ok(value.clone())
    }
}

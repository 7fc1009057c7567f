//! The CoreML backend (macOS only): `.mlpackage`/`.mlmodel`/`.mlmodelc` models through Core
//! ML's own Objective-C API (objc2-core-ml).
//!
//! Deliberately thin: load with the requested compute units, bind inputs by the spec's input
//! names, predict, read outputs by the spec's output names. Timing, memory, capture and
//! validation are the shared scheduler's. Values keep their dtype both ways: float32,
//! float16, float64 and int32 inputs are bound as `MLMultiArray`s of that type, and every
//! output keeps the type Core ML returns it in (a float16 mlProgram output stays float16,
//! its IEEE bit patterns decoded by the crate's one float16 decoder when compared). Core
//! ML's arrays have their own strides (it may pad a dimension); the copies in and out go
//! through `runner::strided`, which is tested on every platform.

use std::cell::RefCell;
use std::ffi::c_void;
use std::path::Path;
use std::ptr::NonNull;

use block2::StackBlock;
use htdemucs_devops::runner::strided::{gather, scatter};
use htdemucs_devops::runner::{Array, Backend, ComputeUnits, DType, StageSpec};
use objc2::rc::Retained;
use objc2::runtime::{AnyObject, ProtocolObject};
use objc2::AnyThread;
use objc2_core_ml::{
    MLComputeUnits, MLDictionaryFeatureProvider, MLFeatureProvider, MLFeatureValue, MLModel,
    MLModelConfiguration, MLMultiArray, MLMultiArrayDataType,
};
use objc2_foundation::{NSArray, NSDictionary, NSError, NSInteger, NSNumber, NSString, NSURL};

/// CoreML as a runner backend.
pub struct CoremlBackend {
    units: ComputeUnits,
}

/// A loaded model with the names to bind.
pub struct Loaded {
    model: Retained<MLModel>,
    inputs: Vec<String>,
    outputs: Vec<String>,
}

impl CoremlBackend {
    /// A backend using `units` (`all` lets Core ML choose among CPU, GPU and Neural Engine).
    pub fn new(units: ComputeUnits) -> Self {
        Self { units }
    }

    fn compute_units(&self) -> MLComputeUnits {
        match self.units {
            ComputeUnits::Cpu => MLComputeUnits::CPUOnly,
            ComputeUnits::Gpu => MLComputeUnits::CPUAndGPU,
            ComputeUnits::Ane => MLComputeUnits::CPUAndNeuralEngine,
            ComputeUnits::All => MLComputeUnits::All,
        }
    }
}

fn describe(e: &NSError) -> String {
    e.localizedDescription().to_string()
}

/// Core ML's element type and its size in bytes for a runner dtype.
fn ml_type(dtype: DType) -> Result<(MLMultiArrayDataType, usize), String> {
    match dtype {
        DType::Float32 => Ok((MLMultiArrayDataType::Float32, 4)),
        DType::Float16 => Ok((MLMultiArrayDataType::Float16, 2)),
        DType::Float64 => Ok((MLMultiArrayDataType::Float64, 8)),
        DType::Int32 => Ok((MLMultiArrayDataType::Int32, 4)),
        other => Err(format!(
            "Core ML takes float32, float16, float64 or int32 arrays; this input is {other}"
        )),
    }
}

/// The runner dtype and element size of an array Core ML returned.
fn runner_type(t: MLMultiArrayDataType) -> Result<(DType, usize), String> {
    if t == MLMultiArrayDataType::Float32 {
        Ok((DType::Float32, 4))
    } else if t == MLMultiArrayDataType::Float16 {
        Ok((DType::Float16, 2))
    } else if t == MLMultiArrayDataType::Float64 {
        Ok((DType::Float64, 8))
    } else if t == MLMultiArrayDataType::Int32 {
        Ok((DType::Int32, 4))
    } else if t == MLMultiArrayDataType::Int8 {
        Ok((DType::Int8, 1))
    } else {
        Err(format!(
            "an MLMultiArray data type this runner does not know ({})",
            t.0
        ))
    }
}

fn numbers(values: &[usize]) -> Retained<NSArray<NSNumber>> {
    let numbers: Vec<Retained<NSNumber>> = values
        .iter()
        .map(|v| NSNumber::numberWithInteger(*v as NSInteger))
        .collect();
    NSArray::from_retained_slice(&numbers)
}

fn integers(array: &NSArray<NSNumber>) -> Vec<isize> {
    array.iter().map(|n| n.integerValue()).collect()
}

/// A new `MLMultiArray` holding `a`'s values.
fn multi_array(a: &Array) -> Result<Retained<MLMultiArray>, String> {
    let (ml, size) = ml_type(a.dtype())?;
    let shape = numbers(a.shape());
    // SAFETY: a freshly allocated MLMultiArray initialised with a valid shape and type.
    let array =
        unsafe { MLMultiArray::initWithShape_dataType_error(MLMultiArray::alloc(), &shape, ml) }
            .map_err(|e| describe(&e))?;
    let result: RefCell<Result<(), String>> = RefCell::new(Ok(()));
    let dims = a.shape().to_vec();
    let fill = StackBlock::new(
        |bytes: NonNull<c_void>, len: NSInteger, strides: NonNull<NSArray<NSNumber>>| {
            // SAFETY: Core ML passes its buffer of `len` bytes and its strides, both valid for
            // the duration of this block.
            let (dst, strides) = unsafe {
                (
                    std::slice::from_raw_parts_mut(
                        bytes.as_ptr().cast::<u8>(),
                        len.max(0) as usize,
                    ),
                    integers(strides.as_ref()),
                )
            };
            *result.borrow_mut() = scatter(a.bytes(), dst, size, &dims, &strides);
        },
    );
    // SAFETY: the block only writes within the buffer Core ML hands it.
    unsafe { array.getMutableBytesWithHandler(&fill) };
    result.into_inner()?;
    Ok(array)
}

/// The values of an `MLMultiArray` Core ML returned, in its own dtype.
fn read(array: &MLMultiArray) -> Result<Array, String> {
    // SAFETY: plain property reads of a valid array.
    let (t, shape, strides) = unsafe { (array.dataType(), array.shape(), array.strides()) };
    let (dtype, size) = runner_type(t)?;
    let shape: Vec<usize> = integers(&shape)
        .into_iter()
        .map(|d| d.max(0) as usize)
        .collect();
    let strides = integers(&strides);
    let result: RefCell<Result<Vec<u8>, String>> = RefCell::new(Ok(Vec::new()));
    let copy = StackBlock::new(|bytes: NonNull<c_void>, len: NSInteger| {
        // SAFETY: Core ML passes its buffer of `len` bytes, valid for this block.
        let src =
            unsafe { std::slice::from_raw_parts(bytes.as_ptr().cast::<u8>(), len.max(0) as usize) };
        *result.borrow_mut() = gather(src, size, &shape, &strides);
    });
    // SAFETY: the block only reads within the buffer Core ML hands it.
    unsafe { array.getBytesWithHandler(&copy) };
    let bytes = result.into_inner()?;
    Array::from_bytes(dtype, shape, bytes).map_err(|e| e.to_string())
}

impl Backend for CoremlBackend {
    type Module = Loaded;
    type Value = Array;
    type Prepared = Retained<MLDictionaryFeatureProvider>;

    fn load(&mut self, artifact: &Path, stage: &StageSpec) -> Result<Loaded, String> {
        let path = artifact
            .to_str()
            .ok_or_else(|| format!("{} is not UTF-8", artifact.display()))?;
        let mut url = NSURL::fileURLWithPath(&NSString::from_str(path));
        // `.mlmodelc` is already compiled; `.mlpackage`/`.mlmodel` are compiled first, into
        // a temporary directory Core ML owns (the synchronous call, as a runner wants).
        if artifact.extension().is_none_or(|e| e != "mlmodelc") {
            // SAFETY: a file URL; the result is checked.
            #[allow(deprecated)]
            let compiled = unsafe { MLModel::compileModelAtURL_error(&url) };
            url = compiled
                .map_err(|e| format!("compiling {}: {}", artifact.display(), describe(&e)))?;
        }
        // SAFETY: a new configuration, then a model from a compiled model URL.
        let model = unsafe {
            let config = MLModelConfiguration::new();
            config.setComputeUnits(self.compute_units());
            MLModel::modelWithContentsOfURL_configuration_error(&url, &config)
        }
        .map_err(|e| format!("loading {}: {}", artifact.display(), describe(&e)))?;
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

    /// The inputs as Core ML feature values, built once, outside the timed calls.
    fn prepare(
        &mut self,
        m: &mut Loaded,
        inputs: &[&Array],
    ) -> Result<Retained<MLDictionaryFeatureProvider>, String> {
        let mut keys = Vec::new();
        let mut values = Vec::new();
        for (name, array) in m.inputs.iter().zip(inputs) {
            let array = multi_array(array).map_err(|e| format!("input `{name}`: {e}"))?;
            keys.push(NSString::from_str(name));
            // SAFETY: a feature value wrapping a valid array.
            values.push(unsafe { MLFeatureValue::featureValueWithMultiArray(&array) });
        }
        let keys: Vec<&NSString> = keys.iter().map(|k| &**k).collect();
        let values: Vec<&AnyObject> = values.iter().map(|v| v.as_ref()).collect();
        let dictionary = NSDictionary::from_slices(&keys, &values);
        // SAFETY: a dictionary of NSString to MLFeatureValue, as the initialiser expects.
        unsafe {
            MLDictionaryFeatureProvider::initWithDictionary_error(
                MLDictionaryFeatureProvider::alloc(),
                &dictionary,
            )
        }
        .map_err(|e| describe(&e))
    }

    fn run(
        &mut self,
        m: &mut Loaded,
        prepared: &Retained<MLDictionaryFeatureProvider>,
    ) -> Result<Vec<Array>, String> {
        let input = ProtocolObject::<dyn MLFeatureProvider>::from_ref(&**prepared);
        // SAFETY: a loaded model and a provider of its inputs.
        let output = unsafe { m.model.predictionFromFeatures_error(input) }
            .map_err(|e| format!("prediction failed: {}", describe(&e)))?;
        m.outputs
            .iter()
            .map(|name| {
                // SAFETY: looking up a feature of a valid provider by name.
                let value = unsafe { output.featureValueForName(&NSString::from_str(name)) }
                    .ok_or_else(|| format!("the model has no output `{name}`"))?;
                // SAFETY: reading the array of a valid feature value.
                let array = unsafe { value.multiArrayValue() }
                    .ok_or_else(|| format!("output `{name}` is not a multi-array"))?;
                read(&array).map_err(|e| format!("output `{name}`: {e}"))
            })
            .collect()
    }

    fn download(&mut self, value: &Array) -> Result<Array, String> {
        Ok(value.clone())
    }
}

//! The libtorch backend: TorchScript modules through tch. The only code in the crate that uses tch.
//!
//! Runs on CPU under a no-grad guard, with the intra-op thread count set once per process,
//! which is what `torch.set_num_threads(T)` + `with torch.no_grad():` does in Python. Tuple
//! outputs (a module with several outputs) come back through `forward_is` as an `IValue`.
//! Tensors move in and out as raw bytes in their own dtype (float16 stays float16,
//! complex64 stays complex64); a dtype with no numpy counterpart (bfloat16) is an error.

use std::path::Path;

use htdemucs_devops::runner::error::{debug_enabled, engine_error};
use htdemucs_devops::runner::{Array, Backend, DType, StageSpec};
use tch::{CModule, Device, IValue, Kind, Tensor};

/// libtorch as a runner backend.
pub struct TorchBackend {
    // Dropped with the backend: gradients stay off for the whole run.
    _no_grad: tch::NoGradGuard,
}

impl TorchBackend {
    /// Sets threads (when given) and disables autograd; returns the thread count in effect.
    pub fn new(threads: Option<usize>) -> Result<(Self, usize), String> {
        if let Some(t) = threads {
            let t = i32::try_from(t).map_err(|_| format!("--threads {t} is too large"))?;
            tch::set_num_threads(t);
        }
        let in_effect = usize::try_from(tch::get_num_threads()).unwrap_or(1);
        Ok((
            Self {
                _no_grad: tch::no_grad_guard(),
            },
            in_effect,
        ))
    }

    /// Initialises libtorch's TorchScript machinery before any load is timed; returns seconds.
    ///
    /// The first `torch::jit::load` in a process pays one-time set-up (the importer and
    /// compiler, operator tables): 30-50 ms here, against 2 ms for a second load of the
    /// same file. Python pays it in `import torch`, before any `torch.jit.load` a user
    /// times. To time loads on equal terms, the runner traces a trivial function, saves it
    /// and loads it back (no user artifact involved) and reports this cost separately as
    /// `runtime_init_sec` in the results metadata.
    pub fn warm_up(&mut self) -> Result<f64, String> {
        let started = std::time::Instant::now();
        let x =
            Tensor::f_zeros([1, 2, 8], (Kind::Float, Device::Cpu)).map_err(|e| e.to_string())?;
        let traced = CModule::create_by_tracing("warmup", "forward", &[x], &mut |xs| {
            xs.iter().map(|t| t * 2.0).collect()
        })
        .map_err(|e| format!("tracing the warm-up module: {e}"))?;
        let dir =
            tempfile::tempdir().map_err(|e| format!("temporary folder for the warm-up: {e}"))?;
        let path = dir.path().join("warmup.pt");
        traced
            .save(&path)
            .map_err(|e| format!("saving the warm-up module: {e}"))?;
        CModule::load_on_device(&path, Device::Cpu)
            .map_err(|e| format!("loading the warm-up module: {e}"))?;
        Ok(started.elapsed().as_secs_f64())
    }

    /// The libtorch version this binary was built against (from the build script).
    /// Read from the marker the main binary looks for, through `black_box` so that the
    /// whole marker stays in the executable (src/runner/libtorch.rs).
    pub fn version() -> Option<&'static str> {
        use htdemucs_devops::runner::libtorch::{BUILT_FOR_MARK, MARK_PREFIX};
        std::hint::black_box(BUILT_FOR_MARK)
            .strip_prefix(MARK_PREFIX)?
            .strip_suffix(';')
            .filter(|v| *v != "unknown")
    }
}

/// The libtorch element type for a dtype; libtorch has no uint16/uint32 tensors.
fn kind_of(dtype: DType) -> Result<Kind, String> {
    Ok(match dtype {
        DType::Float16 => Kind::Half,
        DType::Float32 => Kind::Float,
        DType::Float64 => Kind::Double,
        DType::Complex64 => Kind::ComplexFloat,
        DType::Complex128 => Kind::ComplexDouble,
        DType::Int8 => Kind::Int8,
        DType::Int16 => Kind::Int16,
        DType::Int32 => Kind::Int,
        DType::Int64 => Kind::Int64,
        DType::Uint8 => Kind::Uint8,
        DType::Bool => Kind::Bool,
        DType::Uint16 | DType::Uint32 => {
            return Err(format!(
                "libtorch has no {dtype} tensors; save the array as int32 or int64"
            ))
        }
    })
}

/// The dtype of a libtorch element type, or what to do when numpy has none.
fn dtype_of(kind: Kind) -> Result<DType, String> {
    Ok(match kind {
        Kind::Half => DType::Float16,
        Kind::Float => DType::Float32,
        Kind::Double => DType::Float64,
        Kind::ComplexFloat => DType::Complex64,
        Kind::ComplexDouble => DType::Complex128,
        Kind::Int8 => DType::Int8,
        Kind::Int16 => DType::Int16,
        Kind::Int => DType::Int32,
        Kind::Int64 => DType::Int64,
        Kind::Uint8 => DType::Uint8,
        Kind::Bool => DType::Bool,
        other => {
            return Err(format!(
                "a {other:?} tensor has no .npy dtype to be captured in; return it as float32 \
                 (`.float()`) from the module"
            ))
        }
    })
}

/// `name [1, 4, 2048, 336] float32` for each tensor input, for error messages.
fn describe(inputs: &[IValue]) -> String {
    let parts: Vec<String> = inputs
        .iter()
        .map(|v| match v {
            IValue::Tensor(t) => format!(
                "{:?} {}",
                t.size(),
                dtype_of(t.kind()).map_or_else(|_| format!("{:?}", t.kind()), |d| d.to_string())
            ),
            other => format!("{other:?}"),
        })
        .collect();
    parts.join(", ")
}

fn tensors(value: IValue, out: &mut Vec<Tensor>) -> Result<(), String> {
    match value {
        IValue::Tensor(t) => out.push(t),
        IValue::Tuple(items) | IValue::GenericList(items) => {
            for item in items {
                tensors(item, out)?;
            }
        }
        IValue::TensorList(ts) => out.extend(ts),
        other => {
            return Err(format!(
                "the module returned {other:?}, expected tensors or a tuple of tensors"
            ))
        }
    }
    Ok(())
}

impl Backend for TorchBackend {
    type Module = CModule;
    type Value = Tensor;
    type Prepared = Vec<IValue>;

    fn load(&mut self, artifact: &Path, _stage: &StageSpec) -> Result<CModule, String> {
        let mut module = CModule::load_on_device(artifact, Device::Cpu).map_err(|e| {
            format!(
                "{e}; is it a TorchScript file (torch.jit.script(...).save) for libtorch {}?",
                Self::version().unwrap_or("?")
            )
        })?;
        module.set_eval();
        Ok(module)
    }

    fn upload(&mut self, array: &Array) -> Result<Tensor, String> {
        let shape: Vec<i64> = array
            .shape()
            .iter()
            .map(|d| i64::try_from(*d).unwrap_or(i64::MAX))
            .collect();
        // Copies the little-endian element bytes (the host order on every platform
        // libtorch runs on here) into a new tensor of the array's own dtype.
        Tensor::f_from_data_size(array.bytes(), &shape, kind_of(array.dtype())?)
            .map_err(|e| e.to_string())
    }

    fn dtype(&self, value: &Tensor) -> Result<DType, String> {
        dtype_of(value.f_kind().map_err(|e| e.to_string())?)
    }

    fn shape(&self, value: &Tensor) -> Vec<usize> {
        value
            .size()
            .iter()
            .map(|d| usize::try_from(*d).unwrap_or(0))
            .collect()
    }

    fn prepare(
        &mut self,
        _module: &mut CModule,
        inputs: &[&Tensor],
    ) -> Result<Vec<IValue>, String> {
        // shallow_clone shares storage: binding costs no copy.
        Ok(inputs
            .iter()
            .map(|t| IValue::Tensor(t.shallow_clone()))
            .collect())
    }

    fn run(&mut self, module: &mut CModule, prepared: &Vec<IValue>) -> Result<Vec<Tensor>, String> {
        let output = module.forward_is(prepared).map_err(|e| {
            let inputs = format!("inputs: {}", describe(prepared));
            engine_error(&e.to_string(), &inputs, debug_enabled())
        })?;
        let mut out = Vec::new();
        tensors(output, &mut out)?;
        Ok(out)
    }

    fn download(&mut self, value: &Tensor) -> Result<Array, String> {
        let dtype = self.dtype(value)?;
        let t = value.f_contiguous().map_err(|e| e.to_string())?;
        let shape = self.shape(&t);
        let numel: usize = shape.iter().product();
        let mut bytes = vec![0u8; numel * dtype.size()];
        t.f_copy_data_u8(&mut bytes, numel)
            .map_err(|e| e.to_string())?;
        Array::from_bytes(dtype, shape, bytes).map_err(|e| e.to_string())
    }
}

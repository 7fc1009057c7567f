//! The backend-independent tensors the runner moves between files and backends: [`Array`]
//! (any dtype, kept as the model produced it) and [`ArrayF32`] (audio).
//!
//! Captures and reference inputs keep their real dtype end to end: a complex64 STFT is
//! stored as `<c8`, a float16 CoreML output as `<f2`, an int64 index tensor as `<i8`, so
//! the spec's and the parity phase's dtype checks see what the model really returned.
//! An [`Array`] holds little-endian element bytes in C order, which is the `.npy` layout
//! and what libtorch and CoreML copy in and out, so no conversion happens on the way.
//! Audio is float32 `[1, channels, frames]` and stays an [`ArrayF32`]. Keeping these plain
//! types here lets the scheduling, capture and validation logic be tested without any
//! backend linked.

use std::fmt;

use crate::npy;
pub use crate::npy::DType;

/// A dense float32 array in C (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub struct ArrayF32 {
    shape: Vec<usize>,
    data: Vec<f32>,
}

/// The data length does not match the product of the shape.
#[derive(Debug, thiserror::Error)]
#[error("array of shape {shape:?} needs {expected} values, got {actual}")]
pub struct ShapeError {
    /// The requested shape.
    pub shape: Vec<usize>,
    /// Number of values the shape implies.
    pub expected: usize,
    /// Number of values supplied.
    pub actual: usize,
}

impl ArrayF32 {
    /// Builds an array, checking that `data` fills `shape` exactly.
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Result<Self, ShapeError> {
        // A product that overflows can never match: usize::MAX stands in for it.
        let expected = shape
            .iter()
            .try_fold(1usize, |n, &d| n.checked_mul(d))
            .unwrap_or(usize::MAX);
        if expected != data.len() {
            return Err(ShapeError {
                shape,
                expected,
                actual: data.len(),
            });
        }
        Ok(Self { shape, data })
    }

    /// The array's dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The values in C order.
    pub fn data(&self) -> &[f32] {
        &self.data
    }

    /// Consumes the array, returning shape and values.
    pub fn into_parts(self) -> (Vec<usize>, Vec<f32>) {
        (self.shape, self.data)
    }

    /// Largest absolute element-wise difference, or `None` when the shapes differ.
    pub fn max_abs_diff(&self, other: &Self) -> Option<f32> {
        if self.shape != other.shape {
            return None;
        }
        let diff = self
            .data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0_f32, f32::max);
        Some(diff)
    }
}

/// A dense array of any [`DType`]: little-endian element bytes in C (row-major) order.
#[derive(Clone, Debug, PartialEq)]
pub struct Array {
    dtype: DType,
    shape: Vec<usize>,
    bytes: Vec<u8>,
}

/// The elements a shape implies; `usize::MAX` when the product overflows (never matches).
fn element_count(shape: &[usize]) -> usize {
    shape
        .iter()
        .try_fold(1usize, |n, &d| n.checked_mul(d))
        .unwrap_or(usize::MAX)
}

impl Array {
    /// Builds an array from raw little-endian bytes, checking they fill `shape` exactly.
    pub fn from_bytes(dtype: DType, shape: Vec<usize>, bytes: Vec<u8>) -> Result<Self, ShapeError> {
        let expected = element_count(&shape);
        if expected.checked_mul(dtype.size()) != Some(bytes.len()) {
            return Err(ShapeError {
                shape,
                expected,
                actual: bytes.len() / dtype.size(),
            });
        }
        Ok(Self {
            dtype,
            shape,
            bytes,
        })
    }

    /// A float32 array (audio, test data).
    pub fn from_f32(array: &ArrayF32) -> Self {
        let bytes = array.data().iter().flat_map(|v| v.to_le_bytes()).collect();
        Self {
            dtype: DType::Float32,
            shape: array.shape().to_vec(),
            bytes,
        }
    }

    /// A float16 array from IEEE half-precision bit patterns (CoreML's float16 outputs).
    pub fn from_f16_bits(shape: Vec<usize>, bits: &[u16]) -> Result<Self, ShapeError> {
        let bytes = bits.iter().flat_map(|v| v.to_le_bytes()).collect();
        Self::from_bytes(DType::Float16, shape, bytes)
    }

    /// The element type.
    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// The array's dimensions, outermost first.
    pub fn shape(&self) -> &[usize] {
        &self.shape
    }

    /// The elements' little-endian bytes in C order.
    pub fn bytes(&self) -> &[u8] {
        &self.bytes
    }

    /// Number of elements (a complex number is one element).
    pub fn len(&self) -> usize {
        self.bytes.len() / self.dtype.size()
    }

    /// True when the array has no elements.
    pub fn is_empty(&self) -> bool {
        self.bytes.is_empty()
    }

    /// The values widened to float64 (exact for every dtype but int64 beyond 2^53):
    /// one per element, real and imaginary parts interleaved for complex dtypes.
    pub fn to_f64(&self) -> Vec<f64> {
        let mut out = Vec::with_capacity(self.len() * self.dtype.lanes());
        let mut block = Vec::new();
        for chunk in self.bytes.chunks(self.dtype.size() << 14) {
            npy::decode(self.dtype, false, chunk, &mut block);
            out.extend_from_slice(&block);
        }
        out
    }

    /// The values as float32 (audio): real dtypes only; float64 and int64 are rounded.
    pub fn to_f32(&self) -> Result<ArrayF32, String> {
        if self.dtype.lanes() != 1 {
            return Err(format!(
                "a {} array cannot be used where real float32 values are needed",
                self.dtype
            ));
        }
        let data = self.to_f64().into_iter().map(|v| v as f32).collect();
        ArrayF32::new(self.shape.clone(), data).map_err(|e| e.to_string())
    }
}

impl From<ArrayF32> for Array {
    fn from(array: ArrayF32) -> Self {
        Self::from_f32(&array)
    }
}

/// An expected shape from the pipeline spec: fixed sizes, or `-1` for "any size".
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct ShapePattern(pub Vec<i64>);

impl ShapePattern {
    /// True when `shape` has the same rank and every fixed dimension agrees.
    pub fn matches(&self, shape: &[usize]) -> bool {
        self.0.len() == shape.len()
            && self
                .0
                .iter()
                .zip(shape)
                .all(|(want, got)| *want < 0 || usize::try_from(*want).is_ok_and(|w| w == *got))
    }
}

impl fmt::Display for ShapePattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dims: Vec<String> = self
            .0
            .iter()
            .map(|d| {
                if *d < 0 {
                    "*".to_string()
                } else {
                    d.to_string()
                }
            })
            .collect();
        write!(f, "[{}]", dims.join(", "))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn new_rejects_wrong_length() {
        assert!(ArrayF32::new(vec![2, 3], vec![0.0; 5]).is_err());
        assert!(ArrayF32::new(vec![2, 3], vec![0.0; 6]).is_ok());
    }

    #[test]
    fn pattern_wildcards_and_rank() {
        let p = ShapePattern(vec![1, 2, -1]);
        assert!(p.matches(&[1, 2, 44100]));
        assert!(!p.matches(&[1, 1, 44100]));
        assert!(!p.matches(&[1, 2]));
        assert_eq!(p.to_string(), "[1, 2, *]");
    }

    #[test]
    fn arrays_keep_their_dtype_and_check_their_length() {
        let c = Array::from_bytes(DType::Complex64, vec![2], vec![0; 16]).unwrap();
        assert_eq!(
            (c.dtype(), c.len(), c.to_f64().len()),
            (DType::Complex64, 2, 4)
        );
        assert!(c.to_f32().unwrap_err().contains("complex64"));
        let err = Array::from_bytes(DType::Float16, vec![3], vec![0; 4]).unwrap_err();
        assert_eq!((err.expected, err.actual), (3, 2));
        // 1.0, -2.0 and 65504 (the largest float16) as half-precision bit patterns.
        let h = Array::from_f16_bits(vec![3], &[0x3c00, 0xc000, 0x7bff]).unwrap();
        assert_eq!(h.to_f64(), vec![1.0, -2.0, 65504.0]);
        assert_eq!(h.to_f32().unwrap().data(), &[1.0, -2.0, 65504.0]);
        let f = ArrayF32::new(vec![1, 2], vec![0.5, -1.5]).unwrap();
        let a = Array::from(f.clone());
        assert_eq!((a.dtype(), a.to_f32().unwrap()), (DType::Float32, f));
        let big = Array::from_bytes(DType::Int64, vec![1], (1i64 << 40).to_le_bytes().to_vec());
        assert_eq!(big.unwrap().to_f64(), vec![(1i64 << 40) as f64]);
    }

    #[test]
    fn max_abs_diff_requires_same_shape() {
        let a = ArrayF32::new(vec![2], vec![1.0, 2.0]).unwrap();
        let b = ArrayF32::new(vec![2], vec![1.5, 1.0]).unwrap();
        assert_eq!(a.max_abs_diff(&b), Some(1.0));
        let c = ArrayF32::new(vec![1, 2], vec![1.0, 2.0]).unwrap();
        assert_eq!(a.max_abs_diff(&c), None);
    }
}

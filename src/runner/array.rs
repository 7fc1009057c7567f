//! `ArrayF32`: the backend-independent tensor the runner moves between files and backends.
//!
//! Everything the runner reads or writes (audio, reference inputs, captured outputs) is
//! float32 in C order, which is what the parity phase compares and what both libtorch and
//! CoreML hand back. Keeping one plain type here lets the scheduling, capture and
//! validation logic be tested without any backend linked.

use std::fmt;

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
    fn max_abs_diff_requires_same_shape() {
        let a = ArrayF32::new(vec![2], vec![1.0, 2.0]).unwrap();
        let b = ArrayF32::new(vec![2], vec![1.5, 1.0]).unwrap();
        assert_eq!(a.max_abs_diff(&b), Some(1.0));
        let c = ArrayF32::new(vec![1, 2], vec![1.0, 2.0]).unwrap();
        assert_eq!(a.max_abs_diff(&c), None);
    }
}

//! The crate's one list of element types ([`DType`], numpy's names and `.npy` descriptors)
//! and what kind of number each holds: shared by the `.npy` reader, the stage runner's
//! arrays and captures, the pipeline spec's `dtype` declarations and the parity checks.

use serde::{Deserialize, Serialize};

/// Element types we can decode. Names follow numpy (`float32`, `int16`, `complex64`, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DType {
    Float16,
    Float32,
    Float64,
    /// Two float32 (real, imaginary), numpy `<c8`.
    Complex64,
    /// Two float64 (real, imaginary), numpy `<c16`.
    Complex128,
    Int8,
    Int16,
    Int32,
    Int64,
    Uint8,
    Uint16,
    Uint32,
    Bool,
}

/// What sort of number a dtype holds: values of the same kind but different widths
/// (float16 and float32, int32 and int64) are comparable after widening.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Float,
    Complex,
    Int,
    Bool,
}

impl DType {
    /// Every dtype, for messages listing what is accepted.
    pub const ALL: [DType; 13] = [
        DType::Float16,
        DType::Float32,
        DType::Float64,
        DType::Complex64,
        DType::Complex128,
        DType::Int8,
        DType::Int16,
        DType::Int32,
        DType::Int64,
        DType::Uint8,
        DType::Uint16,
        DType::Uint32,
        DType::Bool,
    ];

    /// Bytes per element (both parts of a complex number).
    pub fn size(self) -> usize {
        match self {
            DType::Int8 | DType::Uint8 | DType::Bool => 1,
            DType::Float16 | DType::Int16 | DType::Uint16 => 2,
            DType::Float32 | DType::Int32 | DType::Uint32 => 4,
            DType::Float64 | DType::Int64 | DType::Complex64 => 8,
            DType::Complex128 => 16,
        }
    }

    /// float64 values [`decode`] gives per element: 2 for complex (real, imaginary).
    pub fn lanes(self) -> usize {
        match self.kind() {
            Kind::Complex => 2,
            _ => 1,
        }
    }

    pub fn kind(self) -> Kind {
        match self {
            DType::Float16 | DType::Float32 | DType::Float64 => Kind::Float,
            DType::Complex64 | DType::Complex128 => Kind::Complex,
            DType::Bool => Kind::Bool,
            _ => Kind::Int,
        }
    }

    /// The little-endian numpy descriptor (`<f4`, `|b1`, ...) written in `.npy` headers.
    pub fn descr(self) -> &'static str {
        match self {
            DType::Float16 => "<f2",
            DType::Float32 => "<f4",
            DType::Float64 => "<f8",
            DType::Complex64 => "<c8",
            DType::Complex128 => "<c16",
            DType::Int8 => "|i1",
            DType::Int16 => "<i2",
            DType::Int32 => "<i4",
            DType::Int64 => "<i8",
            DType::Uint8 => "|u1",
            DType::Uint16 => "<u2",
            DType::Uint32 => "<u4",
            DType::Bool => "|b1",
        }
    }

    /// The dtype called `name` (numpy's name, as [`name`](Self::name) gives it).
    pub fn from_name(name: &str) -> Option<DType> {
        DType::ALL.into_iter().find(|d| d.name() == name)
    }

    pub fn name(self) -> &'static str {
        match self {
            DType::Float16 => "float16",
            DType::Float32 => "float32",
            DType::Float64 => "float64",
            DType::Complex64 => "complex64",
            DType::Complex128 => "complex128",
            DType::Int8 => "int8",
            DType::Int16 => "int16",
            DType::Int32 => "int32",
            DType::Int64 => "int64",
            DType::Uint8 => "uint8",
            DType::Uint16 => "uint16",
            DType::Uint32 => "uint32",
            DType::Bool => "bool",
        }
    }
}

impl std::fmt::Display for DType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

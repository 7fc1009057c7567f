//! A stand-in for the library's runner types that the Core ML backend uses, with the same
//! signatures (src/runner/{array,schedule,spec}.rs), so `make check-macos` can type-check
//! src/bin/stage_runner/coreml.rs against objc2-core-ml for aarch64-apple-darwin on a
//! Linux host: the library itself cannot be checked there, as ring's C needs Apple's
//! toolchain. `strided` is the real module. Keep the signatures in step with the library.
#[path = "../../../../../src/runner/strided.rs"]
pub mod strided;

pub mod runner {
    pub use crate::strided;
    use std::path::Path;
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    pub enum DType { Float16, Float32, Float64, Complex64, Complex128, Int8, Int16, Int32, Int64, Uint8, Uint16, Uint32, Bool }
    impl std::fmt::Display for DType { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "{self:?}") } }
    #[derive(Debug)] pub struct ShapeError;
    impl std::fmt::Display for ShapeError { fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result { write!(f, "shape") } }
    #[derive(Clone, Debug)] pub struct Array;
    impl Array {
        pub fn from_bytes(_d: DType, _s: Vec<usize>, _b: Vec<u8>) -> Result<Self, ShapeError> { Ok(Array) }
        pub fn shape(&self) -> &[usize] { &[] }
        pub fn dtype(&self) -> DType { DType::Float32 }
        pub fn bytes(&self) -> &[u8] { &[] }
    }
    #[derive(Clone, Copy, Debug, PartialEq, Eq)] pub enum ComputeUnits { Cpu, Gpu, Ane, All }
    pub struct Named { pub name: String }
    pub struct StageSpec { pub name: String, pub inputs: Vec<Named>, pub outputs: Vec<Named> }
    pub trait Backend {
        type Module; type Value; type Prepared;
        fn load(&mut self, artifact: &Path, stage: &StageSpec) -> Result<Self::Module, String>;
        fn upload(&mut self, array: &Array) -> Result<Self::Value, String>;
        fn shape(&self, value: &Self::Value) -> Vec<usize>;
        fn dtype(&self, value: &Self::Value) -> Result<DType, String>;
        fn prepare(&mut self, module: &mut Self::Module, inputs: &[&Self::Value]) -> Result<Self::Prepared, String>;
        fn run(&mut self, module: &mut Self::Module, prepared: &Self::Prepared) -> Result<Vec<Self::Value>, String>;
        fn download(&mut self, value: &Self::Value) -> Result<Array, String>;
    }
}

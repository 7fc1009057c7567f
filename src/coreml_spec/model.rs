//! A Core ML model's interface decoded from `CoreML.Specification.Model` (Core ML's
//! `Model.proto`): spec version, model type, inputs and outputs with their array shapes,
//! shape flexibility and data types, and the user metadata. Everything else is skipped.
//!
//! Field numbers (from `Model.proto` / `FeatureTypes.proto`): `Model.specificationVersion`
//! 1, `description` 2, the model type is a oneof numbered from 200 (`mlProgram` 502);
//! `ModelDescription.input` 1, `output` 10, `metadata` 100; `FeatureDescription.name` 1,
//! `type` 3; `FeatureType.multiArrayType` 5, `isOptional` 1000; `ArrayFeatureType.shape`
//! 1, `dataType` 2, `enumeratedShapes` 21, `shapeRange` 31.

use std::collections::BTreeMap;

use serde::Serialize;

use super::wire::{as_i64, Fields, Value};

/// Element type of a multi-array (`ArrayFeatureType.ArrayDataType`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum ArrayDType {
    /// 65568.
    Float32,
    /// 65552.
    Float16,
    /// 65600 (Core ML's DOUBLE).
    Float64,
    /// 131104.
    Int32,
    /// 131080.
    Int8,
    /// 0 or a code this reader does not know.
    Unknown,
}

impl ArrayDType {
    fn from_code(code: u64) -> Self {
        match code {
            65568 => Self::Float32,
            65552 => Self::Float16,
            65600 => Self::Float64,
            131_104 => Self::Int32,
            131_080 => Self::Int8,
            _ => Self::Unknown,
        }
    }

    /// The numpy-style name (`float32`), as pipeline specs and captures spell dtypes.
    pub fn name(self) -> &'static str {
        match self {
            Self::Float32 => "float32",
            Self::Float16 => "float16",
            Self::Float64 => "float64",
            Self::Int32 => "int32",
            Self::Int8 => "int8",
            Self::Unknown => "unknown",
        }
    }
}

/// Sizes an array input accepts beyond its default `shape`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind", content = "shapes")]
pub enum Flexibility {
    /// Only the default shape.
    Fixed,
    /// Any of these shapes.
    Enumerated(Vec<Vec<i64>>),
    /// Per dimension `(lower, upper)`; `upper` `None` is unbounded.
    Range(Vec<(i64, Option<i64>)>),
}

/// What a feature holds.
#[derive(Clone, Debug, PartialEq, Serialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum FeatureKind {
    /// An N-d array: the only kind a pipeline stage exchanges.
    MultiArray {
        /// Default shape (may be empty for outputs whose shape the converter left open).
        shape: Vec<i64>,
        /// Element type.
        dtype: ArrayDType,
        /// Other accepted shapes.
        flexibility: Flexibility,
    },
    /// Anything else (`image`, `int64`, `double`, `string`, `dictionary`, `sequence`, `state`).
    Other {
        /// The `FeatureType` case name.
        name: &'static str,
    },
}

/// One input or output.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Feature {
    /// The name CoreML feeds and returns it by.
    pub name: String,
    /// Its type.
    #[serde(flatten)]
    pub kind: FeatureKind,
    /// Marked optional in the spec.
    pub optional: bool,
}

/// A model's interface.
#[derive(Clone, Debug, Default, PartialEq, Serialize)]
pub struct ModelInterface {
    /// `specificationVersion`.
    pub spec_version: i64,
    /// The model type's oneof case (`mlProgram`, `neuralNetwork`, `pipeline`, ...).
    pub model_type: String,
    /// Inputs in spec order.
    pub inputs: Vec<Feature>,
    /// Outputs in spec order.
    pub outputs: Vec<Feature>,
    /// `metadata.userDefined` (coremltools writes its version and source here).
    pub metadata: BTreeMap<String, String>,
}

type Decoded<T> = Result<T, String>;

/// Decodes a serialized `CoreML.Specification.Model`.
pub fn decode_model(buf: &[u8]) -> Decoded<ModelInterface> {
    let mut out = ModelInterface::default();
    let mut fields = Fields::new(buf);
    while let Some((n, v)) = fields.next_field().map_err(|e| format!("Model: {e}"))? {
        match n {
            1 => out.spec_version = as_i64(v.varint()?),
            2 => {
                decode_description(v.bytes()?, &mut out).map_err(|e| format!("description: {e}"))?
            }
            n if n >= 200 => out.model_type = model_type_name(n).to_string(),
            _ => {}
        }
    }
    if out.spec_version <= 0 && out.inputs.is_empty() && out.outputs.is_empty() {
        return Err(
            "no specification version and no inputs or outputs: not a Core ML model".into(),
        );
    }
    Ok(out)
}

fn model_type_name(n: u32) -> &'static str {
    match n {
        200 => "pipelineClassifier",
        201 => "pipelineRegressor",
        202 => "pipeline",
        300..=399 => "regressor",
        400..=499 => "classifier",
        500 => "neuralNetwork",
        502 => "mlProgram",
        555 => "customModel",
        556 => "linkedModel",
        _ => "other",
    }
}

fn decode_description(buf: &[u8], out: &mut ModelInterface) -> Decoded<()> {
    let mut fields = Fields::new(buf);
    while let Some((n, v)) = fields.next_field().map_err(|e| e.to_string())? {
        match n {
            1 => out
                .inputs
                .push(decode_feature(v.bytes()?).map_err(|e| format!("input: {e}"))?),
            10 => out
                .outputs
                .push(decode_feature(v.bytes()?).map_err(|e| format!("output: {e}"))?),
            100 => decode_metadata(v.bytes()?, &mut out.metadata)
                .map_err(|e| format!("metadata: {e}"))?,
            _ => {}
        }
    }
    Ok(())
}

fn decode_metadata(buf: &[u8], out: &mut BTreeMap<String, String>) -> Decoded<()> {
    let mut fields = Fields::new(buf);
    while let Some((n, v)) = fields.next_field().map_err(|e| e.to_string())? {
        if n == 100 {
            // A map entry: key 1, value 2.
            let (mut key, mut value) = (String::new(), String::new());
            let mut entry = Fields::new(v.bytes()?);
            while let Some((k, ev)) = entry.next_field().map_err(|e| e.to_string())? {
                match k {
                    1 => key = ev.string()?,
                    2 => value = ev.string()?,
                    _ => {}
                }
            }
            out.insert(key, value);
        }
    }
    Ok(())
}

fn decode_feature(buf: &[u8]) -> Decoded<Feature> {
    let mut name = String::new();
    let mut kind = FeatureKind::Other { name: "none" };
    let mut optional = false;
    let mut fields = Fields::new(buf);
    while let Some((n, v)) = fields.next_field().map_err(|e| e.to_string())? {
        match n {
            1 => name = v.string()?,
            3 => {
                let (k, opt) = decode_type(v.bytes()?).map_err(|e| format!("`{name}`: {e}"))?;
                kind = k;
                optional = opt;
            }
            _ => {}
        }
    }
    Ok(Feature {
        name,
        kind,
        optional,
    })
}

fn decode_type(buf: &[u8]) -> Decoded<(FeatureKind, bool)> {
    let mut kind = FeatureKind::Other { name: "none" };
    let mut optional = false;
    let mut fields = Fields::new(buf);
    while let Some((n, v)) = fields.next_field().map_err(|e| e.to_string())? {
        kind = match n {
            5 => decode_array(v.bytes()?)?,
            1000 => {
                optional = v.varint()? != 0;
                continue;
            }
            1 => FeatureKind::Other { name: "int64" },
            2 => FeatureKind::Other { name: "double" },
            3 => FeatureKind::Other { name: "string" },
            4 => FeatureKind::Other { name: "image" },
            6 => FeatureKind::Other { name: "dictionary" },
            7 => FeatureKind::Other { name: "sequence" },
            8 => FeatureKind::Other { name: "state" },
            _ => continue,
        };
    }
    Ok((kind, optional))
}

fn dims(v: Value<'_>, out: &mut Vec<i64>) -> Decoded<()> {
    let mut raw = Vec::new();
    v.varints(&mut raw)?;
    out.extend(raw.into_iter().map(as_i64));
    Ok(())
}

fn decode_array(buf: &[u8]) -> Decoded<FeatureKind> {
    let mut shape = Vec::new();
    let mut dtype = ArrayDType::Unknown;
    let mut flexibility = Flexibility::Fixed;
    let mut fields = Fields::new(buf);
    while let Some((n, v)) = fields.next_field().map_err(|e| e.to_string())? {
        match n {
            1 => dims(v, &mut shape)?,
            2 => dtype = ArrayDType::from_code(v.varint()?),
            21 => flexibility = Flexibility::Enumerated(decode_enumerated(v.bytes()?)?),
            31 => flexibility = Flexibility::Range(decode_ranges(v.bytes()?)?),
            _ => {}
        }
    }
    Ok(FeatureKind::MultiArray {
        shape,
        dtype,
        flexibility,
    })
}

fn decode_enumerated(buf: &[u8]) -> Decoded<Vec<Vec<i64>>> {
    let mut shapes = Vec::new();
    let mut fields = Fields::new(buf);
    while let Some((n, v)) = fields.next_field().map_err(|e| e.to_string())? {
        if n == 1 {
            let mut shape = Vec::new();
            let mut inner = Fields::new(v.bytes()?);
            while let Some((k, sv)) = inner.next_field().map_err(|e| e.to_string())? {
                if k == 1 {
                    dims(sv, &mut shape)?;
                }
            }
            shapes.push(shape);
        }
    }
    Ok(shapes)
}

fn decode_ranges(buf: &[u8]) -> Decoded<Vec<(i64, Option<i64>)>> {
    let mut ranges = Vec::new();
    let mut fields = Fields::new(buf);
    while let Some((n, v)) = fields.next_field().map_err(|e| e.to_string())? {
        if n == 1 {
            let (mut lower, mut upper) = (0i64, None);
            let mut inner = Fields::new(v.bytes()?);
            while let Some((k, rv)) = inner.next_field().map_err(|e| e.to_string())? {
                match k {
                    1 => lower = as_i64(rv.varint()?),
                    // A negative upper bound (-1) means unbounded.
                    2 => upper = Some(as_i64(rv.varint()?)).filter(|u| *u >= 0),
                    _ => {}
                }
            }
            ranges.push((lower, upper));
        }
    }
    Ok(ranges)
}

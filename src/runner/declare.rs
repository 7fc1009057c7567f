//! What a pipeline spec declares about a stage's inputs and outputs (names, sources, shapes,
//! dtypes), how those declarations are read from YAML, and how values are checked against them.
//!
//! ```yaml
//! inputs:  [stft.spectrogram, {name: raw_audio, from: audio, shape: [1, 2, -1], dtype: float32}]
//! outputs: [freq, {name: time, shape: [1, 4, 2, -1], dtype: {pytorch: float32, coreml: float16}}]
//! ```
//!
//! A plain string is the short form (an input's source, an output's name). `dtype` is a
//! numpy name (`float32`, `float16`, `complex64`, `int64`, ...) for every backend, or a map
//! from backend name to dtype where backends differ (the real port's CoreML model returns
//! float16 where PyTorch returns float32); a backend missing from the map is not checked.
//! The forms are read by hand rather than as an untagged enum, so a typo is reported as
//! the unknown key with the keys allowed, not as "did not match any variant".

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::array::{DType, ShapePattern};
use super::error::RunnerError;

/// A declared dtype: one for every backend, or one per backend.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(untagged)]
pub enum DTypeSpec {
    /// Every backend must produce this dtype.
    All(DType),
    /// Backend name -> dtype; backends not listed are not checked.
    PerBackend(BTreeMap<String, DType>),
}

impl DTypeSpec {
    /// The dtype `backend` must produce, if declared.
    pub fn for_backend(&self, backend: &str) -> Option<DType> {
        match self {
            DTypeSpec::All(d) => Some(*d),
            DTypeSpec::PerBackend(m) => m.get(backend).copied(),
        }
    }

    /// Backend names the declaration mentions (empty for the one-dtype form).
    pub fn backends(&self) -> Vec<&str> {
        match self {
            DTypeSpec::All(_) => Vec::new(),
            DTypeSpec::PerBackend(m) => m.keys().map(String::as_str).collect(),
        }
    }
}

fn dtype_named<E: de::Error>(name: &str) -> Result<DType, E> {
    DType::from_name(name).ok_or_else(|| {
        let known: Vec<&str> = DType::ALL.iter().map(|d| d.name()).collect();
        E::custom(format!(
            "unknown dtype `{name}`; use one of: {}",
            known.join(", ")
        ))
    })
}

impl<'de> Deserialize<'de> for DTypeSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = DTypeSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a dtype name (float32, float16, complex64, int64, ...) or a map of backend name to dtype name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<DTypeSpec, E> {
                dtype_named(v).map(DTypeSpec::All)
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<DTypeSpec, A::Error> {
                let mut out = BTreeMap::new();
                while let Some((backend, name)) = map.next_entry::<String, String>()? {
                    out.insert(backend, dtype_named(&name)?);
                }
                Ok(DTypeSpec::PerBackend(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// One stage input.
#[derive(Clone, Debug, Serialize)]
pub struct InputSpec {
    /// The model's name for this input.
    pub name: String,
    /// `audio` or `<stage>.<output>`.
    pub from: String,
    /// Expected shape, checked before running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub shape: Option<ShapePattern>,
    /// Expected dtype, checked before running.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dtype: Option<DTypeSpec>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FullInput {
    #[serde(default)]
    name: Option<String>,
    from: String,
    #[serde(default)]
    shape: Option<ShapePattern>,
    #[serde(default)]
    dtype: Option<DTypeSpec>,
}

impl From<FullInput> for InputSpec {
    fn from(full: FullInput) -> Self {
        // The default model input name is the output it comes from: `stft.spectrogram` -> `spectrogram`.
        let name = full.name.unwrap_or_else(|| {
            full.from
                .rsplit('.')
                .next()
                .unwrap_or(&full.from)
                .to_string()
        });
        Self {
            name,
            from: full.from,
            shape: full.shape,
            dtype: full.dtype,
        }
    }
}

impl<'de> Deserialize<'de> for InputSpec {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = InputSpec;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("`audio`, `<stage>.<output>`, or {name, from, shape, dtype}")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<InputSpec, E> {
                Ok(FullInput {
                    name: None,
                    from: v.to_string(),
                    shape: None,
                    dtype: None,
                }
                .into())
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<InputSpec, A::Error> {
                FullInput::deserialize(de::value::MapAccessDeserializer::new(map)).map(Into::into)
            }
        }
        d.deserialize_any(V)
    }
}

/// One stage output. Reads as its name wherever a string is wanted (`Display`, `Deref`),
/// so code that only needs the names treats `outputs` as a list of strings.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// The output's name: captured as `<stage>.<name>`.
    pub name: String,
    /// Expected shape, checked after running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<ShapePattern>,
    /// Expected dtype, checked after running.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dtype: Option<DTypeSpec>,
}

/// `outputs:` entries: a name, or `{name, shape, dtype}`.
pub fn outputs<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<OutputSpec>, D::Error> {
    struct One(OutputSpec);
    impl<'de> Deserialize<'de> for One {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = One;
                fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    f.write_str("an output name or {name, shape, dtype}")
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<One, E> {
                    Ok(One(OutputSpec::from(v)))
                }
                fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<One, A::Error> {
                    OutputSpec::deserialize(de::value::MapAccessDeserializer::new(map)).map(One)
                }
            }
            d.deserialize_any(V)
        }
    }
    Ok(Vec::<One>::deserialize(d)?
        .into_iter()
        .map(|o| o.0)
        .collect())
}

impl From<&str> for OutputSpec {
    fn from(name: &str) -> Self {
        Self {
            name: name.to_string(),
            shape: None,
            dtype: None,
        }
    }
}

impl std::ops::Deref for OutputSpec {
    type Target = str;
    fn deref(&self) -> &str {
        &self.name
    }
}

impl std::borrow::Borrow<str> for OutputSpec {
    fn borrow(&self) -> &str {
        &self.name
    }
}

impl fmt::Display for OutputSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)
    }
}

impl PartialEq<str> for OutputSpec {
    fn eq(&self, other: &str) -> bool {
        self.name == other
    }
}

impl PartialEq<&str> for OutputSpec {
    fn eq(&self, other: &&str) -> bool {
        self.name == *other
    }
}

impl PartialEq<String> for OutputSpec {
    fn eq(&self, other: &String) -> bool {
        &self.name == other
    }
}

/// A value to check against a declaration.
pub struct Seen<'a> {
    /// `input `x` (from `a.y`)` or `output `y``: how messages name the value.
    pub what: String,
    /// Its shape.
    pub shape: &'a [usize],
    /// Its dtype.
    pub dtype: DType,
}

/// Checks a value's shape and dtype against what the spec declares for `backend`.
/// `file` is where the value came from (artifact or reference), `spec` the spec file.
pub fn check(
    stage: &str,
    file: &Path,
    spec: &Path,
    backend: &str,
    seen: &Seen<'_>,
    (shape, dtype): (Option<&ShapePattern>, Option<&DTypeSpec>),
) -> Result<(), RunnerError> {
    let mut wrong = Vec::new();
    if let Some(pattern) = shape.filter(|p| !p.matches(seen.shape)) {
        wrong.push(format!(
            "has shape {:?} but the spec declares {pattern}",
            seen.shape
        ));
    }
    if let Some(want) = dtype.and_then(|d| d.for_backend(backend)) {
        if want != seen.dtype {
            wrong.push(format!(
                "has dtype {} but the spec declares dtype {want} for backend `{backend}`",
                seen.dtype
            ));
        }
    }
    if wrong.is_empty() {
        return Ok(());
    }
    Err(RunnerError::stage(
        stage,
        file,
        format!(
            "{} {}; fix the declaration in {} or the model",
            seen.what,
            wrong.join(" and "),
            spec.display()
        ),
    ))
}

/// Whether two declared shapes can describe the same array (same rank, fixed sizes agree).
pub fn shapes_compatible(a: &ShapePattern, b: &ShapePattern) -> bool {
    a.0.len() == b.0.len()
        && a.0
            .iter()
            .zip(&b.0)
            .all(|(x, y)| *x < 0 || *y < 0 || x == y)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct Io {
        inputs: Vec<InputSpec>,
        #[serde(deserialize_with = "outputs")]
        outputs: Vec<OutputSpec>,
    }

    fn io(yaml: &str) -> Result<Io, String> {
        serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())
    }

    #[test]
    fn short_and_full_forms() {
        let io = io(
            "inputs: [stft.spec, {from: audio, name: raw, shape: [1, -1], dtype: float16}]\n\
                     outputs: [y, {name: z, dtype: {pytorch: float32, coreml: float16}}]\n",
        )
        .unwrap();
        assert_eq!(io.inputs[0].name, "spec");
        assert_eq!(io.inputs[1].dtype, Some(DTypeSpec::All(DType::Float16)));
        assert_eq!(io.outputs[0], "y");
        assert_eq!(format!("{}", io.outputs[1]), "z");
        let z = io.outputs[1].dtype.as_ref().unwrap();
        assert_eq!(z.for_backend("coreml"), Some(DType::Float16));
        assert_eq!(z.for_backend("other"), None);
        assert_eq!(io.outputs.join(", "), "y, z");
    }

    #[test]
    fn typos_name_the_key_and_the_allowed_keys() {
        let err = io("inputs: [{from: audio, sahpe: [1]}]\noutputs: [y]\n")
            .err()
            .unwrap();
        assert!(
            err.contains("unknown field `sahpe`") && err.contains("`dtype`"),
            "{err}"
        );
        let err = io("inputs: [audio]\noutputs: [{name: y, dtyp: int64}]\n")
            .err()
            .unwrap();
        assert!(err.contains("`dtyp`") && err.contains("`shape`"), "{err}");
        let err = io("inputs: [{from: audio, dtype: float17}]\noutputs: [y]\n")
            .err()
            .unwrap();
        assert!(
            err.contains("float17") && err.contains("complex64"),
            "{err}"
        );
    }

    #[test]
    fn check_names_both_dtypes_and_the_spec() {
        let seen = Seen {
            what: "output `y`".into(),
            shape: &[1, 2],
            dtype: DType::Float32,
        };
        let want = DTypeSpec::All(DType::Float16);
        let spec = Path::new("pipe.yml");
        let err = check(
            "s",
            Path::new("s.pt"),
            spec,
            "b",
            &seen,
            (None, Some(&want)),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("stage `s`")
                && err.contains("float32")
                && err.contains("float16")
                && err.contains("pipe.yml"),
            "{err}"
        );
        let per = DTypeSpec::PerBackend(BTreeMap::from([("c".into(), DType::Float16)]));
        assert!(check("s", spec, spec, "b", &seen, (None, Some(&per))).is_ok());
        let shape = ShapePattern(vec![1, 3]);
        assert!(check("s", spec, spec, "b", &seen, (Some(&shape), None)).is_err());
        assert!(shapes_compatible(
            &ShapePattern(vec![1, -1]),
            &ShapePattern(vec![1, 5])
        ));
        assert!(!shapes_compatible(
            &ShapePattern(vec![1, 4]),
            &ShapePattern(vec![1, 5])
        ));
    }
}

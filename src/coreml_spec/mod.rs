//! Reading a Core ML model's interface on any OS: an `.mlpackage` folder (its
//! `Manifest.json` names the root model item, a serialized `CoreML.Specification.Model`)
//! or a bare `.mlmodel` file, decoded without Apple's frameworks or `protoc`.
//!
//! A Linux runner can so check that a re-converted model still has the inputs and outputs
//! the pipeline spec names ([`check`]) before any macOS job runs it.

pub mod check;
pub mod model;
pub mod wire;

use std::path::{Path, PathBuf};

pub use model::{ArrayDType, Feature, FeatureKind, Flexibility, ModelInterface};

/// A model file or package that cannot be read.
#[derive(Debug, thiserror::Error)]
#[error("Core ML model {}: {message}", path.display())]
pub struct CoremlSpecError {
    /// The package or file.
    pub path: PathBuf,
    /// What is wrong and what to do.
    pub message: String,
}

/// The serialized spec a package's manifest points at, relative to its `Data/` folder.
fn root_item(package: &Path) -> Result<PathBuf, String> {
    let manifest = package.join("Manifest.json");
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        format!("cannot read {}: {e}; an .mlpackage is a folder with Manifest.json and Data/ (save it with coremltools' `MLModel.save`)", manifest.display())
    })?;
    let doc: serde_json::Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", manifest.display()))?;
    let root = doc
        .get("rootModelIdentifier")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| format!("{} has no `rootModelIdentifier`", manifest.display()))?;
    let item = doc
        .get("itemInfoEntries")
        .and_then(|e| e.get(root))
        .ok_or_else(|| {
            format!(
                "{}: `rootModelIdentifier` {root:?} is not under `itemInfoEntries`",
                manifest.display()
            )
        })?;
    let rel = item
        .get("path")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| format!("{}: the root item has no `path`", manifest.display()))?;
    let rel = Path::new(rel);
    // The manifest is data from the package: it may not point outside its own Data/ folder.
    if rel.is_absolute()
        || rel
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_)))
    {
        return Err(format!(
            "{}: the root item path {:?} leaves the package",
            manifest.display(),
            rel
        ));
    }
    Ok(package.join("Data").join(rel))
}

/// Reads the interface of an `.mlpackage` folder or `.mlmodel` file.
pub fn load(path: &Path) -> Result<ModelInterface, CoremlSpecError> {
    let err = |message: String| CoremlSpecError {
        path: path.to_path_buf(),
        message,
    };
    let file = if path.is_dir() {
        root_item(path).map_err(err)?
    } else {
        path.to_path_buf()
    };
    let bytes =
        std::fs::read(&file).map_err(|e| err(format!("cannot read {}: {e}", file.display())))?;
    model::decode_model(&bytes).map_err(|e| {
        err(format!(
            "{} is not a readable Core ML specification ({e}); re-save the model with coremltools",
            file.display()
        ))
    })
}

impl ModelInterface {
    /// A few lines for a terminal: type, version, then one line per input and output.
    pub fn to_text(&self) -> String {
        let mut out = format!(
            "{} (specification version {})\n",
            if self.model_type.is_empty() {
                "model"
            } else {
                &self.model_type
            },
            self.spec_version
        );
        for (title, features) in [("input", &self.inputs), ("output", &self.outputs)] {
            for f in features {
                out.push_str(&format!("{title:<6}  {}  {}\n", f.name, f.describe()));
            }
        }
        for (k, v) in &self.metadata {
            out.push_str(&format!("meta    {k} = {v}\n"));
        }
        out
    }
}

impl Feature {
    /// `float32 [1, 4, 2048, 336]`, with flexibility and optionality when present.
    pub fn describe(&self) -> String {
        match &self.kind {
            FeatureKind::MultiArray {
                shape,
                dtype,
                flexibility,
            } => {
                let mut s = format!("{} {}", dtype.name(), fmt_dims(shape));
                match flexibility {
                    Flexibility::Fixed => {}
                    Flexibility::Enumerated(shapes) => {
                        let all: Vec<String> = shapes.iter().map(|s| fmt_dims(s)).collect();
                        s.push_str(&format!(" (or one of {})", all.join(", ")));
                    }
                    Flexibility::Range(ranges) => {
                        let all: Vec<String> = ranges
                            .iter()
                            .map(|(lo, hi)| match hi {
                                Some(h) if h == lo => lo.to_string(),
                                Some(h) => format!("{lo}..={h}"),
                                None => format!("{lo}.."),
                            })
                            .collect();
                        s.push_str(&format!(" (sizes [{}])", all.join(", ")));
                    }
                }
                if self.optional {
                    s.push_str(" optional");
                }
                s
            }
            FeatureKind::Other { name } => (*name).to_string(),
        }
    }
}

/// `[1, 4, 2048, 336]`; an empty shape (left open by the converter) is `[?]`.
pub fn fmt_dims(dims: &[i64]) -> String {
    if dims.is_empty() {
        return "[?]".into();
    }
    let parts: Vec<String> = dims.iter().map(i64::to_string).collect();
    format!("[{}]", parts.join(", "))
}

//! The pipeline spec against its Core ML models: every stage whose artifact for a
//! `coreml` backend is an `.mlpackage` or `.mlmodel` must name the model's inputs and
//! outputs, with shapes the model accepts. Runs on any OS, before anything runs, so a
//! re-converted model whose outputs were renamed fails on a Linux runner.

use std::path::{Path, PathBuf};

use crate::runner::{Engine, PipelineSpec, ShapePattern, StageSpec};

use super::{ArrayDType, Feature, FeatureKind, Flexibility, ModelInterface};

/// The outcome for one stage's Core ML artifact.
#[derive(Debug)]
pub struct StageCheck {
    /// Stage name.
    pub stage: String,
    /// Backend name.
    pub backend: String,
    /// The artifact, resolved against the spec's folder.
    pub artifact: PathBuf,
    /// What was found.
    pub status: Status,
}

/// What checking one artifact found.
#[derive(Debug)]
pub enum Status {
    /// Names and shapes agree; the model's interface for the log.
    Agrees(ModelInterface),
    /// Each entry says what differs and where.
    Differs(Vec<String>),
    /// The artifact is not there (built on the Mac job): nothing to check here.
    Absent,
    /// Not a format this reader knows (e.g. a compiled `.mlmodelc`).
    Unsupported,
    /// The artifact exists but cannot be read.
    Unreadable(String),
}

fn is_spec_file(path: &Path) -> bool {
    matches!(
        path.extension().and_then(|e| e.to_str()),
        Some("mlpackage" | "mlmodel")
    )
}

/// Checks every Core ML artifact of `spec`; stages of other engines are not listed.
pub fn check_pipeline(spec: &PipelineSpec) -> Vec<StageCheck> {
    let mut out = Vec::new();
    for stage in &spec.stages {
        for (backend, b) in &spec.backends {
            if b.engine != Engine::Coreml {
                continue;
            }
            let Some(artifact) = spec.artifact(stage, backend) else {
                continue;
            };
            let status = if !artifact.exists() {
                Status::Absent
            } else if !is_spec_file(&artifact) {
                Status::Unsupported
            } else {
                match super::load(&artifact) {
                    Ok(model) => {
                        let problems = check_stage(stage, backend, &model);
                        if problems.is_empty() {
                            Status::Agrees(model)
                        } else {
                            Status::Differs(problems)
                        }
                    }
                    Err(e) => Status::Unreadable(e.message),
                }
            };
            out.push(StageCheck {
                stage: stage.name.clone(),
                backend: backend.clone(),
                artifact,
                status,
            });
        }
    }
    out
}

fn names(features: &[Feature]) -> String {
    let all: Vec<&str> = features.iter().map(|f| f.name.as_str()).collect();
    if all.is_empty() {
        "none".into()
    } else {
        all.join(", ")
    }
}

/// What differs between one stage of the spec and the model that implements it for
/// `backend` (dtypes may be declared per backend).
pub fn check_stage(stage: &StageSpec, backend: &str, model: &ModelInterface) -> Vec<String> {
    let mut problems = Vec::new();
    // A declared dtype against the model's array type, where both are known.
    let dtype_of = |feature: &Feature, declared: Option<&crate::runner::spec::DTypeSpec>| {
        let want = declared?.for_backend(backend)?;
        match &feature.kind {
            FeatureKind::MultiArray { dtype, .. } if *dtype != ArrayDType::Unknown => {
                dtype_problem(&feature.name, want.name(), *dtype)
            }
            _ => None,
        }
    };
    for input in &stage.inputs {
        match model.inputs.iter().find(|f| f.name == input.name) {
            None => problems.push(format!(
                "input `{}` is not an input of the model; the model's inputs are: {}",
                input.name,
                names(&model.inputs)
            )),
            Some(feature) => {
                if let Some(p) = input.shape.as_ref().and_then(|s| shape_problem(feature, s)) {
                    problems.push(p);
                }
                problems.extend(dtype_of(feature, input.dtype.as_ref()));
            }
        }
    }
    for output in &stage.outputs {
        if let Some(feature) = model.outputs.iter().find(|f| f.name == output.name) {
            problems.extend(dtype_of(feature, output.dtype.as_ref()));
        }
    }
    for feature in &model.inputs {
        if !feature.optional && !stage.inputs.iter().any(|i| i.name == feature.name) {
            problems.push(format!(
                "the model's input `{}` ({}) is not listed under the stage's `inputs:`",
                feature.name,
                feature.describe()
            ));
        }
    }
    let missing: Vec<&str> = stage
        .outputs
        .iter()
        .filter(|o| !model.outputs.iter().any(|f| f.name == o.name))
        .map(|o| o.name.as_str())
        .collect();
    if !missing.is_empty() {
        problems.push(format!(
            "output(s) {} not found: the spec expects outputs {}, the model has {}",
            missing
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", "),
            stage.outputs.join(", "),
            names(&model.outputs)
        ));
    }
    problems
}

/// Why the model does not accept inputs of the spec's shape, if it does not. A `-1` in the
/// spec accepts any size and is not checked.
pub fn shape_problem(feature: &Feature, want: &ShapePattern) -> Option<String> {
    let FeatureKind::MultiArray {
        shape, flexibility, ..
    } = &feature.kind
    else {
        return Some(format!(
            "input `{}` is a {} in the model, not an array",
            feature.name,
            feature.describe()
        ));
    };
    let fits = |dims: &[i64]| {
        dims.len() == want.0.len() && want.0.iter().zip(dims).all(|(w, d)| *w < 0 || w == d)
    };
    let ok = match flexibility {
        Flexibility::Fixed => fits(shape),
        Flexibility::Enumerated(shapes) => fits(shape) || shapes.iter().any(|s| fits(s)),
        Flexibility::Range(ranges) => {
            ranges.len() == want.0.len()
                && want
                    .0
                    .iter()
                    .zip(ranges)
                    .all(|(w, (lo, hi))| *w < 0 || (*w >= *lo && hi.is_none_or(|h| *w <= h)))
        }
    };
    (!ok).then(|| {
        format!(
            "input `{}`: the spec expects shape {want}, the model takes {}",
            feature.name,
            feature.describe()
        )
    })
}

/// Why a declared dtype (numpy spelling, e.g. `float16`) differs from the model's, if it
/// does. For specs that declare dtypes per input and output.
pub fn dtype_problem(name: &str, declared: &str, found: ArrayDType) -> Option<String> {
    (declared != found.name()).then(|| {
        format!(
            "`{name}`: the spec declares dtype {declared}, the model's is {}",
            found.name()
        )
    })
}

/// One readable paragraph for a failed check: the file, what differs, what to do.
pub fn explain(check: &StageCheck, spec_path: &Path) -> Option<String> {
    let what = match &check.status {
        Status::Differs(problems) => problems.join("; "),
        Status::Unreadable(message) => message.clone(),
        Status::Agrees(_) | Status::Absent | Status::Unsupported => return None,
    };
    Some(format!(
        "stage `{}` (backend `{}`): the Core ML model {} does not match the pipeline spec {}: {what}. \
         Either the model was re-converted with different names or shapes (rename them back, e.g. with \
         coremltools' `ct.utils.rename_feature`) or the spec is out of date (update the stage's \
         `inputs:`/`outputs:`); `htdemucs-devops coreml inspect {}` prints the model's interface",
        check.stage,
        check.backend,
        check.artifact.display(),
        spec_path.display(),
        check.artifact.display()
    ))
}

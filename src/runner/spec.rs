//! The pipeline spec (YAML): stages in order, each with its inputs, outputs and per-backend artifact.
//!
//! ```yaml
//! sample_rate: 44100
//! channels: 2
//! backends:
//!   pytorch: {engine: torch}
//!   coreml: {engine: coreml, compute_units: all}
//! stages:
//!   - name: stft
//!     inputs: [{name: audio, from: audio, shape: [1, 2, -1]}]
//!     outputs: [spectrogram]
//!     artifacts: {pytorch: build/pytorch/stft.pt}
//!   - name: branches            # one model, two inputs, two outputs: timed as one stage
//!     inputs: [stft.spectrogram, {name: raw_audio, from: audio}]
//!     outputs: [freq_out, time_out]
//!     artifacts: {pytorch: build/pytorch/branches.pt, coreml: build/Model.mlpackage}
//! segmenting:                   # optional (docs/segmenting.md)
//!   samples: 343980             # segment length: HTDemucs's 7.8 s at 44.1 kHz
//!   overlap: 0.25               # defaults 0.25 and 1, as demucs's apply_model
//!   transition_power: 1
//! ```
//!
//! An input is `audio` (the run's audio, `[1, channels, samples]`) or `<stage>.<output>` of an
//! earlier stage; `name` is the model's input name (CoreML feeds by name, TorchScript by
//! position); `shape` (`-1` = any size) and `dtype` are checked before the model runs.
//! Outputs are named in the order a TorchScript tuple returns them, or by CoreML output
//! name, and may declare `shape` and `dtype` too, checked after the run (see `declare`).
//! Where an input and the output it comes from both declare a shape or dtype, the two
//! must agree: that is checked when the spec is loaded, before anything runs. Artifact
//! paths are relative to the spec file; a listed artifact that does not exist is an error.
//! With `segmenting:`, the stages `first`..=`last` (default: all) run once per segment of
//! `samples`, and the last one's outputs are overlap-added as demucs's
//! `apply_model(split=True)` does (`segment.rs`, `docs/segmenting.md`).
//!
//! Stages outside any model (HTDemucsCoreML computes its STFT/iSTFT in Swift, not CoreML;
//! see `docs/pipeline-spec.md`):
//!
//! ```yaml
//!   - name: stft
//!     shared: pytorch            # ONE implementation (pytorch's) feeds every backend
//!     inputs: [audio]
//!     outputs: [spectrogram]
//!     artifacts: {pytorch: build/pytorch/stft.pt}
//!   - name: istft
//!     inputs: [model.freq, model.time]
//!     outputs: [stems]
//!     artifacts:
//!       pytorch: build/pytorch/istft.pt
//!       coreml: {command: [bin/cli, istft, "{inputs}", "{outputs}"], timeout_sec: 60}
//!       other: {skip: "no iSTFT on this backend"}
//! ```
//!
//! An artifact entry is a model path, an external `command:` (argv list, no shell; the
//! runner writes the inputs as `.npy`/`.npz`, runs it and reads the outputs back; see
//! `stage_impl.rs` for the placeholders) or `skip:`. A backend the stage does not mention
//! skips it, as `skip:` does. A stage no backend runs itself (skipped, `shared:` by another
//! backend, or deselected with `--stage`/`--skip-stage`) feeds its consumers in chained mode
//! from `--shared-from REF.npz`, a capture of the reference backend (`parity run` passes it).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::spec_checks::locate;
use super::stage_impl::Implementation;

pub use super::declare::{DTypeSpec, InputSpec, OutputSpec};

/// The name under which the run's input audio is available to stages.
pub const AUDIO: &str = "audio";

/// The highest `sample_rate` a spec may ask for (the highest rate audio interfaces
/// offer); anything above is a typo that would size buffers from nonsense.
pub const MAX_SAMPLE_RATE: u32 = 768_000;
/// The most `channels` a spec may ask for (7th-order ambisonics needs 64).
pub const MAX_CHANNELS: usize = 256;

/// A pipeline spec file that cannot be used.
#[derive(Debug, thiserror::Error)]
#[error("pipeline spec {path}: {message}")]
pub struct SpecError {
    /// The spec file.
    pub path: PathBuf,
    /// What is wrong.
    pub message: String,
}

/// A validated pipeline spec.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PipelineSpec {
    /// Optional display name.
    #[serde(default)]
    pub name: Option<String>,
    /// Sample rate the audio input must have.
    pub sample_rate: u32,
    /// Channel count the audio input must have.
    pub channels: usize,
    /// Backend name (the results JSON key) -> how to run it.
    pub backends: BTreeMap<String, BackendSpec>,
    /// Stages in execution order.
    pub stages: Vec<StageSpec>,
    /// Run a range of stages over the audio in overlapping segments (`segment.rs`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub segmenting: Option<super::segment::Segmenting>,
    /// Directory artifact paths are relative to (the spec file's directory).
    #[serde(skip)]
    pub base_dir: PathBuf,
    /// The spec file itself, for error messages.
    #[serde(skip)]
    pub path: PathBuf,
}

/// Which library runs a backend.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Engine {
    /// TorchScript modules through tch (libtorch).
    Torch,
    /// CoreML models through Core ML's API (objc2-core-ml, macOS only).
    Coreml,
}

/// CoreML compute units, Core ML's `MLComputeUnits`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ComputeUnits {
    /// CPU only.
    Cpu,
    /// CPU and GPU.
    Gpu,
    /// CPU and Neural Engine.
    Ane,
    /// Whatever Core ML chooses among CPU, GPU and Neural Engine.
    All,
}

/// How one backend is run.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BackendSpec {
    /// The engine.
    pub engine: Engine,
    /// CoreML only: compute units (default `all`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub compute_units: Option<ComputeUnits>,
}

/// One stage: a model run with named inputs and outputs.
#[derive(Clone, Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StageSpec {
    /// Stage name; metrics are `<name>_sec`, captured arrays `<name>.<output>`.
    pub name: String,
    /// Inputs in the order the model takes them.
    pub inputs: Vec<InputSpec>,
    /// Outputs in the order the model returns them (names, optionally shape and dtype).
    #[serde(deserialize_with = "super::declare::outputs")]
    pub outputs: Vec<OutputSpec>,
    /// Backend name -> how it computes the stage: a model path (relative to the spec
    /// file), a `command:` or `skip:`.
    #[serde(default)]
    pub artifacts: BTreeMap<String, Implementation>,
    /// The one backend whose implementation feeds every backend (a stage outside the model).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shared: Option<String>,
}

impl PipelineSpec {
    /// Reads and validates a spec file.
    pub fn load(path: &Path) -> Result<Self, SpecError> {
        let text = std::fs::read_to_string(path).map_err(|e| SpecError {
            path: path.to_path_buf(),
            message: format!("cannot read: {e}"),
        })?;
        Self::parse(&text, path)
    }

    /// Parses and validates spec text; `path` is where it came from (for messages and
    /// relative artifact paths). The entry point for fuzzing.
    pub fn parse(text: &str, path: &Path) -> Result<Self, SpecError> {
        let err = |message: String| SpecError {
            path: path.to_path_buf(),
            message,
        };
        let mut spec: Self = serde_yaml_ng::from_str(text)
            .map_err(|e| err(format!("invalid YAML: {}", locate(text, &e.to_string()))))?;
        spec.path = path.to_path_buf();
        spec.base_dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        spec.validate().map_err(err)?;
        Ok(spec)
    }

    /// Checks names, references and backends; returns what is wrong.
    pub fn validate(&self) -> Result<(), String> {
        if self.sample_rate == 0 || self.sample_rate > MAX_SAMPLE_RATE {
            return Err(format!(
                "sample_rate: {} Hz is outside the supported 1..={MAX_SAMPLE_RATE} Hz",
                self.sample_rate
            ));
        }
        if self.channels == 0 || self.channels > MAX_CHANNELS {
            return Err(format!(
                "channels: {} is outside the supported 1..={MAX_CHANNELS}",
                self.channels
            ));
        }
        if self.stages.is_empty() {
            return Err("no stages listed".into());
        }
        let mut available: HashMap<String, &OutputSpec> = HashMap::new();
        let mut names = HashSet::new();
        for stage in &self.stages {
            let s = &stage.name;
            if s.is_empty() || s.contains('.') || s.starts_with('$') || s == AUDIO {
                return Err(format!(
                    "stage name `{s}` must be non-empty, without '.', '$', and not `audio`"
                ));
            }
            if !names.insert(s.clone()) {
                return Err(format!("stage `{s}` is listed twice"));
            }
            if stage.outputs.is_empty() {
                return Err(format!("stage `{s}` lists no outputs"));
            }
            for input in &stage.inputs {
                let producer = available.get(&input.from);
                if producer.is_none() && input.from != AUDIO {
                    return Err(format!(
                        "stage `{s}` input `{}` comes from `{}`, which is neither `audio` nor an output of an earlier stage",
                        input.name, input.from
                    ));
                }
                if let Some(out) = producer {
                    self.agree(stage, input, out)?;
                }
                self.known_backends(s, &input.name, input.dtype.as_ref())?;
            }
            for out in &stage.outputs {
                self.known_backends(s, out, out.dtype.as_ref())?;
            }
            for backend in stage.artifacts.keys() {
                if !self.backends.contains_key(backend) {
                    return Err(format!(
                        "stage `{s}` names backend `{backend}`, which is not under `backends:`"
                    ));
                }
            }
            super::stage_impl::check_stage(stage, &self.backends)
                .map_err(|m| format!("stage `{s}`: {m}"))?;
            available.extend(stage.outputs.iter().map(|o| (format!("{s}.{o}"), o)));
        }
        if let Some(segmenting) = &self.segmenting {
            segmenting.validate(&self.stages)?;
        }
        if let Some(clash) =
            super::results::metric_collision(self.stages.iter().map(|s| s.name.as_str()))
        {
            return Err(clash);
        }
        if let Some(bad) = self
            .backends
            .keys()
            .find(|b| b.starts_with('$') || b.is_empty())
        {
            return Err(format!(
                "backend name `{bad}` must be non-empty and not start with '$'"
            ));
        }
        Ok(())
    }

    /// The backend's spec, or an error listing the known backends.
    pub fn backend(&self, name: &str) -> Result<&BackendSpec, SpecError> {
        self.backends.get(name).ok_or_else(|| SpecError {
            path: self.path.clone(),
            message: format!(
                "no backend `{name}`; this spec defines: {}",
                self.backends.keys().cloned().collect::<Vec<_>>().join(", ")
            ),
        })
    }

    /// Stages that take the run's audio as an input, for error messages about the audio.
    pub fn audio_readers(&self) -> Vec<String> {
        self.stages
            .iter()
            .filter(|s| s.inputs.iter().any(|i| i.from == AUDIO))
            .map(|s| s.name.clone())
            .collect()
    }

    /// The stage's model artifact for `backend` (not a command or skip), resolved against
    /// the spec's directory.
    pub fn artifact(&self, stage: &StageSpec, backend: &str) -> Option<PathBuf> {
        match stage.artifacts.get(backend)? {
            Implementation::Artifact(p) => Some(self.base_dir.join(p)),
            _ => None,
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn parse(yaml: &str) -> Result<PipelineSpec, String> {
        let spec: PipelineSpec = serde_yaml_ng::from_str(yaml).map_err(|e| e.to_string())?;
        spec.validate().map(|()| spec)
    }

    const HEAD: &str = "sample_rate: 44100\nchannels: 2\nbackends: {pytorch: {engine: torch}}\n";

    #[test]
    fn short_inputs_default_their_name() {
        let spec = parse(&format!(
            "{HEAD}stages:\n - {{name: stft, inputs: [audio], outputs: [spec]}}\n - {{name: f, inputs: [stft.spec], outputs: [y], artifacts: {{pytorch: f.pt}}}}\n"
        ))
        .unwrap();
        assert_eq!(spec.stages[1].inputs[0].name, "spec");
        assert_eq!(spec.stages[1].inputs[0].from, "stft.spec");
    }

    #[test]
    fn rejects_forward_references_unknown_backends_and_duplicates() {
        let forward = parse(&format!(
            "{HEAD}stages:\n - {{name: a, inputs: [b.y], outputs: [x]}}\n - {{name: b, inputs: [audio], outputs: [y]}}\n"
        ));
        assert!(forward.unwrap_err().contains("earlier stage"));
        let backend = parse(&format!(
            "{HEAD}stages:\n - {{name: a, inputs: [audio], outputs: [x], artifacts: {{coreml: m.mlpackage}}}}\n"
        ));
        assert!(backend.unwrap_err().contains("`coreml`"));
        let twice = parse(&format!(
            "{HEAD}stages:\n - {{name: a, inputs: [audio], outputs: [x]}}\n - {{name: a, inputs: [audio], outputs: [x]}}\n"
        ));
        assert!(twice.unwrap_err().contains("twice"));
    }

    #[test]
    fn absurd_sizes_name_the_key_and_the_limit() {
        let stages = "stages:\n - {name: a, inputs: [audio], outputs: [x]}\n";
        for (head, want) in [
            (
                "sample_rate: 4294967295\nchannels: 2\n",
                "sample_rate: 4294967295 Hz",
            ),
            ("sample_rate: 0\nchannels: 2\n", "sample_rate: 0 Hz"),
            (
                "sample_rate: 44100\nchannels: 1000000\n",
                "channels: 1000000",
            ),
            (
                "sample_rate: 44100\nchannels: 9223372036854775807\n",
                "..=256",
            ),
        ] {
            let err = parse(&format!("{head}backends: {{}}\n{stages}")).unwrap_err();
            assert!(err.contains(want), "{err}");
        }
        let e = PipelineSpec::parse("sample_rate: 1\n", Path::new("p.yml")).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("pipeline spec p.yml: invalid YAML"),
            "{e}"
        );
    }

    #[test]
    fn unknown_keys_are_errors() {
        let typo = parse(&format!(
            "{HEAD}stages:\n - {{name: a, input: [audio], outputs: [x]}}\n"
        ));
        assert!(typo.is_err());
    }
}

//! The `parity` section of `.github/htdemucs-devops.yml`: default and per-stage
//! tolerances, and how `parity run` drives the stage runner.
//!
//! Defaults are chosen so that a float16 CoreML conversion of a float32 model passes:
//! `atol = 1e-3`, `rtol = 1e-3` (float16 rounding alone is at most 2⁻¹¹ ≈ 4.9e-4
//! relative; HTDemucsCoreML's own tighter `atol = 1e-4` is a per-project setting), a minimum SNR
//! of 40 dB (Apple's coremltools guidance uses PSNR ≥ 40 dB; float16 rounding alone gives
//! about 70 dB) and a minimum SDR of 40 dB for audio stems.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::PathBuf;

use super::model::Tolerance;

/// A float16 network carries absolute errors of a few 1e-4 on values below 1 after a few
/// layers (its unit roundoff is 2⁻¹¹ ≈ 4.9e-4); 1e-3 lets a faithful conversion pass while
/// SNR stays the quality gate. Projects with tighter targets set `atol` per stage.
pub const DEFAULT_ATOL: f64 = 1e-3;
pub const DEFAULT_RTOL: f64 = 1e-3;
pub const DEFAULT_MIN_SNR_DB: f64 = 40.0;
pub const DEFAULT_MIN_SDR_DB: f64 = 40.0;
/// The floor under |ref| in the relative error, so exact zeros don't explode it.
pub const DEFAULT_REL_FLOOR: f64 = 1e-4;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ParityConfig {
    pub atol: f64,
    pub rtol: f64,
    pub min_snr_db: f64,
    pub min_sdr_db: f64,
    pub rel_floor: f64,
    /// Per-stage overrides, keyed by stage name (the part of an array name before the
    /// first dot; `stems` for WAV stems).
    pub stages: BTreeMap<String, StageConfig>,
    pub run: RunConfig,
}

impl Default for ParityConfig {
    fn default() -> Self {
        ParityConfig {
            atol: DEFAULT_ATOL,
            rtol: DEFAULT_RTOL,
            min_snr_db: DEFAULT_MIN_SNR_DB,
            min_sdr_db: DEFAULT_MIN_SDR_DB,
            rel_floor: DEFAULT_REL_FLOOR,
            stages: BTreeMap::new(),
            run: RunConfig::default(),
        }
    }
}

/// Overrides for one stage; unset keys fall back to the section's defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StageConfig {
    pub atol: Option<f64>,
    pub rtol: Option<f64>,
    pub min_snr_db: Option<f64>,
    pub min_sdr_db: Option<f64>,
    /// Axis of the stage's arrays that indexes stems (`1` for `[batch, stem, channel,
    /// time]`): one SDR per stem, as demucs's evaluation computes it.
    pub stem_axis: Option<usize>,
    /// Names for the stems along `stem_axis` (e.g. drums, bass, other, vocals).
    pub stems: Vec<String>,
}

/// `parity run`: the stage runner and what to feed it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// The runner program [default: `htdemucs-stage-runner` next to our executable, else
    /// on PATH].
    pub runner: Option<PathBuf>,
    /// The pipeline spec the runner reads, relative to the root.
    pub spec: PathBuf,
    pub reference_backend: String,
    pub candidate_backend: String,
    /// WAV clips, relative to the root; when empty, a generated signal is used.
    pub clips: Vec<PathBuf>,
    /// Length of the generated signal when no clips are given.
    pub signal_seconds: f64,
    /// Also run the candidate in isolated mode (each stage fed the reference's inputs).
    pub isolated: bool,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            runner: None,
            spec: PathBuf::from("pipeline.yml"),
            reference_backend: "pytorch".to_string(),
            candidate_backend: "coreml".to_string(),
            clips: Vec::new(),
            signal_seconds: 10.0,
            isolated: true,
        }
    }
}

/// Flag overrides that apply to every array.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Overrides {
    pub atol: Option<f64>,
    pub rtol: Option<f64>,
    pub min_snr_db: Option<f64>,
}

impl ParityConfig {
    /// The tolerance for `stage`: flags beat the stage's section, which beats defaults.
    pub fn tolerance(&self, stage: &str, o: &Overrides) -> Tolerance {
        let s = self.stages.get(stage);
        Tolerance {
            atol: o.atol.or(s.and_then(|s| s.atol)).unwrap_or(self.atol),
            rtol: o.rtol.or(s.and_then(|s| s.rtol)).unwrap_or(self.rtol),
            min_snr_db: o
                .min_snr_db
                .or(s.and_then(|s| s.min_snr_db))
                .unwrap_or(self.min_snr_db),
            min_sdr_db: s.and_then(|s| s.min_sdr_db).unwrap_or(self.min_sdr_db),
        }
    }

    /// The stage's default tolerance with flags applied (for the report header).
    pub fn defaults(&self, o: &Overrides) -> Tolerance {
        self.tolerance("", o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_beat_stage_beat_defaults() {
        let c: ParityConfig =
            serde_yaml_ng::from_str("stages:\n  istft:\n    atol: 0.01\n    min_snr_db: 30\n")
                .unwrap_or_else(|e| panic!("{e}"));
        let none = Overrides::default();
        assert_eq!(c.tolerance("istft", &none).atol, 0.01);
        assert_eq!(c.tolerance("istft", &none).rtol, DEFAULT_RTOL);
        assert_eq!(c.tolerance("stft", &none).atol, DEFAULT_ATOL);
        let flags = Overrides {
            atol: Some(1.0),
            ..Default::default()
        };
        assert_eq!(c.tolerance("istft", &flags).atol, 1.0);
        assert_eq!(c.tolerance("istft", &flags).min_snr_db, 30.0);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(serde_yaml_ng::from_str::<ParityConfig>("atoll: 1\n").is_err());
    }
}

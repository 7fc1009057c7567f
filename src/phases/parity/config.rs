//! The `parity` section of `.github/htdemucs-devops.yml`: default and per-stage
//! tolerances, and how `parity run` drives the stage runner.
//!
//! Defaults are chosen so that a float16 CoreML conversion of a float32 model passes:
//! `atol = 1e-3`, `rtol = 1e-3` (float16 rounding alone is at most 2⁻¹¹ ≈ 4.9e-4
//! relative; HTDemucsCoreML's own tighter `atol = 1e-4` is a per-project setting), a minimum SNR
//! of 40 dB (Apple's coremltools guidance uses PSNR ≥ 40 dB; float16 rounding alone gives
//! about 70 dB) and a minimum SDR of 40 dB for audio stems.

use serde::{Deserialize, Deserializer};
use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::parity::model::{StageRules, Tolerance, Tolerances};

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
    #[serde(deserialize_with = "atol")]
    pub atol: f64,
    #[serde(deserialize_with = "rtol")]
    pub rtol: f64,
    #[serde(deserialize_with = "min_snr_db")]
    pub min_snr_db: f64,
    #[serde(deserialize_with = "min_sdr_db")]
    pub min_sdr_db: f64,
    #[serde(deserialize_with = "rel_floor")]
    pub rel_floor: f64,
    /// Per-stage overrides, keyed by stage name (the part of an array name before the
    /// first dot; `stems` for WAV stems).
    pub stages: BTreeMap<String, StageConfig>,
    pub run: RunConfig,
    /// A flat folder of `{stem}_{backend}.wav` files: what `parity` compares when given
    /// no paths (see `parity::pairs`).
    pub pairs: Option<crate::parity::pairs::PairsConfig>,
    /// A `metrics.csv` (`stem,sdr,sir,sar`) the port's scripts computed: one SDR check
    /// per stem (see `ingest::metrics_csv`).
    pub metrics_csv: Option<PathBuf>,
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
            pairs: None,
            metrics_csv: None,
        }
    }
}

/// Overrides for one stage; unset keys fall back to the section's defaults.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct StageConfig {
    #[serde(deserialize_with = "some_atol")]
    pub atol: Option<f64>,
    #[serde(deserialize_with = "some_rtol")]
    pub rtol: Option<f64>,
    #[serde(deserialize_with = "some_min_snr_db")]
    pub min_snr_db: Option<f64>,
    #[serde(deserialize_with = "some_min_sdr_db")]
    pub min_sdr_db: Option<f64>,
    /// Axis of the stage's arrays that indexes stems (`1` for `[batch, stem, channel,
    /// time]`): one SDR per stem, as demucs's evaluation computes it.
    pub stem_axis: Option<usize>,
    /// Names for the stems along `stem_axis` (e.g. drums, bass, other, vocals).
    pub stems: Vec<String>,
}

/// What a tolerance setting may be. A NaN compares false with everything, so a NaN
/// `atol` or minimum would let any candidate pass; negative tolerances and infinite
/// ones are senseless too (to switch a gate off, use a generous finite value, or
/// `-.inf` for a minimum).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    /// atol, rtol: a finite number ≥ 0.
    Tolerance,
    /// min_snr_db, min_sdr_db: a number of dB, not NaN and not +inf (−inf: no minimum).
    MinimumDb,
    /// rel_floor: a finite number > 0.
    Floor,
}

impl Rule {
    /// `Err` with what `key` must be, when `v` breaks the rule.
    pub fn check(self, key: &str, v: f64) -> Result<f64, String> {
        let (ok, want) = match self {
            Rule::Tolerance => (v.is_finite() && v >= 0.0, "a finite number ≥ 0"),
            Rule::MinimumDb => (
                !v.is_nan() && v != f64::INFINITY,
                "a number of dB (not NaN or +inf; -.inf means no minimum)",
            ),
            Rule::Floor => (v.is_finite() && v > 0.0, "a finite number > 0"),
        };
        if ok {
            Ok(v)
        } else {
            Err(format!("{key} must be {want}, got {v}"))
        }
    }
}

fn checked<'de, D: Deserializer<'de>>(d: D, key: &str, rule: Rule) -> Result<f64, D::Error> {
    let v = f64::deserialize(d)?;
    rule.check(key, v).map_err(serde::de::Error::custom)
}

macro_rules! checked_fields {
    ($($plain:ident, $some:ident: $rule:expr;)*) => {$(
        fn $plain<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
            checked(d, stringify!($plain), $rule)
        }
        #[allow(dead_code)]
        fn $some<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
            checked(d, stringify!($plain), $rule).map(Some)
        }
    )*};
}

checked_fields! {
    atol, some_atol: Rule::Tolerance;
    rtol, some_rtol: Rule::Tolerance;
    min_snr_db, some_min_snr_db: Rule::MinimumDb;
    min_sdr_db, some_min_sdr_db: Rule::MinimumDb;
    rel_floor, some_rel_floor: Rule::Floor;
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
        self.resolve(self.stages.get(stage), o)
    }

    fn resolve(&self, s: Option<&StageConfig>, o: &Overrides) -> Tolerance {
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

    /// Every stage's tolerance with flags applied, and the stem layouts: what the parity
    /// engine judges by.
    pub fn tolerances(&self, o: &Overrides) -> Tolerances {
        Tolerances {
            default: self.resolve(None, o),
            rel_floor: self.rel_floor,
            stages: self
                .stages
                .iter()
                .map(|(name, s)| {
                    let rules = StageRules {
                        tolerance: self.resolve(Some(s), o),
                        stem_axis: s.stem_axis,
                        stems: s.stems.clone(),
                    };
                    (name.clone(), rules)
                })
                .collect(),
        }
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
        // What the engine gets agrees stage by stage, and elsewhere with the defaults.
        let t = c.tolerances(&flags);
        for stage in ["istft", "stft", ""] {
            assert_eq!(t.of(stage), c.tolerance(stage, &flags), "{stage}");
        }
        assert_eq!(t.rel_floor, DEFAULT_REL_FLOOR);
    }

    #[test]
    fn nonsense_tolerances_are_rejected_naming_the_key() {
        for (yaml, key) in [
            ("atol: .nan\n", "atol"),
            ("rtol: -1\n", "rtol"),
            ("atol: .inf\n", "atol"),
            ("min_snr_db: .nan\n", "min_snr_db"),
            ("rel_floor: 0\n", "rel_floor"),
            ("stages:\n  a:\n    min_sdr_db: .inf\n", "min_sdr_db"),
        ] {
            let err = serde_yaml_ng::from_str::<ParityConfig>(yaml)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_else(|| panic!("{yaml} accepted"));
            assert!(err.contains(&format!("{key} must be")), "{err}");
        }
        let ok: ParityConfig = serde_yaml_ng::from_str("min_snr_db: -.inf\natol: 0\n")
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.min_snr_db, f64::NEG_INFINITY);
    }

    #[test]
    fn unknown_keys_are_rejected() {
        assert!(serde_yaml_ng::from_str::<ParityConfig>("atoll: 1\n").is_err());
    }
}

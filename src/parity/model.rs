//! The parity report model: one [`Check`] per compared array (per clip and mode when the
//! stage runner is used), each with its metrics, tolerance and verdict. Serialised as
//! `data` in `<out-dir>/parity.json`; `--format json` prints the same object.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// allclose-style tolerances and minimum signal-to-noise figures for one stage.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Tolerance {
    pub atol: f64,
    pub rtol: f64,
    pub min_snr_db: f64,
    pub min_sdr_db: f64,
}

/// What a comparison judges by: a tolerance per stage, with config and flags already
/// applied (the parity phase builds it from its config section).
#[derive(Debug, Clone, PartialEq)]
pub struct Tolerances {
    /// For stages without rules of their own.
    pub default: Tolerance,
    /// The floor under |ref| in the relative error, so exact zeros don't explode it.
    pub rel_floor: f64,
    pub stages: BTreeMap<String, StageRules>,
}

/// One stage's tolerance and how its arrays hold stems.
#[derive(Debug, Clone, PartialEq)]
pub struct StageRules {
    pub tolerance: Tolerance,
    /// Axis of the stage's arrays that indexes stems: one SDR per stem.
    pub stem_axis: Option<usize>,
    /// Names for the stems along `stem_axis`.
    pub stems: Vec<String>,
}

impl Tolerances {
    /// The tolerance for `stage`.
    pub fn of(&self, stage: &str) -> Tolerance {
        self.stages.get(stage).map_or(self.default, |s| s.tolerance)
    }
}

/// The SDR of one stem (demucs `new_sdr`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StemSdr {
    pub stem: String,
    #[serde(with = "real")]
    pub sdr_db: f64,
}

/// Error statistics of one array pair, computed in float64 over the finite pairs.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub elements: u64,
    #[serde(with = "real")]
    pub max_abs: f64,
    /// Where `max_abs` occurs (C-order index into the shape).
    pub max_abs_index: Vec<usize>,
    #[serde(with = "real")]
    pub mean_abs: f64,
    /// numpy `percentile(abs_err, 99)`; exact unless `p99_exact` is false (see `quantile`).
    #[serde(with = "real")]
    pub p99_abs: f64,
    pub p99_exact: bool,
    #[serde(with = "real")]
    pub rmse: f64,
    /// max |cand − ref| / max(|ref|, rel_floor).
    #[serde(with = "real")]
    pub max_rel: f64,
    #[serde(with = "real")]
    pub rel_floor: f64,
    /// 10·log10(Σref² / Σ(cand−ref)²); `"inf"` when identical.
    #[serde(with = "real")]
    pub snr_db: f64,
    /// 10·log10(max|ref|² / MSE).
    #[serde(with = "real")]
    pub psnr_db: f64,
    #[serde(with = "real")]
    pub cosine: f64,
    /// Elements with |cand − ref| > atol + rtol·|ref| (numpy.allclose's test).
    pub outside: u64,
    pub nan_ref: u64,
    pub inf_ref: u64,
    pub nan_cand: u64,
    pub inf_cand: u64,
    /// Where the first NaN/Inf (either side) is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_non_finite_index: Option<Vec<usize>>,
    /// SDR of the whole array (audio stems) or the mean over `stems_sdr` (nSDR).
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_real")]
    pub sdr_db: Option<f64>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub stems_sdr: Vec<StemSdr>,
}

impl Metrics {
    pub fn non_finite(&self) -> u64 {
        self.nan_ref + self.inf_ref + self.nan_cand + self.inf_cand
    }
}

/// Counts of |error| per power of two: bin i holds [2^(min_exp+i), 2^(min_exp+i+1)),
/// the first and last bins also everything below/above; `zeros` counts exact matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Histogram {
    pub min_exp: i32,
    pub counts: Vec<u64>,
    pub zeros: u64,
}

/// Error along the time axis in equal buckets: RMS and max |error| per bucket.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Curve {
    /// Length of the time axis (samples or frames).
    pub axis_len: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_rate: Option<u32>,
    /// Per bucket; `"inf"` where an error exceeded the float64 range (see `metrics`).
    #[serde(with = "real_vec")]
    pub rms: Vec<f64>,
    #[serde(with = "real_vec")]
    pub max: Vec<f64>,
}

/// How a pipeline was run by the stage runner.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// Each backend feeds its own upstream outputs forward: error accumulates.
    Chained,
    /// Every candidate stage gets the reference's inputs: error per stage.
    Isolated,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Chained => "chained",
            Mode::Isolated => "isolated",
        }
    }
}

/// One compared array and its verdict.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Check {
    pub array: String,
    pub stage: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mode: Option<Mode>,
    pub passed: bool,
    /// Why it failed, one sentence each (empty when passed).
    pub problems: Vec<String>,
    pub reference_shape: Option<Vec<usize>>,
    pub candidate_shape: Option<Vec<usize>>,
    pub reference_dtype: Option<String>,
    pub candidate_dtype: Option<String>,
    pub tolerance: Tolerance,
    #[serde(flatten)]
    pub metrics: Option<Metrics>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histogram: Option<Histogram>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub curve: Option<Curve>,
    /// Figures the port's own scripts computed (`metrics.csv`), for a check made from them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported: Option<Reported>,
}

/// One stem's figures as a port's `metrics.csv` gives them; `None`: not measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Reported {
    /// `file:line` the figures come from.
    pub source: String,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_real")]
    pub sdr_db: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_real")]
    pub sir_db: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none", with = "opt_real")]
    pub sar_db: Option<f64>,
}

impl Check {
    /// A display key: `clip · array` when clips are involved.
    pub fn label(&self) -> String {
        match &self.clip {
            Some(c) => format!("{c} · {}", self.array),
            None => self.array.clone(),
        }
    }

    /// Sort key, worst first: failures, then the lowest SNR.
    pub fn badness(&self) -> (bool, f64) {
        let snr = self.metrics.as_ref().map_or(f64::NEG_INFINITY, |m| {
            if m.snr_db.is_nan() {
                f64::NEG_INFINITY
            } else {
                m.snr_db
            }
        });
        (self.passed, snr)
    }
}

/// Sorts checks worst first (stable, so equal checks keep name order).
pub fn sort_worst_first(checks: &mut [Check]) {
    checks.sort_by(|a, b| {
        let (pa, sa) = a.badness();
        let (pb, sb) = b.badness();
        pa.cmp(&pb).then(sa.total_cmp(&sb))
    });
}

/// float64 values that may be ±inf or NaN: finite values are JSON numbers, the others
/// the strings `"inf"`, `"-inf"`, `"nan"` (JSON has no such numbers).
pub mod real {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &f64, s: S) -> Result<S::Ok, S::Error> {
        if v.is_finite() {
            s.serialize_f64(*v)
        } else if v.is_nan() {
            s.serialize_str("nan")
        } else if *v > 0.0 {
            s.serialize_str("inf")
        } else {
            s.serialize_str("-inf")
        }
    }

    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Raw {
        Num(f64),
        Str(String),
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<f64, D::Error> {
        match Raw::deserialize(d)? {
            Raw::Num(v) => Ok(v),
            Raw::Str(s) => match s.as_str() {
                "inf" => Ok(f64::INFINITY),
                "-inf" => Ok(f64::NEG_INFINITY),
                "nan" => Ok(f64::NAN),
                other => Err(serde::de::Error::custom(format!(
                    "expected a number, \"inf\", \"-inf\" or \"nan\", got {other:?}"
                ))),
            },
        }
    }
}

/// [`real`] for optional values.
pub mod opt_real {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<f64>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(x) => super::real::serialize(x, s),
            None => s.serialize_none(),
        }
    }

    #[derive(Deserialize)]
    struct Wrap(#[serde(with = "super::real")] f64);

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<f64>, D::Error> {
        Ok(Option::<Wrap>::deserialize(d)?.map(|w| w.0))
    }
}

/// [`real`] for lists: inf and NaN survive the JSON round trip (serde_json would write
/// them as `null`, which a `parity merge` could not read back).
pub mod real_vec {
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    struct Out(f64);

    impl Serialize for Out {
        fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            super::real::serialize(&self.0, s)
        }
    }

    pub fn serialize<S: Serializer>(v: &[f64], s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(v.iter().map(|&x| Out(x)))
    }

    #[derive(Deserialize)]
    struct In(#[serde(with = "super::real")] f64);

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<f64>, D::Error> {
        Ok(Vec::<In>::deserialize(d)?
            .into_iter()
            .map(|w| w.0)
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn infinite_snr_round_trips_through_json() {
        let m = Metrics {
            elements: 2,
            max_abs: 0.0,
            max_abs_index: vec![0],
            mean_abs: 0.0,
            p99_abs: 0.0,
            p99_exact: true,
            rmse: 0.0,
            max_rel: 0.0,
            rel_floor: 1e-4,
            snr_db: f64::INFINITY,
            psnr_db: f64::INFINITY,
            cosine: 1.0,
            outside: 0,
            nan_ref: 0,
            inf_ref: 0,
            nan_cand: 0,
            inf_cand: 0,
            first_non_finite_index: None,
            sdr_db: Some(f64::NEG_INFINITY),
            stems_sdr: vec![],
        };
        let check = Check {
            array: "a.b".into(),
            stage: "a".into(),
            clip: None,
            mode: Some(Mode::Isolated),
            passed: true,
            problems: vec![],
            reference_shape: Some(vec![2]),
            candidate_shape: Some(vec![2]),
            reference_dtype: Some("float32".into()),
            candidate_dtype: Some("float32".into()),
            tolerance: Tolerance {
                atol: 1e-4,
                rtol: 1e-3,
                min_snr_db: 40.0,
                min_sdr_db: 40.0,
            },
            metrics: Some(m),
            histogram: None,
            curve: None,
            reported: None,
        };
        let json = serde_json::to_value(&check).unwrap();
        assert_eq!(json["snr_db"], "inf");
        assert_eq!(json["sdr_db"], "-inf");
        let back: Check = serde_json::from_value(json).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back, check);
        let mut missing = check.clone();
        missing.metrics = None;
        let back: Check = serde_json::from_value(serde_json::to_value(&missing).unwrap())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(back.metrics, None);
    }
}

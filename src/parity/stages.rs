//! What a `parity run` report says beyond the per-array checks: how the runs were made
//! ([`RunSettings`]), stages the candidate did not compute ([`StageNote`]), and, from the
//! isolated checks, which stage introduces the error ([`Introduced`]).
//!
//! Isolated mode feeds every candidate stage the reference's inputs, so a stage's isolated
//! error is its own: the stage with the lowest isolated SNR is where the error enters the
//! pipeline, and a stage out of tolerance in isolation is a problem of that stage alone.

use serde::{Deserialize, Serialize};

use super::model::{opt_real, Check, Mode};
use super::report::db;

/// How `parity run` ran the backends.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunSettings {
    /// `chained`, `isolated` or `both`.
    pub mode: String,
    /// Untimed runs per stage before the captured one.
    pub warmup: usize,
    /// Runs per stage (the last one is captured).
    pub repeat: usize,
    /// Intra-op threads asked for on every backend (`None`: each backend's default).
    pub threads: Option<usize>,
    /// Threads each backend's runner reported using, by backend.
    #[serde(default)]
    pub threads_used: std::collections::BTreeMap<String, usize>,
    /// Stages compared (empty: every stage both backends compute).
    #[serde(default)]
    pub stages: Vec<String>,
}

/// A stage left out of the comparison, and what fed its consumers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StageNote {
    pub stage: String,
    /// One sentence.
    pub note: String,
    /// Whether its arrays were compared.
    pub compared: bool,
}

/// Where the error of one clip comes from, judged on the isolated checks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Introduced {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub clip: Option<String>,
    /// The stage with the largest error of its own (lowest isolated SNR); `None` when every
    /// stage reproduces the reference exactly.
    pub stage: Option<String>,
    #[serde(default, with = "opt_real")]
    pub snr_db: Option<f64>,
    /// Stages out of tolerance even when fed the reference's inputs.
    pub failing: Vec<String>,
}

/// The "introduced here" verdicts, one per clip that has isolated checks.
pub fn introduced(checks: &[Check]) -> Vec<Introduced> {
    let mut clips: Vec<Option<String>> = Vec::new();
    for c in checks.iter().filter(|c| c.mode == Some(Mode::Isolated)) {
        if !clips.contains(&c.clip) {
            clips.push(c.clip.clone());
        }
    }
    clips.sort();
    clips
        .into_iter()
        .map(|clip| {
            let mine: Vec<&Check> = checks
                .iter()
                .filter(|c| c.mode == Some(Mode::Isolated) && c.clip == clip && c.stage != "audio")
                .collect();
            let mut failing: Vec<String> = Vec::new();
            let mut worst: Option<(f64, &str)> = None;
            for c in &mine {
                if !c.passed && !failing.contains(&c.stage) {
                    failing.push(c.stage.clone());
                }
                let snr = c.metrics.as_ref().map_or(f64::NEG_INFINITY, |m| {
                    if m.snr_db.is_nan() {
                        f64::NEG_INFINITY
                    } else {
                        m.snr_db
                    }
                });
                if snr != f64::INFINITY && worst.is_none_or(|(w, _)| snr < w) {
                    worst = Some((snr, c.stage.as_str()));
                }
            }
            failing.sort();
            Introduced {
                clip,
                stage: worst.map(|(_, s)| s.to_string()),
                snr_db: worst.map(|(snr, _)| snr),
                failing,
            }
        })
        .collect()
}

impl Introduced {
    /// One sentence; `code` formats a stage name for the target (Markdown code, terminal text).
    pub fn sentence(&self, code: &dyn Fn(&str) -> String) -> String {
        let clip = self
            .clip
            .as_ref()
            .map(|c| format!("{}: ", code(c)))
            .unwrap_or_default();
        let Some(stage) = &self.stage else {
            return format!(
                "{clip}every stage reproduces the reference exactly when fed its inputs."
            );
        };
        let snr = self.snr_db.map(db).unwrap_or_else(|| "—".into());
        let mut s = format!(
            "{clip}the error is introduced at stage {} (isolated SNR {snr} dB, the lowest of any stage fed the reference's inputs)",
            code(stage)
        );
        if self.failing.is_empty() {
            s.push_str("; every stage is within tolerance in isolation.");
        } else {
            let names: Vec<String> = self.failing.iter().map(|f| code(f)).collect();
            s.push_str(&format!(
                "; out of tolerance on its own: {}.",
                names.join(", ")
            ));
        }
        s
    }
}

impl RunSettings {
    /// One sentence describing the runs.
    pub fn sentence(&self, code: &dyn Fn(&str) -> String) -> String {
        let threads = match self.threads {
            Some(t) => format!("{t} intra-op thread(s) on every backend"),
            None => "each backend's default thread count".to_string(),
        };
        let used: Vec<String> = self
            .threads_used
            .iter()
            .map(|(b, t)| format!("{} {t}", code(b)))
            .collect();
        let used = if used.is_empty() {
            String::new()
        } else {
            format!(" (in effect: {})", used.join(", "))
        };
        let stages = if self.stages.is_empty() {
            "every stage".to_string()
        } else {
            let names: Vec<String> = self.stages.iter().map(|s| code(s)).collect();
            format!("stage(s) {}", names.join(", "))
        };
        format!(
            "Runs: {} mode, {} warm-up + {} run(s) per stage, {threads}{used}; compared: {stages}.",
            self.mode, self.warmup, self.repeat
        )
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::parity::compare::{empty_check, Labels};
    use crate::parity::model::{Metrics, Tolerance};

    fn check(stage: &str, mode: Mode, snr: f64, passed: bool) -> Check {
        let t = Tolerance {
            atol: 1e-3,
            rtol: 1e-3,
            min_snr_db: 40.0,
            min_sdr_db: 40.0,
        };
        let labels = Labels {
            clip: Some("a.wav".into()),
            mode: Some(mode),
        };
        let mut c = empty_check(&format!("{stage}.x"), stage, t, &labels);
        let m: Metrics = serde_json::from_value(serde_json::json!({
            "elements": 1, "max_abs": 0.0, "max_abs_index": [0], "mean_abs": 0.0, "p99_abs": 0.0,
            "p99_exact": true, "rmse": 0.0, "max_rel": 0.0, "rel_floor": 1e-4,
            "snr_db": if snr.is_infinite() { serde_json::json!("inf") } else { serde_json::json!(snr) },
            "psnr_db": 0.0, "cosine": 1.0, "outside": 0, "nan_ref": 0, "inf_ref": 0, "nan_cand": 0, "inf_cand": 0
        }))
        .unwrap();
        c.metrics = Some(m);
        c.passed = passed;
        c
    }

    #[test]
    fn the_lowest_isolated_snr_names_the_stage() {
        let checks = vec![
            check("stft", Mode::Isolated, f64::INFINITY, true),
            check("model", Mode::Isolated, 62.0, true),
            check("istft", Mode::Isolated, 140.0, true),
            // Chained error accumulates downstream: it must not decide.
            check("istft", Mode::Chained, 20.0, false),
        ];
        let v = introduced(&checks);
        assert_eq!(v.len(), 1);
        assert_eq!(v[0].stage.as_deref(), Some("model"));
        assert!(v[0].failing.is_empty());
        let s = v[0].sentence(&|x| format!("`{x}`"));
        assert!(
            s.contains("introduced at stage `model`") && s.contains("62.0 dB"),
            "{s}"
        );
        let exact = introduced(&[check("stft", Mode::Isolated, f64::INFINITY, true)]);
        assert_eq!(exact[0].stage, None);
        let bad = introduced(&[check("model", Mode::Isolated, 12.0, false)]);
        assert_eq!(bad[0].failing, ["model"]);
        assert!(introduced(&[check("model", Mode::Chained, 1.0, false)]).is_empty());
    }
}

//! Portable figures: numbers of one run that do not depend on the machine's speed, so
//! that history from any testbed can judge them. The candidate ÷ reference ratio of each
//! stage timing (the design table's Δ column, as a factor) and each stage's share of its
//! backend's full pipeline. Recorded in `baseline.json` (`derived`) when a run is
//! stamped; computed from the results for older entries.

use std::collections::BTreeMap;

use super::decide::run_value;
use super::metric::{self, Kind, MetricOverride, Thresholds};
use super::run::{Results, Value};

/// The metric every share is a part of.
pub const PIPELINE: &str = "full_pipeline_sec";

/// Suffix of a share metric: `freq_branch_sec` → `freq_branch_sec_share`.
pub const SHARE_SUFFIX: &str = "_share";

/// The pseudo-backend under which candidate ÷ reference ratios are kept.
pub fn ratio_backend(candidate: &str, reference: &str) -> String {
    format!("{candidate}/{reference}")
}

/// The candidate and reference of a ratio pseudo-backend.
pub fn split_ratio_backend(name: &str) -> Option<(&str, &str)> {
    name.split_once('/')
        .filter(|(c, r)| !c.is_empty() && !r.is_empty())
}

/// A stage timing: a time metric that is not a model-load time. Only these get ratios
/// and shares (load times and memory peaks depend on caches and allocators more than on
/// the model's code).
pub fn is_stage_timing(name: &str, over: Option<&MetricOverride>) -> bool {
    metric::info(name, &Thresholds::default(), over).kind == Kind::Time
        && !name.to_ascii_lowercase().contains("load")
}

/// The derived figures of one run's results: `<candidate>/<reference>` → stage → ratio,
/// and `<backend>` → `<stage>_share` → fraction of that backend's full pipeline. Each
/// run's value is [`run_value`], the statistic the decision uses.
pub fn derive(
    results: &Results,
    candidate: Option<&str>,
    reference: Option<&str>,
    overrides: &BTreeMap<String, MetricOverride>,
) -> Results {
    let mut out = Results::new();
    let val = |b: &str, m: &str| results.get(b)?.get(m).map(run_value);
    let timing = |m: &str| is_stage_timing(m, overrides.get(m));
    if let (Some(c), Some(r)) = (candidate, reference) {
        if let Some(ms) = results.get(c) {
            let mut ratios = BTreeMap::new();
            for m in ms.keys().filter(|m| timing(m)) {
                if let (Some(cv), Some(rv)) = (val(c, m), val(r, m)) {
                    if rv > 0.0 && cv.is_finite() && rv.is_finite() {
                        ratios.insert(m.clone(), Value::Number(rounded(cv / rv)));
                    }
                }
            }
            if !ratios.is_empty() {
                out.insert(ratio_backend(c, r), ratios);
            }
        }
    }
    for (b, ms) in results {
        let Some(total) = val(b, PIPELINE).filter(|t| *t > 0.0 && t.is_finite()) else {
            continue;
        };
        let shares: BTreeMap<String, Value> = ms
            .keys()
            .filter(|m| m.as_str() != PIPELINE && timing(m))
            .filter_map(|m| {
                let v = val(b, m)?;
                Some((
                    format!("{m}{SHARE_SUFFIX}"),
                    Value::Number(rounded(v / total)),
                ))
            })
            .collect();
        if !shares.is_empty() {
            out.entry(b.clone()).or_default().extend(shares);
        }
    }
    out
}

/// `v` to 6 significant digits: plenty for a ratio, and a number whose JSON form reads
/// back exactly (a full-precision quotient may not, and `baseline.json` is checked to
/// read back identically before it is written).
pub fn rounded(v: f64) -> f64 {
    format!("{v:.5e}").parse().unwrap_or(v)
}

/// What the comparison needs to know about a ratio metric: smaller is better (the
/// candidate takes less of the reference's time), shown as `0.66×`.
pub fn ratio_info(
    stage: &str,
    thresholds: &Thresholds,
    over: Option<&MetricOverride>,
) -> metric::MetricInfo {
    let base = metric::info(stage, thresholds, over);
    metric::MetricInfo {
        kind: Kind::Ratio,
        direction: base.direction,
        unit: "×".into(),
        threshold_pct: thresholds.ratio,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ratios_and_shares_of_stage_timings() {
        let mut results = Results::new();
        let mut c = BTreeMap::new();
        c.insert(
            "freq_branch_sec".to_string(),
            Value::Samples(vec![2.0, 2.0, 9.0, 2.0, 2.0]),
        );
        c.insert("full_pipeline_sec".to_string(), Value::Number(8.0));
        c.insert("model_load_sec".to_string(), Value::Number(1.0));
        c.insert("memory_peak_mb".to_string(), Value::Number(100.0));
        let mut r = BTreeMap::new();
        r.insert("freq_branch_sec".to_string(), Value::Number(4.0));
        r.insert("model_load_sec".to_string(), Value::Number(3.0));
        results.insert("coreml".to_string(), c);
        results.insert("pytorch".to_string(), r);
        let d = derive(&results, Some("coreml"), Some("pytorch"), &BTreeMap::new());
        // The 9.0 spike is set aside: 2.0 / 4.0.
        assert_eq!(d["coreml/pytorch"]["freq_branch_sec"], Value::Number(0.5));
        assert!(!d["coreml/pytorch"].contains_key("model_load_sec"));
        assert!(!d["coreml/pytorch"].contains_key("memory_peak_mb"));
        assert_eq!(d["coreml"]["freq_branch_sec_share"], Value::Number(0.25));
        assert_eq!(d["coreml"].len(), 1);
        // PyTorch has no full pipeline here: no shares.
        assert!(!d.contains_key("pytorch"));
        assert_eq!(
            split_ratio_backend("coreml/pytorch"),
            Some(("coreml", "pytorch"))
        );
        assert_eq!(split_ratio_backend("coreml"), None);
        // Quotients are kept to 6 significant digits, which JSON reads back exactly
        // (0.4429982027641304 did not, and a baseline must read back identically).
        let mut odd = Results::new();
        for (b, stage, total) in [
            ("coreml", 0.107147048, 0.24187),
            ("pytorch", 0.0657, 0.15703),
        ] {
            let mut m = BTreeMap::new();
            m.insert("istft_sec".to_string(), Value::Number(stage));
            m.insert("full_pipeline_sec".to_string(), Value::Number(total));
            odd.insert(b.to_string(), m);
        }
        let d = derive(&odd, Some("coreml"), Some("pytorch"), &BTreeMap::new());
        assert_eq!(d["coreml/pytorch"]["istft_sec"], Value::Number(1.63085));
        assert_eq!(d["coreml"]["istft_sec_share"], Value::Number(0.442994));
        let text = serde_json::to_string(&d).unwrap();
        let back: Results = serde_json::from_str(&text).unwrap();
        assert_eq!(back, d);
    }
}

//! Property tests of the statistics and the decision: sample order does not matter,
//! scaling every value (a change of unit) does not change a verdict, identical runs are
//! `unchanged`.

use proptest::prelude::*;

use super::decide::{decide, Rule, Verdict};
use super::metric::{info, Thresholds};
use super::run::Value;
use super::stats;

/// A value: one number or 1–9 samples, all positive and of a realistic spread.
fn value() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0.01f64..100.0).prop_map(Value::Number),
        prop::collection::vec(0.01f64..100.0, 1..9).prop_map(Value::Samples),
    ]
}

fn history() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(value(), 1..10)
}

fn metric() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "stft_sec",
        "memory_peak_mb",
        "frames_per_sec",
        "score",
    ])
}

fn reversed(v: &Value) -> Value {
    match v {
        Value::Number(x) => Value::Number(*x),
        Value::Samples(s) => Value::Samples(s.iter().rev().copied().collect()),
    }
}

fn rotated(v: &Value, k: usize) -> Value {
    match v {
        Value::Number(x) => Value::Number(*x),
        Value::Samples(s) => {
            let mut s = s.clone();
            let n = s.len();
            s.rotate_left(k % n);
            Value::Samples(s)
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn median_and_mad_ignore_order(xs in prop::collection::vec(-1e6f64..1e6, 1..40), k in 0usize..40) {
        let mut ys = xs.clone();
        ys.rotate_left(k % xs.len());
        ys.reverse();
        prop_assert_eq!(stats::median(&xs), stats::median(&ys));
        prop_assert_eq!(stats::mad(&xs), stats::mad(&ys));
        prop_assert_eq!(stats::mean(&xs), stats::mean(&ys));
    }

    #[test]
    fn despiked_run_values_ignore_order_and_scale(
        runs in prop::collection::vec(prop::collection::vec(0.01f64..100.0, 1..9), 1..8),
        k in 0usize..9,
        c in 1e-3f64..1e3,
    ) {
        let refs: Vec<&[f64]> = runs.iter().map(|r| r.as_slice()).collect();
        let s = stats::pooled_within_scale(&refs);
        let permuted: Vec<Vec<f64>> = runs.iter().rev().map(|r| {
            let mut r = r.clone();
            let n = r.len();
            r.rotate_left(k % n);
            r
        }).collect();
        let prefs: Vec<&[f64]> = permuted.iter().map(|r| r.as_slice()).collect();
        prop_assert_eq!(s, stats::pooled_within_scale(&prefs));
        let scaled: Vec<Vec<f64>> = runs.iter().map(|r| r.iter().map(|x| x * c).collect()).collect();
        let srefs: Vec<&[f64]> = scaled.iter().map(|r| r.as_slice()).collect();
        let ss = stats::pooled_within_scale(&srefs);
        prop_assert!((s - ss).abs() <= 1e-9 * (1.0 + s), "{s} vs {ss}");
        for (a, b) in runs.iter().zip(permuted.iter().rev()) {
            let v = stats::despiked_mean(a, s, 5.0);
            prop_assert_eq!(v, stats::despiked_mean(b, s, 5.0));
            // A run's value lies within its samples.
            let (lo, hi) = stats::min_max(a);
            prop_assert!(v >= lo && v <= hi, "{v} outside {lo}..{hi}");
        }
    }

    #[test]
    fn sample_and_run_order_do_not_matter(h in history(), cur in value(), m in metric(), k in 0usize..9) {
        let i = info(m, &Thresholds::default(), None);
        let rule = Rule::default(); // window 10 ≥ history length: run order is free too
        let a = decide(&h.iter().collect::<Vec<_>>(), &cur, &i, &rule);
        let permuted: Vec<Value> = h.iter().rev().map(|v| rotated(&reversed(v), k)).collect();
        let b = decide(&permuted.iter().collect::<Vec<_>>(), &rotated(&cur, k), &i, &rule);
        prop_assert_eq!(a, b);
    }

    #[test]
    fn scaling_every_value_keeps_the_verdict(h in history(), cur in value(), m in metric(), c in 1e-3f64..1e3) {
        let i = info(m, &Thresholds::default(), None);
        let rule = Rule::default();
        let a = decide(&h.iter().collect::<Vec<_>>(), &cur, &i, &rule);
        let scaled: Vec<Value> = h.iter().map(|v| v.scaled(c)).collect();
        let b = decide(&scaled.iter().collect::<Vec<_>>(), &cur.scaled(c), &i, &rule);
        prop_assert_eq!(a.verdict, b.verdict);
        let (ca, cb) = (a.change_pct.unwrap_or(0.0), b.change_pct.unwrap_or(0.0));
        prop_assert!((ca - cb).abs() <= 1e-9 * (1.0 + ca.abs()), "{ca} vs {cb}");
    }

    #[test]
    fn identical_runs_are_unchanged(run in value(), n in 1usize..12, m in metric()) {
        let i = info(m, &Thresholds::default(), None);
        let h: Vec<&Value> = std::iter::repeat_n(&run, n).collect();
        let d = decide(&h, &run, &i, &Rule::default());
        prop_assert_eq!(d.verdict, Verdict::Unchanged);
        prop_assert_eq!(d.change_pct, Some(0.0));
    }
}

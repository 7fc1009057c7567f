//! The regression decision for one backend × metric: current run against a robust
//! summary of the recent history, gated by both the threshold and the history's own
//! noise. The README's "How a regression is decided" section states the same rule.

use serde::{Deserialize, Serialize};

use super::metric::MetricInfo;
use super::run::Value;
use super::stats;

/// Verdict for one backend × metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Regression,
    Improvement,
    Unchanged,
    /// In the current run, not in the history window.
    New,
    /// A time or memory metric on a testbed with too little history of its own to
    /// estimate noise (`benchmark.min_runs`): shown, never judged.
    #[serde(rename = "new-testbed")]
    NewTestbed,
    /// In the last run of the history window, not in the current run.
    Missing,
    /// Given as `null` by the current run's input: not measured, never judged.
    #[serde(rename = "not-measured")]
    NotMeasured,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Regression => "regression",
            Verdict::Improvement => "improvement",
            Verdict::Unchanged => "unchanged",
            Verdict::New => "new",
            Verdict::NewTestbed => "new-testbed",
            Verdict::Missing => "missing",
            Verdict::NotMeasured => "not-measured",
        }
    }
}

/// Tunables of the rule (config `benchmark.window` and `benchmark.noise_sigmas`).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Rule {
    /// How many of the most recent comparable runs form the baseline.
    pub window: usize,
    /// A change must exceed this many standard deviations of the combined noise.
    pub noise_sigmas: f64,
}

impl Default for Rule {
    fn default() -> Self {
        Rule {
            window: 20,
            noise_sigmas: 2.75,
        }
    }
}

/// Runs needed before the history's spread is trusted as a noise estimate.
pub const MIN_RUNS_FOR_NOISE: usize = 3;

/// Runs further than this many MADs from the history's median are outliers (a slow
/// runner) and form neither the baseline nor the noise estimate.
pub const CLIP_MADS: f64 = 3.0;

/// A sample further than this many pooled within-run noise scales from its run's
/// median is a spike and does not count towards the run's value.
pub const SPIKE_SCALES: f64 = 5.0;

/// A run's value on its own, as the decision would summarise it: the mean of its
/// samples after setting aside spikes judged against its own within-run spread. The
/// table shows this when there is no decision, and portable figures are made of it.
pub fn run_value(v: &Value) -> f64 {
    let s = v.samples();
    stats::despiked_mean(s, stats::pooled_within_scale(&[s]), SPIKE_SCALES)
}

/// The numbers behind a verdict.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    pub verdict: Verdict,
    /// The history window's center: the mean of the per-run values (see `current`) after
    /// setting aside runs beyond [`CLIP_MADS`] MADs (with fewer than 3 runs, their median).
    pub baseline: f64,
    /// The current run's value: the mean of its samples, spikes set aside (see
    /// [`stats::despiked_mean`]).
    pub current: f64,
    /// `(current / baseline − 1) · 100`; `None` when the baseline is zero.
    pub change_pct: Option<f64>,
    /// Relative run-to-run noise of the history (SD of the kept per-run values /
    /// baseline, percent); `None` with fewer than [`MIN_RUNS_FOR_NOISE`] runs.
    pub noise_pct: Option<f64>,
    /// The change (percent, towards worse or better) a verdict other than `unchanged`
    /// needed: the larger of the threshold and `noise_sigmas` × combined noise.
    pub bar_pct: f64,
    /// Runs in the history window that were used.
    pub history_runs: usize,
}

/// Decides one backend × metric. `history` is the window's per-run values, oldest first
/// (only the newest `rule.window` are used); it must not be empty.
pub fn decide(history: &[&Value], current: &Value, info: &MetricInfo, rule: &Rule) -> Decision {
    decide_shifted(history, current, info, rule, 0.0)
}

/// [`decide`] with one more, independent source of noise (relative SD): how far a
/// portable figure may move between testbeds when the history comes from others.
pub fn decide_shifted(
    history: &[&Value],
    current: &Value,
    info: &MetricInfo,
    rule: &Rule,
    shift: f64,
) -> Decision {
    let start = history.len().saturating_sub(rule.window.max(1));
    let recent = &history[start..];
    // Each run is summarised by the mean of its samples after setting aside spikes (a GC
    // pause, a cold cache), judged against the within-run noise pooled over the window
    // and the current run: less noisy than the median, and as robust to a spike.
    let all: Vec<&[f64]> = recent
        .iter()
        .map(|v| v.samples())
        .chain(std::iter::once(current.samples()))
        .collect();
    let scale = stats::pooled_within_scale(&all);
    let value = |v: &Value| stats::despiked_mean(v.samples(), scale, SPIKE_SCALES);
    let per_run: Vec<f64> = recent.iter().map(|v| value(v)).collect();
    let cur = value(current);
    let n = per_run.len();
    let (baseline, spread) = if n >= MIN_RUNS_FOR_NOISE {
        // Runs beyond CLIP_MADS MADs (the occasional slow runner) are set aside; the rest
        // give the baseline (their mean) and the run-to-run noise (their SD).
        let c = stats::clipped(&per_run, CLIP_MADS);
        (c.center, Some((c.sd, c.kept)))
    } else {
        (stats::median(&per_run), None)
    };

    // Relative noise terms, all scale-free so that units never matter.
    let rel = |x: f64| {
        if baseline != 0.0 {
            (x / baseline).abs()
        } else {
            0.0
        }
    };
    let noise = spread.map(|(sd, _)| rel(sd));
    let combined = match spread {
        // The current run is one more draw from the same run-to-run noise, compared with
        // a baseline that is itself uncertain by noise/√kept.
        Some((sd, kept)) => rel(sd) * (1.0 + 1.0 / kept as f64).sqrt(),
        // Too few runs to see run-to-run noise: the samples' own spread is a lower bound.
        None => {
            let se = |v: &Value| stats::median_se(v.samples()).map_or(0.0, rel);
            let hist = recent.iter().map(|v| se(v).powi(2)).sum::<f64>() / n.max(1) as f64;
            (se(current).powi(2) + hist).sqrt()
        }
    };
    let combined = (combined.powi(2) + shift.powi(2)).sqrt();
    let threshold = info.threshold_pct / 100.0;
    let bar = threshold.max(rule.noise_sigmas * combined);

    let change = if baseline != 0.0 {
        Some(cur / baseline - 1.0)
    } else if cur == 0.0 {
        Some(0.0)
    } else {
        None
    };
    // Positive `worse` means the change went the wrong way for this metric.
    let worse = match change {
        Some(c) => c * info.direction.worse_sign(),
        None => f64::INFINITY * (cur - baseline).signum() * info.direction.worse_sign(),
    };
    let verdict = if worse > bar {
        Verdict::Regression
    } else if -worse > bar {
        Verdict::Improvement
    } else {
        Verdict::Unchanged
    };
    Decision {
        verdict,
        baseline,
        current: cur,
        change_pct: change.map(|c| c * 100.0),
        noise_pct: noise.map(|s| s * 100.0),
        bar_pct: bar * 100.0,
        history_runs: n,
    }
}

/// github-action-benchmark's rule, for comparison in the noise simulation: the current
/// mean over the previous entry's mean, a regression when the ratio exceeds
/// `1 + threshold` (for bigger-is-better metrics the ratio is inverted).
pub fn previous_entry_rule(previous: &Value, current: &Value, info: &MetricInfo) -> Verdict {
    let prev = stats::mean(previous.samples());
    let cur = stats::mean(current.samples());
    let ratio = match info.direction {
        super::metric::Direction::Smaller => cur / prev,
        super::metric::Direction::Bigger => prev / cur,
    };
    if ratio > 1.0 + info.threshold_pct / 100.0 {
        Verdict::Regression
    } else {
        Verdict::Unchanged
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::metric::{info, Thresholds};

    fn v(x: f64) -> Value {
        Value::Number(x)
    }

    #[test]
    fn one_run_history_uses_the_threshold_only() {
        let t = Thresholds::default();
        let i = info("stft_sec", &t, None);
        let h = v(1.0);
        let d = decide(&[&h], &v(1.11), &i, &Rule::default());
        assert_eq!(d.verdict, Verdict::Regression);
        assert_eq!(d.noise_pct, None);
        let d = decide(&[&h], &v(1.09), &i, &Rule::default());
        assert_eq!(d.verdict, Verdict::Unchanged);
        let d = decide(&[&h], &v(0.8), &i, &Rule::default());
        assert_eq!(d.verdict, Verdict::Improvement);
    }

    #[test]
    fn a_slow_runner_in_the_history_does_not_move_the_baseline() {
        let i = info("stft_sec", &Thresholds::default(), None);
        let hist: Vec<Value> = [1.0, 1.02, 0.99, 1.3, 1.01].into_iter().map(v).collect();
        let refs: Vec<&Value> = hist.iter().collect();
        let d = decide(&refs, &v(1.2), &i, &Rule::default());
        assert!((d.baseline - 1.005).abs() < 1e-12, "{d:?}");
        assert_eq!(d.verdict, Verdict::Regression);
        // Against the slow previous entry alone, the same change looks like an improvement.
        assert_eq!(
            previous_entry_rule(&v(1.3), &v(1.2), &i),
            Verdict::Unchanged
        );
    }

    #[test]
    fn spikes_in_the_current_run_do_not_count() {
        let i = info("stft_sec", &Thresholds::default(), None);
        let run = |xs: &[f64]| Value::Samples(xs.to_vec());
        let hist: Vec<Value> = (0..10)
            .map(|k| {
                let d = 0.002 * k as f64;
                run(&[1.0 + d, 1.01 + d, 0.99 + d, 1.02 + d, 0.98 + d])
            })
            .collect();
        let refs: Vec<&Value> = hist.iter().collect();
        // Two of five repetitions hit a GC pause: the median would move to the largest
        // clean sample (1.03); the run's value is the mean of the three clean ones.
        let cur = run(&[1.0, 1.03, 0.97, 1.5, 1.55]);
        let d = decide(&refs, &cur, &i, &Rule::default());
        assert!((d.current - 1.0).abs() < 1e-12, "{d:?}");
        assert_eq!(d.verdict, Verdict::Unchanged);
        // Spikes in every repetition are not spikes: the run is slower.
        let slow = run(&[1.5, 1.53, 1.47, 1.5, 1.55]);
        let d = decide(&refs, &slow, &i, &Rule::default());
        assert_eq!(d.verdict, Verdict::Regression);
    }

    #[test]
    fn noisy_history_raises_the_bar() {
        let i = info("stft_sec", &Thresholds::default(), None);
        let hist: Vec<Value> = [1.0, 1.1, 0.9, 1.12, 0.88, 1.0]
            .into_iter()
            .map(v)
            .collect();
        let refs: Vec<&Value> = hist.iter().collect();
        let d = decide(&refs, &v(1.15), &i, &Rule::default());
        assert!(d.bar_pct > 15.0, "{d:?}");
        assert_eq!(d.verdict, Verdict::Unchanged);
    }

    #[test]
    fn bigger_is_better_flips_the_direction() {
        let i = info("frames_per_sec", &Thresholds::default(), None);
        let h = v(100.0);
        assert_eq!(
            decide(&[&h], &v(80.0), &i, &Rule::default()).verdict,
            Verdict::Regression
        );
        assert_eq!(
            decide(&[&h], &v(120.0), &i, &Rule::default()).verdict,
            Verdict::Improvement
        );
        assert_eq!(previous_entry_rule(&h, &v(80.0), &i), Verdict::Regression);
    }

    #[test]
    fn zero_baseline() {
        let i = info("x_mb", &Thresholds::default(), None);
        let z = v(0.0);
        let d = decide(&[&z], &v(0.0), &i, &Rule::default());
        assert_eq!((d.verdict, d.change_pct), (Verdict::Unchanged, Some(0.0)));
        let d = decide(&[&z], &v(5.0), &i, &Rule::default());
        assert_eq!((d.verdict, d.change_pct), (Verdict::Regression, None));
    }
}

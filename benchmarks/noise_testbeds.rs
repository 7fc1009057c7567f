//! The noise simulation's runner changes: whole runs (both backends, every metric)
//! compared by the real `bench::compare::compare` (testbeds, `new-testbed`, portable
//! ratios) and by github-action-benchmark's rule (each cell against the previous entry,
//! whatever runner made it), on the same simulated data, in three settings:
//!
//! - same testbed: 20 runs on runner A, the current run on A;
//! - changed testbed, no history: 20 runs on A, the current run on B, where every
//!   stage is 1.3–1.9x slower (and memory 1.1x) for both backends, and CoreML's speed
//!   on B differs by a further exp(N(0, `ratio_shift`)) per stage, so that CoreML ÷
//!   PyTorch is portable only up to that shift;
//! - mixed history: each of the 20 runs and the current run on A or B at random.
//!
//! False alarms: nothing changed, runs with at least one regression (and the share of
//! judged cells flagged). Detection: CoreML's freq branch +20 % (the full pipeline
//! follows, being the sum of the stages), flagged on that stage (its time or its ratio).

use htdemucs_devops::bench::baseline::{Baseline, BaselineRun};
use htdemucs_devops::bench::compare::compare;
use htdemucs_devops::bench::decide::{previous_entry_rule, Verdict};
use htdemucs_devops::bench::metric::{info, Thresholds};
use htdemucs_devops::bench::run::{Fingerprint, Results, Run, RunMeta, Value};
use htdemucs_devops::phases::benchmark::config::BenchmarkConfig;
use rand::{rngs::StdRng, Rng};
use std::collections::BTreeMap;

use super::{normal, OUTLIER_P, SLOW_FACTOR, SLOW_RUNNER_P};

/// Stage (seconds), CoreML and PyTorch truths on runner A, and run-to-run drift /
/// within-run noise as in the per-metric profiles.
const STAGES: &[(&str, f64, f64)] = &[
    ("stft_sec", 0.42, 0.38),
    ("freq_branch_sec", 3.21, 4.87),
    ("time_branch_sec", 2.89, 3.92),
    ("istft_sec", 0.31, 0.29),
];
const LOAD: (f64, f64) = (2.1, 3.2);
const MEMORY: (f64, f64) = (1840.0, 2910.0);
const DRIFT: f64 = 0.03;
const WITHIN: f64 = 0.02;
const SAMPLES: usize = 5;
const HISTORY: usize = 20;
const CHANGED: &str = "freq_branch_sec";
const CHANGE: f64 = 1.20;

/// How a testbed differs from A: per stage and backend, a speed factor.
struct Testbed {
    name: &'static str,
    /// stage index (4 = load) → (CoreML factor, PyTorch factor).
    speed: Vec<(f64, f64)>,
    memory: f64,
}

fn testbed_a() -> Testbed {
    Testbed {
        name: "A",
        speed: vec![(1.0, 1.0); STAGES.len() + 1],
        memory: 1.0,
    }
}

fn testbed_b(rng: &mut StdRng, ratio_shift: f64) -> Testbed {
    let speed = (0..=STAGES.len())
        .map(|_| {
            let stage = 1.3 + 0.6 * rng.random::<f64>();
            // CoreML ÷ PyTorch moves by exp(N(0, ratio_shift)) on B.
            (stage * (ratio_shift * normal(rng)).exp(), stage)
        })
        .collect();
    Testbed {
        name: "B",
        speed,
        memory: 1.1,
    }
}

fn fingerprint(t: &Testbed) -> Fingerprint {
    Fingerprint {
        os: Some("macos".into()),
        arch: Some("aarch64".into()),
        cpu: Some(format!("Chip {}", t.name)),
        runner: Some(format!("runner-{}", t.name)),
        ..Default::default()
    }
}

/// One run on `t`: one drift and slow-runner draw shared by every metric of both
/// backends (one machine runs them all).
fn one_run(rng: &mut StdRng, t: &Testbed, may_be_slow: bool, change: f64) -> Results {
    let mut run_factor = (DRIFT * normal(rng)).exp();
    if may_be_slow && rng.random::<f64>() < SLOW_RUNNER_P {
        run_factor *= SLOW_FACTOR;
    }
    let mut out = Results::new();
    for (bi, backend) in ["coreml", "pytorch"].into_iter().enumerate() {
        let pick = |pair: (f64, f64)| if bi == 0 { pair.0 } else { pair.1 };
        let mut metrics = BTreeMap::new();
        let mut truths = Vec::new();
        for (si, (m, c, p)) in STAGES.iter().enumerate() {
            let f = if bi == 0 && *m == CHANGED {
                change
            } else {
                1.0
            };
            truths.push(pick((*c, *p)) * pick(t.speed[si]) * f);
        }
        let sample = |rng: &mut StdRng, truth: f64| -> Vec<f64> {
            (0..SAMPLES)
                .map(|_| {
                    let mut x = truth * run_factor * (WITHIN * normal(rng)).exp();
                    if rng.random::<f64>() < OUTLIER_P {
                        x *= 1.5;
                    }
                    x
                })
                .collect()
        };
        for ((m, ..), truth) in STAGES.iter().zip(&truths) {
            metrics.insert(m.to_string(), Value::Samples(sample(rng, *truth)));
        }
        let total: f64 = truths.iter().sum();
        metrics.insert(
            "full_pipeline_sec".into(),
            Value::Samples(sample(rng, total)),
        );
        let load = pick(LOAD) * pick(t.speed[STAGES.len()]) * run_factor;
        metrics.insert("model_load_sec".into(), Value::Number(load));
        let mem = pick(MEMORY) * t.memory * (0.005 * normal(rng)).exp();
        metrics.insert("memory_peak_mb".into(), Value::Number(mem));
        out.insert(backend.to_string(), metrics);
    }
    out
}

fn stamp(i: usize) -> String {
    format!("2026-01-{:02}T{:02}:00:00Z", 1 + i / 24, i % 24)
}

/// Counts over trials for one rule.
#[derive(Default, Clone, Copy)]
struct Tally {
    runs_flagged: usize,
    cells_flagged: usize,
    cells: usize,
    caught: usize,
}

/// One comparison: (ours, GAB) for a null (`change` 1.0) or a changed current run.
fn trial(
    rng: &mut StdRng,
    setting: Setting,
    change: f64,
    ratio_shift: f64,
    opts: &htdemucs_devops::bench::compare::Options,
) -> (Tally, Tally) {
    let a = testbed_a();
    let b = testbed_b(rng, ratio_shift);
    let on = |rng: &mut StdRng, current: bool| -> bool {
        match setting {
            Setting::Same => false,
            Setting::Changed => current,
            Setting::Mixed => rng.random::<f64>() < 0.5,
        }
    };
    let mut runs = Vec::new();
    for i in 0..HISTORY {
        let t = if on(rng, false) { &b } else { &a };
        runs.push(BaselineRun {
            id: format!("r{i}"),
            meta: RunMeta {
                timestamp: Some(stamp(i)),
                commit: Some(format!("{i:07x}")),
                fingerprint: fingerprint(t),
                ..Default::default()
            },
            results: one_run(rng, t, true, 1.0),
        });
    }
    let t = if on(rng, true) { &b } else { &a };
    let current = Run {
        meta: RunMeta {
            timestamp: Some(stamp(HISTORY)),
            commit: Some("current".into()),
            fingerprint: fingerprint(t),
            ..Default::default()
        },
        results: one_run(rng, t, false, change),
    };
    let c = compare(
        &Baseline {
            runs: runs.clone(),
            ..Baseline::default()
        },
        &current,
        opts,
    );
    let mut ours = Tally::default();
    let judged = c.rows.iter().filter(|r| {
        matches!(
            r.verdict,
            Verdict::Regression | Verdict::Improvement | Verdict::Unchanged
        )
    });
    for r in judged {
        ours.cells += 1;
        let flagged = r.verdict == Verdict::Regression;
        let is_change = r.metric == CHANGED && r.backend.starts_with("coreml");
        if flagged && is_change {
            ours.caught = 1;
        } else if flagged {
            ours.cells_flagged += 1;
        }
    }
    ours.runs_flagged = usize::from(ours.cells_flagged > 0);

    let mut gab = Tally::default();
    let prev = runs.last().map(|r| &r.results);
    for (b, ms) in &current.results {
        for (m, v) in ms {
            let Some(p) = prev.and_then(|p| p.get(b)?.get(m)) else {
                continue;
            };
            gab.cells += 1;
            let i = info(m, &Thresholds::default(), None);
            if previous_entry_rule(p, v, &i) == Verdict::Regression {
                if b == "coreml" && m == CHANGED {
                    gab.caught = 1;
                } else {
                    gab.cells_flagged += 1;
                }
            }
        }
    }
    gab.runs_flagged = usize::from(gab.cells_flagged > 0);
    (ours, gab)
}

#[derive(Clone, Copy)]
enum Setting {
    Same,
    Changed,
    Mixed,
}

fn add(t: &mut Tally, x: Tally) {
    t.runs_flagged += x.runs_flagged;
    t.cells_flagged += x.cells_flagged;
    t.cells += x.cells;
    t.caught += x.caught;
}

fn pct(n: usize, of: usize) -> f64 {
    100.0 * n as f64 / of.max(1) as f64
}

/// Runs the three settings and prints the table.
pub fn report(rng: &mut StdRng, trials: usize, ratio_shift: f64) {
    let opts = BenchmarkConfig::default().options();
    println!(
        "\nRunner changes ({trials} whole runs per setting, {HISTORY}-run history, both backends, \
         CoreML ÷ PyTorch shifting by {:.0}% (SD) per stage between testbeds; the change to catch: \
         CoreML's freq branch +{:.0}%)",
        ratio_shift * 100.0,
        (CHANGE - 1.0) * 100.0
    );
    println!(
        "{:<32} | {:>16} {:>16} | {:>16} {:>16} | {:>11} {:>10}",
        "setting",
        "false runs ours",
        "false runs GAB",
        "false cells ours",
        "false cells GAB",
        "caught ours",
        "caught GAB"
    );
    for (name, setting) in [
        ("same testbed", Setting::Same),
        ("changed testbed, no history", Setting::Changed),
        ("mixed history (A or B)", Setting::Mixed),
    ] {
        let (mut null_o, mut null_g, mut ch_o, mut ch_g) = Default::default();
        for _ in 0..trials {
            let (o, g) = trial(rng, setting, 1.0, ratio_shift, &opts);
            add(&mut null_o, o);
            add(&mut null_g, g);
            let (o, g) = trial(rng, setting, CHANGE, ratio_shift, &opts);
            add(&mut ch_o, o);
            add(&mut ch_g, g);
        }
        let (null_o, null_g, ch_o, ch_g): (Tally, Tally, Tally, Tally) =
            (null_o, null_g, ch_o, ch_g);
        println!(
            "{name:<32} | {:>15.2}% {:>15.2}% | {:>15.2}% {:>15.2}% | {:>10.2}% {:>9.2}%",
            pct(null_o.runs_flagged, trials),
            pct(null_g.runs_flagged, trials),
            pct(null_o.cells_flagged, null_o.cells),
            pct(null_g.cells_flagged, null_g.cells),
            pct(ch_o.caught, trials),
            pct(ch_g.caught, trials),
        );
    }
}

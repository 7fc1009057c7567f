//! Site rendering speed and size: 1,000 runs × 14 series (7 metrics × 2 backends), one
//! series stepping +15 % at run 850 (so the change-point search has work to do).
//! Target: the whole site renders in at most 1 s on a 2-core machine and stays under
//! 5 MB. Run with `cargo bench --bench site_render` (or `make bench`).

use std::collections::BTreeMap;
use std::time::Instant;

use htdemucs_devops::site::history::{History, HistoryRun, MetricInfo, SeriesBaseline};
use htdemucs_devops::site::pages::{write_site, SiteInput};

const METRICS: [(&str, f64); 7] = [
    ("stft_sec", 0.42),
    ("freq_branch_sec", 3.21),
    ("time_branch_sec", 2.89),
    ("istft_sec", 0.31),
    ("full_pipeline_sec", 8.12),
    ("model_load_sec", 2.1),
    ("memory_peak_mb", 1840.0),
];

fn history(runs: usize) -> History {
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut noise = move || {
        // xorshift: deterministic noise without a dependency.
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % 10_000) as f64 / 10_000.0 - 0.5
    };
    let runs = (0..runs)
        .map(|i| {
            let mut values = BTreeMap::new();
            for (backend, scale) in [("coreml", 1.0), ("pytorch", 1.4)] {
                let m: BTreeMap<String, f64> = METRICS
                    .iter()
                    .map(|(name, base)| {
                        let step = if backend == "coreml" && *name == "freq_branch_sec" && i >= 850
                        {
                            1.15
                        } else {
                            1.0
                        };
                        (
                            name.to_string(),
                            base * scale * step * (1.0 + 0.06 * noise()),
                        )
                    })
                    .collect();
                values.insert(backend.to_string(), m);
            }
            HistoryRun {
                timestamp: 1_770_076_800 + i as i64 * 21_600,
                commit: format!("{:040x}", i * 7_919),
                runner: "macos-14 arm64".into(),
                values,
                regressions: if i % 97 == 0 {
                    vec!["coreml/freq_branch_sec".into()]
                } else {
                    vec![]
                },
            }
        })
        .collect();
    let metrics = METRICS
        .iter()
        .map(|(name, _)| MetricInfo {
            key: name.to_string(),
            label: name.to_string(),
            unit: if name.ends_with("_mb") {
                "MB".into()
            } else {
                "s".into()
            },
            lower_is_better: true,
            threshold_pct: if name.ends_with("_mb") { 15.0 } else { 10.0 },
        })
        .collect();
    let baselines = METRICS
        .iter()
        .flat_map(|(name, base)| {
            [("coreml", 1.0), ("pytorch", 1.4)].map(|(b, scale)| SeriesBaseline {
                backend: b.to_string(),
                metric: name.to_string(),
                center: base * scale,
                threshold_pct: 10.0,
            })
        })
        .collect();
    History {
        metrics,
        backends: vec!["coreml".into(), "pytorch".into()],
        runs,
        baselines,
    }
}

fn dir_size(p: &std::path::Path) -> u64 {
    std::fs::read_dir(p)
        .map(|rd| {
            rd.flatten()
                .map(|e| {
                    if e.path().is_dir() {
                        dir_size(&e.path())
                    } else {
                        e.metadata().map(|m| m.len()).unwrap_or(0)
                    }
                })
                .sum()
        })
        .unwrap_or(0)
}

#[allow(clippy::expect_used)] // a benchmark program: failing loudly is the point
fn main() {
    let input = SiteInput {
        project: "HTDemucsCoreML".into(),
        history: history(1_000),
        benchmark: None,
        parity: None,
        now: 1_790_000_000,
        commit: Some("0123456789abcdef0123456789abcdef01234567".into()),
    };
    let mut best = f64::INFINITY;
    let mut size = 0;
    for _ in 0..5 {
        let dir = tempfile::tempdir().expect("tempdir");
        let start = Instant::now();
        write_site(&input, dir.path()).expect("render");
        best = best.min(start.elapsed().as_secs_f64());
        size = dir_size(dir.path());
    }
    let start = Instant::now();
    let found = htdemucs_devops::site::groups::change_points(&input.history);
    let search = start.elapsed().as_secs_f64();
    let steps: usize = found.values().map(Vec::len).sum();
    println!(
        "site_render: change-point search over 14 series (newest 300 runs each): {search:.3} s, {steps} change point(s) in {} series",
        found.len()
    );
    println!(
        "site_render: 1000 runs x 14 series: best of 5 = {best:.3} s (target <= 1 s, ratio {:.2})",
        best / 1.0
    );
    println!(
        "site_render: total site size = {:.2} MB (target < 5 MB, ratio {:.2})",
        size as f64 / 1e6,
        size as f64 / 5e6
    );
}

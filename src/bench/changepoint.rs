//! Change points of one series (a backend × metric on one testbed, in run order): the
//! runs where its level stepped, found with E-divisive means and a seeded permutation
//! test. Pure functions over `&[f64]`; [`super::changes`] applies them to the history.
//!
//! The method is the one of Matteson & James, "A Nonparametric Approach for Multiple
//! Change Point Analysis of Multivariate Data" (JASA 109(505), 2014), as MongoDB uses
//! it on CI performance history (Daly et al., "The Use of Change Point Detection to
//! Identify Software Performance Regressions in a Continuous Integration System",
//! ICPE 2020) and as Hunter/Apache Otava do:
//!
//! - The divergence between the runs before and after a candidate split `τ` is the
//!   energy statistic with α = 1: `Q(τ) = m·k/(m+k) · (2/(m·k)·Σ|xᵢ−yⱼ| −
//!   Σ_{i<i'}|xᵢ−xᵢ'|/C(m,2) − Σ_{j<j'}|yⱼ−yⱼ'|/C(k,2))`. It makes no assumption about
//!   the distribution, so a skewed timing series needs no transformation.
//! - Bisection: the best split of each segment is taken (the segment's end is held
//!   fixed, as Hunter does, rather than searched as well as in the original paper), the
//!   segment with the largest `Q` is split if its split is significant, and so on.
//! - Significance: the segment's runs are shuffled `permutations` times (a shuffle
//!   destroys any order in time) and the best `Q` of each shuffle compared with the
//!   observed one; `p = (1 + #{Q* ≥ Q}) / (1 + permutations)`. The shuffles come from a
//!   fixed-seed generator, so a series always gets the same answer.
//!
//! Because a split compares whole segments rather than one run against a window, a
//! level that creeps up over many runs (each step far below any threshold) still
//! separates into segments with different levels.
//!
//! A significant change smaller than `min_change_pct` (between the medians of the
//! segments either side) is dropped, and the neighbouring segments merge again.

use super::stats;

/// Tunables of the search.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Options {
    /// Fewest runs on either side of a change point.
    pub min_size: usize,
    /// A split is kept when its permutation p-value is at most this.
    pub max_p: f64,
    /// Shuffles per significance test.
    pub permutations: usize,
    /// Smallest change (percent, between adjacent segments' medians) worth reporting.
    pub min_change_pct: f64,
    /// Seed of the shuffles.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            min_size: 3,
            max_p: 0.01,
            permutations: 199,
            min_change_pct: 5.0,
            seed: 0x5eed_c0de_2014_0001,
        }
    }
}

/// One change point: the series stepped at run `index` (the first run of the new level).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChangePoint {
    pub index: usize,
    /// Median of the segment before.
    pub before: f64,
    /// Median of the segment from `index` on (to the next change point).
    pub after: f64,
    /// `(after / before − 1) · 100`; `None` when `before` is zero.
    pub change_pct: Option<f64>,
    /// The permutation p-value of the split when it was found.
    pub p_value: f64,
}

/// SplitMix64 (Steele, Lea & Flood 2014): a small, well-mixed generator, enough to
/// drive shuffles reproducibly.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n ≥ 1), by rejection so no value is favoured.
    fn below(&mut self, n: usize) -> usize {
        let n = n as u64;
        let zone = u64::MAX - u64::MAX % n;
        loop {
            let v = self.next();
            if v < zone {
                return (v % n) as usize;
            }
        }
    }

    fn shuffle(&mut self, xs: &mut [f64]) {
        for i in (1..xs.len()).rev() {
            let j = self.below(i + 1);
            xs.swap(i, j);
        }
    }
}

/// The best split of `xs` with at least `min_size` values either side: `(τ, Q(τ))`,
/// where `τ` is the first index of the right part. O(n²) time, O(n) memory.
pub fn best_split(xs: &[f64], min_size: usize) -> Option<(usize, f64)> {
    let n = xs.len();
    let min_size = min_size.max(2);
    if n < 2 * min_size {
        return None;
    }
    // Row sums of the distance matrix: r[t] = Σ_j |x_t − x_j|.
    let row: Vec<f64> = xs
        .iter()
        .map(|a| xs.iter().map(|b| (a - b).abs()).sum())
        .collect();
    let total: f64 = row.iter().sum::<f64>() / 2.0;
    // Moving x_t from the right part to the left one: `a` is its distance to the left
    // part, `row[t] − a` to the rest of the right part.
    let (mut within_l, mut within_r, mut between) = (0.0, total, 0.0);
    let mut best: Option<(usize, f64)> = None;
    for t in 0..n - min_size {
        let a: f64 = xs[..t].iter().map(|x| (xs[t] - x).abs()).sum();
        let b = row[t] - a;
        within_l += a;
        within_r -= b;
        between += b - a;
        let tau = t + 1;
        if tau < min_size {
            continue;
        }
        let (m, k) = (tau as f64, (n - tau) as f64);
        let e = 2.0 * between / (m * k)
            - 2.0 * within_l / (m * (m - 1.0))
            - 2.0 * within_r / (k * (k - 1.0));
        let q = m * k / (m + k) * e;
        if best.is_none_or(|(_, bq)| q > bq) {
            best = Some((tau, q));
        }
    }
    best
}

/// Permutation p-value of the best split of `xs` having the value `q`. Stops early once
/// the answer can no longer be significant at `max_p`.
fn p_value(xs: &[f64], q: f64, opts: &Options, rng: &mut SplitMix) -> f64 {
    let r = opts.permutations.max(1);
    let give_up = (opts.max_p * (r + 1) as f64).floor() as usize;
    let mut shuffled = xs.to_vec();
    let mut at_least = 0;
    for done in 1..=r {
        rng.shuffle(&mut shuffled);
        if best_split(&shuffled, opts.min_size).is_some_and(|(_, qs)| qs >= q) {
            at_least += 1;
            if at_least >= give_up {
                return (1 + at_least) as f64 / (1 + done) as f64;
            }
        }
    }
    (1 + at_least) as f64 / (1 + r) as f64
}

/// A segment `start..end` of the series and its best split (`tau` relative to `start`).
struct Segment {
    start: usize,
    end: usize,
    tau: usize,
    q: f64,
}

fn segment(xs: &[f64], start: usize, end: usize, min_size: usize) -> Option<Segment> {
    best_split(&xs[start..end], min_size).map(|(tau, q)| Segment { start, end, tau, q })
}

/// The significant splits of `xs`, as `(index, p)` in index order, before the
/// magnitude filter.
fn significant_splits(xs: &[f64], opts: &Options) -> Vec<(usize, f64)> {
    let mut rng = SplitMix(opts.seed ^ (xs.len() as u64).rotate_left(32));
    let mut segments: Vec<Segment> = segment(xs, 0, xs.len(), opts.min_size)
        .into_iter()
        .collect();
    let mut found = Vec::new();
    while let Some(pick) = segments
        .iter()
        .enumerate()
        .max_by(|a, b| a.1.q.total_cmp(&b.1.q))
        .map(|(i, _)| i)
    {
        let Segment { start, end, tau, q } = segments.swap_remove(pick);
        if q.is_nan() || q <= 0.0 {
            break;
        }
        let p = p_value(&xs[start..end], q, opts, &mut rng);
        if p > opts.max_p {
            break;
        }
        let cut = start + tau;
        found.push((cut, p));
        for (s, e) in [(start, cut), (cut, end)] {
            segments.extend(segment(xs, s, e, opts.min_size));
        }
    }
    found.sort_by_key(|(i, _)| *i);
    found
}

fn pct(before: f64, after: f64) -> Option<f64> {
    (before != 0.0).then(|| (after / before - 1.0) * 100.0)
}

/// Describes the segments between `cuts` (sorted indexes) as change points.
fn describe(xs: &[f64], cuts: &[(usize, f64)]) -> Vec<ChangePoint> {
    let bounds: Vec<usize> = std::iter::once(0)
        .chain(cuts.iter().map(|c| c.0))
        .chain(std::iter::once(xs.len()))
        .collect();
    let medians: Vec<f64> = bounds
        .windows(2)
        .map(|w| stats::median(&xs[w[0]..w[1]]))
        .collect();
    cuts.iter()
        .enumerate()
        .map(|(i, &(index, p_value))| ChangePoint {
            index,
            before: medians[i],
            after: medians[i + 1],
            change_pct: pct(medians[i], medians[i + 1]),
            p_value,
        })
        .collect()
}

/// The change points of `xs` (values in run order; non-finite values are not allowed
/// and make the answer empty).
pub fn detect(xs: &[f64], opts: &Options) -> Vec<ChangePoint> {
    if xs.iter().any(|x| !x.is_finite()) {
        return Vec::new();
    }
    let mut cuts = significant_splits(xs, opts);
    // Drop the smallest change below the bar, merge its segments, and look again: a
    // merge changes its neighbours' medians.
    loop {
        let points = describe(xs, &cuts);
        let smallest = points
            .iter()
            .enumerate()
            .filter(|(_, c)| c.change_pct.is_none_or(|p| p.abs() < opts.min_change_pct))
            .min_by(|a, b| {
                let size = |c: &ChangePoint| c.change_pct.map_or(0.0, f64::abs);
                size(a.1).total_cmp(&size(b.1))
            })
            .map(|(i, _)| i);
        match smallest {
            Some(i) => {
                cuts.remove(i);
            }
            None => return points,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bench::decide::{decide, Rule, Verdict};
    use crate::bench::metric::{info, Thresholds};
    use crate::bench::run::Value;

    /// Deterministic noise in [−1, 1).
    fn noise(n: usize, seed: u64) -> Vec<f64> {
        let mut g = SplitMix(seed);
        (0..n)
            .map(|_| (g.next() >> 11) as f64 / (1u64 << 52) as f64 - 1.0)
            .collect()
    }

    #[test]
    fn a_single_step_is_found_at_its_run() {
        // 3.2 s with ±1.5 % noise, +15 % from run 12 on.
        let xs: Vec<f64> = noise(30, 7)
            .iter()
            .enumerate()
            .map(|(i, e)| 3.2 * (1.0 + 0.015 * e) * if i >= 12 { 1.15 } else { 1.0 })
            .collect();
        let cps = detect(&xs, &Options::default());
        assert_eq!(cps.len(), 1, "{cps:?}");
        assert!(cps[0].index.abs_diff(12) <= 1, "{cps:?}");
        let change = cps[0].change_pct.unwrap();
        assert!((change - 15.0).abs() < 3.0, "{change}");
        assert!(cps[0].p_value <= 0.01);
    }

    #[test]
    fn noise_alone_has_no_change_points() {
        for seed in 0..20 {
            let xs: Vec<f64> = noise(60, seed).iter().map(|e| 1.0 + 0.03 * e).collect();
            assert_eq!(detect(&xs, &Options::default()), vec![], "seed {seed}");
        }
    }

    #[test]
    fn the_answer_is_reproducible() {
        let xs: Vec<f64> = noise(40, 3)
            .iter()
            .enumerate()
            .map(|(i, e)| 1.0 + 0.02 * e + if i >= 20 { 0.06 } else { 0.0 })
            .collect();
        let a = detect(&xs, &Options::default());
        assert_eq!(a, detect(&xs, &Options::default()));
        assert_eq!(a.len(), 1, "{a:?}");
    }

    #[test]
    fn steps_below_the_bar_are_dropped() {
        let xs: Vec<f64> = (0..30).map(|i| if i >= 15 { 1.02 } else { 1.0 }).collect();
        assert!(detect(&xs, &Options::default()).is_empty());
        let small = Options {
            min_change_pct: 1.0,
            ..Options::default()
        };
        assert_eq!(detect(&xs, &small).len(), 1);
    }

    #[test]
    fn short_or_broken_series_have_none() {
        assert!(detect(&[], &Options::default()).is_empty());
        assert!(detect(&[1.0, 2.0, 3.0, 4.0, 5.0], &Options::default()).is_empty());
        assert!(detect(
            &[1.0, f64::NAN, 1.0, 2.0, 2.0, 2.0, 2.0],
            &Options::default()
        )
        .is_empty());
    }

    /// A level creeping up 0.8 % a run for 40 runs (+32 % in all, ±1 % noise): the
    /// one-run-against-window rule never flags a run, change points do find it.
    #[test]
    fn a_slow_drift_is_found_where_the_window_rule_sees_nothing() {
        let xs: Vec<f64> = noise(40, 11)
            .iter()
            .enumerate()
            .map(|(i, e)| 2.0 * (1.0 + 0.008 * i as f64) * (1.0 + 0.01 * e))
            .collect();
        let metric = info("freq_branch_sec", &Thresholds::default(), None);
        let rule = Rule::default();
        let values: Vec<Value> = xs.iter().map(|v| Value::Number(*v)).collect();
        for i in 3..values.len() {
            let history: Vec<&Value> = values[..i].iter().collect();
            let d = decide(&history, &values[i], &metric, &rule);
            assert_eq!(d.verdict, Verdict::Unchanged, "run {i}: {d:?}");
        }
        let cps = detect(&xs, &Options::default());
        assert!(!cps.is_empty(), "the drift is found");
        assert!(
            cps.iter().all(|c| c.change_pct.is_some_and(|p| p > 0.0)),
            "{cps:?}"
        );
        let total = cps
            .iter()
            .filter_map(|c| c.change_pct)
            .map(|p| 1.0 + p / 100.0);
        let total = (total.product::<f64>() - 1.0) * 100.0;
        assert!(
            total > 15.0,
            "the steps add up to most of the drift: {total} {cps:?}"
        );
    }

    #[test]
    fn best_split_matches_the_direct_formula() {
        let xs: [f64; 7] = [1.0, 1.2, 0.9, 3.0, 3.1, 2.8, 3.3];
        let direct = |tau: usize| {
            let (l, r) = xs.split_at(tau);
            let (m, k) = (l.len() as f64, r.len() as f64);
            let between: f64 = l
                .iter()
                .flat_map(|a| r.iter().map(move |b: &f64| (a - b).abs()))
                .sum();
            let within = |s: &[f64]| -> f64 {
                let mut t = 0.0;
                for i in 0..s.len() {
                    for j in i + 1..s.len() {
                        t += (s[i] - s[j]).abs();
                    }
                }
                t
            };
            let e = 2.0 * between / (m * k)
                - within(l) / (m * (m - 1.0) / 2.0)
                - within(r) / (k * (k - 1.0) / 2.0);
            m * k / (m + k) * e
        };
        let (tau, q) = best_split(&xs, 2).unwrap_or((0, 0.0));
        assert_eq!(tau, 3);
        assert!((q - direct(3)).abs() < 1e-9, "{q} vs {}", direct(3));
        for t in 2..=5 {
            assert!(direct(t) <= q + 1e-12);
        }
    }
}

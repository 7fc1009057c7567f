//! Robust statistics over samples: median, scaled median absolute deviation, mean.
//! Pure functions; every one is independent of the order of its input.

/// Factor that makes the MAD estimate the standard deviation of normal data.
pub const MAD_TO_SD: f64 = 1.4826;

/// Standard error of a median relative to that of a mean for normal data (√(π/2)).
pub const MEDIAN_SE_FACTOR: f64 = 1.2533;

/// Median; NaN for no samples. Non-finite samples are the caller's problem (inputs are
/// validated when read).
pub fn median(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        // Halves first so that huge values cannot overflow.
        v[n / 2 - 1] / 2.0 + v[n / 2] / 2.0
    }
}

/// Median absolute deviation from the median, scaled to estimate a standard deviation.
pub fn mad(xs: &[f64]) -> f64 {
    let m = median(xs);
    let dev: Vec<f64> = xs.iter().map(|x| (x - m).abs()).collect();
    MAD_TO_SD * median(&dev)
}

/// Arithmetic mean (order-independent up to rounding; used for the comparison rule
/// github-action-benchmark applies, not for our own decision).
pub fn mean(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return f64::NAN;
    }
    let mut v = xs.to_vec();
    // Summing in sorted order makes the result independent of the input order.
    v.sort_by(f64::total_cmp);
    v.iter().sum::<f64>() / v.len() as f64
}

/// Standard error of the median of `xs`, estimated robustly: MAD·1.2533/√n. `None` for
/// fewer than three samples, where a spread estimate means nothing.
pub fn median_se(xs: &[f64]) -> Option<f64> {
    if xs.len() < 3 {
        return None;
    }
    Some(mad(xs) * MEDIAN_SE_FACTOR / (xs.len() as f64).sqrt())
}

/// The within-run noise of a metric, pooled over runs: the scaled MAD of every sample's
/// relative deviation from its own run's median, over the runs with at least three
/// samples. Estimated from all of them at once because five samples alone cannot tell a
/// spike from noise. 0 when no run has three samples.
pub fn pooled_within_scale(runs: &[&[f64]]) -> f64 {
    let mut dev = Vec::new();
    for xs in runs.iter().filter(|xs| xs.len() >= 3) {
        let m = median(xs);
        if m != 0.0 {
            dev.extend(xs.iter().map(|x| (x / m - 1.0).abs()));
        }
    }
    if dev.is_empty() {
        0.0
    } else {
        MAD_TO_SD * median(&dev)
    }
}

/// One run's value: the mean of its samples after setting aside those further than
/// `k` × `scale` (relative) from the run's median — spikes such as a GC pause or a cold
/// cache. The mean of the rest is less noisy than the median, and a spike cannot move
/// it. With fewer than three samples, a zero median or a zero scale: the median.
pub fn despiked_mean(xs: &[f64], scale: f64, k: f64) -> f64 {
    let m = median(xs);
    if xs.len() < 3 || m == 0.0 || scale <= 0.0 {
        return m;
    }
    let mut kept: Vec<f64> = xs
        .iter()
        .copied()
        .filter(|x| (x / m - 1.0).abs() <= k * scale)
        .collect();
    if kept.is_empty() {
        return m;
    }
    // Deviations from the median in sorted order: order-independent, and identical
    // samples give exactly the median.
    kept.sort_by(f64::total_cmp);
    m + kept.iter().map(|x| x - m).sum::<f64>() / kept.len() as f64
}

/// A robust center and spread: values further than `k` MADs from the median are set
/// aside (repeatedly, on what is left) (a 30 %-slow runner, a broken run), and the rest give a mean and a sample
/// standard deviation, which are much less noisy than the median and MAD themselves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Clipped {
    pub center: f64,
    /// Sample standard deviation of the kept values (0 for fewer than two).
    pub sd: f64,
    /// How many values were kept.
    pub kept: usize,
}

pub fn clipped(xs: &[f64], k: f64) -> Clipped {
    // Clipping is repeated on what was kept: when several slow runs sit together they
    // inflate the first MAD, but not the second. Later passes may tighten the scale to
    // half the first one at most, so that ties and coarse timer resolution (many equal
    // values, a tiny MAD) cannot shrink the kept set to a falsely quiet core.
    let mut kept: Vec<f64> = xs.to_vec();
    let first = mad(xs);
    for _ in 0..5 {
        let m = median(&kept);
        let s = mad(&kept).max(first / 2.0);
        let next: Vec<f64> = kept
            .iter()
            .copied()
            .filter(|x| {
                if s > 0.0 {
                    (x - m).abs() <= k * s
                } else {
                    *x == m
                }
            })
            .collect();
        if next.len() == kept.len() || next.len() < 2 {
            break;
        }
        kept = next;
    }
    let m = median(&kept);
    kept.sort_by(f64::total_cmp);
    let n = kept.len();
    // Deviations from the median, so that identical values give exactly the median.
    let mean_dev = kept.iter().map(|x| x - m).sum::<f64>() / n.max(1) as f64;
    let center = m + mean_dev;
    let sd = if n > 1 {
        (kept.iter().map(|x| (x - center).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
    } else {
        0.0
    };
    Clipped {
        center,
        sd,
        kept: n,
    }
}

/// Minimum and maximum.
pub fn min_max(xs: &[f64]) -> (f64, f64) {
    xs.iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &x| {
            (lo.min(x), hi.max(x))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clipping_drops_slow_clusters_but_not_ties() {
        // Three slow runners among ten inflate the first MAD; the second pass drops them.
        let runs = [0.95, 0.97, 0.98, 1.02, 1.04, 1.05, 1.08, 1.33, 1.34, 1.37];
        let c = clipped(&runs, 3.0);
        assert_eq!(c.kept, 7, "{c:?}");
        assert!((c.center - 1.0129).abs() < 1e-3, "{c:?}");
        // Coarse timer resolution: the kept set must not collapse onto the ties.
        let ties = [5.18, 5.19, 5.18, 5.10, 6.84, 5.31, 5.09, 5.20];
        let c = clipped(&ties, 3.0);
        assert_eq!(c.kept, 6, "{c:?}");
        assert!(c.sd > 0.04, "{c:?}");
        let same = clipped(&[2.0, 2.0, 2.0], 3.0);
        assert_eq!((same.center, same.sd, same.kept), (2.0, 0.0, 3));
    }

    #[test]
    fn median_and_mad() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
        assert!(median(&[]).is_nan());
        // One wild outlier barely moves the MAD.
        let m = mad(&[1.0, 1.1, 0.9, 1.0, 50.0]);
        assert!((m - MAD_TO_SD * 0.1).abs() < 1e-9, "{m}");
        assert_eq!(median_se(&[1.0, 2.0]), None);
        assert_eq!(min_max(&[2.0, -1.0, 5.0]), (-1.0, 5.0));
        assert_eq!(mean(&[1.0, 2.0, 6.0]), 3.0);
    }

    #[test]
    fn spikes_are_set_aside_against_the_pooled_scale() {
        let a = [1.0, 1.02, 0.98, 1.01, 0.99];
        let b = [2.0, 2.04, 1.96, 3.0, 2.02];
        let s = pooled_within_scale(&[&a, &b, &[5.0]]);
        assert!(s > 0.005 && s < 0.03, "{s}");
        // The 1.5x spike goes; the mean of the rest is the run's value.
        assert!((despiked_mean(&b, s, 5.0) - 2.005).abs() < 1e-12);
        assert!((despiked_mean(&a, s, 5.0) - 1.0).abs() < 1e-12);
        // Too few samples, or no spread to judge by: the median.
        assert_eq!(despiked_mean(&[1.0, 3.0], s, 5.0), 2.0);
        assert_eq!(despiked_mean(&b, 0.0, 5.0), 2.02);
        assert_eq!(pooled_within_scale(&[&[1.0, 2.0]]), 0.0);
    }
}

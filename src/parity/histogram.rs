//! The histogram of |error| per power of two, fed by `metrics::Accumulator` with the
//! absolute errors its vectorised kernel already computed: only the per-element
//! counter increments (which don't vectorise) are left here.

use super::model::Histogram as Hist;

/// Copies of the bins (see `Distribution::hist`).
const LANES: usize = 4;

/// Histogram bins are powers of two from 2^HIST_MIN_EXP to 2^HIST_MAX_EXP.
pub const HIST_MIN_EXP: i32 = -40;
pub const HIST_MAX_EXP: i32 = 8;
const BINS: usize = (HIST_MAX_EXP - HIST_MIN_EXP + 1) as usize;

/// The histogram of |error| (per power of two) over the finite pairs, fed with the
/// absolute errors the metrics kernel already computed (see `Accumulator`).
#[derive(Debug, Clone)]
pub struct Distribution {
    /// `LANES` copies of the bins: consecutive values land in different copies, so
    /// repeated increments of one bin don't wait on each other.
    /// 64 slots (≥ BINS) so a masked index needs no bounds check.
    hist: [[u64; 64]; LANES],
    zeros: u64,
}

impl Default for Distribution {
    fn default() -> Self {
        Self::new()
    }
}

/// Bin of each biased float64 exponent (clamped to the chart's range).
static BIN_OF_EXP: [u8; 2048] = bin_table();

const fn bin_table() -> [u8; 2048] {
    let mut t = [0u8; 2048];
    let mut e = 0;
    while e < 2048 {
        let b = e as i64 - 1023 - HIST_MIN_EXP as i64;
        t[e] = if b < 0 {
            0
        } else if b >= BINS as i64 {
            (BINS - 1) as u8
        } else {
            b as u8
        };
        e += 1;
    }
    t
}

/// The bin of a non-negative |error|; zeros land in bin 0 too (`finish` takes them out).
/// A table lookup on the exponent bits: no arithmetic, clamping or bounds checks.
#[inline]
fn bin(ad: f64) -> usize {
    usize::from(BIN_OF_EXP[((ad.to_bits() >> 52) & 0x7ff) as usize]) & 63
}

impl Distribution {
    pub fn new() -> Self {
        Distribution {
            hist: [[0; 64]; LANES],
            zeros: 0,
        }
    }

    /// Adds finite, non-negative absolute errors.
    #[inline(always)]
    pub fn add_abs(&mut self, ad: &[f64]) {
        // Zeros: a branch-free count the compiler vectorises.
        self.zeros += ad.iter().map(|&x| u64::from(x == 0.0)).sum::<u64>();
        let mut groups = ad.chunks_exact(LANES);
        for g in &mut groups {
            for (lane, &x) in self.hist.iter_mut().zip(g) {
                lane[bin(x)] += 1;
            }
        }
        // The zeros of the remainder are already counted above.
        for &x in groups.remainder() {
            self.hist[0][bin(x)] += 1;
        }
    }

    /// Adds one finite, non-negative absolute error.
    #[inline]
    pub fn push(&mut self, ad: f64) {
        self.zeros += u64::from(ad == 0.0);
        self.hist[0][bin(ad)] += 1;
    }

    /// Adds the next equally long chunks of both arrays (non-finite pairs are skipped).
    pub fn add(&mut self, r: &[f64], c: &[f64]) {
        for (&a, &b) in r.iter().zip(c) {
            if a.is_finite() && b.is_finite() {
                self.push((b - a).abs());
            }
        }
    }

    /// Folds in another worker's histogram.
    pub fn merge(&mut self, other: Distribution) {
        for (lane, other) in self.hist.iter_mut().zip(other.hist) {
            for (a, b) in lane.iter_mut().zip(other) {
                *a += b;
            }
        }
        self.zeros += other.zeros;
    }

    /// The histogram.
    pub fn finish(self) -> Hist {
        let mut counts: Vec<u64> = (0..BINS)
            .map(|b| self.hist.iter().map(|lane| lane[b]).sum())
            .collect();
        // Zeros land in bin 0 of the copies; they are reported apart.
        counts[0] = counts[0].saturating_sub(self.zeros);
        Hist {
            min_exp: HIST_MIN_EXP,
            counts,
            zeros: self.zeros,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A block shorter than the lane count (or its remainder) counts each zero once.
    #[test]
    fn zeros_in_a_short_block_are_counted_once() {
        for n in [1usize, 2, 3, 5, 7] {
            let ad: Vec<f64> = (0..n).map(|i| if i % 2 == 0 { 0.0 } else { 0.5 }).collect();
            let mut d = Distribution::new();
            d.add_abs(&ad);
            let h = d.finish();
            assert_eq!(h.zeros as usize, n.div_ceil(2), "n={n}");
            assert_eq!(h.counts.iter().sum::<u64>() as usize, n / 2, "n={n}");
        }
    }

    #[test]
    fn bins_by_power_of_two_and_counts_zeros_apart() {
        let mut d = Distribution::new();
        d.add(
            &[0.0, 0.0, 1.0, 0.0, 5.0],
            &[0.0, 0.75, 1.0, f64::NAN, 5.0 + 3.0],
        );
        let h = d.finish();
        assert_eq!(h.zeros, 2);
        assert_eq!(h.counts.iter().sum::<u64>(), 2);
        assert_eq!(
            h.counts[(-1 - HIST_MIN_EXP) as usize],
            1,
            "0.75 is in [2^-1, 2^0)"
        );
        assert_eq!(
            h.counts[(1 - HIST_MIN_EXP) as usize],
            1,
            "3 is in [2^1, 2^2)"
        );
    }
}

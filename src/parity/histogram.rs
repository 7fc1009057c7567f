//! The histogram of |error| per power of two, fed chunk by chunk on the reader thread
//! (see `compare::stream_pairs`): its per-element memory updates don't vectorise, so it
//! lives apart from the vectorised metrics in `metrics`.

use super::kernel::{self, LANES};
use super::model::Histogram as Hist;

/// Histogram bins are powers of two from 2^HIST_MIN_EXP to 2^HIST_MAX_EXP.
pub const HIST_MIN_EXP: i32 = -40;
pub const HIST_MAX_EXP: i32 = 8;
const BINS: usize = (HIST_MAX_EXP - HIST_MIN_EXP + 1) as usize;

/// The histogram of |error| (per power of two) over the finite pairs. Separate from
/// [`Accumulator`] because its per-element memory updates don't vectorise; `compare`
/// runs it on the reader thread so both threads carry similar work.
pub struct Distribution {
    /// `LANES × BINS` counters: lanes keep repeated increments of one bin independent.
    hist: Vec<u64>,
    zeros: u64,
}

impl Default for Distribution {
    fn default() -> Self {
        Self::new()
    }
}

impl Distribution {
    pub fn new() -> Self {
        Distribution {
            hist: vec![0; LANES * BINS],
            zeros: 0,
        }
    }

    /// Adds the next equally long chunks of both arrays (non-finite pairs are skipped).
    pub fn add(&mut self, r: &[f64], c: &[f64]) {
        let all = kernel::all_finite(r, c);
        for (i, (&a, &b)) in r.iter().zip(c).enumerate() {
            if !(all || a.is_finite() && b.is_finite()) {
                continue;
            }
            let bits = (b - a).abs().to_bits();
            self.zeros += u64::from(bits == 0);
            // Zeros land in bin 0 too; `finish` takes them out.
            let bin = (((bits >> 52) as i32) - 1023 - HIST_MIN_EXP).clamp(0, BINS as i32 - 1);
            self.hist[(i % LANES) * BINS + bin as usize] += 1;
        }
    }

    /// Folds in another worker's histogram.
    pub fn merge(&mut self, other: Distribution) {
        for (a, b) in self.hist.iter_mut().zip(other.hist) {
            *a += b;
        }
        self.zeros += other.zeros;
    }

    /// The histogram.
    pub fn finish(self) -> Hist {
        let mut counts: Vec<u64> = (0..BINS)
            .map(|b| (0..LANES).map(|l| self.hist[l * BINS + b]).sum())
            .collect();
        counts[0] -= self.zeros;
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

//! The 99th percentile of absolute errors over a stream, with bounded memory.
//!
//! numpy's `percentile(x, 99)` (linear interpolation) needs the values at sorted ranks
//! `lo = floor(0.99·(n−1))` and `lo+1`, i.e. among the `keep = n − lo` largest values. We
//! keep those exactly: values above a cut-off go into a buffer; when it holds twice what
//! we need, a linear-time selection keeps the largest half and raises the cut-off to the
//! smallest value kept. That is exact, amortised O(1) per value with sequential memory
//! access, and small (2 % of the elements) for any array up to [`EXACT_CAP`]·100
//! elements. Beyond that a fixed 2 MiB histogram over the float64 bit pattern (the
//! exponent and 7 mantissa bits) answers instead, with a relative error of at most
//! 2⁻⁸ ≈ 0.4 %; the report marks such values `p99_exact: false`.
//!
//! Two things keep it cheap on the hot path (it used to cost as much as all the other
//! metrics together):
//! - values are screened 32 at a time by their (vectorised) maximum, and a group holding
//!   a candidate is copied without a branch per value: every value is written at the end
//!   of the buffer and the length grows only for those above the cut-off, so the many
//!   unpredictable "is this one above?" branches of the early stream cost nothing;
//! - workers splitting one array share their cut-offs. A worker's cut-off `c` means it
//!   holds `keep` values ≥ `c`, so the array has at least `keep` such values and no value
//!   ≤ `c`, from any worker, can change the `keep` largest (an equal value only repeats
//!   one already kept). Each worker then screens against the best cut-off found so far.

use std::sync::atomic::{AtomicI64, Ordering};
use std::sync::Arc;

/// The most values the exact selection keeps (its buffer holds twice that: 16 MiB).
pub const EXACT_CAP: u64 = 1 << 20;

const SKETCH_SHIFT: u32 = 45;
const SKETCH_BINS: usize = 1 << (63 - SKETCH_SHIFT);

/// Rank needed for the q-quantile of `n` values: how many of the largest to keep.
fn keep_for(n: u64, q: f64) -> u64 {
    if n == 0 {
        return 0;
    }
    let lo = (q * (n - 1) as f64).floor() as u64;
    n - lo
}

/// The exact state: a superset of the `keep` largest values seen.
pub struct Exact {
    /// Bit patterns of candidate values (non-negative floats order like them) in
    /// `buf[..len]`; the rest is room for one more group written without a check.
    buf: Vec<u64>,
    len: usize,
    keep: usize,
    /// Values whose bits are not above this cannot be among the `keep` largest
    /// (−1: everything counts).
    cut: i64,
    /// The highest cut-off any worker on this array has reached.
    shared: Arc<AtomicI64>,
}

pub enum Quantile {
    Exact(Exact),
    Sketch { counts: Vec<u64> },
}

/// Values screened together by [`Quantile::extend`].
const GROUP: usize = 32;

/// The quantile we report.
pub const Q: f64 = 0.99;

/// The cut-off as a value: for non-negative values, `v > value(cut)` is `bits(v) > cut`.
fn cut_value(cut: i64) -> f64 {
    if cut < 0 {
        -1.0
    } else {
        f64::from_bits(cut as u64)
    }
}

impl Exact {
    /// Keeps the `keep` largest of the buffer and raises the cut-off to the smallest of
    /// them, then takes the shared cut-off if another worker got further.
    fn select(&mut self) {
        let drop = self.len - self.keep;
        self.buf[..self.len].select_nth_unstable(drop);
        self.buf.copy_within(drop..self.len, 0);
        self.len = self.keep;
        // After the selection buf[drop] was the smallest of the kept values.
        let mine = self.buf[0] as i64;
        self.cut = mine.max(self.shared.fetch_max(mine, Ordering::Relaxed));
    }

    fn push(&mut self, bits: u64) {
        if bits as i64 <= self.cut {
            return;
        }
        self.buf[self.len] = bits;
        self.len += 1;
        if self.len >= 2 * self.keep {
            self.select();
        }
    }
}

impl Quantile {
    /// For a stream of at most `n` non-negative values.
    pub fn new(n: u64) -> Self {
        let keep = keep_for(n, Q).max(1);
        if keep <= EXACT_CAP {
            let keep = keep as usize;
            Quantile::Exact(Exact {
                buf: vec![0; 2 * keep + GROUP],
                len: 0,
                keep,
                cut: -1,
                shared: Arc::new(AtomicI64::new(-1)),
            })
        } else {
            Quantile::Sketch {
                counts: vec![0; SKETCH_BINS],
            }
        }
    }

    /// An empty state for another worker on the same array: same plan, shared cut-off.
    pub fn sibling(&self) -> Self {
        match self {
            Quantile::Exact(e) => Quantile::Exact(Exact {
                buf: vec![0; e.buf.len()],
                len: 0,
                keep: e.keep,
                cut: -1,
                shared: Arc::clone(&e.shared),
            }),
            Quantile::Sketch { counts } => Quantile::Sketch {
                counts: vec![0; counts.len()],
            },
        }
    }

    /// Adds a non-negative, finite value.
    #[inline]
    pub fn push(&mut self, v: f64) {
        let bits = v.to_bits();
        match self {
            Quantile::Exact(e) => e.push(bits),
            Quantile::Sketch { counts } => {
                counts[(bits >> SKETCH_SHIFT) as usize] += 1;
            }
        }
    }

    /// Adds non-negative, finite values. Only a few percent pass the cut-off, so each
    /// group's maximum (vectorised) is compared first and only groups holding a
    /// candidate are copied, without a branch per value.
    #[inline(always)]
    pub fn extend(&mut self, values: &[f64]) {
        let e = match self {
            Quantile::Exact(e) => e,
            Quantile::Sketch { .. } => {
                for &v in values {
                    self.push(v);
                }
                return;
            }
        };
        // Another worker may have raised the bar since this one last looked.
        e.cut = e.cut.max(e.shared.load(Ordering::Relaxed));
        let mut cut = cut_value(e.cut);
        for group in values.chunks(GROUP) {
            // Four independent maxima vectorise; one comparison then skips the group.
            let mut m = [0.0f64; 4];
            let mut quads = group.chunks_exact(4);
            for q in &mut quads {
                for j in 0..4 {
                    m[j] = if q[j] > m[j] { q[j] } else { m[j] };
                }
            }
            for &v in quads.remainder() {
                m[0] = m[0].max(v);
            }
            if m[0].max(m[1]).max(m[2].max(m[3])) <= cut {
                continue;
            }
            // Room for a whole group is guaranteed: len < 2·keep before it, and the
            // buffer is 2·keep + GROUP long.
            let bar = e.cut;
            let (buf, mut len) = (&mut e.buf, e.len);
            for &v in group {
                let bits = v.to_bits();
                buf[len] = bits;
                len += usize::from(bits as i64 > bar);
            }
            e.len = len;
            if e.len >= 2 * e.keep {
                e.select();
                cut = cut_value(e.cut);
            }
        }
    }

    /// Folds in another stream's state (same planned size, so the same kind): the
    /// union of two supersets of each side's largest values holds the largest overall.
    pub fn merge(&mut self, other: Quantile) {
        match (self, other) {
            (Quantile::Sketch { counts }, Quantile::Sketch { counts: o }) => {
                for (a, b) in counts.iter_mut().zip(o) {
                    *a += b;
                }
            }
            (me, Quantile::Exact(o)) => {
                for &bits in &o.buf[..o.len] {
                    me.push(f64::from_bits(bits));
                }
            }
            (me, Quantile::Sketch { counts }) => {
                // Not reached (both sides are planned alike); kept correct regardless.
                for (i, &n) in counts.iter().enumerate() {
                    let v = f64::from_bits((i as u64) << SKETCH_SHIFT);
                    for _ in 0..n {
                        me.push(v);
                    }
                }
            }
        }
    }

    /// The 99th percentile of the `n` values pushed (numpy's linear method), and whether
    /// it is exact.
    pub fn finish(self, n: u64) -> (f64, bool) {
        if n == 0 {
            return (0.0, true);
        }
        let pos = Q * (n - 1) as f64;
        let lo = pos.floor() as u64;
        let frac = pos - lo as f64;
        match self {
            Quantile::Exact(e) => {
                // The buffer holds at least the n − lo largest (fewer values than planned
                // may have arrived: non-finite pairs are skipped); take exactly those.
                // Ranks `start` and `start + 1` of the kept values: one selection, no sort.
                let mut kept = e.buf;
                kept.truncate(e.len);
                let need = (n - lo) as usize;
                let start = kept.len().saturating_sub(need);
                if start >= kept.len() {
                    return (0.0, true);
                }
                let (_, &mut at, above) = kept.select_nth_unstable(start);
                let a = f64::from_bits(at);
                let b = above.iter().copied().min().map_or(a, f64::from_bits);
                (lerp(a, b, frac), true)
            }
            Quantile::Sketch { counts } => {
                let a = sketch_rank(&counts, lo);
                let b = sketch_rank(&counts, (lo + 1).min(n - 1));
                (lerp(a, b, frac), false)
            }
        }
    }
}

/// numpy's `_lerp`: symmetric for accuracy near t = 1. An infinite upper value (an error
/// beyond the float64 range, see `metrics`) gives inf, not the NaN of inf − inf.
fn lerp(a: f64, b: f64, t: f64) -> f64 {
    if a == b || t == 0.0 {
        return a;
    }
    if b.is_infinite() {
        return b;
    }
    let d = b - a;
    if t >= 0.5 {
        b - d * (1.0 - t)
    } else {
        a + d * t
    }
}

/// The value at sorted rank `rank` (0-based) from the bit-pattern histogram: the middle
/// of the bin that holds it.
fn sketch_rank(counts: &[u64], rank: u64) -> f64 {
    let mut seen = 0u64;
    for (i, &c) in counts.iter().enumerate() {
        seen += c;
        if seen > rank {
            let lo = f64::from_bits((i as u64) << SKETCH_SHIFT);
            let hi = f64::from_bits(((i as u64 + 1) << SKETCH_SHIFT).min(0x7ff0_0000_0000_0000));
            return (lo + hi) / 2.0;
        }
    }
    0.0
}

#[cfg(test)]
mod tests {
    use super::*;

    fn numpy_p99(mut v: Vec<f64>) -> f64 {
        v.sort_by(f64::total_cmp);
        let pos = 0.99 * (v.len() - 1) as f64;
        let lo = pos.floor() as usize;
        let hi = (lo + 1).min(v.len() - 1);
        lerp(v[lo], v[hi], pos - lo as f64)
    }

    #[test]
    fn exact_matches_sorting() {
        for n in [1usize, 2, 7, 100, 101, 1234] {
            let vals: Vec<f64> = (0..n).map(|i| ((i * 7919) % 1009) as f64 * 0.5).collect();
            let mut q = Quantile::new(n as u64);
            for &v in &vals {
                q.push(v);
            }
            let mut grouped = Quantile::new(n as u64);
            for part in vals.chunks(37) {
                grouped.extend(part);
            }
            assert_eq!(grouped.finish(n as u64).0, numpy_p99(vals.clone()));
            let (got, exact) = q.finish(n as u64);
            assert!(exact);
            assert_eq!(got, numpy_p99(vals), "n={n}");
        }
    }

    #[test]
    fn siblings_sharing_a_cut_off_merge_to_the_exact_answer() {
        // Many ties and a skewed split: one worker sees most of the large values, so the
        // other screens against a cut-off it could not have reached alone.
        let n = 20_000usize;
        let vals: Vec<f64> = (0..n)
            .map(|i| ((i * 7919) % 613) as f64 * if i % 3 == 0 { 4.0 } else { 0.25 })
            .collect();
        let mut a = Quantile::new(n as u64);
        let mut b = a.sibling();
        for (k, part) in vals.chunks(100).enumerate() {
            if k % 4 == 3 {
                b.extend(part);
            } else {
                a.extend(part);
            }
        }
        a.merge(b);
        let (got, exact) = a.finish(n as u64);
        assert!(exact);
        assert_eq!(got, numpy_p99(vals));
    }

    #[test]
    fn infinite_errors_give_an_infinite_percentile_not_nan() {
        let mut q = Quantile::new(3);
        for v in [f64::INFINITY, 1.0, f64::INFINITY] {
            q.push(v);
        }
        assert_eq!(q.finish(3).0, f64::INFINITY);
        assert_eq!(lerp(1.0, f64::INFINITY, 0.25), f64::INFINITY);
    }

    #[test]
    fn fewer_values_than_planned() {
        let vals: Vec<f64> = (0..500).map(|i| i as f64).collect();
        let mut q = Quantile::new(1000);
        for &v in &vals {
            q.push(v);
        }
        assert_eq!(q.finish(500).0, numpy_p99(vals));
    }

    #[test]
    fn sketch_is_within_its_documented_accuracy() {
        let n = 10_000u64;
        let vals: Vec<f64> = (0..n).map(|i| 1e-6 * (1.0 + i as f64)).collect();
        let mut q = Quantile::Sketch {
            counts: vec![0; SKETCH_BINS],
        };
        for &v in &vals {
            q.push(v);
        }
        let (got, exact) = q.finish(n);
        let want = numpy_p99(vals);
        assert!(!exact);
        assert!(((got - want) / want).abs() < 1.0 / 256.0, "{got} vs {want}");
    }
}

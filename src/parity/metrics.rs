//! Streaming error statistics between a reference and a candidate array, in float64:
//! fed chunk by chunk, memory bounded by the p99 buffer (see `quantile`) and two small
//! fixed-size charts (error histogram, error over time).
//!
//! Errors beyond the float64 range: |cand − ref| of two finite values can exceed
//! `f64::MAX` (±9e307 on each side). It is then +inf, honestly: `max_abs`, `p99_abs`
//! and `max_rel` are inf, the pair counts as outside the tolerance, sums holding it are
//! inf, and a ratio of two such sums (SNR, PSNR, cosine) is NaN. The judge fails the
//! check on the count outside and on a NaN SNR, and the charts draw such values at their
//! ceiling (see `charts`), so nothing loops and nothing passes.

pub use super::histogram::Distribution;
use super::kernel::{self, Lanes, Params};
use super::model::{Curve, Histogram, Metrics, StemSdr};
use super::quantile::Quantile;
use crate::simd::Level;

/// Buckets of the error-over-time curve.
pub const CURVE_BUCKETS: u64 = 200;
/// Shortest run worth one curve bucket: short time axes (spectrogram frames) get fewer
/// buckets so per-run overhead stays small.
const MIN_RUN: u64 = 32;
/// demucs's `new_sdr` adds this to numerator and denominator.
pub const SDR_DELTA: f64 = 1e-7;

/// Walks flat C-order indices and reports runs that share one bucket of one axis:
/// bucket = index_along_axis · buckets / axis_len. Bucket boundaries are computed once,
/// so a run costs no division (a spectrogram's frame axis gives runs of a few dozen
/// elements, and three divisions each used to cost more than the arithmetic in them).
#[derive(Debug, Clone)]
struct AxisRuns {
    stride: u64,
    len: u64,
    buckets: u64,
    /// First axis index after each bucket: ceil((b+1)·len / buckets).
    ends: Vec<u64>,
    idx: u64,
    within: u64,
    /// The bucket of `idx`.
    bucket: usize,
}

impl AxisRuns {
    fn new(shape: &[usize], axis: usize, buckets: u64) -> Self {
        let len = shape.get(axis).copied().unwrap_or(1).max(1) as u64;
        let stride = shape
            .get(axis + 1..)
            .map_or(1, |s| s.iter().map(|&d| d as u64).product::<u64>())
            .max(1);
        let buckets = buckets.min(len).max(1);
        let ends = (0..buckets)
            .map(|b| ((b + 1) * len).div_ceil(buckets).min(len))
            .collect();
        AxisRuns {
            stride,
            len,
            buckets,
            ends,
            idx: 0,
            within: 0,
            bucket: 0,
        }
    }

    /// Moves to flat index `pos` (workers take chunks out of order).
    fn seek(&mut self, pos: u64) {
        self.idx = (pos / self.stride) % self.len;
        self.within = pos % self.stride;
        self.bucket = (self.idx * self.buckets / self.len) as usize;
    }

    /// The bucket of the next element and how many elements (≤ max) stay in it.
    #[inline]
    fn next(&mut self, max: usize) -> (usize, usize) {
        let b = self.bucket;
        let end = self.ends[b];
        let left = (end - self.idx) * self.stride - self.within;
        if left <= max as u64 {
            // The bucket is finished: on to the next one (after the last, the axis
            // starts over for the next index of the outer axes).
            if end == self.len {
                (self.idx, self.bucket) = (0, 0);
            } else {
                (self.idx, self.bucket) = (end, b + 1);
            }
            self.within = 0;
            return (b, left as usize);
        }
        let total = self.within + max as u64;
        self.idx += total / self.stride;
        self.within = total % self.stride;
        (b, max)
    }
}

/// Accumulates the metrics of one array pair.
pub struct Accumulator {
    shape: Vec<usize>,
    atol: f64,
    rtol: f64,
    rel_floor: f64,
    /// Flat index of the next element to add.
    n: u64,
    /// Elements added (by this accumulator; merged ones included).
    count: u64,
    finite: u64,
    sum_abs: f64,
    sum_d2: f64,
    sum_r2: f64,
    sum_c2: f64,
    dot: f64,
    max_abs: f64,
    max_at: u64,
    peak: f64,
    max_rel: f64,
    outside: u64,
    nan_ref: u64,
    inf_ref: u64,
    nan_cand: u64,
    inf_cand: u64,
    first_non_finite: Option<u64>,
    p99: Quantile,
    dist: Distribution,
    /// The instruction set the kernel runs with (the figures are the same for all).
    level: Level,
    /// Scratch: the |errors| of the current run (at most one decoded block).
    ad: Vec<f64>,
    curve_runs: AxisRuns,
    curve_sq: Vec<f64>,
    curve_max: Vec<f64>,
    curve_n: Vec<u64>,
    stems: Option<(AxisRuns, Vec<f64>, Vec<f64>)>,
    /// Complex arrays (see `complex`): the true Σ|cand|² and Re Σ ref·conj(cand) for
    /// the cosine, which the folded real pairs cannot carry.
    complex: Option<(f64, f64)>,
}

impl Accumulator {
    /// `time_axis` drives the error-over-time curve; `stem_axis` (when set) gives one
    /// SDR per index of that axis, as demucs scores `[batch, stem, channel, time]`.
    pub fn new(
        shape: &[usize],
        time_axis: usize,
        stem_axis: Option<usize>,
        atol: f64,
        rtol: f64,
        rel_floor: f64,
    ) -> Self {
        let p99 = Quantile::new(shape.iter().map(|&d| d as u64).product());
        Self::with_p99(shape, time_axis, stem_axis, (atol, rtol, rel_floor), p99)
    }

    /// An empty accumulator for the same array and parameters, for another worker.
    /// The p99 state is a sibling of this one's (the workers share its cut-off).
    pub fn fresh(&self, time_axis: usize, stem_axis: Option<usize>) -> Self {
        let params = (self.atol, self.rtol, self.rel_floor);
        let mut acc = Self::with_p99(
            &self.shape,
            time_axis,
            stem_axis,
            params,
            self.p99.sibling(),
        );
        acc.level = self.level;
        acc
    }

    /// Runs the kernel compiled for `level` (baseline x86-64 by default; see `simd`).
    pub fn with_level(mut self, level: Level) -> Self {
        self.level = level;
        self
    }

    /// `new` with a given p99 state; `(atol, rtol, rel_floor)` as in `new`.
    fn with_p99(
        shape: &[usize],
        time_axis: usize,
        stem_axis: Option<usize>,
        (atol, rtol, rel_floor): (f64, f64, f64),
        p99: Quantile,
    ) -> Self {
        let axis_len = shape.get(time_axis).copied().unwrap_or(1) as u64;
        let buckets = CURVE_BUCKETS.min(axis_len / MIN_RUN).max(1);
        let curve_runs = AxisRuns::new(shape, time_axis, buckets);
        let buckets = curve_runs.buckets as usize;
        let stems = stem_axis.filter(|&a| a < shape.len()).map(|a| {
            let runs = AxisRuns::new(shape, a, shape[a] as u64);
            (runs, vec![0.0; shape[a]], vec![0.0; shape[a]])
        });
        Accumulator {
            shape: shape.to_vec(),
            atol,
            rtol,
            rel_floor,
            n: 0,
            count: 0,
            finite: 0,
            sum_abs: 0.0,
            sum_d2: 0.0,
            sum_r2: 0.0,
            sum_c2: 0.0,
            dot: 0.0,
            max_abs: 0.0,
            max_at: 0,
            peak: 0.0,
            max_rel: 0.0,
            outside: 0,
            nan_ref: 0,
            inf_ref: 0,
            nan_cand: 0,
            inf_cand: 0,
            first_non_finite: None,
            p99,
            dist: Distribution::new(),
            level: Level::Baseline,
            ad: Vec::new(),
            curve_runs,
            curve_sq: vec![0.0; buckets],
            curve_max: vec![0.0; buckets],
            curve_n: vec![0; buckets],
            stems,
            complex: None,
        }
    }

    /// Adds equally long chunks of both arrays that start at flat index `pos`.
    pub fn add_at(&mut self, pos: u64, r: &[f64], c: &[f64]) {
        if pos != self.n {
            self.n = pos;
            self.curve_runs.seek(pos);
            if let Some((runs, _, _)) = &mut self.stems {
                runs.seek(pos);
            }
        }
        self.add(r, c);
    }

    /// Adds the cosine terms of a block of complex pairs (from `complex::fold`), whose
    /// folded real pairs went through [`add_at`](Self::add_at).
    pub fn add_complex_products(&mut self, c2: f64, dot: f64) {
        let (a, b) = self.complex.get_or_insert((0.0, 0.0));
        *a += c2;
        *b += dot;
    }

    /// Folds in another worker's accumulator of the same array (disjoint elements).
    /// Sums are added, so the result differs from one sequential pass only by float
    /// rounding; the maximum's index is the lowest among equal maxima, as sequentially.
    pub fn merge(&mut self, o: Accumulator) {
        self.count += o.count;
        self.finite += o.finite;
        self.sum_abs += o.sum_abs;
        self.sum_d2 += o.sum_d2;
        self.sum_r2 += o.sum_r2;
        self.sum_c2 += o.sum_c2;
        self.dot += o.dot;
        if let Some((c2, dot)) = o.complex {
            self.add_complex_products(c2, dot);
        }
        if o.max_abs > self.max_abs || (o.max_abs == self.max_abs && o.max_at < self.max_at) {
            self.max_abs = o.max_abs;
            self.max_at = o.max_at;
        }
        self.peak = self.peak.max(o.peak);
        self.max_rel = self.max_rel.max(o.max_rel);
        self.outside += o.outside;
        self.nan_ref += o.nan_ref;
        self.inf_ref += o.inf_ref;
        self.nan_cand += o.nan_cand;
        self.inf_cand += o.inf_cand;
        self.first_non_finite = match (self.first_non_finite, o.first_non_finite) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        };
        self.p99.merge(o.p99);
        self.dist.merge(o.dist);
        for (i, (&sq, (&mx, &n))) in o
            .curve_sq
            .iter()
            .zip(o.curve_max.iter().zip(&o.curve_n))
            .enumerate()
        {
            self.curve_sq[i] += sq;
            self.curve_max[i] = self.curve_max[i].max(mx);
            self.curve_n[i] += n;
        }
        if let (Some((_, num, den)), Some((_, onum, oden))) = (&mut self.stems, o.stems) {
            for (a, b) in num.iter_mut().zip(onum) {
                *a += b;
            }
            for (a, b) in den.iter_mut().zip(oden) {
                *a += b;
            }
        }
    }

    /// Adds the next equally long chunks of both arrays.
    pub fn add(&mut self, r: &[f64], c: &[f64]) {
        debug_assert_eq!(r.len(), c.len());
        self.count += r.len() as u64;
        if let Some((runs, num, den)) = &mut self.stems {
            let mut at = 0;
            while at < r.len() {
                let (s, len) = runs.next(r.len() - at);
                let (mut rr, mut dd) = (0.0, 0.0);
                for (&a, &b) in r[at..at + len].iter().zip(&c[at..at + len]) {
                    if a.is_finite() && b.is_finite() {
                        rr += a * a;
                        dd += (a - b) * (a - b);
                    }
                }
                num[s] += rr;
                den[s] += dd;
                at += len;
            }
        }
        if fast_block(self.level, self, r, c) {
            return;
        }
        let mut at = 0;
        while at < r.len() {
            let (bucket, len) = self.curve_runs.next(r.len() - at);
            let (sq, mx, cnt) = self.run(&r[at..at + len], &c[at..at + len]);
            self.curve_sq[bucket] += sq;
            self.curve_n[bucket] += cnt;
            if mx > self.curve_max[bucket] {
                self.curve_max[bucket] = mx;
            }
            at += len;
        }
    }

    /// A whole block in one vectorised pass when every value is finite (detected from
    /// the sums of squares: a NaN or Inf on either side makes them non-finite), then
    /// the error-over-time buckets from the |errors| the pass left in `self.ad`. Short
    /// time axes (spectrogram frames) give runs of a few dozen elements; running the
    /// kernel per run would cost more than the arithmetic. Returns false, changing
    /// nothing, when the block needs the per-element path.
    #[inline(always)]
    fn fast_block(&mut self, r: &[f64], c: &[f64]) -> bool {
        let params = Params {
            atol: self.atol,
            rtol: self.rtol,
            rel_floor: self.rel_floor,
            rel_screen: self.max_rel * (1.0 - 1e-12),
        };
        self.ad.resize(r.len(), 0.0);
        let l = kernel::finite_run(self.level, r, c, &params, &mut self.ad);
        let (r2, c2) = (Lanes::sum(&l.r2), Lanes::sum(&l.c2));
        // Also false for finite values whose squares overflow; the slow path is exact.
        if !(r2 + c2).is_finite() {
            return false;
        }
        self.dist.add_abs(&self.ad);
        self.p99.extend(&self.ad);
        let block_max = Lanes::max_of(&l.max);
        // Among equal maxima the lowest index wins, whatever order chunks come in.
        if block_max > self.max_abs || (block_max == self.max_abs && self.n < self.max_at) {
            let at = self.n + kernel::first_at(r, c, block_max) as u64;
            if block_max > self.max_abs || at < self.max_at {
                self.max_abs = block_max;
                self.max_at = at;
            }
        }
        self.sum_abs += Lanes::sum(&l.abs);
        self.sum_d2 += Lanes::sum(&l.d2);
        self.sum_r2 += r2;
        self.sum_c2 += c2;
        self.dot += Lanes::sum(&l.dot);
        self.peak = self.peak.max(Lanes::max_of(&l.peak));
        if l.rel_hits.iter().any(|&h| h > 0) {
            self.max_rel = self.max_rel.max(kernel::max_rel(r, c, self.rel_floor));
        }
        self.outside += l.outside.iter().sum::<u64>();
        self.n += r.len() as u64;
        self.finite += r.len() as u64;
        let mut at = 0;
        while at < r.len() {
            let (bucket, len) = self.curve_runs.next(r.len() - at);
            let (sq, mx) = kernel::sq_max(&self.ad[at..at + len]);
            self.curve_sq[bucket] += sq;
            self.curve_n[bucket] += len as u64;
            if mx > self.curve_max[bucket] {
                self.curve_max[bucket] = mx;
            }
            at += len;
        }
        true
    }

    /// The per-element path over one run of a block holding NaN/Inf (or huge values);
    /// partial sums are local (chunked summation keeps the float64 rounding error far
    /// below the 1e-9 we promise against numpy).
    fn run(&mut self, r: &[f64], c: &[f64]) -> (f64, f64, u64) {
        let (mut s_abs, mut s_d2, mut s_r2, mut s_c2, mut s_dot) = (0.0, 0.0, 0.0, 0.0, 0.0);
        let (mut mx, mut mx_at, mut peak, mut max_rel) =
            (self.max_abs, self.max_at, self.peak, self.max_rel);
        let mut run_max = 0.0f64;
        let mut outside = 0u64;
        let mut finite = 0u64;
        let base = self.n;
        for (i, (&a, &b)) in r.iter().zip(c).enumerate() {
            if !(a.is_finite() && b.is_finite()) {
                self.count_non_finite(a, b, base + i as u64);
                continue;
            }
            finite += 1;
            let d = b - a;
            let ad = d.abs();
            let ar = a.abs();
            s_abs += ad;
            s_d2 += d * d;
            s_r2 += a * a;
            s_c2 += b * b;
            s_dot += a * b;
            if ad > mx || (ad == mx && base + (i as u64) < mx_at) {
                mx = ad;
                mx_at = base + i as u64;
            }
            if ad > run_max {
                run_max = ad;
            }
            if ar > peak {
                peak = ar;
            }
            let rel = ad / ar.max(self.rel_floor);
            if rel > max_rel {
                max_rel = rel;
            }
            if ad > self.atol + self.rtol * ar {
                outside += 1;
            }
            self.p99.push(ad);
            self.dist.push(ad);
        }
        self.n += r.len() as u64;
        self.finite += finite;
        self.sum_abs += s_abs;
        self.sum_d2 += s_d2;
        self.sum_r2 += s_r2;
        self.sum_c2 += s_c2;
        self.dot += s_dot;
        self.max_abs = mx;
        self.max_at = mx_at;
        self.peak = peak;
        self.max_rel = max_rel;
        self.outside += outside;
        (s_d2, run_max, finite)
    }

    #[cold]
    fn count_non_finite(&mut self, a: f64, b: f64, at: u64) {
        self.first_non_finite.get_or_insert(at);
        if a.is_nan() {
            self.nan_ref += 1;
        } else if a.is_infinite() {
            self.inf_ref += 1;
        }
        if b.is_nan() {
            self.nan_cand += 1;
        } else if b.is_infinite() {
            self.inf_cand += 1;
        }
    }

    /// Final metrics and charts.
    pub fn finish(
        self,
        sample_rate: Option<u32>,
        stem_names: &[String],
    ) -> (Metrics, Histogram, Curve) {
        let nf = self.finite;
        let mean = |s: f64| if nf == 0 { 0.0 } else { s / nf as f64 };
        let mse = mean(self.sum_d2);
        // Identical arrays have an infinite SNR, even when the reference is silent.
        let (snr_db, psnr_db) = if self.sum_d2 == 0.0 {
            (f64::INFINITY, f64::INFINITY)
        } else {
            (
                10.0 * (self.sum_r2 / self.sum_d2).log10(),
                10.0 * (self.peak * self.peak / mse).log10(),
            )
        };
        let (sum_c2, dot) = self.complex.unwrap_or((self.sum_c2, self.dot));
        let norms = (self.sum_r2 * sum_c2).sqrt();
        let cosine = if norms > 0.0 {
            dot / norms
        } else if self.sum_r2 == sum_c2 {
            1.0
        } else {
            0.0
        };
        let hist = self.dist.finish();
        let (p99_abs, p99_exact) = self.p99.finish(nf);
        let stems_sdr: Vec<StemSdr> = match &self.stems {
            Some((_, num, den)) => num
                .iter()
                .zip(den)
                .enumerate()
                .map(|(i, (n, d))| StemSdr {
                    stem: stem_names.get(i).cloned().unwrap_or_else(|| i.to_string()),
                    sdr_db: sdr(*n, *d),
                })
                .collect(),
            None => Vec::new(),
        };
        let metrics = Metrics {
            elements: self.count,
            max_abs: self.max_abs,
            max_abs_index: unravel(self.max_at, &self.shape),
            mean_abs: mean(self.sum_abs),
            p99_abs,
            p99_exact,
            rmse: mse.sqrt(),
            max_rel: self.max_rel,
            rel_floor: self.rel_floor,
            snr_db,
            psnr_db,
            cosine,
            outside: self.outside,
            nan_ref: self.nan_ref,
            inf_ref: self.inf_ref,
            nan_cand: self.nan_cand,
            inf_cand: self.inf_cand,
            first_non_finite_index: self.first_non_finite.map(|i| unravel(i, &self.shape)),
            sdr_db: None,
            stems_sdr,
        };
        let curve = Curve {
            axis_len: self.curve_runs.len,
            sample_rate,
            rms: self
                .curve_sq
                .iter()
                .zip(&self.curve_n)
                .map(|(s, &n)| if n == 0 { 0.0 } else { (s / n as f64).sqrt() })
                .collect(),
            max: self.curve_max,
        };
        (metrics, hist, curve)
    }

    /// Σref² and Σ(cand−ref)² over finite pairs: the whole-array SDR for audio stems.
    pub fn energies(&self) -> (f64, f64) {
        (self.sum_r2, self.sum_d2)
    }
}

/// demucs `evaluate.new_sdr`: 10·log10((Σref² + δ) / (Σ(ref−est)² + δ)), δ = 1e-7.
pub fn sdr(num: f64, den: f64) -> f64 {
    10.0 * ((num + SDR_DELTA) / (den + SDR_DELTA)).log10()
}

/// C-order multi-index of a flat index.
pub fn unravel(mut flat: u64, shape: &[usize]) -> Vec<usize> {
    let mut idx = vec![0usize; shape.len()];
    for (slot, &d) in idx.iter_mut().zip(shape).rev() {
        let d = d.max(1) as u64;
        *slot = (flat % d) as usize;
        flat /= d;
    }
    idx
}

crate::simd::multiversion! {
    /// [`Accumulator::fast_block`] compiled for `level`: besides the kernel (which has
    /// its own variants), the histogram, the p99 screening and the error-over-time sums
    /// over the block's |errors| then run with the wider instructions too.
    fn fast_block(acc: &mut Accumulator, r: &[f64], c: &[f64]) -> bool = fast_block_body;
}

#[inline(always)]
fn fast_block_body(acc: &mut Accumulator, r: &[f64], c: &[f64]) -> bool {
    acc.fast_block(r, c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn axis_runs_cover_every_element_once() {
        for (shape, axis, buckets) in [
            (vec![2usize, 3, 10], 2usize, 4u64),
            (vec![7, 2], 0, 3),
            (vec![1, 4, 2, 5], 1, 4),
            (vec![5], 0, 200),
        ] {
            let n: usize = shape.iter().product();
            let mut runs = AxisRuns::new(&shape, axis, buckets);
            let stride: usize = shape[axis + 1..].iter().product();
            let mut at = 0usize;
            while at < n {
                let (b, len) = runs.next(3);
                assert!(len > 0);
                for i in at..at + len {
                    let idx = (i / stride) % shape[axis];
                    let want = idx as u64 * runs.buckets / shape[axis] as u64;
                    assert_eq!(b as u64, want, "shape {shape:?} i {i}");
                }
                at += len;
            }
        }
    }

    /// Every instruction-set variant of the kernel this CPU runs gives the same figures,
    /// bit for bit (the baseline always runs; on x86-64 with AVX2/AVX-512 those too).
    #[test]
    fn every_instruction_set_gives_the_same_figures_bit_for_bit() {
        let shape = [1usize, 4, 64, 321];
        let n: usize = shape.iter().product();
        let r: Vec<f64> = (0..n).map(|i| ((i as f64) * 0.37).sin() * 0.3).collect();
        let mut c: Vec<f64> = r
            .iter()
            .enumerate()
            .map(|(i, x)| x + (((i * 7919) % 1009) as f64 - 504.0) * 1e-7)
            .collect();
        c[70_000] = f64::NAN;
        c[3] = r[3] + 0.25;
        let levels: Vec<Level> = Level::ALL.into_iter().filter(|l| l.supported()).collect();
        let figures = |level: Level| {
            let mut acc = Accumulator::new(&shape, 3, Some(1), 1e-4, 1e-3, 1e-4).with_level(level);
            for (k, (x, y)) in r.chunks(2048).zip(c.chunks(2048)).enumerate() {
                acc.add_at((k * 2048) as u64, x, y);
            }
            let (m, h, curve) = acc.finish(None, &[]);
            format!("{m:?} {h:?} {curve:?}")
        };
        let baseline = figures(Level::Baseline);
        assert!(baseline.contains("nan_cand: 1"), "{baseline}");
        for level in levels {
            assert_eq!(
                figures(level),
                baseline,
                "{level:?} differs from the baseline"
            );
        }
    }

    #[test]
    fn chunks_split_between_workers_merge_to_the_sequential_result() {
        let shape = [1usize, 3, 2, 997];
        let n: usize = shape.iter().product();
        let mut r: Vec<f64> = (0..n).map(|i| (i as f64 * 0.37).sin()).collect();
        (r[100], r[5000]) = (0.5, 0.5);
        let mut c: Vec<f64> = r
            .iter()
            .enumerate()
            .map(|(i, x)| x + ((i * 7919) % 101) as f64 * 1e-5)
            .collect();
        c[1234] = f64::NAN;
        c[4567] = f64::INFINITY;
        // The largest error twice: the lower index must win in both orders.
        (c[100], c[5000]) = (1.5, 1.5);
        let new = || Accumulator::new(&shape, 3, Some(1), 1e-4, 1e-3, 1e-4);
        let mut seq = new();
        for (x, y) in r.chunks(500).zip(c.chunks(500)) {
            seq.add(x, y);
        }
        // Two workers take alternate chunks, the second one first.
        let (mut a, mut b) = (new(), new());
        for (k, (x, y)) in r.chunks(500).zip(c.chunks(500)).enumerate().rev() {
            let acc = if k % 2 == 0 { &mut a } else { &mut b };
            acc.add_at((k * 500) as u64, x, y);
        }
        b.merge(a);
        let names: Vec<String> = Vec::new();
        let (m1, h1, c1) = seq.finish(None, &names);
        let (m2, h2, c2) = b.finish(None, &names);
        let close = |x: f64, y: f64| x == y || ((x - y) / y).abs() < 1e-12;
        assert_eq!(m2.max_abs_index, m1.max_abs_index);
        assert_eq!(m2.max_abs_index, vec![0, 0, 0, 100]);
        assert_eq!(m2.first_non_finite_index, m1.first_non_finite_index);
        assert_eq!((m2.elements, m2.outside), (m1.elements, m1.outside));
        assert_eq!((m2.nan_cand, m2.inf_cand), (m1.nan_cand, m1.inf_cand));
        assert_eq!((m2.p99_abs, m2.max_rel), (m1.p99_abs, m1.max_rel));
        for (x, y) in [
            (m2.mean_abs, m1.mean_abs),
            (m2.rmse, m1.rmse),
            (m2.snr_db, m1.snr_db),
            (m2.cosine, m1.cosine),
        ] {
            assert!(close(x, y), "{x} vs {y}");
        }
        assert_eq!(m2.stems_sdr.len(), 3);
        for (x, y) in m2.stems_sdr.iter().zip(&m1.stems_sdr) {
            assert!(close(x.sdr_db, y.sdr_db));
        }
        assert_eq!(h2.counts, h1.counts);
        assert_eq!(c2.max, c1.max);
        for (x, y) in c2.rms.iter().zip(&c1.rms) {
            assert!(close(*x, *y));
        }
    }

    #[test]
    fn huge_finite_values_take_the_exact_path() {
        // Their squares overflow, which the fast path reads as "maybe NaN/Inf".
        let mut acc = Accumulator::new(&[3], 0, None, 0.0, 0.0, 1e-4);
        acc.add(&[1e200, 1.0, 0.0], &[1e200, 3.0, 0.0]);
        let (m, h, _) = acc.finish(None, &[]);
        assert_eq!((m.nan_ref, m.inf_ref, m.nan_cand, m.inf_cand), (0, 0, 0, 0));
        assert_eq!((m.max_abs, m.max_abs_index.clone()), (2.0, vec![1]));
        assert_eq!((m.elements, m.outside, h.zeros), (3, 1, 2));
        assert_eq!(m.max_rel, 2.0);
    }

    #[test]
    fn an_error_beyond_the_float64_range_is_inf_and_outside() {
        let mut acc = Accumulator::new(&[4], 0, None, 1e-3, 1e-3, 1e-4);
        acc.add(&[9e307, 1.0, -1e308, 0.0], &[-9e307, 1.0, 1e308, 0.0]);
        let (m, h, curve) = acc.finish(None, &[]);
        assert_eq!(
            (m.max_abs, m.max_abs_index.clone()),
            (f64::INFINITY, vec![0])
        );
        assert_eq!((m.outside, m.elements, m.non_finite()), (2, 4, 0));
        assert_eq!(m.p99_abs, f64::INFINITY);
        assert!(m.snr_db.is_nan() || m.snr_db == f64::NEG_INFINITY);
        assert_eq!(h.zeros, 2);
        assert_eq!(curve.max, vec![f64::INFINITY]);
    }

    #[test]
    fn unravels_c_order() {
        assert_eq!(unravel(7, &[2, 2, 3]), vec![1, 0, 1]);
        assert_eq!(unravel(0, &[]), Vec::<usize>::new());
    }

    #[test]
    fn simple_metrics() {
        let mut acc = Accumulator::new(&[4], 0, None, 0.0, 0.0, 1e-4);
        let (r, c) = ([1.0, -2.0, 0.0, 4.0], [1.0, -2.5, 0.0, f64::NAN]);
        acc.add(&r, &c);
        let (m, h, _) = acc.finish(None, &[]);
        assert_eq!(h.counts.iter().sum::<u64>(), 1, "one non-zero finite error");
        assert_eq!(m.p99_abs, 0.5 * 0.98, "numpy: percentile([0, 0.5, 0], 99)");
        assert_eq!(m.max_abs, 0.5);
        assert_eq!(m.max_abs_index, vec![1]);
        assert_eq!(m.nan_cand, 1);
        assert_eq!(m.outside, 1);
        assert!((m.snr_db - 10.0 * (5.0f64 / 0.25).log10()).abs() < 1e-12);
        assert_eq!(h.zeros, 2);
        assert!((sdr(1.0, 0.0) - 70.0).abs() < 1e-5);
    }
}

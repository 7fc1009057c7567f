//! The hot loop: statistics of a run of finite (reference, candidate) pairs in float64.
//! Eight independent lanes break the add/max dependency chains and let the compiler
//! vectorise (two float64 vectors per sum with AVX2, one with AVX-512; see `simd`);
//! rarely-needed work (finding the max's index) is done after the loop.

use crate::simd::multiversion;
#[cfg(test)]
use crate::simd::Level;

pub const LANES: usize = 8;

/// Per-lane partial results of one run.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lanes {
    pub abs: [f64; LANES],
    pub d2: [f64; LANES],
    pub r2: [f64; LANES],
    pub c2: [f64; LANES],
    pub dot: [f64; LANES],
    pub max: [f64; LANES],
    pub peak: [f64; LANES],
    /// Pairs whose relative error may exceed `Params::rel_screen`.
    pub rel_hits: [u64; LANES],
    pub outside: [u64; LANES],
}

impl Lanes {
    /// The lanes added pairwise, in a fixed order: the same result whatever the
    /// instruction set the loop ran with.
    pub fn sum(a: &[f64; LANES]) -> f64 {
        ((a[0] + a[1]) + (a[2] + a[3])) + ((a[4] + a[5]) + (a[6] + a[7]))
    }

    pub fn max_of(a: &[f64; LANES]) -> f64 {
        a.iter().copied().fold(0.0, f64::max)
    }
}

/// Fixed parameters of the kernel.
pub struct Params {
    pub atol: f64,
    pub rtol: f64,
    pub rel_floor: f64,
    /// The largest relative error so far, lowered by a relative 1e-12 so rounding
    /// can't hide a pair that beats it: `ad > rel_screen·den` flags the run for the
    /// exact (dividing) pass, [`max_rel`]. Divisions are slow and new maxima rare.
    pub rel_screen: f64,
}

/// The largest relative error |c − r| / max(|r|, floor) of a run of finite pairs.
pub fn max_rel(r: &[f64], c: &[f64], floor: f64) -> f64 {
    r.iter()
        .zip(c)
        .map(|(&a, &b)| (b - a).abs() / a.abs().max(floor))
        .fold(0.0, f64::max)
}

multiversion! {
    /// Accumulates a run of finite pairs in one branch-free pass the compiler vectorises
    /// (sums, maxima, the allclose count, the relative error), and writes each |error| to
    /// `ad` (as long as the run) for the percentile and histogram that follow. Runs the
    /// variant compiled for `level` when this CPU has it (see `simd`).
    pub fn finite_run(r: &[f64], c: &[f64], p: &Params, ad: &mut [f64]) -> Lanes
        = finite_run_body;
}

#[inline(always)]
fn finite_run_body(r: &[f64], c: &[f64], p: &Params, ad_out: &mut [f64]) -> Lanes {
    let mut l = Lanes::default();
    let n = r.len().min(c.len()).min(ad_out.len());
    let n4 = n / LANES * LANES;
    let (r4, rt) = r[..n].split_at(n4);
    let (c4, ct) = c[..n].split_at(n4);
    let (o4, ot) = ad_out[..n].split_at_mut(n4);
    let (mut abs, mut d2, mut r2, mut c2, mut dot) = (
        [0.0f64; LANES],
        [0.0; LANES],
        [0.0; LANES],
        [0.0; LANES],
        [0.0; LANES],
    );
    let (mut mx, mut pk) = ([0.0f64; LANES], [0.0f64; LANES]);
    let (mut out, mut hits) = ([0u64; LANES], [0u64; LANES]);
    for ((rs, cs), os) in r4
        .chunks_exact(LANES)
        .zip(c4.chunks_exact(LANES))
        .zip(o4.chunks_exact_mut(LANES))
    {
        for j in 0..LANES {
            let (a, b) = (rs[j], cs[j]);
            let d = b - a;
            let ad = d.abs();
            os[j] = ad;
            let ar = a.abs();
            abs[j] += ad;
            d2[j] += d * d;
            r2[j] += a * a;
            c2[j] += b * b;
            dot[j] += a * b;
            mx[j] = if ad > mx[j] { ad } else { mx[j] };
            pk[j] = if ar > pk[j] { ar } else { pk[j] };
            let den = if ar > p.rel_floor { ar } else { p.rel_floor };
            hits[j] += u64::from(ad > p.rel_screen * den);
            out[j] += u64::from(ad > p.atol + p.rtol * ar);
        }
    }
    for (j, ((&a, &b), o)) in rt.iter().zip(ct).zip(ot).enumerate() {
        let d = b - a;
        let ad = d.abs();
        *o = ad;
        let ar = a.abs();
        abs[j] += ad;
        d2[j] += d * d;
        r2[j] += a * a;
        c2[j] += b * b;
        dot[j] += a * b;
        mx[j] = mx[j].max(ad);
        pk[j] = pk[j].max(ar);
        hits[j] += u64::from(ad > p.rel_screen * ar.max(p.rel_floor));
        out[j] += u64::from(ad > p.atol + p.rtol * ar);
    }
    (l.abs, l.d2, l.r2, l.c2, l.dot) = (abs, d2, r2, c2, dot);
    (l.max, l.peak, l.rel_hits, l.outside) = (mx, pk, hits, out);

    l
}

/// Σx² and max(x) of non-negative values (an error-over-time bucket's share).
#[inline(always)]
pub fn sq_max(x: &[f64]) -> (f64, f64) {
    let (mut sq, mut mx) = ([0.0f64; LANES], [0.0f64; LANES]);
    let mut groups = x.chunks_exact(LANES);
    for g in &mut groups {
        for j in 0..LANES {
            sq[j] += g[j] * g[j];
            mx[j] = if g[j] > mx[j] { g[j] } else { mx[j] };
        }
    }
    for (j, &v) in groups.remainder().iter().enumerate() {
        sq[j] += v * v;
        mx[j] = mx[j].max(v);
    }
    (Lanes::sum(&sq), Lanes::max_of(&mx))
}

/// Index (within the run) of the first pair whose |error| equals `max`.
pub fn first_at(r: &[f64], c: &[f64], max: f64) -> usize {
    r.iter()
        .zip(c)
        .position(|(&a, &b)| (b - a).abs() == max)
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lanes_add_up_like_a_plain_loop() {
        let r: Vec<f64> = (0..103).map(|i| (i as f64 * 0.37).sin()).collect();
        let c: Vec<f64> = r
            .iter()
            .enumerate()
            .map(|(i, x)| x + (i % 7) as f64 * 1e-4)
            .collect();
        let p = Params {
            atol: 1e-4,
            rtol: 0.0,
            rel_floor: 1e-4,
            rel_screen: 0.0,
        };
        let mut ad = vec![0.0; r.len()];
        let l = finite_run(Level::Baseline, &r, &c, &p, &mut ad);
        assert_eq!(ad[6], (c[6] - r[6]).abs());
        let d2: f64 = r.iter().zip(&c).map(|(a, b)| (b - a) * (b - a)).sum();
        assert!((Lanes::sum(&l.d2) - d2).abs() < 1e-15);
        let outside = r
            .iter()
            .zip(&c)
            .filter(|(a, b)| (*b - *a).abs() > 1e-4)
            .count();
        assert_eq!(l.outside.iter().sum::<u64>(), outside as u64);
        let max = Lanes::max_of(&l.max);
        assert!((max - 6e-4).abs() < 1e-12);
        assert_eq!(first_at(&r, &c, max), 6);
        assert!(l.rel_hits.iter().sum::<u64>() > 0);
        assert_eq!(max_rel(&[1.0, 0.0], &[1.5, 1e-5], 1e-4), 0.5);
    }
}

//! The hot loop: statistics of a run of finite (reference, candidate) pairs in float64.
//! Four independent lanes break the add/max dependency chains and let the compiler
//! vectorise; rarely-needed work (finding the max's index) is done after the loop.

pub const LANES: usize = 4;

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
    pub rel: [f64; LANES],
    pub outside: [u64; LANES],
}

impl Lanes {
    pub fn sum(a: &[f64; LANES]) -> f64 {
        (a[0] + a[1]) + (a[2] + a[3])
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
}

/// True when every value of both slices is finite (vectorises: no early exit).
pub fn all_finite(r: &[f64], c: &[f64]) -> bool {
    let f = |acc: bool, x: &f64| acc & x.is_finite();
    r.iter().fold(true, f) & c.iter().fold(true, f)
}

/// Accumulates a run of finite pairs in one branch-free pass the compiler vectorises
/// (sums, maxima, the allclose count, the relative error).
#[inline]
pub fn finite_run(r: &[f64], c: &[f64], p: &Params) -> Lanes {
    let mut l = Lanes::default();
    let n4 = r.len() / LANES * LANES;
    let (r4, rt) = r.split_at(n4);
    let (c4, ct) = c.split_at(n4);
    let (mut abs, mut d2, mut r2, mut c2, mut dot) = (
        [0.0f64; LANES],
        [0.0; LANES],
        [0.0; LANES],
        [0.0; LANES],
        [0.0; LANES],
    );
    let (mut mx, mut pk, mut rl) = ([0.0f64; LANES], [0.0f64; LANES], [0.0f64; LANES]);
    let mut out = [0u64; LANES];
    for (rs, cs) in r4.chunks_exact(LANES).zip(c4.chunks_exact(LANES)) {
        for j in 0..LANES {
            let (a, b) = (rs[j], cs[j]);
            let d = b - a;
            let ad = d.abs();
            let ar = a.abs();
            abs[j] += ad;
            d2[j] += d * d;
            r2[j] += a * a;
            c2[j] += b * b;
            dot[j] += a * b;
            mx[j] = if ad > mx[j] { ad } else { mx[j] };
            pk[j] = if ar > pk[j] { ar } else { pk[j] };
            let rel = ad / if ar > p.rel_floor { ar } else { p.rel_floor };
            rl[j] = if rel > rl[j] { rel } else { rl[j] };
            out[j] += u64::from(ad > p.atol + p.rtol * ar);
        }
    }
    for (j, (&a, &b)) in rt.iter().zip(ct).enumerate() {
        let d = b - a;
        let ad = d.abs();
        let ar = a.abs();
        abs[j] += ad;
        d2[j] += d * d;
        r2[j] += a * a;
        c2[j] += b * b;
        dot[j] += a * b;
        mx[j] = mx[j].max(ad);
        pk[j] = pk[j].max(ar);
        rl[j] = rl[j].max(ad / ar.max(p.rel_floor));
        out[j] += u64::from(ad > p.atol + p.rtol * ar);
    }
    (l.abs, l.d2, l.r2, l.c2, l.dot) = (abs, d2, r2, c2, dot);
    (l.max, l.peak, l.rel, l.outside) = (mx, pk, rl, out);

    l
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
        };
        let l = finite_run(&r, &c, &p);
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
        assert!(all_finite(&r, &c));
        assert!(!all_finite(&r, &[f64::NAN]));
    }
}

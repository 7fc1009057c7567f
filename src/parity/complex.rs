//! Complex arrays in parity: a complex64/complex128 pair is compared on complex values,
//! every error figure being the magnitude of the complex difference |cand − ref|.
//!
//! The metrics accumulator works on real pairs. Each complex element pair (r, c) is
//! folded into one real pair x = |r|, y = |r| − |c − r|, which carries exactly what the
//! figures need: |y − x| = |c − r| (max/mean/p99 error, RMSE, histogram, curve, the
//! allclose test atol + rtol·|r|), x² = |r|² (SNR, PSNR, per-stem SDR) and |x| = |r|
//! (relative error). Only the cosine similarity needs more than one real pair can hold,
//! so [`fold`] also returns Σ|c|² and Re Σ r·c̄ for the accumulator to use instead.
//! A NaN or Inf stays on the side it came from: a non-finite reference gives x non-finite
//! and (with a finite candidate) y = 0; a non-finite candidate gives y = |c|.

/// Folds interleaved (re, im) values of `r` and `c` (equally long, even) into `x` and
/// `y` (replaced), one pair per complex element; returns (Σ|c|², Re Σ r·c̄) over the
/// pairs where both values are finite.
pub fn fold(r: &[f64], c: &[f64], x: &mut Vec<f64>, y: &mut Vec<f64>) -> (f64, f64) {
    x.clear();
    y.clear();
    let (mut c2, mut dot) = (0.0, 0.0);
    for (a, b) in r.chunks_exact(2).zip(c.chunks_exact(2)) {
        let (ar, ai, br, bi) = (a[0], a[1], b[0], b[1]);
        let ref_mag = ar.hypot(ai);
        let cand_mag = br.hypot(bi);
        let finite_ref = ar.is_finite() && ai.is_finite();
        let finite_cand = br.is_finite() && bi.is_finite();
        x.push(if finite_ref {
            ref_mag
        } else {
            non_finite(ar, ai)
        });
        let folded = match (finite_ref, finite_cand) {
            (true, true) => {
                c2 += cand_mag * cand_mag;
                dot += ar * br + ai * bi;
                ref_mag - (br - ar).hypot(bi - ai)
            }
            (_, false) => non_finite(br, bi),
            (false, true) => 0.0,
        };
        y.push(folded);
    }
    (c2, dot)
}

/// NaN when either part is NaN, else +inf (a part is infinite).
fn non_finite(re: f64, im: f64) -> f64 {
    if re.is_nan() || im.is_nan() {
        f64::NAN
    } else {
        f64::INFINITY
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folded_pairs_carry_the_complex_error_and_magnitude() {
        // r = 3+4i, c = 3+4i + (0.6-0.8i): |r| = 5, |c - r| = 1.
        let r = [3.0, 4.0, 1.0, 0.0];
        let c = [3.6, 3.2, 0.0, 1.0];
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let (c2, dot) = fold(&r, &c, &mut x, &mut y);
        assert!((x[0] - 5.0).abs() < 1e-12 && ((x[0] - y[0]).abs() - 1.0).abs() < 1e-12);
        // 1 vs i: same magnitude, error sqrt(2), orthogonal (dot 0).
        assert!((x[1] - 1.0).abs() < 1e-12);
        assert!(((x[1] - y[1]).abs() - 2f64.sqrt()).abs() < 1e-12);
        assert!((c2 - (3.6f64 * 3.6 + 3.2 * 3.2 + 1.0)).abs() < 1e-12);
        assert!((dot - (3.0 * 3.6 + 4.0 * 3.2)).abs() < 1e-12);
    }

    #[test]
    fn non_finite_values_stay_on_their_side() {
        let (mut x, mut y) = (Vec::new(), Vec::new());
        let (c2, _) = fold(
            &[f64::NAN, 0.0, 1.0, 1.0, f64::INFINITY, 0.0],
            &[1.0, 0.0, f64::NAN, 0.0, 1.0, 0.0],
            &mut x,
            &mut y,
        );
        assert!(x[0].is_nan() && y[0] == 0.0);
        assert!(x[1].is_finite() && y[1].is_nan());
        assert!(x[2] == f64::INFINITY && y[2] == 0.0);
        assert_eq!(c2, 0.0);
    }
}

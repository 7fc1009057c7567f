//! The generated test signal: deterministic multi-tone audio with a little noise, any length.
//!
//! Used when no WAV is given, so a benchmark on CI needs no audio file and every backend and
//! every run sees bit-identical input (the seed project's reference used random shifts,
//! which made runs incomparable).

use super::array::{ArrayF32, ShapeError};

/// `seconds` of `[1, channels, samples]` audio at `sample_rate`, peak below 0.8.
pub fn test_signal(
    seconds: f64,
    sample_rate: u32,
    channels: usize,
) -> Result<ArrayF32, ShapeError> {
    // Rounded to whole samples; negative or NaN lengths become empty.
    let frames = (seconds.max(0.0) * f64::from(sample_rate)).round() as usize;
    let rate = f64::from(sample_rate);
    let mut data = Vec::with_capacity(frames * channels);
    // xorshift64: a fixed sequence, independent of any crate's RNG algorithm changes.
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    for c in 0..channels {
        let detune = 1.0 + 0.01 * c as f64;
        for t in 0..frames {
            let time = t as f64 / rate;
            let tones = 0.3 * (2.0 * std::f64::consts::PI * 110.0 * detune * time).sin()
                + 0.2 * (2.0 * std::f64::consts::PI * 440.0 * detune * time).sin()
                + 0.1 * (2.0 * std::f64::consts::PI * 3520.0 * time).sin()
                // A kick-like decaying burst every half second gives the "drums" something to do.
                + 0.15 * (-(time % 0.5) * 40.0).exp() * (2.0 * std::f64::consts::PI * 60.0 * time).sin();
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let noise = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
            data.push((tones + 0.02 * noise) as f32);
        }
    }
    ArrayF32::new(vec![1, channels, frames], data)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn shape_is_deterministic_and_bounded() {
        let a = test_signal(0.5, 44_100, 2).unwrap();
        assert_eq!(a.shape(), &[1, 2, 22_050]);
        assert_eq!(a, test_signal(0.5, 44_100, 2).unwrap());
        assert!(a.data().iter().all(|v| v.abs() < 0.8));
        let (l, r) = a.data().split_at(22_050);
        assert_ne!(l, r, "channels differ");
    }
}

//! The generated test signal: deterministic multi-tone audio with a little noise, any length.
//!
//! Used when no WAV is given, so a benchmark on CI needs no audio file and every backend and
//! every run sees bit-identical input (the seed project's reference used random shifts,
//! which made runs incomparable).

use super::array::{ArrayF32, ShapeError};

/// The most samples (all channels) the run's audio may hold: 2²⁸ float32 values, 1 GiB,
/// about 50 minutes of 44.1 kHz stereo. Checked before anything is allocated, for the
/// generated signal and for WAV input alike.
pub const MAX_AUDIO_SAMPLES: u64 = 1 << 28;

/// Why no signal was made.
#[derive(Debug, thiserror::Error)]
pub enum SignalError {
    /// The length is not a positive number, or the signal would be too large.
    #[error("{0}")]
    Length(String),
    /// Internal: the samples do not fill the shape.
    #[error(transparent)]
    Shape(#[from] ShapeError),
}

/// Frames of a `seconds`-long signal at `sample_rate`, after checking that the whole
/// signal (`channels` of them) stays within [`MAX_AUDIO_SAMPLES`].
pub fn signal_frames(
    seconds: f64,
    sample_rate: u32,
    channels: usize,
) -> Result<usize, SignalError> {
    if !(seconds.is_finite() && seconds > 0.0) {
        return Err(SignalError::Length(format!(
            "--signal-seconds must be a positive number, got {seconds}"
        )));
    }
    // Rounded to whole samples; computed in float64 so nothing wraps.
    let frames = (seconds * f64::from(sample_rate)).round();
    let total = frames * channels as f64;
    if total > MAX_AUDIO_SAMPLES as f64 {
        return Err(SignalError::Length(format!(
            "--signal-seconds {seconds} at {sample_rate} Hz × {channels} channel(s) is {total:.3e} \
             samples; the limit is {MAX_AUDIO_SAMPLES} (1 GiB of float32): ask for at most {:.0} s",
            (MAX_AUDIO_SAMPLES as f64 / (f64::from(sample_rate) * channels.max(1) as f64)).floor()
        )));
    }
    Ok(frames as usize)
}

/// `seconds` of `[1, channels, samples]` audio at `sample_rate`, peak below 0.8.
pub fn test_signal(
    seconds: f64,
    sample_rate: u32,
    channels: usize,
) -> Result<ArrayF32, SignalError> {
    let frames = signal_frames(seconds, sample_rate, channels)?;
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
    Ok(ArrayF32::new(vec![1, channels, frames], data)?)
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

    #[test]
    fn absurd_lengths_are_refused_before_allocating() {
        for (seconds, rate, channels) in [
            (1e12, 44_100, 2),
            (10.0, u32::MAX, 2),
            (10.0, 44_100, usize::MAX),
            (f64::NAN, 44_100, 2),
            (-1.0, 44_100, 2),
        ] {
            assert!(
                test_signal(seconds, rate, channels).is_err(),
                "{seconds} {rate} {channels}"
            );
        }
    }
}

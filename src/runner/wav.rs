//! WAV input: RIFF/WAVE with 16- or 24-bit PCM or 32-bit float samples, to `[1, C, T]` float32.
//!
//! The runner feeds every backend the same audio, so the file is validated against the
//! pipeline spec (sample rate, channel count) before any model is loaded, and a truncated
//! data chunk is an error rather than silently shorter audio: a benchmark on a clipped file
//! would compare the wrong amounts of work.

use std::path::{Path, PathBuf};

use super::array::ArrayF32;
use super::signal::MAX_AUDIO_SAMPLES;
use crate::audio::wav;

/// A WAV file that cannot be used, with the file and what to do.
#[derive(Debug, thiserror::Error)]
#[error("{path}: {message}")]
pub struct WavError {
    /// The WAV file.
    pub path: PathBuf,
    /// What is wrong and, where possible, how to fix it.
    pub message: String,
}

/// Decoded audio: float32 in [-1, 1], laid out `[1, channels, frames]`.
#[derive(Debug)]
pub struct Wav {
    /// Samples per second.
    pub sample_rate: u32,
    /// The audio as the pipeline's `audio` input.
    pub audio: ArrayF32,
}

/// Reads `path` and checks it against the spec's sample rate and channel count.
pub fn read_wav(path: &Path, sample_rate: u32, channels: usize) -> Result<Wav, WavError> {
    let err = |message: String| WavError {
        path: path.to_path_buf(),
        message,
    };
    let meta =
        std::fs::metadata(path).map_err(|e| err(format!("cannot read the audio file: {e}")))?;
    if !meta.is_file() {
        return Err(err(
            "not a regular file (a FIFO or device?); give a WAV file".into(),
        ));
    }
    // The largest WAV that can hold MAX_AUDIO_SAMPLES samples (8 bytes each at most),
    // plus room for header chunks: checked before the file is read.
    let max_len = MAX_AUDIO_SAMPLES * 8 + (1 << 20);
    if meta.len() > max_len {
        return Err(err(format!(
            "is {} bytes; the runner holds audio in memory and takes at most \
             {MAX_AUDIO_SAMPLES} samples (about {max_len} bytes of WAV): cut the clip",
            meta.len()
        )));
    }
    let bytes = std::fs::read(path).map_err(|e| err(format!("cannot read the audio file: {e}")))?;
    let wav = decode(&bytes).map_err(err)?;
    if wav.sample_rate != sample_rate {
        return Err(err(format!(
            "sample rate is {} Hz but the pipeline spec expects {sample_rate} Hz; resample the file \
             (e.g. `ffmpeg -i IN -ar {sample_rate} OUT.wav`)",
            wav.sample_rate
        )));
    }
    let got = wav.audio.shape()[1];
    if got != channels {
        return Err(err(format!(
            "has {got} channel(s) but the pipeline spec expects {channels}; convert it \
             (e.g. `ffmpeg -i IN -ac {channels} OUT.wav`)"
        )));
    }
    Ok(wav)
}

/// Decodes a complete WAV file held in memory. The header and sample decoding are the
/// parity phase's streaming reader (`crate::audio::wav`); what the runner adds is that a
/// short data chunk is an error and the samples become planar float32.
pub fn decode(bytes: &[u8]) -> Result<Wav, String> {
    let mut rest = bytes;
    let header = wav::read_header(&mut rest).map_err(|e| format!("{e:#}"))?;
    let available = rest.len() as u64;
    if header.data_len > available {
        return Err(format!(
            "truncated: the data chunk declares {} bytes but only {available} are present; \
             re-export or re-download the file",
            header.data_len
        ));
    }
    let data = &rest[..header.data_len as usize];
    let channels = usize::from(header.channels);
    let frame = header.format.bytes() * channels;
    if !data.len().is_multiple_of(frame) {
        return Err(format!(
            "truncated: the data chunk ({} bytes) is not a whole number of {frame}-byte frames",
            data.len()
        ));
    }
    let samples = data.len() / header.format.bytes();
    if samples as u64 > MAX_AUDIO_SAMPLES {
        return Err(format!(
            "holds {samples} samples; the runner takes at most {MAX_AUDIO_SAMPLES}: cut the clip"
        ));
    }
    let mut interleaved = Vec::with_capacity(samples);
    wav::decode(header.format, data, &mut interleaved);
    let frames = data.len() / frame;
    let mut planar = vec![0.0_f32; frames * channels];
    for (i, v) in interleaved.iter().enumerate() {
        planar[(i % channels) * frames + i / channels] = *v as f32;
    }
    let audio = ArrayF32::new(vec![1, channels, frames], planar).map_err(|e| e.to_string())?;
    Ok(Wav {
        sample_rate: header.sample_rate,
        audio,
    })
}

/// Encodes `[1, C, T]` audio as a WAV (16/24-bit PCM or 32-bit float): for tests and fixtures.
pub fn encode(audio: &ArrayF32, sample_rate: u32, bits: u16) -> Vec<u8> {
    let (channels, frames) = (audio.shape()[1], audio.shape()[2]);
    let width = usize::from(bits / 8);
    let data_len = frames * channels * width;
    let mut out = Vec::with_capacity(44 + data_len);
    // WAVE format codes: 1 = integer PCM, 3 = IEEE float.
    let format: u16 = if bits == 32 { 3 } else { 1 };
    let block = u16::try_from(channels * width).unwrap_or(u16::MAX);
    out.extend_from_slice(b"RIFF");
    out.extend_from_slice(
        &u32::try_from(36 + data_len)
            .unwrap_or(u32::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(b"WAVEfmt ");
    out.extend_from_slice(&16u32.to_le_bytes());
    out.extend_from_slice(&format.to_le_bytes());
    out.extend_from_slice(&u16::try_from(channels).unwrap_or(u16::MAX).to_le_bytes());
    out.extend_from_slice(&sample_rate.to_le_bytes());
    out.extend_from_slice(&(sample_rate * u32::from(block)).to_le_bytes());
    out.extend_from_slice(&block.to_le_bytes());
    out.extend_from_slice(&bits.to_le_bytes());
    out.extend_from_slice(b"data");
    out.extend_from_slice(&u32::try_from(data_len).unwrap_or(u32::MAX).to_le_bytes());
    for t in 0..frames {
        for c in 0..channels {
            let v = audio.data()[c * frames + t].clamp(-1.0, 1.0);
            match bits {
                16 => out.extend_from_slice(&((v * 32767.0).round() as i16).to_le_bytes()),
                24 => out.extend_from_slice(&((v * 8_388_607.0).round() as i32).to_le_bytes()[..3]),
                _ => out.extend_from_slice(&v.to_le_bytes()),
            }
        }
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    fn audio() -> ArrayF32 {
        ArrayF32::new(
            vec![1, 2, 4],
            vec![0.0, 0.5, -0.5, 0.25, 1.0, -1.0, 0.125, 0.0],
        )
        .unwrap()
    }

    #[test]
    fn round_trips_every_supported_format() {
        for (bits, tol) in [(16, 1e-4), (24, 1e-6), (32, 0.0)] {
            let wav = decode(&encode(&audio(), 44_100, bits)).unwrap();
            assert_eq!(wav.sample_rate, 44_100);
            let diff = wav.audio.max_abs_diff(&audio()).unwrap();
            assert!(diff <= tol, "{bits}-bit: diff {diff}");
        }
    }

    #[test]
    fn truncated_data_is_an_error() {
        let bytes = encode(&audio(), 44_100, 16);
        let err = decode(&bytes[..bytes.len() - 3]).unwrap_err();
        assert!(err.contains("truncated"), "{err}");
    }

    #[test]
    fn rate_and_channel_mismatch_name_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("in.wav");
        std::fs::write(&path, encode(&audio(), 48_000, 16)).unwrap();
        let err = read_wav(&path, 44_100, 2).unwrap_err().to_string();
        assert!(err.contains("in.wav") && err.contains("48000 Hz"), "{err}");
        std::fs::write(&path, encode(&audio(), 44_100, 16)).unwrap();
        let err = read_wav(&path, 44_100, 1).unwrap_err().to_string();
        assert!(err.contains("2 channel(s)"), "{err}");
    }
}

//! WAV input: RIFF/WAVE with 16- or 24-bit PCM or 32-bit float samples, to `[1, C, T]` float32.
//!
//! The runner feeds every backend the same audio, so the file is validated against the
//! pipeline spec (sample rate, channel count) before any model is loaded, and a truncated
//! data chunk is an error rather than silently shorter audio: a benchmark on a clipped file
//! would compare the wrong amounts of work.

use std::path::{Path, PathBuf};

use super::array::ArrayF32;

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

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_EXTENSIBLE: u16 = 0xfffe;

/// Reads `path` and checks it against the spec's sample rate and channel count.
pub fn read_wav(path: &Path, sample_rate: u32, channels: usize) -> Result<Wav, WavError> {
    let err = |message: String| WavError {
        path: path.to_path_buf(),
        message,
    };
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

/// Decodes a complete WAV file held in memory.
pub fn decode(bytes: &[u8]) -> Result<Wav, String> {
    if bytes.len() < 12 || &bytes[..4] != b"RIFF" || &bytes[8..12] != b"WAVE" {
        return Err("not a RIFF/WAVE file".into());
    }
    let mut fmt: Option<(u16, usize, u32, u16)> = None;
    let mut pos = 12;
    while pos + 8 <= bytes.len() {
        let id = &bytes[pos..pos + 4];
        let size =
            usize::try_from(le_u32(&bytes[pos + 4..pos + 8])).map_err(|_| "chunk too large")?;
        let body_start = pos + 8;
        if id == b"fmt " {
            let body = bytes
                .get(body_start..body_start + size)
                .ok_or("truncated fmt chunk")?;
            if body.len() < 16 {
                return Err("fmt chunk shorter than 16 bytes".into());
            }
            let mut format = le_u16(&body[0..2]);
            if format == FORMAT_EXTENSIBLE && body.len() >= 26 {
                // The sub-format GUID starts with the plain format code.
                format = le_u16(&body[24..26]);
            }
            let channels = usize::from(le_u16(&body[2..4]));
            fmt = Some((format, channels, le_u32(&body[4..8]), le_u16(&body[14..16])));
        } else if id == b"data" {
            let (format, channels, rate, bits) =
                fmt.ok_or("data chunk comes before the fmt chunk")?;
            let available = bytes.len() - body_start;
            if size > available {
                return Err(format!(
                    "truncated: the data chunk declares {size} bytes but only {available} are present; \
                     re-export or re-download the file"
                ));
            }
            let data = &bytes[body_start..body_start + size];
            return decode_samples(data, format, channels, bits).map(|audio| Wav {
                sample_rate: rate,
                audio,
            });
        }
        // Chunks are padded to an even size.
        pos = body_start + size + (size & 1);
    }
    Err("no data chunk found (truncated file?)".into())
}

fn decode_samples(
    data: &[u8],
    format: u16,
    channels: usize,
    bits: u16,
) -> Result<ArrayF32, String> {
    if channels == 0 {
        return Err("fmt chunk declares 0 channels".into());
    }
    let width = usize::from(bits / 8);
    let convert: fn(&[u8]) -> f32 = match (format, bits) {
        (FORMAT_PCM, 16) => |b| f32::from(i16::from_le_bytes([b[0], b[1]])) / 32768.0,
        // Sign-extend 24-bit by placing it in the top of an i32; exact in f32 (24-bit mantissa).
        (FORMAT_PCM, 24) => |b| (i32::from_le_bytes([0, b[0], b[1], b[2]]) >> 8) as f32 / 8_388_608.0,
        (FORMAT_FLOAT, 32) => |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]),
        _ => {
            return Err(format!(
                "unsupported sample format (format code {format}, {bits} bits); use 16/24-bit PCM or 32-bit float"
            ))
        }
    };
    let frame = width * channels;
    if data.len() % frame != 0 {
        return Err(format!(
            "truncated: the data chunk ({} bytes) is not a whole number of {frame}-byte frames",
            data.len()
        ));
    }
    let frames = data.len() / frame;
    let mut planar = vec![0.0_f32; frames * channels];
    for (t, chunk) in data.chunks_exact(frame).enumerate() {
        for (c, sample) in chunk.chunks_exact(width).enumerate() {
            planar[c * frames + t] = convert(sample);
        }
    }
    ArrayF32::new(vec![1, channels, frames], planar).map_err(|e| e.to_string())
}

fn le_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

fn le_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}

/// Encodes `[1, C, T]` audio as a WAV (16/24-bit PCM or 32-bit float): for tests and fixtures.
pub fn encode(audio: &ArrayF32, sample_rate: u32, bits: u16) -> Vec<u8> {
    let (channels, frames) = (audio.shape()[1], audio.shape()[2]);
    let width = usize::from(bits / 8);
    let data_len = frames * channels * width;
    let mut out = Vec::with_capacity(44 + data_len);
    let format = if bits == 32 { FORMAT_FLOAT } else { FORMAT_PCM };
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

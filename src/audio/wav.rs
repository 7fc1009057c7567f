//! Streaming WAV (RIFF/WAVE) reader: 16/24/32-bit integer PCM and 32/64-bit float,
//! including WAVE_FORMAT_EXTENSIBLE. The header is parsed once; samples are then decoded
//! chunk by chunk into float64 (integers scaled to [-1, 1)), never the whole file.

use anyhow::{bail, Context, Result};
use std::io::Read;

/// How samples are stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SampleFormat {
    /// Signed integer PCM with this many bits (8-bit PCM is unsigned, per the spec).
    Pcm(u16),
    /// IEEE float with this many bits.
    Float(u16),
}

impl SampleFormat {
    pub fn bytes(self) -> usize {
        match self {
            SampleFormat::Pcm(b) | SampleFormat::Float(b) => (b as usize).div_ceil(8),
        }
    }

    /// `pcm16`, `pcm24`, `float32`: the name shown in reports.
    pub fn name(self) -> String {
        match self {
            SampleFormat::Pcm(b) => format!("pcm{b}"),
            SampleFormat::Float(b) => format!("float{b}"),
        }
    }
}

/// What the `fmt ` chunk and the `data` chunk size say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WavHeader {
    pub channels: u16,
    pub sample_rate: u32,
    pub format: SampleFormat,
    /// Bytes of sample data that follow.
    pub data_len: u64,
}

impl WavHeader {
    pub fn frames(&self) -> u64 {
        self.data_len / (self.format.bytes() as u64 * u64::from(self.channels.max(1)))
    }
}

const FORMAT_PCM: u16 = 1;
const FORMAT_FLOAT: u16 = 3;
const FORMAT_EXTENSIBLE: u16 = 0xFFFE;

fn read_u32(b: &[u8]) -> u32 {
    u32::from_le_bytes([b[0], b[1], b[2], b[3]])
}
fn read_u16(b: &[u8]) -> u16 {
    u16::from_le_bytes([b[0], b[1]])
}

/// Reads chunks up to the start of `data`, leaving `r` at the first sample byte.
pub fn read_header(r: &mut dyn Read) -> Result<WavHeader> {
    let mut riff = [0u8; 12];
    r.read_exact(&mut riff)
        .context("the file ends before the RIFF header")?;
    if &riff[..4] != b"RIFF" || &riff[8..12] != b"WAVE" {
        bail!("not a WAV file (no RIFF/WAVE header)");
    }
    let mut fmt: Option<(u16, u32, SampleFormat)> = None;
    loop {
        let mut head = [0u8; 8];
        r.read_exact(&mut head)
            .context("the WAV file ends before its data chunk")?;
        let id = [head[0], head[1], head[2], head[3]];
        let size = read_u32(&head[4..]) as u64;
        match &id {
            b"fmt " => {
                if !(16..=1024).contains(&size) {
                    bail!("the WAV fmt chunk has an impossible size {size}");
                }
                let mut body = vec![0u8; size as usize];
                r.read_exact(&mut body).context("truncated WAV fmt chunk")?;
                let mut tag = read_u16(&body[0..]);
                let channels = read_u16(&body[2..]);
                let rate = read_u32(&body[4..]);
                let bits = read_u16(&body[14..]);
                if tag == FORMAT_EXTENSIBLE {
                    if body.len() < 26 {
                        bail!("the WAVE_FORMAT_EXTENSIBLE fmt chunk is too short");
                    }
                    // The sub-format GUID starts with the plain format tag.
                    tag = read_u16(&body[24..]);
                }
                let format = match (tag, bits) {
                    (FORMAT_PCM, 8 | 16 | 24 | 32) => SampleFormat::Pcm(bits),
                    (FORMAT_FLOAT, 32 | 64) => SampleFormat::Float(bits),
                    _ => bail!(
                        "unsupported WAV sample format (tag {tag}, {bits} bits); \
                         export 16/24/32-bit PCM or 32-bit float"
                    ),
                };
                if channels == 0 {
                    bail!("the WAV file declares 0 channels");
                }
                fmt = Some((channels, rate, format));
                if size % 2 == 1 {
                    r.read_exact(&mut [0u8; 1]).context("truncated WAV chunk")?;
                }
            }
            b"data" => {
                let Some((channels, sample_rate, format)) = fmt else {
                    bail!("the WAV data chunk comes before its fmt chunk");
                };
                return Ok(WavHeader {
                    channels,
                    sample_rate,
                    format,
                    data_len: size,
                });
            }
            _ => {
                // LIST, fact, bext, ...: skip (chunks are padded to even sizes).
                let skip = size + (size % 2);
                let copied = std::io::copy(&mut r.take(skip), &mut std::io::sink())
                    .context("cannot skip a WAV chunk")?;
                if copied < skip {
                    bail!("the WAV file ends inside a chunk before its data");
                }
            }
        }
    }
}

/// Parses the header at the start of `bytes` (a whole WAV, or its first bytes): the
/// entry point for fuzzing and for callers holding the file in memory.
pub fn parse_header(bytes: &[u8]) -> Result<WavHeader> {
    let mut r = bytes;
    read_header(&mut r)
}

/// Decodes whole samples from `bytes` into `out` as float64.
pub fn decode(format: SampleFormat, bytes: &[u8], out: &mut Vec<f64>) {
    out.clear();
    match format {
        SampleFormat::Pcm(8) => out.extend(bytes.iter().map(|&b| (f64::from(b) - 128.0) / 128.0)),
        SampleFormat::Pcm(16) => out.extend(
            bytes
                .chunks_exact(2)
                .map(|c| f64::from(i16::from_le_bytes([c[0], c[1]])) / 32768.0),
        ),
        SampleFormat::Pcm(24) => out.extend(bytes.chunks_exact(3).map(|c| {
            // Sign-extend by placing the 3 bytes in the top of an i32.
            let v = i32::from_le_bytes([0, c[0], c[1], c[2]]) >> 8;
            f64::from(v) / 8_388_608.0
        })),
        SampleFormat::Pcm(_) => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])) / 2_147_483_648.0),
        ),
        SampleFormat::Float(64) => out.extend(bytes.chunks_exact(8).map(|c| {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            f64::from_le_bytes(a)
        })),
        SampleFormat::Float(_) => out.extend(
            bytes
                .chunks_exact(4)
                .map(|c| f64::from(f32::from_le_bytes([c[0], c[1], c[2], c[3]]))),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wav(tag: u16, bits: u16, channels: u16, data: &[u8], extra_chunk: bool) -> Vec<u8> {
        let mut v = b"RIFF\0\0\0\0WAVE".to_vec();
        if extra_chunk {
            v.extend(b"LIST\x03\0\0\0abc\0");
        }
        v.extend(b"fmt \x10\0\0\0");
        v.extend(tag.to_le_bytes());
        v.extend(channels.to_le_bytes());
        v.extend(44100u32.to_le_bytes());
        let align = channels * bits / 8;
        v.extend((44100 * u32::from(align)).to_le_bytes());
        v.extend(align.to_le_bytes());
        v.extend(bits.to_le_bytes());
        v.extend(b"data");
        v.extend((data.len() as u32).to_le_bytes());
        v.extend(data);
        v
    }

    #[test]
    fn reads_pcm16_after_other_chunks() {
        let data: Vec<u8> = [16384i16, -32768, 0, 32767]
            .iter()
            .flat_map(|s| s.to_le_bytes())
            .collect();
        let bytes = wav(1, 16, 2, &data, true);
        let mut r: &[u8] = &bytes;
        let h = read_header(&mut r).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!((h.channels, h.sample_rate, h.frames()), (2, 44100, 2));
        let mut out = Vec::new();
        decode(h.format, r, &mut out);
        assert_eq!(out, vec![0.5, -1.0, 0.0, 32767.0 / 32768.0]);
    }

    #[test]
    fn reads_pcm24_sign_extended_and_float() {
        let mut out = Vec::new();
        decode(SampleFormat::Pcm(24), &[0x00, 0x00, 0xC0], &mut out);
        assert_eq!(out, vec![-0.5]);
        decode(SampleFormat::Float(32), &0.25f32.to_le_bytes(), &mut out);
        assert_eq!(out, vec![0.25]);
    }

    #[test]
    fn rejects_non_wav_and_adpcm() {
        let mut r: &[u8] = b"RIFX....WAVE";
        assert!(read_header(&mut r).is_err());
        let bytes = wav(2, 4, 1, &[0, 0], false);
        let mut r: &[u8] = &bytes;
        let err = read_header(&mut r).err().map(|e| e.to_string()).unwrap();
        assert!(err.contains("unsupported WAV sample format"), "{err}");
    }
}

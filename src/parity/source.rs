//! Where arrays come from: an `.npz` archive (stored or deflate-compressed members), a
//! folder of `.npy` files, or a folder of WAV stems. Each array is listed by name and
//! opened as an [`ArrayStream`] that decodes it chunk by chunk into float64.
//!
//! Nothing is sized from a header before the header is checked against what the file
//! (or archive member) really holds, and an archive member is read to its end so its
//! CRC-32 is checked: a corrupted member is an error naming archive and member, never
//! compared as if it were valid.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use super::readers::{Counted, CrcCheck};
use crate::audio::wav::{self, SampleFormat};
use crate::npy::{self, DType};
use crate::simd::Level;

/// What one array is, read from its header only.
#[derive(Debug, Clone, PartialEq)]
pub struct ArrayMeta {
    /// The matching key: npz member or file name without `.npy`/`.wav`.
    pub name: String,
    /// The part of the name before the first dot (`freq_branch.freq_out` → `freq_branch`);
    /// WAV stems without a dot belong to the stage `stems`.
    pub stage: String,
    pub shape: Vec<usize>,
    /// numpy dtype name, or `pcm16`/`pcm24`/`float32` for WAV.
    pub dtype: String,
    /// The axis that runs along time (the last one for arrays, frames for WAV).
    pub time_axis: usize,
    pub sample_rate: Option<u32>,
    pub fortran_order: bool,
    /// True for WAV stems: values are audio samples and SDR applies.
    pub audio: bool,
    /// File (and member) for messages.
    pub origin: String,
}

impl ArrayMeta {
    pub fn len(&self) -> u64 {
        self.shape.iter().map(|&d| d as u64).product()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Stage of an array name: the part before the first dot.
pub fn stage_of(name: &str, audio: bool) -> String {
    match name.split_once('.') {
        Some((stage, _)) => stage.to_string(),
        None if audio => "stems".to_string(),
        None => name.to_string(),
    }
}

/// How raw element bytes become float64 values.
#[derive(Debug, Clone, Copy)]
pub enum Decoder {
    Npy(DType, bool),
    Wav(SampleFormat),
}

impl Decoder {
    /// Bytes per element.
    pub fn size(self) -> usize {
        match self {
            Decoder::Npy(d, _) => d.size(),
            Decoder::Wav(f) => f.bytes(),
        }
    }

    /// Decodes whole elements of `bytes` into `out` (cleared first).
    pub fn decode(self, bytes: &[u8], out: &mut Vec<f64>) {
        match self {
            Decoder::Npy(d, be) => npy::decode(d, be, bytes, out),
            Decoder::Wav(f) => wav::decode(f, bytes, out),
        }
    }

    /// [`decode`](Self::decode), with little-endian float32 (what the stage runner and
    /// PyTorch write) and float16 converted by the variant compiled for `level` (see `simd`).
    pub fn decode_with(self, level: Level, bytes: &[u8], out: &mut Vec<f64>) {
        match self {
            Decoder::Npy(DType::Float32, false) => npy::decode_f32_le(level, bytes, out),
            Decoder::Npy(DType::Float16, false) => npy::decode_f16_le(level, bytes, out),
            _ => self.decode(bytes, out),
        }
    }
}

/// An open array: its metadata and a reader positioned at its first element.
pub struct ArrayStream<'a> {
    pub meta: ArrayMeta,
    reader: Box<dyn Read + Send + 'a>,
    decoder: Decoder,
    remaining: u64,
    /// Read the rest after the last element (archive members: that checks the CRC).
    drain: bool,
}

impl ArrayStream<'_> {
    /// The decoder for the bytes [`read_raw`](Self::read_raw) returns.
    pub fn decoder(&self) -> Decoder {
        self.decoder
    }

    /// Reads the raw bytes of up to `max` elements into `out` (replacing its contents);
    /// returns how many elements, 0 at the end. Decoding is left to the caller so it can
    /// happen in small cache-resident blocks right before the metrics use the values.
    /// A file that ends early is an error naming it.
    pub fn read_raw(&mut self, max: usize, out: &mut Vec<u8>) -> Result<usize> {
        let n = (max as u64).min(self.remaining) as usize;
        if n == 0 {
            out.clear();
            if std::mem::take(&mut self.drain) {
                io::copy(&mut self.reader, &mut io::sink()).map_err(|e| self.read_error(e))?;
            }
            return Ok(0);
        }
        out.resize(n * self.decoder.size(), 0);
        self.reader
            .read_exact(out)
            .map_err(|e| self.read_error(e))?;
        self.remaining -= n as u64;
        Ok(n)
    }
}

impl ArrayStream<'_> {
    fn read_error(&self, e: io::Error) -> anyhow::Error {
        if e.kind() == io::ErrorKind::UnexpectedEof {
            anyhow::anyhow!(
                "{} ends before the {} elements its header announces (the file is truncated; \
                 re-create it)",
                self.meta.origin,
                self.meta.len()
            )
        } else {
            anyhow::anyhow!(
                "cannot read {}: {e} (the data is corrupted; re-create the file)",
                self.meta.origin
            )
        }
    }
}

/// A set of named arrays on disk.
pub enum Source {
    Npz {
        path: PathBuf,
        archive: Box<zip::ZipArchive<BufReader<File>>>,
        /// array name → member name
        members: BTreeMap<String, String>,
    },
    Folder {
        path: PathBuf,
        /// array name → file
        files: BTreeMap<String, PathBuf>,
    },
}

impl Source {
    /// Opens `path`: an `.npz` file, a folder of `.npy` files, a folder of `.wav` stems
    /// (or both kinds in one folder).
    pub fn open(path: &Path) -> Result<Source> {
        let meta = std::fs::metadata(path).with_context(|| {
            format!(
                "cannot read {} (give an .npz file or a folder of .npy/.wav files)",
                path.display()
            )
        })?;
        if meta.is_dir() {
            return Self::open_folder(path);
        }
        if !meta.is_file() {
            bail!(
                "{} is not a regular file (a FIFO or device?); give an .npz file or a folder \
                 of .npy/.wav files",
                path.display()
            );
        }
        let file = File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
        let archive =
            zip::ZipArchive::new(BufReader::with_capacity(1 << 16, file)).with_context(|| {
                format!(
                    "{} is not a readable .npz (zip) archive — it may be truncated or not an \
                     npz at all; re-create it with numpy.savez",
                    path.display()
                )
            })?;
        let mut members = BTreeMap::new();
        for member in archive.file_names() {
            if let Some(name) = member.strip_suffix(".npy") {
                members.insert(name.to_string(), member.to_string());
            }
        }
        if members.is_empty() {
            bail!("{} holds no .npy members", path.display());
        }
        Ok(Source::Npz {
            path: path.to_path_buf(),
            archive: Box::new(archive),
            members,
        })
    }

    fn open_folder(path: &Path) -> Result<Source> {
        let mut files = BTreeMap::new();
        let entries =
            std::fs::read_dir(path).with_context(|| format!("cannot list {}", path.display()))?;
        for entry in entries {
            let p = entry
                .with_context(|| format!("cannot list {}", path.display()))?
                .path();
            let ext = p
                .extension()
                .and_then(|e| e.to_str())
                .map(str::to_ascii_lowercase);
            if !matches!(ext.as_deref(), Some("npy" | "wav")) || !p.is_file() {
                continue;
            }
            let Some(stem) = p.file_stem().and_then(|s| s.to_str()) else {
                continue;
            };
            if let Some(other) = files.insert(stem.to_string(), p.clone()) {
                bail!(
                    "{} and {} both give an array named {stem:?}; keep one",
                    other.display(),
                    p.display()
                );
            }
        }
        if files.is_empty() {
            bail!("{} holds no .npy or .wav files to compare", path.display());
        }
        Ok(Source::Folder {
            path: path.to_path_buf(),
            files,
        })
    }

    pub fn path(&self) -> &Path {
        match self {
            Source::Npz { path, .. } | Source::Folder { path, .. } => path,
        }
    }

    /// Array names, sorted.
    pub fn names(&self) -> Vec<String> {
        match self {
            Source::Npz { members, .. } => members.keys().cloned().collect(),
            Source::Folder { files, .. } => files.keys().cloned().collect(),
        }
    }

    /// Whether `name` is a WAV stem.
    pub fn is_audio(&self, name: &str) -> bool {
        match self {
            Source::Npz { .. } => false,
            Source::Folder { files, .. } => files
                .get(name)
                .and_then(|p| p.extension())
                .is_some_and(|e| e.eq_ignore_ascii_case("wav")),
        }
    }

    /// Opens one array for streaming.
    pub fn stream(&mut self, name: &str) -> Result<ArrayStream<'_>> {
        match self {
            Source::Npz {
                path,
                archive,
                members,
            } => {
                let member = members
                    .get(name)
                    .with_context(|| format!("{} has no array {name:?}", path.display()))?;
                let origin = format!("{} (member {member})", path.display());
                let file = archive
                    .by_name(member)
                    .with_context(|| format!("cannot read {origin}"))?;
                let size = file.size();
                let mut reader: Box<dyn Read + Send + '_> =
                    if file.compression() == zip::CompressionMethod::Stored {
                        // numpy.savez stores members uncompressed: read them straight from
                        // the file through a 64 KiB buffer, checking the CRC on the way.
                        let (start, expected) = (file.data_start(), file.crc32());
                        drop(file);
                        let mut raw = File::open(&*path)
                            .with_context(|| format!("cannot open {}", path.display()))?;
                        raw.seek(SeekFrom::Start(start))
                            .with_context(|| format!("cannot seek in {origin}"))?;
                        Box::new(CrcCheck {
                            inner: BufReader::with_capacity(1 << 16, raw).take(size),
                            hasher: crc32fast::Hasher::new(),
                            expected,
                        })
                    } else {
                        Box::new(file)
                    };
                let header = npy::read_header(&mut reader)
                    .with_context(|| format!("cannot read the array header in {origin}"))?;
                header
                    .check_available(size.saturating_sub(header.data_offset))
                    .with_context(|| origin.clone())?;
                let mut stream = npy_stream(name, header, reader, origin);
                stream.drain = true;
                Ok(stream)
            }
            Source::Folder { files, path } => {
                let file_path = files
                    .get(name)
                    .with_context(|| format!("{} has no array {name:?}", path.display()))?;
                let origin = file_path.display().to_string();
                let file =
                    File::open(file_path).with_context(|| format!("cannot open {origin}"))?;
                let file_len = file
                    .metadata()
                    .with_context(|| format!("cannot read {origin}"))?
                    .len();
                let mut reader: Box<dyn Read + Send> =
                    Box::new(BufReader::with_capacity(1 << 16, file));
                let is_wav = file_path
                    .extension()
                    .is_some_and(|e| e.eq_ignore_ascii_case("wav"));
                if is_wav {
                    let mut counted = Counted {
                        inner: &mut reader,
                        n: 0,
                    };
                    let h = wav::read_header(&mut counted)
                        .with_context(|| format!("cannot read the WAV header of {origin}"))?;
                    let available = file_len.saturating_sub(counted.n);
                    if h.data_len > available {
                        bail!(
                            "{origin}: the WAV data chunk announces {} bytes but only {available} \
                             follow (the file is truncated; re-export it)",
                            h.data_len
                        );
                    }
                    let channels = usize::from(h.channels);
                    let frames = h.frames() as usize;
                    let meta = ArrayMeta {
                        name: name.to_string(),
                        stage: stage_of(name, true),
                        shape: vec![frames, channels],
                        dtype: h.format.name(),
                        time_axis: 0,
                        sample_rate: Some(h.sample_rate),
                        fortran_order: false,
                        audio: true,
                        origin,
                    };
                    Ok(ArrayStream {
                        remaining: meta.len(),
                        meta,
                        reader,
                        decoder: Decoder::Wav(h.format),
                        drain: false,
                    })
                } else {
                    let header = npy::read_header(&mut reader)
                        .with_context(|| format!("cannot read the .npy header of {origin}"))?;
                    header
                        .check_available(file_len.saturating_sub(header.data_offset))
                        .with_context(|| origin.clone())?;
                    Ok(npy_stream(name, header, reader, origin))
                }
            }
        }
    }
}

fn npy_stream<'a>(
    name: &str,
    h: npy::Header,
    reader: Box<dyn Read + Send + 'a>,
    origin: String,
) -> ArrayStream<'a> {
    let meta = ArrayMeta {
        name: name.to_string(),
        stage: stage_of(name, false),
        time_axis: h.shape.len().saturating_sub(1),
        shape: h.shape.clone(),
        dtype: h.dtype.name().to_string(),
        sample_rate: None,
        fortran_order: h.fortran_order,
        audio: false,
        origin,
    };
    ArrayStream {
        remaining: meta.len(),
        meta,
        reader,
        decoder: Decoder::Npy(h.dtype, h.big_endian),
        drain: false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stages_are_the_part_before_the_first_dot() {
        assert_eq!(stage_of("freq_branch.freq_out", false), "freq_branch");
        assert_eq!(stage_of("a.b.c", false), "a");
        assert_eq!(stage_of("drums", true), "stems");
        assert_eq!(stage_of("mix", false), "mix");
    }
}

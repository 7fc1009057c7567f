//! `.npz` reading and writing: an uncompressed zip of `.npy` float32 arrays, as numpy writes.
//!
//! The parity phase reads what the runner captures, and the runner's isolated mode reads a
//! reference capture back, so both directions live here. Writing is always float32,
//! little-endian, C order, stored (not deflated) so `numpy.load(..., mmap_mode=...)` and
//! any zip reader work. Reading also accepts float64/float16 (converted) and deflated
//! archives (`numpy.savez_compressed`), since references may come from Python scripts.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::array::ArrayF32;

/// A problem reading or writing an `.npz`/`.npy`, with the file it concerns.
#[derive(Debug, thiserror::Error)]
pub enum NpzError {
    /// The file could not be opened, read or written.
    #[error("{path}: {source}")]
    Io {
        /// The archive.
        path: PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// The file is not a readable npz, or an entry is not a supported `.npy`.
    #[error("{path}: {message}")]
    Format {
        /// The archive.
        path: PathBuf,
        /// What is wrong, naming the entry.
        message: String,
    },
}

/// Writes arrays, in insertion order, to `path` as an uncompressed `.npz`.
pub fn write_npz<'a, I>(path: &Path, arrays: I) -> Result<(), NpzError>
where
    I: IntoIterator<Item = (&'a str, &'a ArrayF32)>,
{
    let io = |source| NpzError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::create(path).map_err(io)?;
    let mut zip = zip::ZipWriter::new(BufWriter::new(file));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .large_file(true);
    let zip_err = |e: zip::result::ZipError| NpzError::Format {
        path: path.to_path_buf(),
        message: format!("writing the archive failed: {e}"),
    };
    for (name, array) in arrays {
        zip.start_file(format!("{name}.npy"), options)
            .map_err(zip_err)?;
        zip.write_all(&npy_bytes(array)).map_err(io)?;
    }
    let mut inner = zip.finish().map_err(zip_err)?;
    inner.flush().map_err(io)
}

/// Reads every array of an `.npz`, keyed by entry name without the `.npy` suffix.
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, ArrayF32>, NpzError> {
    let file = File::open(path).map_err(|source| NpzError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    read_npz_from(file, path)
}

fn read_npz_from<R: Read + Seek>(
    reader: R,
    path: &Path,
) -> Result<BTreeMap<String, ArrayF32>, NpzError> {
    let format = |message: String| NpzError::Format {
        path: path.to_path_buf(),
        message,
    };
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|e| format(format!("not a zip archive (.npz): {e}")))?;
    let mut arrays = BTreeMap::new();
    for index in 0..archive.len() {
        let mut entry = archive
            .by_index(index)
            .map_err(|e| format(format!("entry {index}: {e}")))?;
        let name = entry.name().to_string();
        let mut bytes = Vec::new();
        entry
            .read_to_end(&mut bytes)
            .map_err(|e| format(format!("entry `{name}`: {e}")))?;
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let array = parse_npy(&bytes).map_err(|m| format(format!("entry `{name}`: {m}")))?;
        arrays.insert(key, array);
    }
    Ok(arrays)
}

/// Serialises one array as `.npy` version 1.0 (`<f4`, C order).
pub fn npy_bytes(array: &ArrayF32) -> Vec<u8> {
    let shape = match array.shape() {
        [] => "()".to_string(),
        [n] => format!("({n},)"),
        dims => format!(
            "({})",
            dims.iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
    };
    let mut header = format!("{{'descr': '<f4', 'fortran_order': False, 'shape': {shape}, }}");
    // numpy pads the header with spaces so the data starts on a 64-byte boundary.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + array.data().len() * 4);
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    // The padded header is at most a few hundred bytes, far below u16::MAX.
    out.extend_from_slice(
        &u16::try_from(header.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(header.as_bytes());
    for v in array.data() {
        out.extend_from_slice(&v.to_le_bytes());
    }
    out
}

/// Parses a `.npy` of little-endian float16/32/64 in C order into float32.
pub fn parse_npy(bytes: &[u8]) -> Result<ArrayF32, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a .npy array (bad magic)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (usize::from(u16::from_le_bytes([bytes[8], bytes[9]])), 10),
        2 | 3 if bytes.len() >= 12 => {
            let len = u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]);
            (usize::try_from(len).map_err(|_| "header too large")?, 12)
        }
        v => return Err(format!("unsupported .npy version {v}")),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or("truncated .npy header")?;
    let header = std::str::from_utf8(header).map_err(|_| "header is not text")?;
    if header_value(header, "fortran_order").is_some_and(|v| v.starts_with("True")) {
        return Err("Fortran-order arrays are not supported; save with C order".into());
    }
    let descr = header_value(header, "descr").ok_or("header has no 'descr'")?;
    let descr = descr.trim_start_matches(['\'', '"']);
    let width = match &descr[..descr.len().min(3)] {
        "<f2" => 2,
        "<f4" => 4,
        "<f8" => 8,
        _ => {
            return Err(format!(
                "dtype {descr:.6} is not little-endian float16/32/64"
            ))
        }
    };
    let shape = parse_shape(header).ok_or("header has no readable 'shape'")?;
    let count: usize = shape.iter().product();
    let body = &bytes[start + header_len..];
    if body.len() < count * width {
        return Err(format!(
            "truncated data: shape {shape:?} needs {} bytes, found {}",
            count * width,
            body.len()
        ));
    }
    let data = body[..count * width]
        .chunks_exact(width)
        .map(|c| match width {
            2 => f16_to_f32(u16::from_le_bytes([c[0], c[1]])),
            4 => f32::from_le_bytes([c[0], c[1], c[2], c[3]]),
            // Narrowing is the point: the runner works in float32.
            _ => f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32,
        })
        .collect();
    ArrayF32::new(shape, data).map_err(|e| e.to_string())
}

fn header_value<'h>(header: &'h str, key: &str) -> Option<&'h str> {
    let at = header.find(&format!("'{key}'"))?;
    let rest = &header[at + key.len() + 2..];
    Some(rest.trim_start().strip_prefix(':')?.trim_start())
}

fn parse_shape(header: &str) -> Option<Vec<usize>> {
    let rest = header_value(header, "shape")?.strip_prefix('(')?;
    let inner = &rest[..rest.find(')')?];
    inner
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| s.trim_end_matches('L').parse().ok())
        .collect()
}

fn f16_to_f32(h: u16) -> f32 {
    let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
    let exp = i32::from((h >> 10) & 0x1f);
    let frac = f32::from(h & 0x3ff);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        _ => sign * (1.0 + frac / 1024.0) * 2f32.powi(exp - 15),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;

    #[test]
    fn npy_header_is_aligned_and_round_trips() {
        let a = ArrayF32::new(vec![2, 3], (0..6).map(|i| i as f32 * 0.5).collect()).unwrap();
        let bytes = npy_bytes(&a);
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(parse_npy(&bytes).unwrap(), a);
    }

    #[test]
    fn npz_round_trip_keeps_names_and_scalars() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npz");
        let a = ArrayF32::new(vec![4], vec![1.0, -2.0, 3.5, 0.0]).unwrap();
        let s = ArrayF32::new(vec![], vec![7.0]).unwrap();
        write_npz(&path, [("stft.spectrogram", &a), ("scalar", &s)]).unwrap();
        let back = read_npz(&path).unwrap();
        assert_eq!(back["stft.spectrogram"], a);
        assert_eq!(back["scalar"], s);
    }

    #[test]
    fn rejects_truncated_and_fortran_and_ints() {
        let a = ArrayF32::new(vec![3], vec![1.0, 2.0, 3.0]).unwrap();
        let bytes = npy_bytes(&a);
        assert!(parse_npy(&bytes[..bytes.len() - 2])
            .unwrap_err()
            .contains("truncated"));
        // Edit the header in place (same length), keeping the binary magic intact.
        let patch = |from: &[u8], to: &[u8]| {
            let mut b = bytes.clone();
            let at = b.windows(from.len()).position(|w| w == from).unwrap();
            b[at..at + to.len()].copy_from_slice(to);
            b
        };
        assert!(parse_npy(&patch(b"False", b"True "))
            .unwrap_err()
            .contains("Fortran"));
        assert!(parse_npy(&patch(b"<f4", b"<i4"))
            .unwrap_err()
            .contains("dtype"));
    }

    #[test]
    fn float16_decoding() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
    }
}

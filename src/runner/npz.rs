//! `.npz` reading and writing: an uncompressed zip of `.npy` arrays, as numpy writes.
//!
//! The parity phase reads what the runner captures, and the runner's isolated mode reads a
//! reference capture back, so both directions live here. Each array is written in its own
//! dtype (`<f4`, `<f2`, `<c8`, `<i8`, ...), little-endian, C order, stored (not deflated)
//! so `numpy.load(..., mmap_mode=...)` and any zip reader work. Reading keeps the dtype
//! too (big-endian data is byte-swapped) and accepts deflated archives
//! (`numpy.savez_compressed`), since references may come from Python scripts.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Read, Seek, Write};
use std::path::{Path, PathBuf};

use super::array::Array;
use crate::npy;

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
    I: IntoIterator<Item = (&'a str, &'a Array)>,
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
pub fn read_npz(path: &Path) -> Result<BTreeMap<String, Array>, NpzError> {
    let io = |source| NpzError::Io {
        path: path.to_path_buf(),
        source,
    };
    let file = File::open(path).map_err(io)?;
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() {
        return Err(NpzError::Format {
            path: path.to_path_buf(),
            message: "not a regular file (a FIFO or device?); give an .npz file".into(),
        });
    }
    read_npz_from(std::io::BufReader::new(file), meta.len(), path)
}

/// [`read_npz`] of an archive held in memory (`path` only names it in errors): the entry
/// point for fuzzing.
pub fn read_npz_bytes(bytes: &[u8], path: &Path) -> Result<BTreeMap<String, Array>, NpzError> {
    read_npz_from(std::io::Cursor::new(bytes), bytes.len() as u64, path)
}

/// Deflate expands at most about 1032:1; a member claiming more than this many times its
/// compressed size (plus a little) is lying.
const MAX_DEFLATE_RATIO: u64 = 1032;

fn read_npz_from<R: Read + Seek>(
    reader: R,
    archive_len: u64,
    path: &Path,
) -> Result<BTreeMap<String, Array>, NpzError> {
    let format = |message: String| NpzError::Format {
        path: path.to_path_buf(),
        message,
    };
    let mut archive = zip::ZipArchive::new(reader)
        .map_err(|e| format(format!("not a zip archive (.npz): {e}")))?;
    let mut arrays = BTreeMap::new();
    for index in 0..archive.len() {
        let entry = archive
            .by_index(index)
            .map_err(|e| format(format!("entry {index}: {e}")))?;
        let name = entry.name().to_string();
        // Sizes come from the archive's directory: check them against the archive's real
        // length before reading, so a lying entry cannot make us read or hold gigabytes.
        let (size, packed) = (entry.size(), entry.compressed_size());
        let limit = if entry.compression() == zip::CompressionMethod::Stored {
            archive_len
        } else {
            packed.min(archive_len).saturating_mul(MAX_DEFLATE_RATIO) + 1024
        };
        if size > limit || packed > archive_len {
            return Err(format(format!(
                "entry `{name}` claims {size} bytes ({packed} compressed) in a {archive_len}-byte \
                 archive: the archive is corrupt; re-create it"
            )));
        }
        // The zip reader checks the member's CRC-32 when it reaches the end, which it
        // only sees when asked for more than `size` bytes.
        let mut bytes = Vec::new();
        entry
            .take(size.saturating_add(1))
            .read_to_end(&mut bytes)
            .map_err(|e| format(format!("entry `{name}`: {e} (re-create the archive)")))?;
        if bytes.len() as u64 != size {
            return Err(format(format!(
                "entry `{name}` ends after {} of its {size} bytes: the archive is truncated",
                bytes.len()
            )));
        }
        let key = name.strip_suffix(".npy").unwrap_or(&name).to_string();
        let array = parse_npy(&bytes).map_err(|m| format(format!("entry `{name}`: {m}")))?;
        arrays.insert(key, array);
    }
    Ok(arrays)
}

/// Serialises one array as `.npy` version 1.0 in its own dtype, C order.
pub fn npy_bytes(array: &Array) -> Vec<u8> {
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
    let descr = array.dtype().descr();
    let mut header = format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
    // numpy pads the header with spaces so the data starts on a 64-byte boundary.
    let unpadded = 10 + header.len() + 1;
    header.push_str(&" ".repeat((64 - unpadded % 64) % 64));
    header.push('\n');
    let mut out = Vec::with_capacity(10 + header.len() + array.bytes().len());
    out.extend_from_slice(b"\x93NUMPY\x01\x00");
    // The padded header is at most a few hundred bytes, far below u16::MAX.
    out.extend_from_slice(
        &u16::try_from(header.len())
            .unwrap_or(u16::MAX)
            .to_le_bytes(),
    );
    out.extend_from_slice(header.as_bytes());
    out.extend_from_slice(array.bytes());
    out
}

/// Parses a `.npy` of any dtype the parity phase reads (floats, complex, integers,
/// bools; either byte order), in C order, keeping its dtype. The header is the parity
/// phase's parser (`crate::npy`, the one `.npy` reader), checked against the
/// bytes really present before anything is allocated from it.
pub fn parse_npy(bytes: &[u8]) -> Result<Array, String> {
    let header = npy::parse_header(bytes).map_err(|e| format!("{e:#}"))?;
    if header.fortran_order {
        return Err("Fortran-order arrays are not supported; save with C order".into());
    }
    let start = usize::try_from(header.data_offset).map_err(|_| "header too large")?;
    let body = bytes.get(start..).unwrap_or_default();
    header
        .check_available(body.len() as u64)
        .map_err(|e| format!("truncated data: {e:#}"))?;
    // check_available bounds the byte count by what is in memory, so this fits.
    let need = usize::try_from(header.data_bytes()).map_err(|_| "array too large")?;
    let mut data = body[..need].to_vec();
    if header.big_endian {
        // Each scalar (each part of a complex number) is reversed on its own.
        let part = header.dtype.size() / header.dtype.lanes();
        for scalar in data.chunks_exact_mut(part) {
            scalar.reverse();
        }
    }
    Array::from_bytes(header.dtype, header.shape, data).map_err(|e| e.to_string())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use crate::runner::array::{ArrayF32, DType};

    fn f32s(shape: Vec<usize>, data: Vec<f32>) -> Array {
        Array::from(ArrayF32::new(shape, data).unwrap())
    }

    #[test]
    fn npy_header_is_aligned_and_round_trips() {
        let a = f32s(vec![2, 3], (0..6).map(|i| i as f32 * 0.5).collect());
        let bytes = npy_bytes(&a);
        let header_len = usize::from(u16::from_le_bytes([bytes[8], bytes[9]]));
        assert_eq!((10 + header_len) % 64, 0);
        assert_eq!(parse_npy(&bytes).unwrap(), a);
    }

    #[test]
    fn every_dtype_round_trips_as_itself() {
        for dtype in DType::ALL {
            let bytes: Vec<u8> = (0..3 * dtype.size()).map(|i| (i % 2) as u8).collect();
            let a = Array::from_bytes(dtype, vec![3], bytes).unwrap();
            let npy = npy_bytes(&a);
            assert!(
                String::from_utf8_lossy(&npy).contains(dtype.descr()),
                "{dtype}"
            );
            assert_eq!(parse_npy(&npy).unwrap(), a, "{dtype}");
        }
    }

    #[test]
    fn big_endian_is_swapped_per_scalar() {
        let dict = b"{'descr': '>c8', 'fortran_order': False, 'shape': (1,), }\n";
        let mut npy = b"\x93NUMPY\x01\x00".to_vec();
        npy.extend((dict.len() as u16).to_le_bytes());
        npy.extend(dict);
        npy.extend(1.5f32.to_be_bytes());
        npy.extend((-2f32).to_be_bytes());
        let a = parse_npy(&npy).unwrap();
        assert_eq!((a.dtype(), a.to_f64()), (DType::Complex64, vec![1.5, -2.0]));
    }

    #[test]
    fn npz_round_trip_keeps_names_and_scalars() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npz");
        let a = f32s(vec![4], vec![1.0, -2.0, 3.5, 0.0]);
        let s = f32s(vec![], vec![7.0]);
        write_npz(&path, [("stft.spectrogram", &a), ("scalar", &s)]).unwrap();
        let back = read_npz(&path).unwrap();
        assert_eq!(back["stft.spectrogram"], a);
        assert_eq!(back["scalar"], s);
    }

    #[test]
    fn a_corrupted_member_is_an_error_naming_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.npz");
        let a = f32s(vec![64], (0..64).map(|i| i as f32).collect());
        write_npz(&path, [("stage.out", &a)]).unwrap();
        let mut bytes = std::fs::read(&path).unwrap();
        let data = bytes
            .windows(4)
            .position(|w| w == 10f32.to_le_bytes())
            .unwrap();
        bytes[data] ^= 1;
        let err = read_npz_bytes(&bytes, &path).unwrap_err().to_string();
        assert!(
            err.contains("x.npz") && err.contains("stage.out.npy"),
            "{err}"
        );
    }

    #[test]
    fn rejects_truncated_and_fortran_and_ints() {
        let a = f32s(vec![3], vec![1.0, 2.0, 3.0]);
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
        assert!(parse_npy(&patch(b"<f4", b"<V4"))
            .unwrap_err()
            .contains("dtype"));
        // Integers stay integers (the parity phase reads them too).
        let ints = parse_npy(&patch(b"<f4", b"<i4")).unwrap();
        assert_eq!(ints.dtype(), DType::Int32);
        assert_eq!(ints.to_f64()[1], f64::from(2f32.to_bits() as i32));
        // A shape whose element count wraps is an error, not an empty array.
        let dict =
            b"{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n";
        let mut wrap = b"\x93NUMPY\x01\x00".to_vec();
        wrap.extend((dict.len() as u16).to_le_bytes());
        wrap.extend(dict);
        let err = parse_npy(&wrap).unwrap_err();
        assert!(err.contains("64 bits"), "{err}");
        // A header claiming far more than the bytes present: an error, nothing allocated.
        let dict = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }\n";
        let mut liar = b"\x93NUMPY\x01\x00".to_vec();
        liar.extend((dict.len() as u16).to_le_bytes());
        liar.extend(dict);
        liar.extend([0u8; 16]);
        assert!(parse_npy(&liar).unwrap_err().contains("truncated"));
    }
}

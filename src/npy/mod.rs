//! The `.npy` format: header parsing (versions 1–3), the crate's one dtype list, and
//! streaming decoding of the data that follows into float64 chunks, without ever holding
//! a whole array. The one `.npy` reader and float16 decoder of the crate: the stage
//! runner's arrays (`runner::array`, `runner::npz`) and the CoreML backend's float16
//! outputs go through it too.
//!
//! A header is checked before anything is sized from it: its element count and byte
//! count must fit in 64 bits (a shape of (2³², 2³²) would wrap to 0 elements), and
//! callers compare [`Header::data_bytes`] with what the file really holds.

pub mod dtype;

use crate::simd::multiversion;
#[cfg(test)]
use crate::simd::Level;
use anyhow::{bail, Context, Result};
pub use dtype::{DType, Kind};
use std::io::Read;

/// The parsed header of one `.npy` array.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub dtype: DType,
    pub big_endian: bool,
    pub fortran_order: bool,
    pub shape: Vec<usize>,
    /// Bytes from the start of the `.npy` to its first data byte.
    pub data_offset: u64,
}

/// The element count of `shape`, `None` when it does not fit in 64 bits.
pub fn element_count(shape: &[usize]) -> Option<u64> {
    shape
        .iter()
        .try_fold(1u64, |n, &d| n.checked_mul(u64::try_from(d).ok()?))
}

impl Header {
    /// Elements (saturating; [`read_header`] refuses shapes whose count overflows).
    pub fn len(&self) -> u64 {
        element_count(&self.shape).unwrap_or(u64::MAX)
    }

    /// Bytes of data the header announces (saturating, as `len`).
    pub fn data_bytes(&self) -> u64 {
        self.len().saturating_mul(self.dtype.size() as u64)
    }

    /// An error unless `available` bytes (what follows the header in the file or
    /// archive member) hold the data the header announces.
    pub fn check_available(&self, available: u64) -> Result<()> {
        let need = self.data_bytes();
        if need > available {
            bail!(
                "the header announces shape {:?} of {}, {need} bytes of data, but only \
                 {available} follow (the file is truncated or its header is corrupt; \
                 re-create it)",
                self.shape,
                self.dtype
            );
        }
        Ok(())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reads the magic, version and header dictionary from the start of a `.npy` stream,
/// leaving `r` positioned at the first data byte.
pub fn read_header(r: &mut dyn Read) -> Result<Header> {
    let mut magic = [0u8; 8];
    r.read_exact(&mut magic)
        .context("the file ends before the .npy header")?;
    if &magic[..6] != b"\x93NUMPY" {
        bail!("not a .npy array (the magic bytes \\x93NUMPY are missing)");
    }
    let len = match magic[6] {
        1 => {
            let mut b = [0u8; 2];
            r.read_exact(&mut b).context("truncated .npy header")?;
            u16::from_le_bytes(b) as usize
        }
        2 | 3 => {
            let mut b = [0u8; 4];
            r.read_exact(&mut b).context("truncated .npy header")?;
            u32::from_le_bytes(b) as usize
        }
        v => bail!("unsupported .npy format version {v} (1, 2 and 3 are understood)"),
    };
    if len > 1 << 20 {
        bail!("the .npy header claims {len} bytes; the file is probably corrupt");
    }
    let mut text = vec![0u8; len];
    r.read_exact(&mut text).context("truncated .npy header")?;
    let text = String::from_utf8_lossy(&text);
    let mut header = parse_dict(&text)?;
    header.data_offset = if magic[6] == 1 { 10 } else { 12 } + len as u64;
    Ok(header)
}

/// Parses the header at the start of `bytes` (a whole `.npy`, or its first bytes): the
/// entry point for fuzzing and for callers holding the file in memory.
pub fn parse_header(bytes: &[u8]) -> Result<Header> {
    let mut r = bytes;
    read_header(&mut r)
}

/// Parses `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
fn parse_dict(text: &str) -> Result<Header> {
    let descr = value_after(text, "descr")
        .and_then(quoted)
        .with_context(|| format!("the .npy header has no 'descr': {}", text.trim()))?;
    let fortran = value_after(text, "fortran_order")
        .map(|v| v.trim_start().starts_with("True"))
        .unwrap_or(false);
    let shape_text = value_after(text, "shape")
        .and_then(|v| {
            let v = v.trim_start().strip_prefix('(')?;
            Some(&v[..v.find(')')?])
        })
        .with_context(|| format!("the .npy header has no 'shape': {}", text.trim()))?;
    let mut shape = Vec::new();
    for part in shape_text.split(',') {
        let p = part.trim();
        if p.is_empty() {
            continue;
        }
        shape.push(
            p.trim_end_matches('L')
                .parse::<usize>()
                .with_context(|| format!("bad dimension {p:?} in the .npy shape"))?,
        );
    }
    let (dtype, big_endian) = parse_descr(descr)?;
    let fits = element_count(&shape).and_then(|n| n.checked_mul(dtype.size() as u64));
    if fits.is_none() {
        bail!(
            "the .npy shape {shape:?} has more elements than fit in 64 bits (the header is \
             corrupt; re-create the file)"
        );
    }
    Ok(Header {
        dtype,
        big_endian,
        fortran_order: fortran,
        shape,
        data_offset: 0,
    })
}

fn value_after<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let at = text
        .find(&format!("'{key}'"))
        .or_else(|| text.find(&format!("\"{key}\"")))?;
    let rest = &text[at + key.len() + 2..];
    let colon = rest.find(':')?;
    Some(&rest[colon + 1..])
}

fn quoted(v: &str) -> Option<&str> {
    let v = v.trim_start();
    let q = v.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let rest = &v[1..];
    Some(&rest[..rest.find(q)?])
}

fn parse_descr(d: &str) -> Result<(DType, bool)> {
    let (order, code) = match d.chars().next() {
        Some(c @ ('<' | '>' | '|' | '=')) => (c, &d[1..]),
        _ => ('=', d),
    };
    let dtype = match code {
        "f2" | "e" => DType::Float16,
        "f4" | "f" => DType::Float32,
        "f8" | "d" => DType::Float64,
        "c8" | "F" => DType::Complex64,
        "c16" | "D" => DType::Complex128,
        "i1" | "b" => DType::Int8,
        "i2" | "h" => DType::Int16,
        "i4" | "i" => DType::Int32,
        "i8" | "q" => DType::Int64,
        "u1" | "B" => DType::Uint8,
        "u2" | "H" => DType::Uint16,
        "u4" | "I" => DType::Uint32,
        "b1" | "?" => DType::Bool,
        _ => bail!(
            "unsupported .npy dtype {d:?} (floats, complex64/128, integers and bools are \
             understood; convert it with numpy's astype)"
        ),
    };
    Ok((dtype, order == '>'))
}

/// Converts an IEEE half-precision bit pattern to f64, exactly.
///
/// Branch-free, so a loop of it vectorises: the half's magnitude bits shifted into a
/// float32 give the same value scaled by 2^-112 (a normal half lands on a normal or
/// subnormal float32 with the same mantissa, a subnormal half on a subnormal one), and
/// multiplying by 2^112 is exact. Infinity and NaN (exponent all ones) get the float32
/// exponent all ones instead; a NaN keeps its payload.
#[inline(always)]
pub fn f16_to_f64(h: u16) -> f64 {
    const TWO_POW_112: f32 = f32::from_bits((127 + 112) << 23);
    const HALF_EXP_MAX: u32 = 0x1f << 23; // the half's exponent bits, once shifted
    let h = u32::from(h);
    let sign = (h & 0x8000) << 16;
    let shifted = (h & 0x7fff) << 13;
    let finite = f32::from_bits(shifted) * TWO_POW_112;
    let special = f32::from_bits(shifted | 0x7f80_0000);
    let magnitude = if shifted >= HALF_EXP_MAX {
        special
    } else {
        finite
    };
    f64::from(f32::from_bits(magnitude.to_bits() | sign))
}

multiversion! {
    /// Little-endian float16 to float64, by the variant compiled for `level` when this
    /// CPU has it (see `simd`); the same values whichever runs.
    pub fn decode_f16_le(bytes: &[u8], out: &mut Vec<f64>) = decode_f16_le_body;
}

#[inline(always)]
fn decode_f16_le_body(bytes: &[u8], out: &mut Vec<f64>) {
    // Into a sized buffer rather than through `extend`, whose generic body is not inlined
    // into the variant and so would run without its instruction set.
    out.clear();
    out.resize(bytes.len() / 2, 0.0);
    for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
        *o = f16_to_f64(u16::from_le_bytes([c[0], c[1]]));
    }
}

multiversion! {
    /// Little-endian float32 to float64, by the variant compiled for `level` when this
    /// CPU has it (see `simd`); the same values whichever runs.
    pub fn decode_f32_le(bytes: &[u8], out: &mut Vec<f64>) = decode_f32_le_body;
}

#[inline(always)]
fn decode_f32_le_body(bytes: &[u8], out: &mut Vec<f64>) {
    decode(DType::Float32, false, bytes, out);
}

/// Decodes whole elements from `bytes` (a multiple of the element size) into `out`:
/// one float64 per element, two (real, imaginary) for complex dtypes.
#[inline(always)]
pub fn decode(dtype: DType, big_endian: bool, bytes: &[u8], out: &mut Vec<f64>) {
    out.clear();
    macro_rules! conv {
        ($t:ty, $n:expr) => {{
            // `extend` over an exact-size iterator lets the conversion vectorise.
            let it = bytes.chunks_exact($n).map(|c| {
                let mut a = [0u8; $n];
                a.copy_from_slice(c);
                a
            });
            if big_endian {
                out.extend(it.map(|a| <$t>::from_be_bytes(a) as f64));
            } else {
                out.extend(it.map(|a| <$t>::from_le_bytes(a) as f64));
            }
        }};
    }
    match dtype {
        DType::Float32 => conv!(f32, 4),
        DType::Float64 | DType::Complex128 => conv!(f64, 8),
        DType::Complex64 => conv!(f32, 4),
        DType::Int8 => conv!(i8, 1),
        DType::Int16 => conv!(i16, 2),
        DType::Int32 => conv!(i32, 4),
        DType::Int64 => conv!(i64, 8),
        DType::Uint8 => conv!(u8, 1),
        DType::Uint16 => conv!(u16, 2),
        DType::Uint32 => conv!(u32, 4),
        DType::Bool => out.extend(bytes.iter().map(|&b| f64::from(u8::from(b != 0)))),
        DType::Float16 => {
            let it = bytes.chunks_exact(2).map(|c| [c[0], c[1]]);
            if big_endian {
                out.extend(it.map(|a| f16_to_f64(u16::from_be_bytes(a))));
            } else {
                out.extend(it.map(|a| f16_to_f64(u16::from_le_bytes(a))));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn float32_decodes_alike_with_every_instruction_set() {
        let values: Vec<f32> = (0..1001)
            .map(|i| ((i as f32) * 0.731).sin() * 1e3)
            .chain([f32::NAN, f32::INFINITY, -0.0, f32::MIN_POSITIVE / 4.0])
            .collect();
        let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut want = Vec::new();
        decode(DType::Float32, false, &bytes, &mut want);
        for level in Level::ALL.into_iter().filter(|l| l.supported()) {
            let mut got = vec![1.0; 3];
            decode_f32_le(level, &bytes, &mut got);
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{level:?}");
        }
    }

    #[test]
    fn parses_numpy_headers() {
        let h = parse_dict("{'descr': '<f4', 'fortran_order': False, 'shape': (1, 4, 2048), }")
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(h.dtype, DType::Float32);
        assert_eq!(h.shape, vec![1, 4, 2048]);
        assert!(!h.fortran_order && !h.big_endian);
        let s = parse_dict("{'descr': '>i2', 'fortran_order': True, 'shape': (7,), }")
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(
            (s.dtype, s.big_endian, s.fortran_order),
            (DType::Int16, true, true)
        );
        assert_eq!(s.shape, vec![7]);
        let scalar = parse_dict("{'descr': '<f8', 'fortran_order': False, 'shape': (), }")
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(scalar.len(), 1);
        let c = parse_dict("{'descr': '<c8', 'fortran_order': False, 'shape': (2,), }")
            .unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!((c.dtype, c.data_bytes()), (DType::Complex64, 16));
        assert!(parse_dict("{'descr': '<V8', 'fortran_order': False, 'shape': (2,), }").is_err());
        let wraps = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }";
        let err = parse_dict(wraps)
            .expect_err("a shape whose element count wraps is refused")
            .to_string();
        assert!(err.contains("64 bits"), "{err}");
        let bytes_wrap =
            "{'descr': '<f8', 'fortran_order': False, 'shape': (4611686018427387904,), }";
        assert!(parse_dict(bytes_wrap).is_err(), "8 · 2^62 bytes overflow");
    }

    #[test]
    fn header_bytes_and_data_offset() {
        let dict = b"{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776,), }\n";
        let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
        bytes.extend((dict.len() as u16).to_le_bytes());
        bytes.extend(dict);
        let h = parse_header(&bytes).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(h.data_offset, 10 + dict.len() as u64);
        assert_eq!(h.data_bytes(), 4 << 40);
        let err = h
            .check_available(16)
            .expect_err("16 bytes are not 4 TiB")
            .to_string();
        assert!(
            err.contains("4398046511104 bytes") && err.contains("only 16"),
            "{err}"
        );
        assert!(parse_header(&bytes[..12]).is_err());
    }

    /// The half-precision value by its definition, (-1)^s · 2^(e-15) · (1 + m/1024), to
    /// check the bit conversion against.
    fn f16_by_definition(h: u16) -> f64 {
        let sign = if h & 0x8000 != 0 { -1.0 } else { 1.0 };
        let exp = i32::from((h >> 10) & 0x1f);
        let frac = f64::from(h & 0x3ff);
        match exp {
            0 => sign * frac * 2f64.powi(-24),
            31 if frac == 0.0 => sign * f64::INFINITY,
            31 => f64::NAN,
            _ => sign * (1.0 + frac / 1024.0) * 2f64.powi(exp - 15),
        }
    }

    #[test]
    fn every_half_converts_exactly() {
        let bytes: Vec<u8> = (0..=u16::MAX).flat_map(u16::to_le_bytes).collect();
        for level in crate::simd::Level::ALL
            .into_iter()
            .filter(|l| l.supported())
        {
            let mut out = Vec::new();
            decode_f16_le(level, &bytes, &mut out);
            assert_eq!(out.len(), 65536);
            for (h, got) in (0..=u16::MAX).zip(&out) {
                let want = f16_by_definition(h);
                if want.is_nan() {
                    assert!(got.is_nan(), "{h:#06x} ({}): {got}", level.name());
                } else {
                    // Bits, so that -0.0 and 0.0 are told apart.
                    assert_eq!(got.to_bits(), want.to_bits(), "{h:#06x} ({})", level.name());
                }
            }
        }
        let mut big = Vec::new();
        decode(DType::Float16, true, &0x3c00u16.to_be_bytes(), &mut big);
        assert_eq!(big, vec![1.0]);
    }

    #[test]
    fn half_precision() {
        assert_eq!(f16_to_f64(0x3c00), 1.0);
        assert_eq!(f16_to_f64(0xc000), -2.0);
        assert_eq!(f16_to_f64(0x0001), 2f64.powi(-24));
        assert!(f16_to_f64(0x7e00).is_nan());
        assert_eq!(f16_to_f64(0x7c00), f64::INFINITY);
    }

    #[test]
    fn decodes_little_and_big_endian() {
        let mut out = Vec::new();
        decode(DType::Float32, false, &1.5f32.to_le_bytes(), &mut out);
        assert_eq!(out, vec![1.5]);
        decode(DType::Int16, true, &(-3i16).to_be_bytes(), &mut out);
        assert_eq!(out, vec![-3.0]);
        let c: Vec<u8> = [1.5f32, -2.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        decode(DType::Complex64, false, &c, &mut out);
        assert_eq!(out, vec![1.5, -2.0], "real, imaginary");
    }

    #[test]
    fn names_and_descriptors_round_trip() {
        for d in DType::ALL {
            assert_eq!(DType::from_name(d.name()), Some(d));
            let (parsed, big) = parse_descr(d.descr()).unwrap_or_else(|e| panic!("{e:#}"));
            assert_eq!((parsed, big), (d, false), "{}", d.descr());
            assert_eq!(d.lanes() == 2, d.kind() == Kind::Complex);
        }
    }
}

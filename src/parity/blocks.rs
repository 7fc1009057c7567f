//! Decoding a chunk pair of raw array bytes into float64 blocks small enough to stay in
//! L1 cache while the metrics run over them; complex pairs are folded into the real pairs
//! the metrics take (see `complex`).

use super::complex;
use super::source::Decoder;
use crate::npy::Kind;
use crate::simd::Level;

/// Decodes a chunk pair block by block into reused L1-sized buffers; complex pairs are
/// folded into real ones (see `complex`).
pub struct Blocks {
    dr: Decoder,
    dc: Decoder,
    level: Level,
    complex: bool,
    r: Vec<f64>,
    c: Vec<f64>,
    x: Vec<f64>,
    y: Vec<f64>,
}

impl Blocks {
    pub fn new(dr: Decoder, dc: Decoder, level: Level, complex: bool) -> Self {
        Blocks {
            dr,
            dc,
            level,
            complex,
            r: Vec::with_capacity(BLOCK),
            c: Vec::with_capacity(BLOCK),
            x: Vec::new(),
            y: Vec::new(),
        }
    }

    /// Calls `f` on each decoded block of the equally long (in elements) `rb` and `cb`,
    /// with the cosine terms of complex blocks.
    pub fn each(
        &mut self,
        rb: &[u8],
        cb: &[u8],
        mut f: impl FnMut(&[f64], &[f64], Option<(f64, f64)>),
    ) {
        let (sr, sc) = (self.dr.size(), self.dc.size());
        for (x, y) in rb.chunks(BLOCK * sr).zip(cb.chunks(BLOCK * sc)) {
            self.dr.decode_with(self.level, x, &mut self.r);
            self.dc.decode_with(self.level, y, &mut self.c);
            if self.complex {
                let products = complex::fold(&self.r, &self.c, &mut self.x, &mut self.y);
                f(&self.x, &self.y, Some(products));
            } else {
                f(&self.r, &self.c, None);
            }
        }
    }
}

/// The kind of number a source decodes (WAV samples are floats).
pub fn kind(d: Decoder) -> Kind {
    match d {
        Decoder::Npy(dtype, _) => dtype.kind(),
        Decoder::Wav(_) => Kind::Float,
    }
}

/// Elements per decoded block: two float64 blocks (32 KiB) fit in L1 data cache.
pub const BLOCK: usize = 2048;

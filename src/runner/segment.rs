//! Segmenting: the spec's `segmenting:` section and its geometry — where each segment of the
//! audio starts, how it is padded, and how the segments' outputs are weighted and summed back
//! into one full-length output, as demucs's `apply_model(..., split=True)` does.
//!
//! For an input of `T` samples, segments of `L = samples` start every
//! `stride = int((1 - overlap) * L)` samples: `offset = 0, stride, 2·stride, … < T`. A segment
//! covers `n = min(L, T - offset)` samples; the stages always see `L` samples, taken from
//! `offset - (L - n) / 2` on, with zeros outside the audio (so a short last segment is
//! centred on real audio before it, as demucs's `TensorChunk.padded` does). Each output of
//! the segmented range is trimmed back to its `n` samples (the extra `(L - n) / 2` on the
//! left), multiplied by `w[0..n]`, and added at `offset`; at the end every sample is divided
//! by the sum of the weights that covered it. `w` is a triangle, `1, 2, …, L/2, L - L/2, …,
//! 2, 1`, divided by its maximum and raised to `transition_power`.
//! The run itself (stages per segment, timings, captures) is in `segment_run.rs`.

use serde::{Deserialize, Serialize};

use super::array::ArrayF32;
use super::spec::{StageSpec, AUDIO};

/// The longest segment a spec may ask for (about 50 minutes at 44.1 kHz): anything longer
/// is a typo that would size buffers from nonsense.
pub const MAX_SEGMENT_SAMPLES: usize = 1 << 27;
/// The most segments one input may split into; a stride of a few samples is a typo.
pub const MAX_SEGMENTS: usize = 100_000;

/// The `segmenting:` section of a pipeline spec.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Segmenting {
    /// Segment length in samples (HTDemucs: 7.8 s × 44.1 kHz = 343,980).
    pub samples: usize,
    /// Fraction of a segment shared with the next one, in `[0, 1)` (demucs: 0.25).
    #[serde(default = "default_overlap")]
    pub overlap: f64,
    /// Exponent of the triangular cross-fade weight, at least 1 (demucs: 1).
    #[serde(default = "default_transition_power")]
    pub transition_power: f64,
    /// First stage run per segment [default: the first stage].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first: Option<String>,
    /// Last stage run per segment; its outputs are overlap-added [default: the last stage].
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last: Option<String>,
}

fn default_overlap() -> f64 {
    0.25
}

fn default_transition_power() -> f64 {
    1.0
}

/// One segment of the input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// Where its samples go in the full-length output.
    pub offset: usize,
    /// How many output samples it contributes (`min(L, T - offset)`).
    pub length: usize,
    /// Where the `L` samples the stages see start in the input (may be negative: zeros).
    pub start: i64,
}

impl Segmenting {
    /// Samples between the starts of two segments.
    pub fn stride(&self) -> usize {
        // Python's `int((1 - overlap) * segment_length)`: f64 arithmetic, truncated.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        let stride = ((1.0 - self.overlap) * self.samples as f64) as usize;
        stride
    }

    /// Indices of the first and last segmented stage (call after [`Self::validate`]).
    pub fn range(&self, stages: &[StageSpec]) -> (usize, usize) {
        let find = |name: &Option<String>, default: usize| {
            name.as_ref()
                .and_then(|n| stages.iter().position(|s| &s.name == n))
                .unwrap_or(default)
        };
        (
            find(&self.first, 0),
            find(&self.last, stages.len().saturating_sub(1)),
        )
    }

    /// Checks the numbers and the range against the stages; returns what is wrong.
    pub fn validate(&self, stages: &[StageSpec]) -> Result<(), String> {
        if self.samples == 0 || self.samples > MAX_SEGMENT_SAMPLES {
            return Err(format!(
                "segmenting.samples: {} is outside the supported 1..={MAX_SEGMENT_SAMPLES}",
                self.samples
            ));
        }
        if !(self.overlap.is_finite() && (0.0..1.0).contains(&self.overlap)) {
            return Err(format!(
                "segmenting.overlap must be a fraction in [0, 1) (demucs uses 0.25), got {}",
                self.overlap
            ));
        }
        if self.stride() == 0 {
            return Err(format!(
                "segmenting: overlap {} leaves no stride between segments of {} samples; lower it",
                self.overlap, self.samples
            ));
        }
        if !(self.transition_power.is_finite() && self.transition_power >= 1.0) {
            return Err(format!(
                "segmenting.transition_power must be a number ≥ 1 (demucs uses 1), got {}",
                self.transition_power
            ));
        }
        for (key, name) in [("first", &self.first), ("last", &self.last)] {
            if let Some(n) = name {
                if !stages.iter().any(|s| &s.name == n) {
                    return Err(format!(
                        "segmenting.{key}: no stage named `{n}` (stages: {})",
                        names(stages)
                    ));
                }
            }
        }
        let (first, last) = self.range(stages);
        if first > last {
            return Err(format!(
                "segmenting: `first` ({}) comes after `last` ({}); list them in pipeline order",
                stages[first].name, stages[last].name
            ));
        }
        let inside: Vec<&str> = stages[first..=last]
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        for stage in &stages[first..=last] {
            for input in &stage.inputs {
                let producer = input.from.split('.').next().unwrap_or_default();
                if input.from != AUDIO && !inside.contains(&producer) {
                    return Err(format!(
                        "segmenting: stage `{}` runs per segment but its input `{}` comes from `{}`, \
                         outside the segmented stages ({}); a segmented stage reads `audio` or another \
                         segmented stage — start the range earlier with `segmenting.first`",
                        stage.name,
                        input.name,
                        input.from,
                        inside.join(", ")
                    ));
                }
            }
        }
        let last_name = &stages[last].name;
        for stage in &stages[last + 1..] {
            for input in &stage.inputs {
                let producer = input.from.split('.').next().unwrap_or_default();
                if inside.contains(&producer) && producer != last_name {
                    return Err(format!(
                        "segmenting: stage `{}` reads `{}`, a per-segment output; only the outputs of \
                         the last segmented stage (`{last_name}`) are overlap-added into full-length \
                         arrays — end the range later with `segmenting.last`",
                        stage.name, input.from
                    ));
                }
            }
        }
        Ok(())
    }

    /// The segments of an input of `total` samples, or why it cannot be split.
    pub fn windows(&self, total: usize) -> Result<Vec<Window>, String> {
        if total == 0 {
            return Err("the audio is empty: there is nothing to split into segments".into());
        }
        let stride = self.stride();
        let count = total.div_ceil(stride);
        if count > MAX_SEGMENTS {
            return Err(format!(
                "{total} samples in segments every {stride} samples make {count} segments, more than \
                 {MAX_SEGMENTS}; check segmenting.samples and segmenting.overlap"
            ));
        }
        let half_pad = |length: usize| i64::try_from((self.samples - length) / 2).unwrap_or(0);
        Ok((0..count)
            .map(|i| {
                let offset = i * stride;
                let length = self.samples.min(total - offset);
                let start = i64::try_from(offset).unwrap_or(i64::MAX) - half_pad(length);
                Window {
                    offset,
                    length,
                    start,
                }
            })
            .collect())
    }

    /// The cross-fade weight of each of a segment's `L` samples.
    pub fn weights(&self) -> Vec<f64> {
        let l = self.samples;
        let peak = (l - l / 2) as f64;
        (0..l)
            .map(|j| {
                let rise = if j < l / 2 { j + 1 } else { l - j };
                (rise as f64 / peak).powf(self.transition_power)
            })
            .collect()
    }
}

fn names(stages: &[StageSpec]) -> String {
    stages
        .iter()
        .map(|s| s.name.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The `L` samples of `window` from `array` (shape `[..., T]`), zero outside `0..T`.
pub fn cut(array: &ArrayF32, window: &Window, samples: usize) -> Result<ArrayF32, String> {
    let shape = array.shape();
    let total = *shape.last().ok_or("a scalar has no samples to cut")?;
    let rows = array.data().len().checked_div(total).unwrap_or(0);
    let mut data = vec![0.0_f32; rows * samples];
    // The part of the window inside the audio: [lo, hi) in input samples.
    let total_i = i64::try_from(total).map_err(|e| e.to_string())?;
    let samples_i = i64::try_from(samples).map_err(|e| e.to_string())?;
    let lo = window.start.clamp(0, total_i);
    let hi = (window.start + samples_i).clamp(0, total_i);
    if hi > lo {
        let skip = usize::try_from(lo - window.start).map_err(|e| e.to_string())?;
        let (lo, hi) = (
            usize::try_from(lo).map_err(|e| e.to_string())?,
            usize::try_from(hi).map_err(|e| e.to_string())?,
        );
        for (row, out) in array
            .data()
            .chunks_exact(total)
            .zip(data.chunks_exact_mut(samples))
        {
            out[skip..skip + (hi - lo)].copy_from_slice(&row[lo..hi]);
        }
    }
    let mut out_shape = shape.to_vec();
    if let Some(last) = out_shape.last_mut() {
        *last = samples;
    }
    ArrayF32::new(out_shape, data).map_err(|e| e.to_string())
}

/// The weighted sum of segment outputs that becomes one full-length output.
#[derive(Debug)]
pub struct OverlapAdd {
    /// Shape of one segment's output (last axis `L`).
    segment_shape: Vec<usize>,
    total: usize,
    sum: Vec<f64>,
    weight_sum: Vec<f64>,
}

impl OverlapAdd {
    /// An empty sum for outputs shaped like `segment_shape` over `total` samples.
    pub fn new(segment_shape: &[usize], total: usize) -> Self {
        let rows: usize = segment_shape
            .iter()
            .rev()
            .skip(1)
            .product::<usize>()
            .max(usize::from(!segment_shape.is_empty()));
        Self {
            segment_shape: segment_shape.to_vec(),
            total,
            sum: vec![0.0; rows * total],
            weight_sum: vec![0.0; total],
        }
    }

    /// Adds one segment's output, trimmed to the window and weighted by `weights[0..n]`.
    pub fn add(
        &mut self,
        window: &Window,
        output: &ArrayF32,
        weights: &[f64],
    ) -> Result<(), String> {
        let samples = weights.len();
        if output.shape() != self.segment_shape.as_slice() {
            return Err(format!(
                "has shape {:?} in this segment but {:?} in the first; every segment's output must have the same shape",
                output.shape(),
                self.segment_shape
            ));
        }
        let trim = (samples - window.length) / 2;
        let (offset, n) = (window.offset, window.length);
        for (row, sum) in output
            .data()
            .chunks_exact(samples)
            .zip(self.sum.chunks_exact_mut(self.total))
        {
            let values = &row[trim..trim + n];
            for ((s, v), w) in sum[offset..offset + n].iter_mut().zip(values).zip(weights) {
                *s += w * f64::from(*v);
            }
        }
        for (s, w) in self.weight_sum[offset..offset + n].iter_mut().zip(weights) {
            *s += w;
        }
        Ok(())
    }

    /// The full-length output: every sample divided by the weights that covered it.
    pub fn finish(self) -> Result<ArrayF32, String> {
        let mut shape = self.segment_shape;
        if let Some(last) = shape.last_mut() {
            *last = self.total;
        }
        let total = self.total;
        let data = self
            .sum
            .chunks_exact(total.max(1))
            .flat_map(|row| {
                row.iter()
                    .zip(&self.weight_sum)
                    .map(|(s, w)| if *w > 0.0 { (s / w) as f32 } else { 0.0 })
            })
            .collect();
        ArrayF32::new(shape, data).map_err(|e| e.to_string())
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
#[path = "segment_tests.rs"]
mod tests;

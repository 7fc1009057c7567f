//! A segmented run: the stages before the segmented range on the whole audio, the range once
//! per segment (each a `run_pipeline` call), its last stage's outputs overlap-added, then the
//! stages after it on the full-length results.
//!
//! A segmented stage's sample `r` is the sum over segments of each segment's repetition `r`
//! (the whole input's figure); per-segment samples go under
//! `$meta.backends.<backend>.segments`. Load time: the first segment's; peak: the highest.
//! Captures hold `audio` and the last stage's outputs at full length; other segmented
//! outputs are stacked per segment along the first axis (`[1, 4, F, T]` of 5 segments is
//! `[5, 4, F, T]`), which an isolated run slices back apart (docs/segmenting.md).

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::array::ArrayF32;
use super::error::RunnerError;
use super::schedule::{run_pipeline, Backend, RunOutcome, RunPlan, StageTiming};
use super::segment::{cut, OverlapAdd, Segmenting, Window};
use super::spec::{PipelineSpec, AUDIO};

/// Runs `spec` on `backend`, in segments when the spec has a `segmenting:` section; returns
/// the outcome and, when segmented, the per-segment report for the results' metadata.
pub fn run_segmented<B: Backend>(
    backend: &mut B,
    spec: &PipelineSpec,
    mut plan: RunPlan,
    audio: &ArrayF32,
) -> Result<(RunOutcome, Option<Value>), RunnerError> {
    let Some(seg) = &spec.segmenting else {
        return run_pipeline(backend, spec, &plan, audio).map(|o| (o, None));
    };
    if plan.repeat == 0 {
        return Err(RunnerError::Usage("--repeat must be at least 1".into()));
    }
    let (first, last) = seg.range(&spec.stages);
    // Taken out so each sub-run's plan is a cheap copy; the reference is read, never cloned whole.
    let mut reference = plan.inputs_from.take();
    let capture = plan.capture;
    let part = |stages: std::ops::Range<usize>| PipelineSpec {
        stages: spec.stages[stages].to_vec(),
        segmenting: None,
        ..spec.clone()
    };
    let mut outcome = RunOutcome::default();
    // Full-length arrays later stages may read: the audio and the pre-range outputs.
    let mut known: BTreeMap<String, ArrayF32> = BTreeMap::new();
    known.insert(AUDIO.to_string(), audio.clone());
    if capture {
        outcome.captured.push((AUDIO.to_string(), audio.clone()));
    }
    if first > 0 {
        // The plan lends the reference to this sub-run and gets it back: never copied.
        plan.capture = true;
        plan.inputs_from = reference;
        let pre = run_pipeline(backend, &part(0..first), &plan, audio);
        reference = plan.inputs_from.take();
        plan.capture = capture;
        absorb(&mut outcome, pre?, capture, &mut known);
    }

    let total = audio.shape().last().copied().unwrap_or(0);
    let windows = seg
        .windows(total)
        .map_err(|m| RunnerError::Usage(format!("{}: {m}", plan.audio_source.display())))?;
    let segmented = SegmentedRange {
        seg,
        windows: &windows,
        last: &spec.stages[last].name,
    };
    let ranged = segmented.run(
        backend,
        &part(first..last + 1),
        &plan,
        audio,
        reference.as_ref(),
    )?;
    let report = segmented.report(&ranged.timings);
    outcome.process_peak_bytes = outcome.process_peak_bytes.max(ranged.peak);
    outcome.skipped.extend(ranged.skipped);
    for (timing, _) in ranged.timings {
        outcome.stages.push(timing);
    }
    if capture {
        outcome.captured.extend(ranged.stacked);
    }
    for (name, array) in ranged.added {
        if capture {
            outcome.captured.push((name.clone(), array.clone()));
        }
        known.insert(name, array);
    }

    if last + 1 < spec.stages.len() {
        // Later stages read full-length arrays: this run's own (chained) or the reference's.
        let inputs_from = reference.or_else(|| Some((PathBuf::from("(this run)"), known)));
        let sub = RunPlan {
            capture,
            inputs_from,
            ..plan.clone()
        };
        let post = run_pipeline(backend, &part(last + 1..spec.stages.len()), &sub, audio)?;
        absorb(&mut outcome, post, capture, &mut BTreeMap::new());
    }
    Ok((outcome, Some(report)))
}

/// Moves a sub-run's stages and captures into the whole run's outcome.
fn absorb(
    outcome: &mut RunOutcome,
    part: RunOutcome,
    capture: bool,
    known: &mut BTreeMap<String, ArrayF32>,
) {
    outcome.stages.extend(part.stages);
    outcome.skipped.extend(part.skipped);
    outcome.process_peak_bytes = outcome.process_peak_bytes.max(part.process_peak_bytes);
    for (name, array) in part.captured {
        if name == AUDIO {
            continue;
        }
        if capture {
            outcome.captured.push((name.clone(), array.clone()));
        }
        known.insert(name, array);
    }
}

/// The segmented stages and the segments they run over.
struct SegmentedRange<'a> {
    seg: &'a Segmenting,
    windows: &'a [Window],
    last: &'a str,
}

/// What running the range over every segment produced.
struct Ranged {
    /// Per stage: the whole-input timing and each segment's samples.
    timings: Vec<(StageTiming, Vec<Vec<f64>>)>,
    skipped: Vec<String>,
    peak: u64,
    /// The last stage's outputs, overlap-added to full length.
    added: Vec<(String, ArrayF32)>,
    /// The other stages' outputs, stacked per segment (only when capturing).
    stacked: Vec<(String, ArrayF32)>,
}

impl SegmentedRange<'_> {
    fn run<B: Backend>(
        &self,
        backend: &mut B,
        range: &PipelineSpec,
        plan: &RunPlan,
        audio: &ArrayF32,
        reference: Option<&(PathBuf, BTreeMap<String, ArrayF32>)>,
    ) -> Result<Ranged, RunnerError> {
        let samples = self.seg.samples;
        let weights = self.seg.weights();
        let mut ranged = Ranged {
            timings: Vec::new(),
            skipped: Vec::new(),
            peak: 0,
            added: Vec::new(),
            stacked: Vec::new(),
        };
        let mut adders: Vec<(String, OverlapAdd)> = Vec::new();
        let mut parts: Vec<(String, Vec<ArrayF32>)> = Vec::new();
        let prefix = format!("{}.", self.last);
        for (i, window) in self.windows.iter().enumerate() {
            let where_ = self.describe(i, window);
            let piece = cut(audio, window, samples)
                .map_err(|m| RunnerError::Usage(format!("cutting the audio {where_}: {m}")))?;
            let inputs_from = match reference {
                Some((path, arrays)) => Some((
                    path.clone(),
                    self.reference_piece(range, arrays, path, i, window)?,
                )),
                None => None,
            };
            let sub = RunPlan {
                capture: true,
                inputs_from,
                ..plan.clone()
            };
            let out =
                run_pipeline(backend, range, &sub, &piece).map_err(|e| in_segment(e, &where_))?;
            ranged.peak = ranged.peak.max(out.process_peak_bytes);
            if i == 0 {
                ranged.skipped = out.skipped.clone();
            }
            self.add_timings(&mut ranged.timings, out.stages, i)?;
            for (name, array) in out.captured {
                if name == AUDIO {
                    continue;
                }
                if name.starts_with(&prefix) {
                    if i == 0 {
                        adders.push((
                            name.clone(),
                            OverlapAdd::new(array.shape(), total_of(audio)),
                        ));
                    }
                    let Some((_, adder)) = adders.iter_mut().find(|(n, _)| *n == name) else {
                        continue;
                    };
                    check_length(&name, &array, samples, &where_)?;
                    adder.add(window, &array, &weights).map_err(|m| {
                        RunnerError::Usage(format!("output `{name}` {m} ({where_})"))
                    })?;
                } else if plan.capture {
                    match parts.iter_mut().find(|(n, _)| *n == name) {
                        Some((_, list)) => list.push(array),
                        None => parts.push((name, vec![array])),
                    }
                }
            }
        }
        for (name, adder) in adders {
            let full = adder
                .finish()
                .map_err(|m| RunnerError::Usage(format!("output `{name}`: {m}")))?;
            ranged.added.push((name, full));
        }
        for (name, list) in parts {
            let stacked =
                stack(list).map_err(|m| RunnerError::Usage(format!("output `{name}`: {m}")))?;
            ranged.stacked.push((name, stacked));
        }
        Ok(ranged)
    }

    fn describe(&self, i: usize, w: &Window) -> String {
        format!(
            "in segment {} of {} (samples {}..{})",
            i + 1,
            self.windows.len(),
            w.offset,
            w.offset + w.length
        )
    }

    /// Segment `i`'s reference: its cut of the audio and its slice of each stacked output.
    fn reference_piece(
        &self,
        range: &PipelineSpec,
        arrays: &BTreeMap<String, ArrayF32>,
        path: &std::path::Path,
        i: usize,
        window: &Window,
    ) -> Result<BTreeMap<String, ArrayF32>, RunnerError> {
        let mut piece = BTreeMap::new();
        for stage in &range.stages {
            for input in &stage.inputs {
                let Some(array) = arrays.get(&input.from) else {
                    continue; // run_pipeline names what is missing
                };
                let value = if input.from == AUDIO {
                    cut(array, window, self.seg.samples)
                } else {
                    slice_segment(array, i, self.windows.len())
                };
                let value = value.map_err(|m| {
                    RunnerError::stage(&stage.name, path, format!("array `{}` {m}", input.from))
                })?;
                piece.insert(input.from.clone(), value);
            }
        }
        Ok(piece)
    }

    /// Adds segment `i`'s stage timings to the whole-input ones.
    fn add_timings(
        &self,
        timings: &mut Vec<(StageTiming, Vec<Vec<f64>>)>,
        stages: Vec<StageTiming>,
        i: usize,
    ) -> Result<(), RunnerError> {
        if i == 0 {
            timings.extend(stages.into_iter().map(|t| {
                let per = vec![t.samples.clone()];
                (t, per)
            }));
            return Ok(());
        }
        if stages.len() != timings.len() {
            return Err(RunnerError::Usage(format!(
                "segment {} ran {} stage(s) but the first segment ran {}",
                i + 1,
                stages.len(),
                timings.len()
            )));
        }
        for ((whole, per), t) in timings.iter_mut().zip(stages) {
            for (sum, s) in whole.samples.iter_mut().zip(&t.samples) {
                *sum += s;
            }
            whole.peak_bytes = match (whole.peak_bytes, t.peak_bytes) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            };
            per.push(t.samples);
        }
        Ok(())
    }

    /// The per-segment figures for `$meta.backends.<backend>.segments`.
    fn report(&self, timings: &[(StageTiming, Vec<Vec<f64>>)]) -> Value {
        let stage_sec: serde_json::Map<String, Value> = timings
            .iter()
            .map(|(t, per)| (t.name.clone(), json!(per)))
            .collect();
        json!({
            "samples": self.seg.samples,
            "overlap": self.seg.overlap,
            "transition_power": self.seg.transition_power,
            "stride": self.seg.stride(),
            "stages": timings.iter().map(|(t, _)| t.name.clone()).collect::<Vec<_>>(),
            "windows": self.windows.iter().map(|w| json!({"offset": w.offset, "length": w.length})).collect::<Vec<_>>(),
            "stage_sec": stage_sec,
        })
    }
}

fn total_of(audio: &ArrayF32) -> usize {
    audio.shape().last().copied().unwrap_or(0)
}

fn check_length(
    name: &str,
    array: &ArrayF32,
    samples: usize,
    where_: &str,
) -> Result<(), RunnerError> {
    if array.shape().last() == Some(&samples) {
        return Ok(());
    }
    Err(RunnerError::Usage(format!(
        "output `{name}` has shape {:?} {where_}, but the outputs of the last segmented stage are \
         overlap-added along their last axis, which must be the segment length {samples}; end the \
         range at a stage whose outputs are audio (`segmenting.last`)",
        array.shape()
    )))
}

/// Adds where a segmented stage failed to its message.
fn in_segment(e: RunnerError, where_: &str) -> RunnerError {
    match e {
        RunnerError::Stage {
            stage,
            file,
            message,
        } => RunnerError::Stage {
            stage,
            file,
            message: format!("{message} ({where_})"),
        },
        other => other,
    }
}

/// Concatenates per-segment arrays along their first axis, consuming them.
pub fn stack(parts: Vec<ArrayF32>) -> Result<ArrayF32, String> {
    let Some(first) = parts.first() else {
        return Err("no segments".into());
    };
    let mut shape = first.shape().to_vec();
    let tail = shape
        .get(1..)
        .map(<[usize]>::to_vec)
        .ok_or("a scalar cannot be stacked")?;
    let mut lead = 0;
    let mut data = Vec::with_capacity(first.data().len() * parts.len());
    for p in parts {
        let (s, d) = p.into_parts();
        if s.get(1..) != Some(tail.as_slice()) {
            return Err(format!(
                "has shape {s:?} in one segment and {shape:?} in another; per-segment outputs are \
                 stacked along their first axis, so the others must agree"
            ));
        }
        lead += s[0];
        data.extend_from_slice(&d);
    }
    shape[0] = lead;
    ArrayF32::new(shape, data).map_err(|e| e.to_string())
}

/// Segment `i` of `count` from an array stacked along its first axis.
pub fn slice_segment(array: &ArrayF32, i: usize, count: usize) -> Result<ArrayF32, String> {
    let lead = array.shape().first().copied().unwrap_or(0);
    if count == 0 || lead % count != 0 {
        return Err(format!(
            "has {lead} row(s) along its first axis, not a multiple of the {count} segment(s) this \
             audio splits into; capture the reference with the same `segmenting:` and audio"
        ));
    }
    let per = lead / count;
    let row = array.data().len() / lead.max(1);
    let mut shape = array.shape().to_vec();
    shape[0] = per;
    let data = array.data()[i * per * row..(i + 1) * per * row].to_vec();
    ArrayF32::new(shape, data).map_err(|e| e.to_string())
}

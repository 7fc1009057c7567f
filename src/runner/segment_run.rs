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

use super::array::{Array, ArrayF32};
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
    // Stage selection names stages of the whole spec: checked here once, then handed to each
    // sub-run as the stages of its own part that do not run.
    plan.routing.check(spec)?;
    plan.routing.skip = spec
        .stages
        .iter()
        .map(|s| s.name.clone())
        .filter(|n| {
            (!plan.routing.only.is_empty() && !plan.routing.only.contains(n))
                || plan.routing.skip.contains(n)
        })
        .collect();
    plan.routing.only.clear();
    // Taken out so each sub-run's plan is a cheap copy; the reference is read, never cloned whole.
    let mut reference = plan.inputs_from.take();
    let capture = plan.capture;
    let part = |stages: std::ops::Range<usize>| PipelineSpec {
        stages: spec.stages[stages].to_vec(),
        segmenting: None,
        ..spec.clone()
    };
    let sub_routing = |part: &PipelineSpec, routing: &super::route::StageRouting| {
        let mut r = routing.clone();
        r.skip.retain(|n| part.stages.iter().any(|s| &s.name == n));
        r
    };
    let mut outcome = RunOutcome::default();
    // Full-length arrays later stages may read: the audio and the pre-range outputs.
    let mut known: BTreeMap<String, Array> = BTreeMap::new();
    known.insert(AUDIO.to_string(), Array::from_f32(audio));
    if capture {
        outcome
            .captured
            .push((AUDIO.to_string(), Array::from_f32(audio)));
    }
    if first > 0 {
        // The plan lends the reference to this sub-run and gets it back: never copied.
        plan.capture = true;
        plan.inputs_from = reference;
        let pre_spec = part(0..first);
        let whole = std::mem::take(&mut plan.routing);
        plan.routing = sub_routing(&pre_spec, &whole);
        let pre = run_pipeline(backend, &pre_spec, &plan, audio);
        plan.routing = whole;
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
    let range_spec = part(first..last + 1);
    let range_plan = RunPlan {
        routing: sub_routing(&range_spec, &plan.routing),
        ..plan.clone()
    };
    let ranged = segmented.run(backend, &range_spec, &range_plan, audio, reference.as_ref())?;
    let report = segmented.report(&ranged.timings);
    outcome.process_peak_bytes = outcome.process_peak_bytes.max(ranged.peak);
    outcome.skipped.extend(ranged.skipped);
    outcome.not_run.extend(ranged.not_run);
    outcome.from_reference.extend(ranged.from_reference);
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
        let post_spec = part(last + 1..spec.stages.len());
        let sub = RunPlan {
            capture,
            inputs_from,
            routing: sub_routing(&post_spec, &plan.routing),
            ..plan.clone()
        };
        let post = run_pipeline(backend, &post_spec, &sub, audio)?;
        absorb(&mut outcome, post, capture, &mut BTreeMap::new());
    }
    Ok((outcome, Some(report)))
}

/// Moves a sub-run's stages and captures into the whole run's outcome.
fn absorb(
    outcome: &mut RunOutcome,
    part: RunOutcome,
    capture: bool,
    known: &mut BTreeMap<String, Array>,
) {
    outcome.stages.extend(part.stages);
    outcome.skipped.extend(part.skipped);
    outcome.not_run.extend(part.not_run);
    outcome.from_reference.extend(part.from_reference);
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
    /// Stages not run and why, and arrays taken from `--shared-from` (first segment's).
    not_run: Vec<(String, String)>,
    from_reference: Vec<String>,
    peak: u64,
    /// The last stage's outputs, overlap-added to full length (float32, whatever the
    /// segments' dtype: the weighted sum is computed in float32, as demucs's is).
    added: Vec<(String, Array)>,
    /// The other stages' outputs in their own dtype, stacked per segment (only when capturing).
    stacked: Vec<(String, Array)>,
}

impl SegmentedRange<'_> {
    fn run<B: Backend>(
        &self,
        backend: &mut B,
        range: &PipelineSpec,
        plan: &RunPlan,
        audio: &ArrayF32,
        reference: Option<&(PathBuf, BTreeMap<String, Array>)>,
    ) -> Result<Ranged, RunnerError> {
        let samples = self.seg.samples;
        let weights = self.seg.weights();
        let mut ranged = Ranged {
            timings: Vec::new(),
            skipped: Vec::new(),
            not_run: Vec::new(),
            from_reference: Vec::new(),
            peak: 0,
            added: Vec::new(),
            stacked: Vec::new(),
        };
        let mut adders: Vec<(String, OverlapAdd)> = Vec::new();
        let mut parts: Vec<(String, Vec<Array>)> = Vec::new();
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
            // A `--shared-from` capture holds the range's outputs stacked per segment too.
            let mut routing = plan.routing.clone();
            if let Some((path, arrays)) = &plan.routing.shared_from {
                routing.shared_from = Some((
                    path.clone(),
                    self.reference_piece(range, arrays, path, i, window)?,
                ));
            }
            let sub = RunPlan {
                capture: true,
                inputs_from,
                routing,
                ..plan.clone()
            };
            let out =
                run_pipeline(backend, range, &sub, &piece).map_err(|e| in_segment(e, &where_))?;
            ranged.peak = ranged.peak.max(out.process_peak_bytes);
            if i == 0 {
                ranged.skipped = out.skipped.clone();
                ranged.not_run = out.not_run.clone();
                ranged.from_reference = out.from_reference.clone();
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
                    check_length(&name, array.shape(), samples, &where_)?;
                    let wide = array.to_f32().map_err(|m| {
                        RunnerError::Usage(format!("output `{name}` {m} ({where_})"))
                    })?;
                    adder.add(window, &wide, &weights).map_err(|m| {
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
            ranged.added.push((name, Array::from_f32(&full)));
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
        arrays: &BTreeMap<String, Array>,
        path: &std::path::Path,
        i: usize,
        window: &Window,
    ) -> Result<BTreeMap<String, Array>, RunnerError> {
        let mut piece = BTreeMap::new();
        for stage in &range.stages {
            for input in &stage.inputs {
                let Some(array) = arrays.get(&input.from) else {
                    continue; // run_pipeline names what is missing
                };
                let value = if input.from == AUDIO {
                    array
                        .to_f32()
                        .and_then(|a| cut(&a, window, self.seg.samples))
                        .map(|a| Array::from_f32(&a))
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
    shape: &[usize],
    samples: usize,
    where_: &str,
) -> Result<(), RunnerError> {
    if shape.last() == Some(&samples) {
        return Ok(());
    }
    Err(RunnerError::Usage(format!(
        "output `{name}` has shape {:?} {where_}, but the outputs of the last segmented stage are \
         overlap-added along their last axis, which must be the segment length {samples}; end the \
         range at a stage whose outputs are audio (`segmenting.last`)",
        shape
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

/// Concatenates per-segment arrays along their first axis, consuming them; the dtype is kept.
pub fn stack(parts: Vec<Array>) -> Result<Array, String> {
    let Some(first) = parts.first() else {
        return Err("no segments".into());
    };
    let dtype = first.dtype();
    let mut shape = first.shape().to_vec();
    let tail = shape
        .get(1..)
        .map(<[usize]>::to_vec)
        .ok_or("a scalar cannot be stacked")?;
    let mut lead = 0;
    let mut bytes = Vec::with_capacity(first.bytes().len() * parts.len());
    for p in parts {
        if p.shape().get(1..) != Some(tail.as_slice()) || p.dtype() != dtype {
            return Err(format!(
                "is {} {:?} in one segment and {} {shape:?} in another; per-segment outputs are \
                 stacked along their first axis, so the others must agree",
                p.dtype().name(),
                p.shape(),
                dtype.name()
            ));
        }
        lead += p.shape()[0];
        bytes.extend_from_slice(p.bytes());
    }
    shape[0] = lead;
    Array::from_bytes(dtype, shape, bytes).map_err(|e| e.to_string())
}

/// Segment `i` of `count` from an array stacked along its first axis, in its dtype.
pub fn slice_segment(array: &Array, i: usize, count: usize) -> Result<Array, String> {
    let lead = array.shape().first().copied().unwrap_or(0);
    if count == 0 || lead % count != 0 {
        return Err(format!(
            "has {lead} row(s) along its first axis, not a multiple of the {count} segment(s) this \
             audio splits into; capture the reference with the same `segmenting:` and audio"
        ));
    }
    let per = lead / count;
    let row = array.bytes().len() / lead.max(1);
    let mut shape = array.shape().to_vec();
    shape[0] = per;
    let bytes = array.bytes()[i * per * row..(i + 1) * per * row].to_vec();
    Array::from_bytes(array.dtype(), shape, bytes).map_err(|e| e.to_string())
}

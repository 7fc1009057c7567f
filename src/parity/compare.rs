//! Matching arrays by name between a reference and a candidate source, streaming each
//! pair through the metrics accumulator, and judging the result against its tolerance.

use anyhow::Result;
use std::collections::BTreeSet;

use super::config::{Overrides, ParityConfig};
use super::metrics::{self, Accumulator, Distribution};
use super::model::{Check, Metrics, Mode, Tolerance};
use super::source::{stage_of, ArrayStream, Source};
use crate::console::Console;

/// Elements per chunk: 64 Ki float64 = 512 KiB per side, cache-friendly and far from
/// the memory budget whatever the array size.
pub const CHUNK: usize = 1 << 16;

/// Labels for one comparison (set by `parity run`; `None` for plain files).
#[derive(Debug, Clone, Default)]
pub struct Labels {
    pub clip: Option<String>,
    pub mode: Option<Mode>,
}

/// Every array name on either side, sorted.
pub fn all_names(reference: &Source, candidate: &Source) -> Vec<String> {
    let set: BTreeSet<String> = reference
        .names()
        .into_iter()
        .chain(candidate.names())
        .collect();
    set.into_iter().collect()
}

/// Compares the arrays called `names` in both sources.
pub fn compare(
    console: &Console,
    reference: &mut Source,
    candidate: &mut Source,
    names: &[String],
    config: &ParityConfig,
    overrides: &Overrides,
    labels: &Labels,
) -> Result<Vec<Check>> {
    let ref_names: BTreeSet<String> = reference.names().into_iter().collect();
    let cand_names: BTreeSet<String> = candidate.names().into_iter().collect();
    let progress = console.progress(names.len() as u64, "parity");
    let mut checks = Vec::with_capacity(names.len());
    for name in names {
        progress.step(name);
        let check = match (ref_names.contains(name), cand_names.contains(name)) {
            (true, true) => {
                let r = reference.stream(name)?;
                let c = candidate.stream(name)?;
                compare_pair(r, c, config, overrides, labels)?
            }
            (has_ref, _) => {
                let (side, path) = if has_ref {
                    ("candidate", candidate.path())
                } else {
                    ("reference", reference.path())
                };
                let audio = reference.is_audio(name) || candidate.is_audio(name);
                let stage = stage_of(name, audio);
                let mut check =
                    empty_check(name, &stage, config.tolerance(&stage, overrides), labels);
                check.problems.push(format!(
                    "missing in the {side} ({}): the {side} has no array named {name:?}",
                    path.display()
                ));
                check
            }
        };
        checks.push(check);
        progress.inc();
    }
    progress.finish();
    Ok(checks)
}

fn empty_check(name: &str, stage: &str, tolerance: Tolerance, labels: &Labels) -> Check {
    Check {
        array: name.to_string(),
        stage: stage.to_string(),
        clip: labels.clip.clone(),
        mode: labels.mode,
        passed: false,
        problems: Vec::new(),
        reference_shape: None,
        candidate_shape: None,
        reference_dtype: None,
        candidate_dtype: None,
        tolerance,
        metrics: None,
        histogram: None,
        curve: None,
    }
}

fn fmt_shape(s: &[usize]) -> String {
    format!(
        "[{}]",
        s.iter()
            .map(|d| d.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Streams one pair and judges it.
pub fn compare_pair(
    mut r: ArrayStream<'_>,
    mut c: ArrayStream<'_>,
    config: &ParityConfig,
    overrides: &Overrides,
    labels: &Labels,
) -> Result<Check> {
    let stage = r.meta.stage.clone();
    let tolerance = config.tolerance(&stage, overrides);
    let mut check = empty_check(&r.meta.name, &stage, tolerance, labels);
    check.reference_shape = Some(r.meta.shape.clone());
    check.candidate_shape = Some(c.meta.shape.clone());
    check.reference_dtype = Some(r.meta.dtype.clone());
    check.candidate_dtype = Some(c.meta.dtype.clone());
    if r.meta.shape != c.meta.shape {
        check.problems.push(format!(
            "shape mismatch: reference {} vs candidate {}",
            fmt_shape(&r.meta.shape),
            fmt_shape(&c.meta.shape)
        ));
        return Ok(check);
    }
    if r.meta.fortran_order || c.meta.fortran_order {
        check.problems.push(
            "stored in Fortran order; save it C-ordered (numpy.ascontiguousarray) to compare"
                .to_string(),
        );
        return Ok(check);
    }
    // WAV sample formats may legitimately differ (16-bit reference, float candidate):
    // samples are scaled to [-1, 1). Arrays must match exactly.
    let audio = r.meta.audio && c.meta.audio;
    if r.meta.dtype != c.meta.dtype && !audio {
        check.problems.push(format!(
            "dtype mismatch: reference {} vs candidate {}",
            r.meta.dtype, c.meta.dtype
        ));
    }
    if audio && r.meta.sample_rate != c.meta.sample_rate {
        check.problems.push(format!(
            "sample rate mismatch: reference {} Hz vs candidate {} Hz",
            r.meta.sample_rate.unwrap_or(0),
            c.meta.sample_rate.unwrap_or(0)
        ));
    }
    let stage_cfg = config.stages.get(&stage);
    let stem_axis = stage_cfg.and_then(|s| s.stem_axis);
    let stem_names = stage_cfg.map(|s| s.stems.clone()).unwrap_or_default();
    let mut acc = Accumulator::new(
        &r.meta.shape,
        r.meta.time_axis,
        stem_axis,
        tolerance.atol,
        tolerance.rtol,
        config.rel_floor,
    );
    let dist = Distribution::new();
    let dist = stream_pairs(&mut r, &mut c, dist, |rb, cb| acc.add(rb, cb))?;
    let (num, den) = acc.energies();
    let (mut m, hist, curve) = acc.finish(dist, r.meta.sample_rate, &stem_names);
    if audio {
        m.sdr_db = Some(metrics::sdr(num, den));
    } else if !m.stems_sdr.is_empty() {
        let mean = m.stems_sdr.iter().map(|s| s.sdr_db).sum::<f64>() / m.stems_sdr.len() as f64;
        m.sdr_db = Some(mean);
    }
    judge(&mut check.problems, &m, &tolerance);
    check.passed = check.problems.is_empty();
    check.metrics = Some(m);
    check.histogram = Some(hist);
    check.curve = Some(curve);
    Ok(check)
}

/// Feeds `f` equally long chunks of both arrays. Reading, decoding and the error
/// histogram (`dist`, returned) run on a second thread, overlapping the vectorised
/// metrics; buffers circulate between the two threads, so at most [`IN_FLIGHT`] chunk
/// pairs exist at any time (memory stays bounded).
fn stream_pairs(
    r: &mut ArrayStream<'_>,
    c: &mut ArrayStream<'_>,
    mut dist: Distribution,
    mut f: impl FnMut(&[f64], &[f64]),
) -> Result<Distribution> {
    type Pair = (Vec<f64>, Vec<f64>);
    let (full_tx, full_rx) = std::sync::mpsc::sync_channel::<Result<Pair>>(IN_FLIGHT);
    let (empty_tx, empty_rx) = std::sync::mpsc::channel::<Pair>();
    for _ in 0..IN_FLIGHT {
        let _ = empty_tx.send((Vec::with_capacity(CHUNK), Vec::with_capacity(CHUNK)));
    }
    // `move`: the consumer's channel ends drop when it returns, so the reader can never
    // wait forever on a consumer that stopped early.
    std::thread::scope(move |scope| {
        let reader = scope.spawn(move || {
            // Ends when both arrays are read, on an error, or when the consumer is gone.
            while let Ok((mut rb, mut cb)) = empty_rx.recv() {
                let read = r
                    .read_chunk(CHUNK, &mut rb)
                    .and_then(|n| Ok((n, c.read_chunk(CHUNK, &mut cb)?)));
                match read {
                    Ok((n, m)) if n == 0 || m == 0 => break,
                    Ok(_) => {
                        dist.add(&rb, &cb);
                        if full_tx.send(Ok((rb, cb))).is_err() {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = full_tx.send(Err(e));
                        break;
                    }
                }
            }
            dist
        });
        for pair in full_rx.iter() {
            let (rb, cb) = pair?;
            f(&rb, &cb);
            let _ = empty_tx.send((rb, cb));
        }
        drop(empty_tx);
        reader
            .join()
            .map_err(|_| anyhow::anyhow!("the array reader thread panicked"))
    })
}

/// Chunk pairs in flight between the reader thread and the metrics.
const IN_FLIGHT: usize = 3;

/// A NaN figure never clears a minimum.
fn below(v: f64, min: f64) -> bool {
    v.is_nan() || v < min
}

/// Appends one sentence per broken rule.
fn judge(problems: &mut Vec<String>, m: &Metrics, t: &Tolerance) {
    if m.non_finite() > 0 {
        let mut parts = Vec::new();
        for (n, what) in [
            (m.nan_ref, "NaN in the reference"),
            (m.inf_ref, "Inf in the reference"),
            (m.nan_cand, "NaN in the candidate"),
            (m.inf_cand, "Inf in the candidate"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        let at = m
            .first_non_finite_index
            .as_deref()
            .map(|i| format!(" (first at {})", fmt_shape(i)))
            .unwrap_or_default();
        problems.push(format!("non-finite values: {}{at}", parts.join(", ")));
    }
    if m.outside > 0 {
        problems.push(format!(
            "{} of {} elements outside atol + rtol·|ref| (atol {:e}, rtol {:e}); max abs error {:.3e} at {}",
            m.outside,
            m.elements,
            t.atol,
            t.rtol,
            m.max_abs,
            fmt_shape(&m.max_abs_index)
        ));
    }
    if m.elements > 0 && below(m.snr_db, t.min_snr_db) {
        problems.push(format!(
            "SNR {:.2} dB is below the minimum {} dB",
            m.snr_db, t.min_snr_db
        ));
    }
    if let Some(sdr) = m.sdr_db {
        if below(sdr, t.min_sdr_db) {
            problems.push(format!(
                "SDR {:.2} dB is below the minimum {} dB",
                sdr, t.min_sdr_db
            ));
        }
    }
    for s in &m.stems_sdr {
        if below(s.sdr_db, t.min_sdr_db) {
            problems.push(format!(
                "stem {} SDR {:.2} dB is below the minimum {} dB",
                s.stem, s.sdr_db, t.min_sdr_db
            ));
        }
    }
}

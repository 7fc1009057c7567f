//! Matching arrays by name between a reference and a candidate source, streaming each
//! pair through the metrics accumulator, and judging the result against its tolerance.
//!
//! Dtypes: values are compared in float64 whatever they were stored as. Arrays of the
//! same kind but different widths (float16 vs float32, int32 vs int64) are compared
//! without complaint, since a float16 CoreML output against a float32 PyTorch one is what
//! a faithful conversion gives, and the tolerances judge the difference; both dtypes are
//! recorded in the check. Different kinds (integer vs float, bool vs float) are a failed
//! check that still shows the figures. A complex array is compared only with a complex
//! one, on complex values (errors are |cand − ref|, see `complex`); complex against real
//! fails without figures.

use anyhow::Result;
use std::collections::BTreeSet;
use std::sync::Mutex;

use super::blocks::{kind, Blocks};
use super::metrics::{self, Accumulator};
use super::model::{Check, Metrics, Mode, Tolerance, Tolerances};
use super::source::{stage_of, ArrayStream, Source};
use crate::npy::Kind;
use crate::output::console::Console;
use crate::simd::Level;

/// Elements read per chunk: 32 Ki (128 KiB of float32 per side, like `cat`'s reads),
/// so a worker's chunk pair stays in its core's L2 cache between the kernel's copy
/// and the metrics.
pub const CHUNK: usize = 1 << 15;

/// The most stems one array may be scored for (demucs models have 4–6).
pub const MAX_STEMS: usize = 256;

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
    tolerances: &Tolerances,
    labels: &Labels,
) -> Result<Vec<Check>> {
    let ref_names: BTreeSet<String> = reference.names().into_iter().collect();
    let cand_names: BTreeSet<String> = candidate.names().into_iter().collect();
    let level = Level::from_env()?;
    let progress = console.progress(names.len() as u64, "parity");
    let mut checks = Vec::with_capacity(names.len());
    for name in names {
        progress.step(name);
        let check = match (ref_names.contains(name), cand_names.contains(name)) {
            (true, true) => {
                let r = reference.stream(name)?;
                let c = candidate.stream(name)?;
                compare_pair(r, c, tolerances, labels, level)?
            }
            (has_ref, _) => {
                let (side, path) = if has_ref {
                    ("candidate", candidate.path())
                } else {
                    ("reference", reference.path())
                };
                let audio = reference.is_audio(name) || candidate.is_audio(name);
                let stage = stage_of(name, audio);
                let mut check = empty_check(name, &stage, tolerances.of(&stage), labels);
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

/// A failed check with no figures yet (its problems are added by the caller).
pub fn empty_check(name: &str, stage: &str, tolerance: Tolerance, labels: &Labels) -> Check {
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
        reported: None,
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

/// Streams one pair and judges it, with the kernel compiled for `level` (see `simd`).
pub fn compare_pair(
    mut r: ArrayStream<'_>,
    mut c: ArrayStream<'_>,
    tolerances: &Tolerances,
    labels: &Labels,
    level: Level,
) -> Result<Check> {
    let stage = r.meta.stage.clone();
    let tolerance = tolerances.of(&stage);
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
    let kinds = (kind(r.decoder()), kind(c.decoder()));
    let complex = kinds == (Kind::Complex, Kind::Complex);
    if r.meta.dtype != c.meta.dtype && !audio && kinds.0 != kinds.1 {
        let mismatch = format!(
            "dtype mismatch: reference {} vs candidate {}",
            r.meta.dtype, c.meta.dtype
        );
        if kinds.0 == Kind::Complex || kinds.1 == Kind::Complex {
            check.problems.push(format!(
                "{mismatch}: a complex array is compared only with a complex one"
            ));
            return Ok(check);
        }
        check.problems.push(format!(
            "{mismatch} (values compared after widening both to float64)"
        ));
    }
    if audio && r.meta.sample_rate != c.meta.sample_rate {
        check.problems.push(format!(
            "sample rate mismatch: reference {} Hz vs candidate {} Hz",
            r.meta.sample_rate.unwrap_or(0),
            c.meta.sample_rate.unwrap_or(0)
        ));
    }
    let stage_cfg = tolerances.stages.get(&stage);
    let stem_axis = stage_cfg.and_then(|s| s.stem_axis);
    // A stem axis the array lacks (or an absurdly long one) would silently drop the SDR
    // gate, or size the per-stem sums from a header: either is a failed check.
    if let Some(axis) = stem_axis {
        match r.meta.shape.get(axis) {
            None => {
                check.problems.push(format!(
                    "stem_axis {axis} (parity.stages.{stage}) is beyond the array's {} axes",
                    r.meta.shape.len()
                ));
                return Ok(check);
            }
            Some(&n) if n > MAX_STEMS => {
                check.problems.push(format!(
                    "stem_axis {axis} (parity.stages.{stage}) has {n} entries; at most \
                     {MAX_STEMS} stems are scored"
                ));
                return Ok(check);
            }
            Some(_) => {}
        }
    }
    let stem_names = stage_cfg.map(|s| s.stems.clone()).unwrap_or_default();
    let acc = Accumulator::new(
        &r.meta.shape,
        r.meta.time_axis,
        stem_axis,
        tolerance.atol,
        tolerance.rtol,
        tolerances.rel_floor,
    )
    .with_level(level);
    let time_axis = r.meta.time_axis;
    let acc = stream_pairs(&mut r, &mut c, acc, (time_axis, stem_axis), level, complex)?;
    let (num, den) = acc.energies();
    let (mut m, hist, curve) = acc.finish(r.meta.sample_rate, &stem_names);
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

/// Streams both arrays through `acc` on up to [`WORKERS`] threads. Each
/// worker takes the next chunk pair from the shared readers (reading is the only
/// serial part), then decodes it in [`BLOCK`](super::blocks::BLOCK)-element pieces that stay in L1 cache and
/// runs every metric on them, into its own accumulator; the accumulators merge at the
/// end. Memory stays bounded: one chunk pair per worker, whatever the array size.
fn stream_pairs(
    r: &mut ArrayStream<'_>,
    c: &mut ArrayStream<'_>,
    acc: Accumulator,
    (time_axis, stem_axis): (usize, Option<usize>),
    level: Level,
    complex: bool,
) -> Result<Accumulator> {
    let (dr, dc) = (r.decoder(), c.decoder());
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .clamp(1, WORKERS);
    let shared = Mutex::new(Readers {
        r,
        c,
        pos: 0,
        stop: false,
    });
    let mut parts = vec![acc];
    for _ in 1..workers {
        let fresh = parts[0].fresh(time_axis, stem_axis);
        parts.push(fresh);
    }
    let results: Vec<Result<Accumulator>> = std::thread::scope(|scope| {
        let handles: Vec<_> = parts
            .into_iter()
            .map(|mut acc| {
                let shared = &shared;
                scope.spawn(move || -> Result<Accumulator> {
                    let mut blocks = Blocks::new(dr, dc, level, complex);
                    let (mut rb, mut cb) = (Vec::new(), Vec::new());
                    while let Some(pos) = next_chunk(shared, &mut rb, &mut cb)? {
                        let mut at = pos;
                        blocks.each(&rb, &cb, |x, y, products| {
                            acc.add_at(at, x, y);
                            if let Some((c2, dot)) = products {
                                acc.add_complex_products(c2, dot);
                            }
                            at += x.len() as u64;
                        });
                    }
                    Ok(acc)
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a parity worker thread panicked")))
            })
            .collect()
    });
    let mut merged: Option<Accumulator> = None;
    for part in results {
        let a = part?;
        match &mut merged {
            None => merged = Some(a),
            Some(m) => m.merge(a),
        }
    }
    merged.ok_or_else(|| anyhow::anyhow!("no parity worker ran"))
}

/// The two streams and how far they have been handed out.
struct Readers<'s, 'a, 'b> {
    r: &'s mut ArrayStream<'a>,
    c: &'s mut ArrayStream<'b>,
    pos: u64,
    /// Set at the end or after an error, so other workers stop too.
    stop: bool,
}

/// Reads the next chunk pair into `rb`/`cb`; returns its first flat index, or `None`
/// when both arrays are done (or another worker failed).
fn next_chunk(
    shared: &Mutex<Readers<'_, '_, '_>>,
    rb: &mut Vec<u8>,
    cb: &mut Vec<u8>,
) -> Result<Option<u64>> {
    let mut g = shared
        .lock()
        .map_err(|_| anyhow::anyhow!("a parity worker thread panicked"))?;
    if g.stop {
        return Ok(None);
    }
    let read =
        g.r.read_raw(CHUNK, rb)
            .and_then(|n| Ok((n, g.c.read_raw(CHUNK, cb)?)));
    match read {
        Ok((n, m)) if n == 0 || m == 0 => {
            g.stop = true;
            Ok(None)
        }
        Ok((n, _)) => {
            let pos = g.pos;
            g.pos += n as u64;
            Ok(Some(pos))
        }
        Err(e) => {
            g.stop = true;
            Err(e)
        }
    }
}

/// Worker threads per array pair: the benchmark machine and GitHub's runners have 2–4
/// cores, and each worker's p99 buffer can reach 16 MiB on huge arrays (see
/// `quantile::EXACT_CAP`), so two keep peak memory far below 64 MiB.
const WORKERS: usize = 2;

/// A NaN figure never clears a minimum.
fn below(v: f64, min: f64) -> bool {
    v.is_nan() || v < min
}

/// Appends one sentence per broken rule (also used to re-judge merged shard reports).
pub fn judge(problems: &mut Vec<String>, m: &Metrics, t: &Tolerance) {
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

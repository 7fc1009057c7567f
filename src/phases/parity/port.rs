//! Parity checks from what a port's own scripts leave behind: the stem pairs of a flat
//! folder ([`crate::parity::pairs`]), compared like any two sources, with a stem found on one
//! side only a failed check naming the missing file; and the per-stem SDR of its
//! `metrics.csv` (`crate::ingest::metrics_csv`), gated by `min_sdr_db` of the `stems`
//! stage.

use anyhow::Result;
use std::path::{Path, PathBuf};

use super::config::{Overrides, ParityConfig};
use super::display;
use crate::context::Ctx;
use crate::fs::clip;
use crate::output::console::Console;
use crate::output::Level;
use crate::parity::compare::{self, empty_check, Labels};
use crate::parity::model::{Check, Reported, Tolerance};
use crate::parity::pairs::{self, PairsConfig};
use crate::parity::report::db;
use crate::parity::shard::shard_of;

/// The stage whose tolerance applies to stems (as for WAV folders).
pub const STEMS_STAGE: &str = "stems";

/// What the command line says (each beats its config key).
#[derive(Debug, Default)]
pub struct PortInputs<'a> {
    pub pairs: Option<&'a Path>,
    pub pattern: Option<&'a str>,
    pub metrics: Option<&'a Path>,
}

/// The report of `parity --pairs` / `--metrics`, or of `parity.pairs` /
/// `parity.metrics_csv` when neither flag is given. `shard` picks stems (or lines).
pub fn port_report(
    ctx: &Ctx,
    flags: &PortInputs,
    ov: &Overrides,
    shard: Option<(usize, usize)>,
) -> Result<crate::parity::ParityReport> {
    let cfg = &ctx.config.parity;
    // --pairs alone compares the pairs only, --metrics alone the metrics only; with
    // neither flag, whatever the config names.
    let any_flag = flags.pairs.is_some() || flags.metrics.is_some();
    let mut pairs_cfg = match flags.pairs {
        Some(dir) => Some(PairsConfig {
            dir: dir.to_path_buf(),
            ..cfg.pairs.clone().unwrap_or_else(|| PairsConfig {
                dir: PathBuf::new(),
                pattern: pairs::DEFAULT_PATTERN.to_string(),
                reference: "pytorch".into(),
                candidate: "coreml".into(),
            })
        }),
        None if any_flag => None,
        None => cfg.pairs.clone(),
    };
    if let (Some(p), Some(pattern)) = (&mut pairs_cfg, flags.pattern) {
        pairs::check_pattern(pattern).map_err(|e| anyhow::anyhow!("--pattern: {e}"))?;
        p.pattern = pattern.to_string();
    }
    let metrics = match flags.metrics {
        Some(m) => Some(m.to_path_buf()),
        None if any_flag => None,
        None => cfg.metrics_csv.clone(),
    };
    let mut checks = Vec::new();
    let (mut reference, mut candidate) = (Vec::new(), Vec::new());
    if let Some(p) = &pairs_cfg {
        let dir = ctx.resolve(&p.dir);
        let shown = display(ctx, &dir);
        checks.extend(pair_checks(
            ctx.console,
            &dir,
            &shown,
            p,
            cfg,
            ov,
            |stems| shard_of(stems, shard),
        )?);
        reference.push(format!(
            "{shown}/{}",
            pairs::file_name(&p.pattern, "{stem}", &p.reference)
        ));
        candidate.push(format!(
            "{shown}/{}",
            pairs::file_name(&p.pattern, "{stem}", &p.candidate)
        ));
    }
    if let Some(m) = &metrics {
        let path = ctx.resolve(m);
        let shown = display(ctx, &path);
        checks.extend(shard_of(&reported_checks(&path, &shown, cfg, ov)?, shard));
        reference.push(format!("SDR reported in {shown}"));
        candidate.push(format!("SDR reported in {shown}"));
    }
    Ok(crate::parity::ParityReport::new(
        reference.join(" + "),
        candidate.join(" + "),
        shard.map(|(i, n)| format!("{i}/{n}")),
        cfg.defaults(ov),
        checks,
    ))
}

/// Compares the stems of `dir` split by `cfg`; `pick` chooses which stems (a shard);
/// `shown` is how messages name the folder.
pub fn pair_checks(
    console: &Console,
    dir: &Path,
    shown: &str,
    cfg: &PairsConfig,
    config: &ParityConfig,
    ov: &Overrides,
    pick: impl Fn(&[String]) -> Vec<String>,
) -> Result<Vec<Check>> {
    let mut split = pairs::split(dir, cfg)?;
    if !split.unmatched.is_empty() {
        let names: Vec<String> = split
            .unmatched
            .iter()
            .take(10)
            .map(|n| format!("{:?}", clip(n, 80)))
            .collect();
        console.say(
            Level::Warning,
            &format!(
                "{} file(s) in {} fit neither {:?} nor {:?} and were not compared: {}{}",
                split.unmatched.len(),
                shown,
                pairs::file_name(&cfg.pattern, "{stem}", &cfg.reference),
                pairs::file_name(&cfg.pattern, "{stem}", &cfg.candidate),
                names.join(", "),
                if split.unmatched.len() > 10 {
                    ", …"
                } else {
                    ""
                }
            ),
        );
    }
    let stems = pick(&split.stems());
    let (both, one_side): (Vec<String>, Vec<String>) = stems.into_iter().partition(|s| {
        split.reference_files.contains_key(s) && split.candidate_files.contains_key(s)
    });
    let mut checks = compare::compare(
        console,
        &mut split.reference,
        &mut split.candidate,
        &both,
        &config.tolerances(ov),
        &Labels::default(),
    )?;
    for stem in one_side {
        let Some((side, missing)) = split.missing(cfg, dir, &stem) else {
            continue;
        };
        let name_of = |p: &Path| {
            p.file_name()
                .map(|n| format!("{shown}/{}", n.to_string_lossy()))
                .unwrap_or_default()
        };
        let present = split
            .reference_files
            .get(&stem)
            .or_else(|| split.candidate_files.get(&stem))
            .map(|p| name_of(p))
            .unwrap_or_default();
        let stage = crate::parity::source::stage_of(&stem, true);
        let mut check = empty_check(
            &stem,
            &stage,
            config.tolerance(&stage, ov),
            &Labels::default(),
        );
        check.problems.push(format!(
            "the {side} file {} is missing: {present} has nothing to be compared with (pattern {:?})",
            name_of(&missing),
            cfg.pattern
        ));
        checks.push(check);
    }
    Ok(checks)
}

/// One check per stem of a port's `metrics.csv`; `shown` names the file in the report.
pub fn reported_checks(
    path: &Path,
    shown: &str,
    config: &ParityConfig,
    ov: &Overrides,
) -> Result<Vec<Check>> {
    let rows = crate::ingest::metrics_csv::read_file(path)?;
    let tolerance = config.tolerance(STEMS_STAGE, ov);
    let labels = Labels {
        clip: Some(
            Path::new(shown)
                .file_name()
                .map_or(shown.to_string(), |n| n.to_string_lossy().into_owned()),
        ),
        mode: None,
    };
    Ok(rows
        .into_iter()
        .map(|r| {
            let mut check = empty_check(&r.stem, STEMS_STAGE, tolerance, &labels);
            let reported = Reported {
                source: format!("{shown}:{}", r.line),
                sdr_db: r.sdr_db,
                sir_db: r.sir_db,
                sar_db: r.sar_db,
            };
            judge_reported(&mut check.problems, &reported, &tolerance);
            check.passed = check.problems.is_empty();
            check.reported = Some(reported);
            check
        })
        .collect())
}

/// The SDR gate on reported figures: a missing or NaN SDR cannot pass it.
pub fn judge_reported(problems: &mut Vec<String>, r: &Reported, t: &Tolerance) {
    let problem = match r.sdr_db {
        None => Some(format!(
            "{} gives no SDR for this stem (not measured), so the SDR gate (≥ {} dB) cannot pass",
            r.source, t.min_sdr_db
        )),
        Some(v) if v.is_nan() => Some(format!(
            "{} gives an SDR of NaN; the SDR gate (≥ {} dB) cannot pass",
            r.source, t.min_sdr_db
        )),
        Some(v) if v < t.min_sdr_db => Some(format!(
            "SDR {} dB is below the minimum {} dB (reported by {})",
            db(v),
            t.min_sdr_db,
            r.source
        )),
        Some(_) => None,
    };
    if let Some(p) = problem {
        if !problems.contains(&p) {
            problems.push(p);
        }
    }
}

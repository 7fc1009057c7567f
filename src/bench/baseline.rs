//! `baseline.json`: the versioned schema (every run kept, with its runner fingerprint),
//! migration from the foundation design's date-keyed format, validated atomic writes
//! that never drop a run (only [`Baseline::prune`] does), acknowledgement windows, and
//! the small history API the publish site reads.
//!
//! Public API for other phases: [`load`] / [`load_or_empty`], [`Baseline::runs`]
//! (oldest first, with metadata), [`Baseline::series`] (one backend × metric over
//! time), [`Baseline::pairs`] (every backend × metric present).

use anyhow::{bail, Context, Result};
use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;
use std::path::Path;

use super::run::{parse_metrics, Results, Run, RunMeta};

/// The schema version this build writes.
pub const VERSION: u32 = 2;
/// `$schema` reference written into new files (the schema is committed in `benchmarks/`).
pub const SCHEMA_URL: &str =
    "https://raw.githubusercontent.com/zakkeown/htdemucs-devops/main/benchmarks/baseline.schema.json";

/// The whole file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Baseline {
    #[serde(rename = "$schema", default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    pub version: u32,
    /// Every recorded run, oldest first.
    pub runs: Vec<BaselineRun>,
    /// Intended changes: each starts a new baseline window (see [`Ack`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub acknowledgements: Vec<Ack>,
}

/// One recorded run: an id, the run's metadata (flattened: `timestamp`, `commit`,
/// `ref`, `fingerprint`, ... and `migrated_from` for entries from the date-keyed
/// format) and its results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BaselineRun {
    pub id: String,
    #[serde(flatten)]
    pub meta: RunMeta,
    pub results: Results,
}

/// An acknowledged, intended change: from the run of `from_commit` on (or, until such a
/// run is recorded, from `created_at` on), older runs no longer form the baseline of the
/// selected backend/metric (all when unset).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Ack {
    pub from_commit: String,
    pub created_at: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub backend: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metric: Option<String>,
    pub reason: String,
}

/// One point of a backend × metric series (for charts and sparklines).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Point<'a> {
    pub run_id: &'a str,
    pub timestamp: Option<&'a str>,
    pub commit: Option<&'a str>,
    /// Runner kind ([`super::run::Fingerprint::key`]).
    pub runner: Option<String>,
    /// The run's median.
    pub value: f64,
    pub samples: &'a [f64],
}

/// Which on-disk format a file was in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The foundation design's `{"YYYY-MM-DD": {backend: {metric: value}}}`.
    DateKeyed,
    Versioned,
}

impl Default for Baseline {
    fn default() -> Self {
        Baseline {
            schema: Some(SCHEMA_URL.to_string()),
            version: VERSION,
            runs: Vec::new(),
            acknowledgements: Vec::new(),
        }
    }
}

fn sort_key(ts: Option<&str>) -> i64 {
    ts.and_then(|t| t.parse::<jiff::Timestamp>().ok())
        .map_or(i64::MIN, |t| t.as_second())
}

/// What to do with a file that cannot be used; every message says the file is untouched.
fn untouched(path: &Path) -> String {
    format!(
        "{} was left untouched; fix it (or restore it with `git checkout -- {}`) and run again",
        path.display(),
        path.display()
    )
}

/// Reads and (in memory) migrates a baseline file. A file that does not parse is an
/// error naming the file, the position and what to do; nothing is ever written here.
pub fn load(path: &Path) -> Result<(Baseline, Format)> {
    let text = crate::fs::read_text(path, "the baseline")?;
    parse(&text, path)
}

/// Like [`load`], but a missing file is an empty baseline.
pub fn load_or_empty(path: &Path) -> Result<(Baseline, Format)> {
    match std::fs::metadata(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            Ok((Baseline::default(), Format::Versioned))
        }
        _ => load(path),
    }
}

/// Parses baseline text (either format). `path` is only used in messages.
pub fn parse(text: &str, path: &Path) -> Result<(Baseline, Format)> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
        anyhow::anyhow!(
            "{}:{}:{}: not valid JSON ({e}); {}",
            path.display(),
            e.line(),
            e.column(),
            untouched(path)
        )
    })?;
    let Some(obj) = value.as_object() else {
        bail!(
            "{}: a baseline must be a JSON object; {}",
            path.display(),
            untouched(path)
        );
    };
    if let Some(version) = obj.get("version") {
        let v = version.as_u64().unwrap_or(0);
        if v > u64::from(VERSION) {
            bail!(
                "{}: baseline schema version {v} is newer than this htdemucs-devops understands ({VERSION}); upgrade htdemucs-devops. {}",
                path.display(),
                untouched(path)
            );
        }
        let b: Baseline = serde_json::from_value(value.clone()).map_err(|e| {
            anyhow::anyhow!(
                "{}: does not match the baseline schema (benchmarks/baseline.schema.json): {e}; {}",
                path.display(),
                untouched(path)
            )
        })?;
        b.validate()
            .map_err(|e| anyhow::anyhow!("{}: {e:#}; {}", path.display(), untouched(path)))?;
        return Ok((b, Format::Versioned));
    }
    migrate_date_keyed(obj, path).map(|b| (b, Format::DateKeyed))
}

/// The design's date-keyed format: every key a date (or RFC 3339 time), every value a
/// `{backend: {metric: value}}` object. Each key becomes one run, nothing is dropped.
fn migrate_date_keyed(
    obj: &serde_json::Map<String, serde_json::Value>,
    path: &Path,
) -> Result<Baseline> {
    let mut b = Baseline::default();
    for (key, entry) in obj {
        if key.starts_with('$') {
            continue;
        }
        let timestamp = if key.parse::<jiff::civil::Date>().is_ok() {
            format!("{key}T00:00:00Z")
        } else if key.parse::<jiff::Timestamp>().is_ok() {
            key.clone()
        } else {
            bail!(
                "{}: key {key:?} is neither \"version\" (the versioned schema) nor a date like \"2026-02-03\" (the date-keyed format); {}",
                path.display(),
                untouched(path)
            );
        };
        let origin = format!("{} [{key}]", path.display());
        let run = Run::from_design_json(entry, &origin)
            .map_err(|e| anyhow::anyhow!("{e:#}; {}", untouched(path)))?;
        let mut meta = run.meta;
        meta.timestamp = Some(timestamp);
        meta.extra.insert(
            "migrated_from".into(),
            serde_json::Value::String(key.clone()),
        );
        b.runs.push(BaselineRun {
            id: format!("date-{key}"),
            meta,
            results: run.results,
        });
    }
    b.runs
        .sort_by_key(|r| sort_key(r.meta.timestamp.as_deref()));
    Ok(b)
}

impl Baseline {
    /// Checks what the schema cannot: unique ids, parseable timestamps, finite values.
    pub fn validate(&self) -> Result<()> {
        let mut ids = BTreeSet::new();
        for r in &self.runs {
            if !ids.insert(r.id.as_str()) {
                bail!("run id {:?} appears twice", r.id);
            }
            let ts = r.meta.timestamp.as_deref().unwrap_or("");
            if ts.parse::<jiff::Timestamp>().is_err() {
                bail!(
                    "run {:?} has no valid RFC 3339 \"timestamp\" ({ts:?})",
                    r.id
                );
            }
            for (what, results) in [("", &r.results), (" derived", &r.meta.derived)] {
                let v = serde_json::to_value(results)?;
                for (backend, metrics) in v.as_object().into_iter().flatten() {
                    parse_metrics(metrics, &format!("run {:?}{what}", r.id), backend)?;
                }
            }
        }
        Ok(())
    }

    pub fn runs(&self) -> &[BaselineRun] {
        &self.runs
    }

    /// Every backend × metric that appears in any run.
    pub fn pairs(&self) -> BTreeSet<(String, String)> {
        self.runs
            .iter()
            .flat_map(|r| {
                r.results
                    .iter()
                    .flat_map(|(b, ms)| ms.keys().map(move |m| (b.clone(), m.clone())))
            })
            .collect()
    }

    /// One backend × metric over all runs, oldest first.
    pub fn series(&self, backend: &str, metric: &str) -> Vec<Point<'_>> {
        self.runs
            .iter()
            .filter_map(|r| {
                let v = r.results.get(backend)?.get(metric)?;
                Some(Point {
                    run_id: &r.id,
                    timestamp: r.meta.timestamp.as_deref(),
                    commit: r.meta.commit.as_deref(),
                    runner: r.meta.fingerprint.key(),
                    value: v.center(),
                    samples: v.samples(),
                })
            })
            .collect()
    }

    /// Appends a run (stamped with a timestamp if it has none). Returns `false` and
    /// changes nothing when a run with the same commit, runner and timestamp is already
    /// there (a retried record must not add the run twice).
    pub fn append(&mut self, run: &Run) -> bool {
        let mut meta = run.meta.clone();
        if meta.timestamp.is_none() {
            meta.timestamp = Some(jiff::Timestamp::now().to_string());
        }
        let dup = self.runs.iter().any(|r| {
            r.meta.timestamp == meta.timestamp
                && r.meta.commit == meta.commit
                && r.meta.fingerprint == meta.fingerprint
                && r.results == run.results
        });
        if dup {
            return false;
        }
        let short = meta
            .commit
            .as_deref()
            .map_or("local", |c| &c[..c.len().min(7)]);
        let base = format!("{}-{short}", meta.timestamp.as_deref().unwrap_or(""));
        let mut id = base.clone();
        let mut n = 2;
        while self.runs.iter().any(|r| r.id == id) {
            id = format!("{base}-{n}");
            n += 1;
        }
        self.runs.push(BaselineRun {
            id,
            meta,
            results: run.results.clone(),
        });
        self.runs
            .sort_by_key(|r| sort_key(r.meta.timestamp.as_deref()));
        true
    }

    /// Where the baseline window of `backend`/`metric` starts (a time, as seconds), from
    /// the newest acknowledgement that selects it.
    pub fn window_start(&self, backend: &str, metric: &str) -> Option<i64> {
        self.acknowledgements
            .iter()
            .filter(|a| a.backend.as_deref().is_none_or(|b| b == backend))
            .filter(|a| a.metric.as_deref().is_none_or(|m| m == metric))
            .map(|a| {
                let from_run = self
                    .runs
                    .iter()
                    .filter(|r| {
                        r.meta.commit.as_deref().is_some_and(|c| {
                            !a.from_commit.is_empty() && c.starts_with(&a.from_commit)
                        })
                    })
                    .map(|r| sort_key(r.meta.timestamp.as_deref()))
                    .min();
                from_run.unwrap_or_else(|| sort_key(Some(&a.created_at)))
            })
            .max()
    }

    /// Removes runs: all but the newest `keep_last` of each runner kind, and/or those
    /// older than `before`. Returns the removed ids. The only way history shrinks.
    pub fn prune(
        &mut self,
        keep_last: Option<usize>,
        before: Option<jiff::Timestamp>,
    ) -> Vec<String> {
        let mut remove = BTreeSet::new();
        if let Some(t) = before {
            for r in &self.runs {
                if sort_key(r.meta.timestamp.as_deref()) < t.as_second() {
                    remove.insert(r.id.clone());
                }
            }
        }
        if let Some(keep) = keep_last {
            let kinds: BTreeSet<Option<String>> =
                self.runs.iter().map(|r| r.meta.fingerprint.key()).collect();
            for kind in kinds {
                let of_kind: Vec<&BaselineRun> = self
                    .runs
                    .iter()
                    .filter(|r| r.meta.fingerprint.key() == kind)
                    .collect();
                for r in &of_kind[..of_kind.len().saturating_sub(keep)] {
                    remove.insert(r.id.clone());
                }
            }
        }
        self.runs.retain(|r| !remove.contains(&r.id));
        remove.into_iter().collect()
    }

    /// Serialises, validates and writes atomically. Unless `allow_shrink`, refuses when a
    /// run that is in the file on disk would be lost.
    pub fn save(&self, path: &Path, allow_shrink: bool) -> Result<()> {
        self.validate().with_context(|| {
            format!(
                "refusing to write an invalid baseline to {}",
                path.display()
            )
        })?;
        if !allow_shrink && path.exists() {
            let (on_disk, _) = load(path)?;
            let keep: BTreeSet<&str> = self.runs.iter().map(|r| r.id.as_str()).collect();
            if let Some(lost) = on_disk.runs.iter().find(|r| !keep.contains(r.id.as_str())) {
                bail!(
                    "refusing to write {}: run {:?} would be lost (only `benchmark prune` removes runs)",
                    path.display(),
                    lost.id
                );
            }
        }
        let mut text =
            serde_json::to_string_pretty(self).context("cannot serialise the baseline")?;
        text.push('\n');
        // Round-trip check: what we write must read back to the same baseline.
        let (back, _) = parse(&text, path)?;
        if back != *self {
            bail!("internal error: the baseline for {} does not read back identically; nothing was written", path.display());
        }
        crate::fs::write_atomic(path, text.as_bytes())
    }
}

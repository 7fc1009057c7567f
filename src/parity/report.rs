//! The parity phase report: the serialisable [`ParityReport`] and its terminal and
//! Markdown renderings (worst first, chained and isolated side by side).

use serde::{Deserialize, Serialize};

use super::model::{Check, Mode, Tolerance};
use crate::output::markdown::{escape, Align, Table};
use crate::output::terminal::{sanitize, table, Style};
use crate::output::{Annotation, Level, PhaseOutput, Status};

/// What the terminal shows (`--format`), chosen by the caller of
/// [`crate::output::emit`]; the JSON report on disk is always written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    #[default]
    Text,
    Json,
    Junit,
    Markdown,
    Html,
}

/// The whole parity result.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ParityReport {
    /// Every check passed (and there was at least one, unless this is a shard).
    pub passed: bool,
    /// What was compared: file paths, or the runner's backends.
    pub reference: String,
    pub candidate: String,
    /// `i/n` when this report covers one shard.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shard: Option<String>,
    /// The default tolerance (after flags); stages may override it per check.
    pub tolerance: Tolerance,
    /// Worst first.
    pub checks: Vec<Check>,
    /// `parity run`: how the backends were run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run: Option<super::stages::RunSettings>,
    /// `parity run`: stages the candidate did not compute itself, and what fed their consumers.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<super::stages::StageNote>,
    /// Isolated mode: where the error is introduced, per clip.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub introduced: Vec<super::stages::Introduced>,
}

impl ParityReport {
    pub fn new(
        reference: String,
        candidate: String,
        shard: Option<String>,
        tolerance: Tolerance,
        mut checks: Vec<Check>,
    ) -> Self {
        super::model::sort_worst_first(&mut checks);
        // An empty comparison passes nothing, except a shard that got no work (more
        // shards than clips/arrays); `parity merge` then judges the whole set.
        let passed = (!checks.is_empty() || shard.is_some()) && checks.iter().all(|c| c.passed);
        let introduced = super::stages::introduced(&checks);
        ParityReport {
            passed,
            reference,
            candidate,
            shard,
            tolerance,
            checks,
            run: None,
            notes: Vec::new(),
            introduced,
        }
    }

    pub fn failed(&self) -> usize {
        self.checks.iter().filter(|c| !c.passed).count()
    }

    /// Chained and isolated checks side by side (an isolated-only run is one plain column).
    fn has_modes(&self) -> bool {
        let has = |m: Mode| self.checks.iter().any(|c| c.mode == Some(m));
        has(Mode::Chained) && has(Mode::Isolated)
    }

    /// Rows pairing the chained and isolated check of one (clip, array), worst first.
    pub fn rows(&self) -> Vec<Row<'_>> {
        let mut rows: Vec<Row<'_>> = Vec::new();
        for c in &self.checks {
            let key = (c.clip.as_deref(), c.array.as_str());
            let found = rows
                .iter_mut()
                .find(|r| (r.main.clip.as_deref(), r.main.array.as_str()) == key);
            match (found, c.mode) {
                (Some(row), Some(Mode::Isolated)) if row.isolated.is_none() => {
                    row.isolated = Some(c);
                }
                (Some(row), Some(Mode::Chained)) if row.main.mode == Some(Mode::Isolated) => {
                    row.isolated = Some(row.main);
                    row.main = c;
                }
                _ => rows.push(Row {
                    main: c,
                    isolated: None,
                }),
            }
        }
        rows
    }
}

/// One line of the tables: a check and, in run mode, its isolated counterpart.
pub struct Row<'a> {
    pub main: &'a Check,
    pub isolated: Option<&'a Check>,
}

impl Row<'_> {
    pub fn passed(&self) -> bool {
        self.main.passed && self.isolated.is_none_or(|c| c.passed)
    }
}

/// Short number formats shared by every renderer.
pub fn sci(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v == 0.0 {
        "0".into()
    } else {
        format!("{v:.2e}")
    }
}

pub fn db(v: f64) -> String {
    if v.is_infinite() && v > 0.0 {
        "∞".into()
    } else if v.is_nan() {
        "nan".into()
    } else {
        format!("{v:.1}")
    }
}

fn snr_of(c: Option<&Check>) -> String {
    c.and_then(|c| c.metrics.as_ref())
        .map_or("—".into(), |m| db(m.snr_db))
}

fn sdr_of(c: &Check) -> String {
    c.metrics
        .as_ref()
        .and_then(|m| m.sdr_db)
        .or_else(|| c.reported.as_ref().and_then(|r| r.sdr_db))
        .map_or("—".into(), db)
}

impl PhaseOutput for ParityReport {
    fn phase(&self) -> &'static str {
        "parity"
    }

    fn status(&self) -> Status {
        if self.passed {
            Status::Passed
        } else {
            Status::Failed
        }
    }

    fn headline(&self) -> String {
        let n = self.checks.len();
        if n == 0 {
            return "no arrays compared".into();
        }
        let failed = self.failed();
        let worst = self
            .checks
            .iter()
            .filter_map(|c| c.metrics.as_ref().map(|m| m.snr_db))
            .fold(f64::INFINITY, f64::min);
        let tail = if worst.is_finite() {
            format!(", lowest SNR {} dB", db(worst))
        } else {
            String::new()
        };
        if failed == 0 {
            format!("{n} arrays within tolerance{tail}")
        } else {
            format!("{failed} of {n} arrays out of tolerance{tail}")
        }
    }

    fn terminal(&self, style: Style) -> String {
        let modes = self.has_modes();
        let mut headers = vec![
            "", "stage", "array", "max abs", "p99 abs", "outside", "SNR dB",
        ];
        if modes {
            headers.push("isolated SNR");
        }
        headers.push("SDR dB");
        let mut rows = Vec::new();
        for row in self.rows() {
            let c = row.main;
            let mark = if row.passed() {
                style.green("✓")
            } else {
                style.red("✗")
            };
            let m = c.metrics.as_ref();
            let mut cells = vec![
                mark,
                sanitize(&c.stage),
                sanitize(&c.label()),
                m.map_or("—".into(), |m| sci(m.max_abs)),
                m.map_or("—".into(), |m| sci(m.p99_abs)),
                m.map_or("—".into(), |m| m.outside.to_string()),
                snr_of(Some(c)),
            ];
            if modes {
                cells.push(snr_of(row.isolated));
            }
            cells.push(sdr_of(c));
            rows.push(cells);
        }
        let mut right = vec![false, false, false, true, true, true, true];
        right.push(true);
        right.push(true);
        let mut out = table(&headers, &rows, &right);
        for c in self.checks.iter().filter(|c| !c.passed) {
            let mode = c
                .mode
                .map(|m| format!(" ({})", m.name()))
                .unwrap_or_default();
            for p in &c.problems {
                out.push_str(&format!(
                    "{} {}{mode}: {}\n",
                    style.red("✗"),
                    sanitize(&c.label()),
                    sanitize(p)
                ));
            }
        }
        let plain = |x: &str| sanitize(x);
        for i in &self.introduced {
            out.push_str(&format!(
                "{} {}\n",
                style.bold("introduced:"),
                i.sentence(&plain)
            ));
        }
        for n in &self.notes {
            out.push_str(&format!(
                "note: stage {}: {}\n",
                sanitize(&n.stage),
                sanitize(&n.note)
            ));
        }
        if let Some(run) = &self.run {
            out.push_str(&format!("{}\n", run.sentence(&plain)));
        }
        let head = if self.passed {
            style.green(&self.headline())
        } else {
            style.red(&self.headline())
        };
        out.push_str(&format!("{}\n", style.bold(&head)));
        out
    }

    fn markdown(&self) -> String {
        let modes = self.has_modes();
        let mut out = format!(
            "### {} Parity\n\n{}\n\n",
            self.status().symbol(),
            escape(&self.headline())
        );
        out.push_str(&format!(
            "Reference {} vs candidate {}; default tolerance atol {}, rtol {}, SNR ≥ {} dB, SDR ≥ {} dB.\n\n",
            crate::output::markdown::code(&self.reference),
            crate::output::markdown::code(&self.candidate),
            self.tolerance.atol,
            self.tolerance.rtol,
            self.tolerance.min_snr_db,
            self.tolerance.min_sdr_db
        ));
        let mut headers = vec!["", "Stage", "Array", "Max abs", "SNR dB"];
        if modes {
            headers.push("Isolated SNR dB");
        }
        headers.extend(["SDR dB", "Problem"]);
        let mut align = vec![
            Align::Center,
            Align::Left,
            Align::Left,
            Align::Right,
            Align::Right,
        ];
        if modes {
            align.push(Align::Right);
        }
        align.extend([Align::Right, Align::Left]);
        let mut t = Table::new(&headers).align(&align);
        for row in self.rows() {
            let c = row.main;
            let problem = c
                .problems
                .first()
                .or_else(|| row.isolated.and_then(|i| i.problems.first()))
                .map(|p| escape(p))
                .unwrap_or_default();
            let mut cells = vec![
                if row.passed() { "✓" } else { "✗" }.to_string(),
                escape(&c.stage),
                escape(&c.label()),
                c.metrics.as_ref().map_or("—".into(), |m| sci(m.max_abs)),
                snr_of(Some(c)),
            ];
            if modes {
                cells.push(snr_of(row.isolated));
            }
            cells.push(sdr_of(c));
            cells.push(problem);
            t.row(cells);
        }
        out.push_str(&t.render());
        let code = |x: &str| crate::output::markdown::code(x);
        if !self.introduced.is_empty() {
            out.push_str("\n**Where the error is introduced** (isolated mode: each candidate stage fed the reference's inputs):\n\n");
            for i in &self.introduced {
                out.push_str(&format!("- {}\n", i.sentence(&code)));
            }
        }
        if !self.notes.is_empty() {
            out.push_str("\n**Stages the candidate did not compute itself:**\n\n");
            for n in &self.notes {
                out.push_str(&format!("- {}: {}\n", code(&n.stage), escape(&n.note)));
            }
        }
        if let Some(run) = &self.run {
            out.push_str(&format!("\n{}\n", run.sentence(&code)));
        }
        out
    }

    fn annotations(&self) -> Vec<Annotation> {
        self.checks
            .iter()
            .filter(|c| !c.passed)
            .map(|c| {
                let mut a = Annotation::new(Level::Error, c.problems.join("; "));
                let mode = c
                    .mode
                    .map(|m| format!(" ({})", m.name()))
                    .unwrap_or_default();
                a.title = Some(format!("parity: {}{mode}", c.label()));
                a
            })
            .collect()
    }

    fn outputs(&self) -> Vec<(String, String)> {
        vec![
            ("parity-passed".into(), self.passed.to_string()),
            ("parity-failed".into(), self.failed().to_string()),
        ]
    }
}

impl ParityReport {
    /// `--format json`: the report object, pretty-printed.
    pub fn json_text(&self) -> String {
        match serde_json::to_string_pretty(self) {
            Ok(s) => s + "\n",
            Err(e) => format!("{{\"error\": \"cannot serialise the report: {e}\"}}\n"),
        }
    }
}

//! Metric names: unit, direction, default threshold and display label, taken from the
//! name's suffix (`_sec`, `_ms`, `_mb`, `_bytes`, `_per_sec`, ...) unless configured.

use serde::{Deserialize, Serialize};

/// The design's metrics, in the order the table shows them (stages first, then the
/// whole pipeline, model load and memory last).
pub const DEFAULT_METRICS: &[&str] = &[
    "stft_sec",
    "freq_branch_sec",
    "time_branch_sec",
    "istft_sec",
    "full_pipeline_sec",
    "model_load_sec",
    "memory_peak_mb",
];

/// What a value measures; decides the default threshold and the formatting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    Time,
    Memory,
    Throughput,
    Other,
    /// Candidate ÷ reference on the same run (`bench::portable`): machine-independent.
    Ratio,
}

impl Kind {
    /// Whether the value depends on the machine's speed, so that only history from the
    /// same testbed may judge it.
    pub fn testbed_bound(self) -> bool {
        matches!(self, Kind::Time | Kind::Memory | Kind::Throughput)
    }
}

/// Whether a larger value is worse (times, memory) or better (throughput).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    Smaller,
    Bigger,
}

impl Direction {
    /// +1 when a larger value is worse, -1 when it is better: `change * sign > 0` is a
    /// change for the worse.
    pub fn worse_sign(self) -> f64 {
        match self {
            Direction::Smaller => 1.0,
            Direction::Bigger => -1.0,
        }
    }
}

/// Everything the comparison needs to know about one metric.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MetricInfo {
    pub kind: Kind,
    pub direction: Direction,
    /// Unit symbol for display: `s`, `ms`, `µs`, `ns`, `MB`, `B`, `/s`, or empty.
    pub unit: String,
    /// Relative change (percent) beyond which a change counts.
    pub threshold_pct: f64,
}

/// Default thresholds (percent): the design's 10 % for times, 15 % for memory.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Thresholds {
    pub time: f64,
    pub memory: f64,
    pub other: f64,
    /// Candidate ÷ reference ratios.
    pub ratio: f64,
}

impl Default for Thresholds {
    fn default() -> Self {
        Thresholds {
            time: 10.0,
            memory: 15.0,
            other: 10.0,
            ratio: 10.0,
        }
    }
}

/// Per-metric overrides from the config (`benchmark.metrics.<name>`) or from the input
/// (a GAB file's unit, a customBiggerIsBetter file's direction).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MetricOverride {
    pub threshold: Option<f64>,
    pub direction: Option<Direction>,
    pub unit: Option<String>,
    pub label: Option<String>,
}

/// Suffix table: (suffix, kind, direction, unit). Longest suffixes first so that
/// `_per_sec` wins over `_sec`.
const SUFFIXES: &[(&str, Kind, Direction, &str)] = &[
    ("_per_sec", Kind::Throughput, Direction::Bigger, "/s"),
    ("_per_s", Kind::Throughput, Direction::Bigger, "/s"),
    ("_sec", Kind::Time, Direction::Smaller, "s"),
    ("_s", Kind::Time, Direction::Smaller, "s"),
    ("_ms", Kind::Time, Direction::Smaller, "ms"),
    ("_us", Kind::Time, Direction::Smaller, "µs"),
    ("_ns", Kind::Time, Direction::Smaller, "ns"),
    ("_mb", Kind::Memory, Direction::Smaller, "MB"),
    ("_kb", Kind::Memory, Direction::Smaller, "KB"),
    ("_gb", Kind::Memory, Direction::Smaller, "GB"),
    ("_bytes", Kind::Memory, Direction::Smaller, "B"),
];

/// Kind of a unit symbol as tools write it (GAB's `unit`, Bencher measures).
pub fn kind_of_unit(unit: &str) -> Kind {
    match unit.trim().to_ascii_lowercase().as_str() {
        "s" | "sec" | "secs" | "second" | "seconds" | "ms" | "us" | "µs" | "ns" | "min" => {
            Kind::Time
        }
        "b" | "byte" | "bytes" | "kb" | "kib" | "mb" | "mib" | "gb" | "gib" => Kind::Memory,
        u if u.ends_with("/s") || u.ends_with("/sec") || u.contains("per sec") => Kind::Throughput,
        _ => Kind::Other,
    }
}

/// Resolves a metric's info: suffix rules, then the override on top.
pub fn info(name: &str, thresholds: &Thresholds, over: Option<&MetricOverride>) -> MetricInfo {
    let lower = name.to_ascii_lowercase();
    let (mut kind, mut direction, mut unit) = SUFFIXES
        .iter()
        .find(|(s, ..)| lower.ends_with(s))
        .map(|(_, k, d, u)| (*k, *d, u.to_string()))
        .unwrap_or((Kind::Other, Direction::Smaller, String::new()));
    if let Some(o) = over {
        if let Some(u) = &o.unit {
            unit = u.clone();
            if kind == Kind::Other {
                kind = kind_of_unit(u);
                if kind == Kind::Throughput {
                    direction = Direction::Bigger;
                }
            }
        }
        if let Some(d) = o.direction {
            direction = d;
        }
    }
    let default_threshold = match kind {
        Kind::Time => thresholds.time,
        Kind::Memory => thresholds.memory,
        Kind::Throughput | Kind::Other => thresholds.other,
        Kind::Ratio => thresholds.ratio,
    };
    MetricInfo {
        kind,
        direction,
        unit,
        threshold_pct: over.and_then(|o| o.threshold).unwrap_or(default_threshold),
    }
}

/// Stage name prefixes and their labels, in pipeline order.
const STAGE_LABELS: &[(&str, &str)] = &[
    ("stft", "STFT"),
    ("freq_branch", "Freq branch"),
    ("time_branch", "Time branch"),
    ("istft", "iSTFT"),
    ("full_pipeline", "Full pipeline"),
];

/// Human label for a metric: the design's names for its metrics ("Freq branch"),
/// otherwise the name without its unit suffix, underscores as spaces, capitalised.
pub fn label(name: &str, over: Option<&MetricOverride>) -> String {
    if let Some(l) = over.and_then(|o| o.label.clone()) {
        return l;
    }
    let known = match name {
        "stft_sec" => "STFT",
        "freq_branch_sec" => "Freq branch",
        "time_branch_sec" => "Time branch",
        "istft_sec" => "iSTFT",
        "full_pipeline_sec" => "Full pipeline",
        "model_load_sec" => "Model load",
        "memory_peak_mb" => "Memory peak",
        _ => "",
    };
    if !known.is_empty() {
        return known.to_string();
    }
    let lower = name.to_ascii_lowercase();
    let stem = SUFFIXES
        .iter()
        .find(|(s, ..)| lower.ends_with(s) && lower.len() > s.len())
        .map(|(s, ..)| &name[..name.len() - s.len()])
        .unwrap_or(name);
    // Per-stage metrics of the stage runner (`istft_load_sec`, `stft_peak_mb`) keep the
    // stage's proper name.
    for (prefix, stage) in STAGE_LABELS {
        if let Some(rest) = stem.strip_prefix(prefix).and_then(|r| r.strip_prefix('_')) {
            return format!("{stage} {}", rest.replace(['_', '-'], " "));
        }
    }
    let words = stem.replace(['_', '-'], " ");
    let mut chars = words.chars();
    match chars.next() {
        Some(c) => c.to_uppercase().collect::<String>() + chars.as_str(),
        None => name.to_string(),
    }
}

/// Sort key giving the design's table shape. Groups: 0 the design's stages in design
/// order, 1 other timings, 2 whole pipeline / model load / memory peak, 3 everything
/// else (per-stage load times and memory peaks) by name.
pub fn order_key(name: &str) -> (u8, usize, String) {
    match DEFAULT_METRICS.iter().position(|m| *m == name) {
        Some(i) if i < 4 => (0, i, String::new()),
        Some(i) => (2, i, String::new()),
        // The stage runner's sum of stage loads sits beside the design's model load.
        None if name == crate::runner::results::TOTAL_LOAD => {
            let beside = DEFAULT_METRICS.iter().position(|m| *m == "model_load_sec");
            (2, beside.unwrap_or(DEFAULT_METRICS.len()), name.to_string())
        }
        None => {
            let lower = name.to_ascii_lowercase();
            let timing = info(name, &Thresholds::default(), None).kind == Kind::Time
                && !lower.contains("load");
            let stage = STAGE_LABELS
                .iter()
                .position(|(p, _)| lower.starts_with(&format!("{p}_")))
                .unwrap_or(STAGE_LABELS.len());
            (if timing { 1 } else { 3 }, stage, name.to_string())
        }
    }
}

/// Formats a value with its unit the way the design's table does: `0.42s`, `1.84GB`.
pub fn format_value(v: f64, info: &MetricInfo) -> String {
    if !v.is_finite() {
        return "n/a".to_string();
    }
    match info.unit.as_str() {
        "MB" if v.abs() >= 1000.0 => format!("{:.2}GB", v / 1000.0),
        "MB" => format!("{v:.0}MB"),
        "B" => format!("{:.2}MB", v / 1e6),
        "s" if v.abs() >= 100.0 => format!("{v:.0}s"),
        // Sub-0.1 s stages read better in milliseconds than as "0.00s".
        "s" if v.abs() < 0.1 && v != 0.0 => format!("{}ms", sig(v * 1000.0)),
        "s" => format!("{v:.2}s"),
        "×" => format!("{v:.2}×"),
        "%" => format!("{:.1}%", v * 100.0),
        "" => sig(v),
        u => format!("{}{u}", sig(v)),
    }
}

/// Three significant digits without scientific notation for ordinary magnitudes.
fn sig(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == 0.0 {
        format!("{v:.0}")
    } else if a >= 10.0 {
        format!("{v:.1}")
    } else if a >= 0.01 {
        format!("{v:.2}")
    } else {
        format!("{v:.2e}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffixes_decide_unit_and_direction() {
        let t = Thresholds::default();
        let i = info("stft_sec", &t, None);
        assert_eq!(
            (i.kind, i.direction, i.threshold_pct),
            (Kind::Time, Direction::Smaller, 10.0)
        );
        let i = info("memory_peak_mb", &t, None);
        assert_eq!((i.kind, i.threshold_pct), (Kind::Memory, 15.0));
        let i = info("frames_per_sec", &t, None);
        assert_eq!((i.kind, i.direction), (Kind::Throughput, Direction::Bigger));
        let i = info("heap_bytes", &t, None);
        assert_eq!(i.kind, Kind::Memory);
        let i = info("score", &t, None);
        assert_eq!((i.kind, i.direction), (Kind::Other, Direction::Smaller));
    }

    #[test]
    fn overrides_win() {
        let o = MetricOverride {
            threshold: Some(25.0),
            direction: Some(Direction::Bigger),
            unit: Some("ops".into()),
            label: Some("Ops".into()),
        };
        let i = info("score", &Thresholds::default(), Some(&o));
        assert_eq!((i.threshold_pct, i.direction), (25.0, Direction::Bigger));
        assert_eq!(label("score", Some(&o)), "Ops");
        let o = MetricOverride {
            unit: Some("MB".into()),
            ..Default::default()
        };
        assert_eq!(
            info("rss", &Thresholds::default(), Some(&o)).threshold_pct,
            15.0
        );
    }

    #[test]
    fn labels_and_order() {
        assert_eq!(label("freq_branch_sec", None), "Freq branch");
        assert_eq!(label("encoder_load_sec", None), "Encoder load");
        assert_eq!(label("istft_load_sec", None), "iSTFT load");
        assert_eq!(label("freq_branch_peak_mb", None), "Freq branch peak");
        let mut names = vec![
            "stft_peak_mb",
            "memory_peak_mb",
            "zeta_sec",
            "stft_sec",
            "full_pipeline_sec",
            "stft_load_sec",
        ];
        names.sort_by_key(|n| order_key(n));
        assert_eq!(
            names,
            [
                "stft_sec",
                "zeta_sec",
                "full_pipeline_sec",
                "memory_peak_mb",
                "stft_load_sec",
                "stft_peak_mb"
            ]
        );
    }

    #[test]
    fn formats_like_the_design() {
        let t = Thresholds::default();
        assert_eq!(format_value(0.42, &info("stft_sec", &t, None)), "0.42s");
        assert_eq!(format_value(0.0041, &info("stft_sec", &t, None)), "4.10ms");
        assert_eq!(
            format_value(1840.0, &info("memory_peak_mb", &t, None)),
            "1.84GB"
        );
        assert_eq!(
            format_value(512.0, &info("memory_peak_mb", &t, None)),
            "512MB"
        );
        assert_eq!(format_value(12.5, &info("x_ms", &t, None)), "12.5ms");
    }
}

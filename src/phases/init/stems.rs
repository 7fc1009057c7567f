//! Finding a port's stem pairs for `parity.pairs`: the folder its parity scripts write
//! `{stem}_{backend}.wav` files to, the file-name pattern and which backend is the
//! reference, read from the folder's files or, where the folder holds none yet, from the
//! file names the scripts spell out; and the `metrics.csv` beside them.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::adopt::{files_in, rel_str};

/// Backend names a port calls its reference (first match wins).
const REFERENCES: &[&str] = &["pytorch", "torch", "reference", "ref"];
/// Backend names a port calls the converted model.
const CANDIDATES: &[&str] = &["coreml", "mlpackage", "mlmodel", "ane", "candidate"];
/// File-name layouts tried, in this order.
const PATTERNS: &[&str] = &[
    "{stem}_{backend}.wav",
    "{stem}-{backend}.wav",
    "{stem}.{backend}.wav",
    "{backend}_{stem}.wav",
    "{backend}-{stem}.wav",
];

/// What `parity.pairs` (and `parity.metrics_csv`) should say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pairs {
    pub dir: String,
    pub pattern: &'static str,
    pub reference: &'static str,
    pub candidate: &'static str,
    /// Stems found on both sides in the folder (0 when only the scripts named the layout).
    pub stems: usize,
    /// `dir/metrics.csv`, when it is there.
    pub metrics_csv: Option<String>,
    /// Where the layout was read from, for the summary.
    pub source: String,
}

/// `(stem, backend)` of `file` under `pattern`, if it fits.
fn parse(pattern: &str, file: &str) -> Option<(String, String)> {
    let base = file.strip_suffix(".wav")?;
    let sep = if pattern.contains("}_{") {
        '_'
    } else if pattern.contains("}-{") {
        '-'
    } else {
        '.'
    };
    let (a, b) = if pattern.starts_with("{stem}") {
        base.rsplit_once(sep)?
    } else {
        base.split_once(sep)?
    };
    if a.is_empty() || b.is_empty() {
        return None;
    }
    Some(if pattern.starts_with("{stem}") {
        (a.to_string(), b.to_string())
    } else {
        (b.to_string(), a.to_string())
    })
}

/// The layout, reference and candidate of a folder's files: the first pattern under which
/// a known reference and a known candidate share at least one stem.
pub fn from_files(files: &[String]) -> Option<(&'static str, &'static str, &'static str, usize)> {
    for pattern in PATTERNS {
        let mut by_backend: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in files {
            if let Some((stem, backend)) = parse(pattern, f) {
                by_backend.entry(backend).or_default().insert(stem);
            }
        }
        let find = |names: &[&'static str]| {
            names
                .iter()
                .find_map(|n| by_backend.get(*n).map(|stems| (*n, stems)))
        };
        if let (Some((r, rs)), Some((c, cs))) = (find(REFERENCES), find(CANDIDATES)) {
            let both = rs.intersection(cs).count();
            if both > 0 {
                return Some((pattern, r, c, both));
            }
        }
    }
    None
}

/// The layout the scripts' text spells (`f"{stem}_pytorch.wav"`, `"${stem}_coreml.wav"`).
pub fn from_scripts(text: &str) -> Option<(&'static str, &'static str, &'static str)> {
    for pattern in PATTERNS {
        let spelled = |backend: &str| {
            let name = pattern.replace("{backend}", backend);
            let (before, after) = name.split_once("{stem}").unwrap_or_default();
            // The stem is some interpolation: `{...}` in Python, `${...}` in shell.
            text.match_indices('{').any(|(i, _)| {
                let head = &text[..i];
                let head = head.strip_suffix('$').unwrap_or(head);
                head.ends_with(before)
                    && text[i + 1..].split_once('}').is_some_and(|(var, tail)| {
                        !var.is_empty()
                            && var.len() <= 40
                            && var.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                            && tail.starts_with(after)
                    })
            })
        };
        let r = REFERENCES.iter().find(|b| spelled(b));
        let c = CANDIDATES.iter().find(|b| spelled(b));
        if let (Some(r), Some(c)) = (r, c) {
            return Some((pattern, r, c));
        }
    }
    None
}

/// The port's stem pairs: a folder among `dirs` whose files pair up, else (the folder is
/// empty or ignored in the checkout) `suite/output` when the suite's scripts spell the
/// layout and name that folder.
pub fn detect(root: &Path, dirs: &[PathBuf], suite: Option<&str>) -> Option<Pairs> {
    let metrics = |dir: &str| {
        root.join(dir)
            .join("metrics.csv")
            .is_file()
            .then(|| format!("{dir}/metrics.csv"))
    };
    for d in dirs {
        let files = files_in(root, d);
        if let Some((pattern, reference, candidate, stems)) = from_files(&files) {
            let dir = rel_str(d);
            return Some(Pairs {
                metrics_csv: metrics(&dir),
                source: format!("the files in {dir}"),
                dir,
                pattern,
                reference,
                candidate,
                stems,
            });
        }
    }
    let suite = suite?;
    let mut text = String::new();
    let mut named_output = false;
    for f in files_in(root, Path::new(suite)) {
        if f.ends_with(".py") || f.ends_with(".sh") {
            let t = std::fs::read_to_string(root.join(suite).join(&f)).unwrap_or_default();
            named_output |= t.contains("\"output\"") || t.contains("/output");
            text.push_str(&t);
            text.push('\n');
        }
    }
    let (pattern, reference, candidate) = from_scripts(&text)?;
    if !named_output {
        return None;
    }
    let dir = format!("{suite}/output");
    Some(Pairs {
        metrics_csv: metrics(&dir),
        source: format!("the scripts in {suite}"),
        dir,
        pattern,
        reference,
        candidate,
        stems: 0,
    })
}

/// The `parity:` config section that wires `p` in.
pub fn config_section(p: &Pairs) -> String {
    let mut out = format!(
        "\nparity:\n  # The stems the port's parity scripts write, compared stem by stem.\n  pairs:\n    dir: {}\n    pattern: \"{}\"\n    reference: {}\n    candidate: {}\n",
        p.dir, p.pattern, p.reference, p.candidate
    );
    if let Some(m) = &p.metrics_csv {
        out.push_str(&format!(
            "  # The SDR their scripts computed (stem,sdr,sir,sar), gated by min_sdr_db.\n  metrics_csv: {m}\n"
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &[&str]) -> Vec<String> {
        v.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn a_folder_of_flat_pairs_gives_its_layout() {
        let files = names(&[
            "drums_pytorch.wav",
            "drums_coreml.wav",
            "bass_pytorch.wav",
            "bass_coreml.wav",
            "metrics.csv",
        ]);
        assert_eq!(
            from_files(&files),
            Some(("{stem}_{backend}.wav", "pytorch", "coreml", 2))
        );
        let files = names(&["torch-drums.wav", "ane-drums.wav"]);
        assert_eq!(
            from_files(&files),
            Some(("{backend}-{stem}.wav", "torch", "ane", 1))
        );
        // One side only, or unknown backends: no pairs.
        assert_eq!(from_files(&names(&["drums_pytorch.wav"])), None);
        assert_eq!(from_files(&names(&["a_x.wav", "a_y.wav"])), None);
    }

    #[test]
    fn scripts_spell_the_layout() {
        let py = "write_wav(out / f\"{stem}_pytorch.wav\", x)\n";
        let sh = "mv \"$f\" \"$output/${stem}_coreml.wav\"\n";
        assert_eq!(
            from_scripts(&format!("{py}{sh}")),
            Some(("{stem}_{backend}.wav", "pytorch", "coreml"))
        );
        assert_eq!(from_scripts(py), None, "one side only");
        assert_eq!(
            from_scripts("\"drums_pytorch.wav\" \"drums_coreml.wav\""),
            None
        );
    }

    #[test]
    fn the_config_section_names_the_metrics_when_present() {
        let mut p = Pairs {
            dir: "out".into(),
            pattern: "{stem}_{backend}.wav",
            reference: "pytorch",
            candidate: "coreml",
            stems: 1,
            metrics_csv: None,
            source: String::new(),
        };
        assert!(!config_section(&p).contains("metrics_csv"));
        p.metrics_csv = Some("out/metrics.csv".into());
        let v: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&config_section(&p)).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            v["parity"]["pairs"]["pattern"].as_str(),
            Some("{stem}_{backend}.wav")
        );
        assert_eq!(v["parity"]["metrics_csv"].as_str(), Some("out/metrics.csv"));
    }
}

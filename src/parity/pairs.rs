//! Stem pairs in one flat folder: a port's parity scripts write `{stem}_pytorch.wav`
//! and `{stem}_coreml.wav` side by side. A file-name pattern with `{stem}` and
//! `{backend}` (`parity.pairs.pattern`) splits such a folder into a reference and a
//! candidate [`Source`] keyed by stem, and lists what matched one side only.

use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::source::Source;

/// The pattern a port's parity suite writes.
pub const DEFAULT_PATTERN: &str = "{stem}_{backend}.wav";

/// `parity.pairs`: one folder holding both backends' files.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PairsConfig {
    /// The folder, relative to the repository root.
    pub dir: PathBuf,
    /// File names: `{stem}` and `{backend}` each once, no `/`.
    #[serde(default = "default_pattern", deserialize_with = "pattern")]
    pub pattern: String,
    /// The `{backend}` of the reference files.
    #[serde(default = "default_reference")]
    pub reference: String,
    /// The `{backend}` of the candidate files.
    #[serde(default = "default_candidate")]
    pub candidate: String,
}

fn default_pattern() -> String {
    DEFAULT_PATTERN.to_string()
}

fn default_reference() -> String {
    "pytorch".to_string()
}

fn default_candidate() -> String {
    "coreml".to_string()
}

fn pattern<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let p = String::deserialize(d)?;
    check_pattern(&p).map_err(serde::de::Error::custom)?;
    Ok(p)
}

/// `Err` saying what is wrong when `p` is not a usable pattern.
pub fn check_pattern(p: &str) -> Result<(), String> {
    let once = |tok: &str| p.matches(tok).count() == 1;
    if !once("{stem}") || !once("{backend}") {
        return Err(format!(
            "pattern {p:?} must hold {{stem}} and {{backend}} once each, e.g. {DEFAULT_PATTERN:?}"
        ));
    }
    if p.contains('/') || p.contains('\\') {
        return Err(format!(
            "pattern {p:?} names files inside parity.pairs.dir; it cannot hold a path separator"
        ));
    }
    Ok(())
}

/// A folder split into the two sides.
pub struct Split {
    pub reference: Source,
    pub candidate: Source,
    /// stem → the reference's file, and the candidate's.
    pub reference_files: BTreeMap<String, PathBuf>,
    pub candidate_files: BTreeMap<String, PathBuf>,
    /// Files with the pattern's extension that match neither side.
    pub unmatched: Vec<String>,
}

impl Split {
    /// Every stem of either side, sorted.
    pub fn stems(&self) -> Vec<String> {
        let all: BTreeSet<&String> = self
            .reference_files
            .keys()
            .chain(self.candidate_files.keys())
            .collect();
        all.into_iter().cloned().collect()
    }

    /// The file `stem` should have on the side that lacks it, and that side's name.
    pub fn missing(&self, cfg: &PairsConfig, dir: &Path, stem: &str) -> Option<(String, PathBuf)> {
        let (side, backend) = if !self.reference_files.contains_key(stem) {
            ("reference", &cfg.reference)
        } else if !self.candidate_files.contains_key(stem) {
            ("candidate", &cfg.candidate)
        } else {
            return None;
        };
        Some((
            side.to_string(),
            dir.join(file_name(&cfg.pattern, stem, backend)),
        ))
    }
}

/// The file name of `stem` for `backend`.
pub fn file_name(pattern: &str, stem: &str, backend: &str) -> String {
    pattern
        .replace("{backend}", backend)
        .replace("{stem}", stem)
}

/// The stem of `name` for `backend`, when the name fits the pattern.
fn stem_of(pattern: &str, backend: &str, name: &str) -> Option<String> {
    let filled = pattern.replace("{backend}", backend);
    let (prefix, suffix) = filled.split_once("{stem}")?;
    let stem = name.strip_prefix(prefix)?.strip_suffix(suffix)?;
    (!stem.is_empty()).then(|| stem.to_string())
}

/// Lists `dir` and splits it by `cfg`.
pub fn split(dir: &Path, cfg: &PairsConfig) -> Result<Split> {
    check_pattern(&cfg.pattern).map_err(|e| anyhow::anyhow!("parity.pairs: {e}"))?;
    if cfg.reference == cfg.candidate || cfg.reference.is_empty() || cfg.candidate.is_empty() {
        bail!(
            "parity.pairs: reference ({:?}) and candidate ({:?}) must be two different, non-empty backend names",
            cfg.reference,
            cfg.candidate
        );
    }
    let entries = std::fs::read_dir(dir).with_context(|| {
        format!(
            "cannot list {} (parity.pairs.dir: the folder the parity scripts write their stems to)",
            dir.display()
        )
    })?;
    let ext = Path::new(&cfg.pattern)
        .extension()
        .map(|e| e.to_string_lossy().to_ascii_lowercase());
    let mut out = Split {
        reference: Source::Folder {
            path: dir.to_path_buf(),
            files: BTreeMap::new(),
        },
        candidate: Source::Folder {
            path: dir.to_path_buf(),
            files: BTreeMap::new(),
        },
        reference_files: BTreeMap::new(),
        candidate_files: BTreeMap::new(),
        unmatched: Vec::new(),
    };
    for entry in entries {
        let p = entry
            .with_context(|| format!("cannot list {}", dir.display()))?
            .path();
        if !p.is_file() {
            continue;
        }
        let Some(name) = p.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        // The longer backend name first, so `coreml_fp16` is not read as a stem of `coreml`.
        let mut sides = [(&cfg.reference, true), (&cfg.candidate, false)];
        sides.sort_by_key(|(b, _)| std::cmp::Reverse(b.len()));
        let found = sides
            .iter()
            .find_map(|(b, is_ref)| stem_of(&cfg.pattern, b, name).map(|s| (s, *is_ref)));
        match found {
            Some((stem, true)) => {
                out.reference_files.insert(stem, p);
            }
            Some((stem, false)) => {
                out.candidate_files.insert(stem, p);
            }
            None => {
                let same_ext = p
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase())
                    == ext;
                if same_ext {
                    out.unmatched.push(name.to_string());
                }
            }
        }
    }
    if out.reference_files.is_empty() && out.candidate_files.is_empty() {
        bail!(
            "{} holds no file named like {:?} for {:?} or {:?} (parity.pairs); check the folder and the pattern",
            dir.display(),
            cfg.pattern,
            cfg.reference,
            cfg.candidate
        );
    }
    out.unmatched.sort();
    if let Source::Folder { files, .. } = &mut out.reference {
        files.clone_from(&out.reference_files);
    }
    if let Source::Folder { files, .. } = &mut out.candidate {
        files.clone_from(&out.candidate_files);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stems_are_read_around_the_backend() {
        let p = DEFAULT_PATTERN;
        assert_eq!(
            stem_of(p, "pytorch", "drums_pytorch.wav").as_deref(),
            Some("drums")
        );
        assert_eq!(
            stem_of(p, "coreml", "my_stem_coreml.wav").as_deref(),
            Some("my_stem")
        );
        assert_eq!(stem_of(p, "coreml", "drums_pytorch.wav"), None);
        assert_eq!(stem_of(p, "coreml", "_coreml.wav"), None);
        assert_eq!(
            stem_of("{backend}/{stem}.wav", "a", "a/x.wav").as_deref(),
            Some("x")
        );
        assert_eq!(file_name(p, "bass", "coreml"), "bass_coreml.wav");
    }

    #[test]
    fn patterns_need_both_placeholders_once() {
        assert!(check_pattern(DEFAULT_PATTERN).is_ok());
        assert!(check_pattern("{stem}.wav").is_err());
        assert!(check_pattern("{stem}_{backend}_{stem}.wav").is_err());
        assert!(check_pattern("{backend}/{stem}.wav").is_err());
    }
}

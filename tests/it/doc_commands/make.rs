//! The make side of the doc check: a documented `make` target passes `make -n` and is
//! reached from `make test` (what `.ci/run` runs) or `make demo`, or is allow-listed.

use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

pub struct MakeTargets {
    root: PathBuf,
    /// A stand-in venv holding only the requirements stamp, so `make -n` needs no real venv.
    fake_venv: tempfile::TempDir,
    /// Make targets that `make test` (what `.ci/run` runs) or `make demo` reaches.
    reached: BTreeSet<String>,
}

impl MakeTargets {
    pub fn new(root: &Path) -> Self {
        let fake_venv = tempdir();
        write(
            &fake_venv.path().join(".htdemucs-devops-requirements.txt"),
            "",
        );
        let mut targets = MakeTargets {
            root: root.to_path_buf(),
            fake_venv,
            reached: BTreeSet::new(),
        };
        targets.reached = targets.reached_targets();
        targets
    }

    /// Ok with how each target of a `make` line is run, or why it is refused.
    pub fn check(&self, args: &[String], allowed: &[(&str, &str)]) -> Result<String, String> {
        let (vars, targets): (Vec<&String>, Vec<&String>) = args
            .iter()
            .filter(|a| !a.starts_with('-'))
            .partition(|a| a.contains('='));
        let mut how = Vec::new();
        for target in targets {
            let out = run(self.make().arg("-n").args(&vars).arg(target.as_str()));
            if !out.status.success() {
                return Err(format!(
                    "`make -n {target}` fails:\n{}",
                    tail(&stderr(&out), 10)
                ));
            }
            if self.reached.contains(target.as_str()) {
                how.push(format!("{target}: run by `make test` or `make demo`"));
            } else if let Some((_, why)) = allowed.iter().find(|(t, _)| t == target) {
                how.push(format!("{target}: allowed ({why})"));
            } else {
                return Err(format!(
                    "make target `{target}` is run neither by CI (`make test`) nor by `make demo`: \
                     make one of them run it, or add it to MAKE_ALLOWED in \
                     tests/it/doc_commands.rs with why"
                ));
            }
        }
        Ok(how.join("; "))
    }

    /// `make` in the repository, with the stand-in venv and none of an outer make's flags.
    fn make(&self) -> Command {
        let mut cmd = Command::new("make");
        cmd.arg("--no-print-directory")
            .arg("-C")
            .arg(&self.root)
            .arg(format!("VENV={}", self.fake_venv.path().display()));
        for var in ["MAKEFLAGS", "MFLAGS", "MAKELEVEL", "VENV"] {
            cmd.env_remove(var);
        }
        cmd
    }

    /// The targets `make test` (the target `.ci/run` runs) and `make demo` reach through
    /// prerequisites and `$(MAKE) target` lines, from make's own database.
    fn reached_targets(&self) -> BTreeSet<String> {
        let db = stdout(&run(self.make().args([
            "-pRrq",
            "--",
            "doc-commands-probe",
        ])));
        let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        let mut current: Option<String> = None;
        for line in db.lines() {
            if let Some(recipe) = line.strip_prefix('\t') {
                if let (Some(t), Some((_, rest))) = (&current, recipe.split_once("$(MAKE)")) {
                    let subs = rest
                        .split_whitespace()
                        .filter(|w| !w.starts_with('-') && !w.contains('=') && !w.contains('$'));
                    graph
                        .entry(t.clone())
                        .or_default()
                        .extend(subs.map(String::from));
                }
                continue;
            }
            current = None;
            if line.starts_with('#') || line.contains('=') || line.starts_with(' ') {
                continue;
            }
            if let Some((target, prereqs)) = line.split_once(':') {
                if target.is_empty() || target.contains(' ') || prereqs.starts_with(':') {
                    continue;
                }
                let deps = prereqs.split('|').flat_map(str::split_whitespace);
                graph
                    .entry(target.to_string())
                    .or_default()
                    .extend(deps.map(String::from));
                current = Some(target.to_string());
            }
        }
        let ci = std::fs::read_to_string(self.root.join(".ci/run")).expect("read .ci/run");
        let mut todo: Vec<String> = vec!["demo".into()];
        for line in ci.lines().filter(|l| !l.trim_start().starts_with('#')) {
            let words: Vec<&str> = line.split_whitespace().collect();
            for pair in words.windows(2) {
                if pair[0] == "make" && !pair[1].starts_with('-') && !pair[1].contains('=') {
                    todo.push(pair[1].trim_matches('"').to_string());
                }
            }
        }
        assert!(
            todo.len() > 1,
            "found no `make TARGET` in .ci/run: how does CI run the tests now?"
        );
        let mut seen = BTreeSet::new();
        while let Some(t) = todo.pop() {
            if seen.insert(t.clone()) {
                todo.extend(graph.get(&t).into_iter().flatten().cloned());
            }
        }
        seen
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

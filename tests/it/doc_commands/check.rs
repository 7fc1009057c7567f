//! Decides whether one documented command is exercised: `htdemucs-devops` and
//! `htdemucs-stage-runner` lines go through the real binaries (clap parses them, cheap ones
//! run for real on a copy of the example), `make` lines name a target that `make -n`
//! accepts and that CI or `make demo` runs (or an allow-listed one), anything else must
//! be a known external program.

use super::extract::DocCommand;
use crate::common::*;
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

/// What the checker accepts besides this project's binaries and CI's make targets.
pub struct Allowed<'a> {
    /// Programs of other projects a doc may tell the reader to run, with why.
    pub external: &'a [(&'a str, &'a str)],
    /// Make targets no CI job or `make demo` runs, with why.
    pub make_targets: &'a [(&'a str, &'a str)],
}

pub struct Checker<'a> {
    root: PathBuf,
    allowed: Allowed<'a>,
    /// A stand-in venv holding only the requirements stamp, so `make -n` needs no real venv.
    fake_venv: tempfile::TempDir,
    /// Make targets that `make test` (what `.ci/run` runs) or `make demo` reaches.
    reached: BTreeSet<String>,
}

impl<'a> Checker<'a> {
    pub fn new(root: &Path, allowed: Allowed<'a>) -> Self {
        let fake_venv = tempdir();
        write(
            &fake_venv.path().join(".htdemucs-devops-requirements.txt"),
            "",
        );
        let mut checker = Checker {
            root: root.to_path_buf(),
            allowed,
            fake_venv,
            reached: BTreeSet::new(),
        };
        checker.reached = checker.reached_targets();
        checker
    }

    /// Ok with how the command is exercised, or what is wrong with it.
    pub fn check(&self, cmd: &DocCommand) -> Result<String, String> {
        match cmd.program() {
            "htdemucs-devops" => self.check_cli(cmd.args()),
            "htdemucs-stage-runner" => check_runner(cmd.args()),
            "make" => self.check_make(cmd.args()),
            p => match self.allowed.external.iter().find(|(name, _)| *name == p) {
                Some((_, why)) => Ok(format!("external: {why}")),
                None => Err(format!(
                    "`{p}` is not this project's binary, a make target or a known external \
                     command: test it, or add it to EXTERNAL in tests/it/doc_commands.rs with why"
                )),
            },
        }
    }

    fn check_cli(&self, args: &[String]) -> Result<String, String> {
        // `[--spec FILE]` is usage notation for an optional part: check it with the part.
        let args: Vec<String> = args
            .iter()
            .map(|a| a.trim_start_matches('[').trim_end_matches(']').to_string())
            .filter(|a| !a.is_empty())
            .collect();
        let informational = ["--help", "-h", "--version", "-V"];
        if args.iter().any(|a| informational.contains(&a.as_str())) {
            let dir = tempdir();
            let out = run(bin().args(&args).current_dir(dir.path()));
            return if out.status.success() && !stdout(&out).trim().is_empty() {
                Ok("ran".into())
            } else {
                Err(format!("exit {:?}: {}", out.status.code(), stderr(&out)))
            };
        }
        // clap handles --help as it meets it: every argument before it is parsed and its
        // value checked, and the usage line names the subcommand it chose.
        let dir = tempdir();
        let out = run(bin().args(&args).arg("--help").current_dir(dir.path()));
        if !out.status.success() {
            return Err(format!(
                "htdemucs-devops rejects these arguments (exit {:?}):\n{}",
                out.status.code(),
                stderr(&out)
            ));
        }
        let text = stdout(&out);
        let path = usage_path(&text, "htdemucs-devops")
            .ok_or_else(|| format!("no usage line in the help:\n{text}"))?;
        if !is_subsequence(&path, &args) {
            return Err(format!(
                "clap chose `htdemucs-devops {}`, not what the doc says",
                path.join(" ")
            ));
        }
        if !runs_cheaply(&args) {
            return Ok(format!("parsed by clap as `{}`", path.join(" ")));
        }
        let work = tempdir();
        let example = work.path().join("example");
        copy_example(&self.root.join("examples/htdemucs-mini"), &example);
        let out = run(bin().args(&args).current_dir(&example));
        let code = out.status.code();
        if matches!(code, Some(0 | 1)) && !stderr(&out).contains("panicked") {
            Ok(format!("ran on a copy of the example: exit {code:?}"))
        } else {
            Err(format!(
                "on a copy of examples/htdemucs-mini: exit {code:?}\n{}{}",
                stdout(&out),
                stderr(&out)
            ))
        }
    }

    fn check_make(&self, args: &[String]) -> Result<String, String> {
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
            } else if let Some((_, why)) =
                self.allowed.make_targets.iter().find(|(t, _)| t == target)
            {
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

/// `htdemucs-stage-runner` arguments, parsed by the real runner (with `--help` after them).
fn check_runner(args: &[String]) -> Result<String, String> {
    let runner = Path::new(env!("CARGO_BIN_EXE_htdemucs-stage-runner"));
    let cfg = htdemucs_devops::runner::libtorch::TorchConfig {
        python: Some(python()),
        ..Default::default()
    };
    // A runner built with the torch feature needs libtorch on the loader path.
    let env = htdemucs_devops::runner::libtorch::runner_env(runner, &cfg, Path::new("."))
        .map_err(|e| format!("cannot find the runner's libtorch: {e}"))?;
    let dir = tempdir();
    let out = run(Command::new(runner)
        .args(args)
        .arg("--help")
        .envs(env)
        .current_dir(dir.path()));
    match usage_path(&stdout(&out), "htdemucs-stage-runner") {
        Some(_) if out.status.success() => Ok("parsed by the stage runner's clap".into()),
        _ => Err(format!(
            "htdemucs-stage-runner rejects these arguments (exit {:?}):\n{}",
            out.status.code(),
            stderr(&out)
        )),
    }
}

/// The project's Python, found the way the Makefile's tests find it.
fn python() -> PathBuf {
    if let Some(p) = std::env::var_os("HTDEMUCS_PYTHON") {
        return PathBuf::from(p);
    }
    for venv in ["HTDEMUCS_VENV", "VIRTUAL_ENV"] {
        if let Some(dir) = std::env::var_os(venv) {
            return PathBuf::from(dir).join("bin/python");
        }
    }
    PathBuf::from("python3")
}

/// The subcommand words of the first `Usage: PROGRAM ...` line.
fn usage_path(help: &str, program: &str) -> Option<Vec<String>> {
    let line = help
        .lines()
        .find_map(|l| l.trim().strip_prefix("Usage:"))?
        .trim();
    let rest = line.strip_prefix(program)?;
    Some(
        rest.split_whitespace()
            .take_while(|w| !w.starts_with('[') && !w.starts_with('<'))
            .map(String::from)
            .collect(),
    )
}

fn is_subsequence(needle: &[String], hay: &[String]) -> bool {
    let mut it = hay.iter();
    needle.iter().all(|n| it.any(|h| h == n))
}

/// Commands cheap and local enough to run for real: `init` in any form, a bare `lint`.
fn runs_cheaply(args: &[String]) -> bool {
    args.first().is_some_and(|a| a == "init") || args == ["lint"]
}

/// The example without build output or caches.
fn copy_example(from: &Path, to: &Path) {
    const SKIP: &[&str] = &[
        "build",
        ".build",
        ".swiftpm",
        ".htdemucs-devops",
        "__pycache__",
        ".pytest_cache",
        ".ruff_cache",
    ];
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name();
        if SKIP.iter().any(|s| name == *s) {
            continue;
        }
        if entry.file_type().unwrap().is_dir() {
            copy_example(&entry.path(), &to.join(&name));
        } else {
            std::fs::copy(entry.path(), to.join(&name)).unwrap();
        }
    }
}

fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

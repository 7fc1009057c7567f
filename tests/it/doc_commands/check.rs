//! Decides whether one documented command is exercised: `htdemucs-devops` and
//! `htdemucs-stage-runner` lines go through the real binaries (clap parses them, cheap ones
//! run for real on a copy of the example), `cargo` lines name this package's binaries and
//! features, `make` lines go to make.rs, anything else must be a known external program;
//! repository paths in any of them must exist.

use super::extract::DocCommand;
use super::make::MakeTargets;
use crate::common::*;
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
    targets: MakeTargets,
}

impl<'a> Checker<'a> {
    pub fn new(root: &Path, allowed: Allowed<'a>) -> Self {
        Checker {
            root: root.to_path_buf(),
            allowed,
            targets: MakeTargets::new(root),
        }
    }

    /// Ok with how the command is exercised, or what is wrong with it.
    pub fn check(&self, cmd: &DocCommand) -> Result<String, String> {
        self.check_repo_paths(cmd.args())?;
        match cmd.program() {
            "htdemucs-devops" => self.check_cli(cmd.args()),
            "htdemucs-stage-runner" => check_runner(cmd.args()),
            "make" => self.targets.check(cmd.args(), self.allowed.make_targets),
            "cargo" => self.check_cargo(cmd.args()),
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

    /// Paths into this repository (`examples/...`, `docs/...`) exist; an output path's
    /// folder does.
    fn check_repo_paths(&self, args: &[String]) -> Result<(), String> {
        const TOP: &[&str] = &[
            "examples/",
            "benchmarks/",
            "docs/",
            "tests/",
            "src/",
            "dist/",
            "templates/",
            ".ci/",
        ];
        const OUTPUT_FLAGS: &[&str] = &["--out", "--out-dir", "--capture", "--site-dir"];
        let mut prev = "";
        for arg in args {
            if TOP.iter().any(|t| arg.starts_with(t)) && !arg.contains(['*', '$', '{']) {
                let path = self.root.join(arg);
                let ok = if OUTPUT_FLAGS.contains(&prev) {
                    path.parent().is_some_and(Path::is_dir)
                } else {
                    path.exists()
                };
                if !ok {
                    return Err(format!("`{arg}` is not in the repository"));
                }
            }
            prev = arg;
        }
        Ok(())
    }

    /// `--bin`, `--features` and the crate `cargo install` names are this package's.
    fn check_cargo(&self, args: &[String]) -> Result<String, String> {
        let out = run(Command::new(env!("CARGO"))
            .args([
                "metadata",
                "--no-deps",
                "--offline",
                "--format-version",
                "1",
            ])
            .current_dir(&self.root));
        let meta: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("cargo metadata: {e}: {}", stderr(&out)));
        let package = &meta["packages"][0];
        let name = package["name"].as_str().expect("a package name");
        let bins: Vec<&str> = package["targets"]
            .as_array()
            .expect("targets")
            .iter()
            .filter(|t| {
                t["kind"]
                    .as_array()
                    .is_some_and(|k| k.iter().any(|k| k == "bin"))
            })
            .filter_map(|t| t["name"].as_str())
            .collect();
        let features = package["features"].as_object().expect("features");
        let mut words = args.iter().map(String::as_str).peekable();
        let sub = words.next().unwrap_or("");
        while let Some(w) = words.next() {
            match w {
                "--bin" => {
                    let b = words.next().unwrap_or("");
                    if !bins.contains(&b) {
                        return Err(format!(
                            "no binary `{b}` in Cargo.toml (there are {bins:?})"
                        ));
                    }
                }
                "--features" | "-F" => {
                    for f in words.next().unwrap_or("").split([',', ' ']) {
                        if !features.contains_key(f) {
                            return Err(format!("no feature `{f}` in Cargo.toml"));
                        }
                    }
                }
                // Options of `cargo install` taking a value.
                "--git" | "--tag" | "--branch" | "--rev" | "--version" | "--root" => {
                    words.next();
                }
                w if sub == "install" && !w.starts_with('-') && w != name => {
                    return Err(format!("`cargo install {w}`: the crate is `{name}`"));
                }
                _ => {}
            }
        }
        Ok(format!("cargo {sub}: binaries and features exist"))
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

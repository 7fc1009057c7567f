//! Running the configured test commands: the defaults (`swift test`, `pytest`), the
//! "anything to test here?" check, stale result files, and a command that fails without
//! leaving results.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use super::config::TestCommand;
use super::model::{Collector, CommandRun, CommandState};
use crate::context::Ctx;
use crate::process::{run_tool, shell_words, Launch};

/// Folders never searched for `if_present`: dependencies, build output, VCS data.
const PRUNED: &[&str] = &[
    "node_modules",
    "target",
    "build",
    "site-packages",
    "__pycache__",
    "venv",
    "env",
    "Pods",
    "DerivedData",
];
/// Bounds the `if_present` walk in huge repositories.
const MAX_WALK_ENTRIES: usize = 50_000;

/// The commands used when the config lists none: a Swift package and Python tests.
pub fn defaults() -> Vec<TestCommand> {
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        TestCommand {
            name: "swift test".into(),
            // XCTest writes the xUnit file only with --parallel; Swift Testing writes
            // its own next to it as `<name>-swift-testing.xml`, hence the glob.
            command: s(&[
                "swift",
                "test",
                "--parallel",
                "--xunit-output",
                "{out_dir}/swift-xunit.xml",
            ]),
            junit: s(&["{out_dir}/swift-xunit*.xml"]),
            if_present: s(&["Package.swift"]),
            ..TestCommand::default()
        },
        TestCommand {
            name: "pytest".into(),
            command: s(&["pytest", "--junitxml", "{out_dir}/pytest-junit.xml"]),
            junit: s(&["{out_dir}/pytest-junit.xml"]),
            if_present: s(&["**/test_*.py", "**/*_test.py"]),
            ..TestCommand::default()
        },
    ]
}

/// Is there a file matching one of `patterns` under `dir`?
pub fn anything_present(dir: &Path, patterns: &[String]) -> Result<bool> {
    let mut globs = Vec::new();
    for p in patterns {
        if !p.contains(['*', '?', '[']) {
            if dir.join(p).exists() {
                return Ok(true);
            }
            continue;
        }
        globs.push(
            glob::Pattern::new(p)
                .with_context(|| format!("test.commands[].if_present: bad glob {p:?}"))?,
        );
    }
    if globs.is_empty() {
        return Ok(false);
    }
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let mut stack = vec![dir.to_path_buf()];
    let mut seen = 0usize;
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for entry in entries.flatten() {
            seen += 1;
            if seen > MAX_WALK_ENTRIES {
                return Ok(false);
            }
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            if is_dir {
                if !name.starts_with('.') && !PRUNED.contains(&name.as_str()) {
                    stack.push(path);
                }
                continue;
            }
            let rel = path.strip_prefix(dir).unwrap_or(&path);
            let rel = rel.to_string_lossy().replace('\\', "/");
            if globs.iter().any(|g| g.matches_with(&rel, opts)) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

fn substitute(s: &str, out_dir: &str) -> String {
    s.replace("{out_dir}", out_dir)
}

/// The result-file globs of a command, absolute, with the literal parts escaped.
fn result_globs(cmd: &TestCommand, cwd: &Path, out_dir: &Path) -> Vec<String> {
    let out = glob::Pattern::escape(&out_dir.to_string_lossy());
    cmd.junit
        .iter()
        .map(|j| {
            let p = substitute(j, &out);
            if Path::new(&p).is_absolute() {
                p
            } else {
                format!("{}/{p}", glob::Pattern::escape(&cwd.to_string_lossy()))
            }
        })
        .collect()
}

fn matches(globs: &[String]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for g in globs {
        for p in glob::glob(g).with_context(|| format!("bad result-file glob {g:?}"))? {
            let p = p.with_context(|| format!("cannot list files for {g:?}"))?;
            if p.is_file() && !out.contains(&p) {
                out.push(p);
            }
        }
    }
    out.sort();
    Ok(out)
}

fn mtime(p: &Path) -> Option<SystemTime> {
    std::fs::metadata(p).and_then(|m| m.modified()).ok()
}

fn output_tail(stdout: &str, stderr: &str) -> String {
    let both = format!(
        "{stdout}{}{stderr}",
        if stdout.ends_with('\n') || stdout.is_empty() {
            ""
        } else {
            "\n"
        }
    );
    let lines: Vec<&str> = both.lines().collect();
    let start = lines.len().saturating_sub(40);
    lines[start..].join("\n")
}

/// Runs one command and adds what it produced to `collector`. Exit-2 situations (a
/// required program missing, a bad config, an unreadable result file) are errors.
pub fn run_one(ctx: &Ctx, cmd: &TestCommand, collector: &mut Collector) -> Result<()> {
    let program = cmd.command.first().cloned().unwrap_or_default();
    let name = if cmd.name.is_empty() {
        program.clone()
    } else {
        cmd.name.clone()
    };
    if program.is_empty() {
        bail!("test command {name:?} has an empty `command` in the config");
    }
    if cmd.junit.is_empty() {
        bail!("test command {name:?} lists no `junit` result file; add the file(s) it writes, e.g. junit: [\"{{out_dir}}/results.xml\"]");
    }
    let cwd = ctx.resolve(cmd.working_directory.as_deref().unwrap_or(Path::new(".")));
    if !cwd.is_dir() {
        bail!(
            "the working_directory of test command {name:?} ({}) is not a folder",
            cwd.display()
        );
    }
    let out_dir_s = ctx.out_dir.to_string_lossy().into_owned();
    let argv: Vec<String> = cmd
        .command
        .iter()
        .map(|a| substitute(a, &out_dir_s))
        .collect();
    let shown = shell_words(&argv);
    let record = |collector: &mut Collector, state| {
        collector.commands.push(CommandRun {
            name: name.clone(),
            command: shown.clone(),
            state,
        })
    };

    if !cmd.if_present.is_empty() && !anything_present(&cwd, &cmd.if_present)? {
        let folder = crate::paths::relativize(&cwd.to_string_lossy(), &ctx.root, &ctx.root);
        let reason = format!(
            "nothing to test: no file matching {} in {}",
            cmd.if_present.join(", "),
            if folder.is_empty() { "." } else { &folder }
        );
        if cmd.required {
            bail!("test command {name:?} is required but there is {reason}");
        }
        record(collector, CommandState::Skipped { reason });
        return Ok(());
    }

    // Results of an earlier run must never pass for this run's: our own files are
    // removed, files elsewhere count only if they changed.
    std::fs::create_dir_all(&ctx.out_dir)
        .with_context(|| format!("cannot create the output folder {}", ctx.out_dir.display()))?;
    let globs = result_globs(cmd, &cwd, &ctx.out_dir);
    let mut before = BTreeMap::new();
    for p in matches(&globs)? {
        if p.starts_with(&ctx.out_dir) {
            std::fs::remove_file(&p)
                .with_context(|| format!("cannot remove the stale result file {}", p.display()))?;
        } else {
            before.insert(p.clone(), mtime(&p));
        }
    }

    let run = match run_tool(ctx.console, &name, &argv, &cwd, &[])? {
        Launch::NotInstalled => {
            if cmd.required {
                bail!("test command {name:?} is required but {program} is not installed (not found on PATH)");
            }
            let reason = format!("{program} is not installed (not found on PATH)");
            record(collector, CommandState::Skipped { reason });
            return Ok(());
        }
        Launch::Ran(run) => run,
    };
    let fresh: Vec<PathBuf> = matches(&globs)?
        .into_iter()
        .filter(|p| before.get(p).is_none_or(|old| *old != mtime(p)))
        .collect();
    let seconds = run.elapsed.as_secs_f64();
    let code_text = run.code.map_or("a signal".to_string(), |c| c.to_string());
    if fresh.is_empty() {
        let wanted = substitute(&cmd.junit.join(", "), &out_dir_s);
        let problem = if run.code == Some(0) {
            format!("exited with 0 but wrote no result file matching {wanted}; check its `junit` setting")
        } else {
            format!("exited with {code_text} and wrote no result file ({wanted}); see its output")
        };
        record(
            collector,
            CommandState::Broken {
                exit_code: run.code,
                seconds,
                problem,
                output_tail: output_tail(&run.stdout, &run.stderr),
            },
        );
        return Ok(());
    }
    let mut tests = 0;
    let mut bad = 0;
    let mut shown_files = Vec::new();
    for f in &fresh {
        let shown_file = crate::paths::relativize(&f.to_string_lossy(), &ctx.root, &ctx.root);
        let t = collector.ingest(f, &shown_file, &cwd, &ctx.root)?;
        tests += t.tests;
        bad += t.failed + t.errored;
        shown_files.push(shown_file);
    }
    let suspicious = run.code.is_none() || (run.code != Some(0) && tests > 0 && bad == 0);
    let state = if suspicious {
        CommandState::Broken {
            exit_code: run.code,
            seconds,
            problem: format!(
                "exited with {code_text} although its results show no failing test (did it crash after the tests?); see its output"
            ),
            output_tail: output_tail(&run.stdout, &run.stderr),
        }
    } else {
        CommandState::Ran {
            exit_code: run.code,
            seconds,
            result_files: shown_files,
        }
    };
    record(collector, state);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_python_tests_but_not_in_venvs_or_hidden_folders() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let pats = vec!["**/test_*.py".to_string(), "**/*_test.py".to_string()];
        let touch = |p: &str| {
            let path = dir.path().join(p);
            std::fs::create_dir_all(path.parent().unwrap_or(dir.path()))
                .unwrap_or_else(|e| panic!("{e}"));
            std::fs::write(path, "").unwrap_or_else(|e| panic!("{e}"));
        };
        touch(".venv/lib/site-packages/x/test_a.py");
        touch("venv/test_b.py");
        touch("src/module.py");
        assert!(!anything_present(dir.path(), &pats).unwrap_or(true));
        touch("test_top.py");
        assert!(anything_present(dir.path(), &pats).unwrap_or(false));
        std::fs::remove_file(dir.path().join("test_top.py")).unwrap_or_else(|e| panic!("{e}"));
        touch("pkg/tests/model_test.py");
        assert!(anything_present(dir.path(), &pats).unwrap_or(false));
        assert!(!anything_present(dir.path(), &["Package.swift".to_string()]).unwrap_or(true));
    }
}

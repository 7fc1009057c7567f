//! The snapshot gallery: what a maintainer reads, produced by the real binary from real
//! fixtures, one insta snapshot per view. One mixed run (lint fails, a test fails, parity
//! passes, the benchmark warns) gives each phase's terminal summary and Markdown section,
//! the merged PR comment, the parity HTML and every site page; `init` gives each scaffold;
//! and every subcommand's `--help` is here. Times, SHAs, versions and paths are filtered.
//! Review a change with `cargo insta review`; under CI (`CI=true`) insta writes nothing
//! and a mismatch or a missing snapshot fails.

use crate::common::*;
use crate::report_helpers::pr_event;
use std::path::Path;
use std::process::Command;

/// The workspace the gallery runs in, then its reports: `<ws>/.htdemucs-devops`.
const OUT: &str = ".htdemucs-devops";
/// A fixed publish time, so the site's dates and archive names do not move.
const EPOCH: &str = "1772359300";

/// Insta settings that hide what changes from run to run or machine to machine.
fn settings(ws: &Path) -> insta::Settings {
    let mut s = insta::Settings::clone_current();
    s.set_prepend_module_to_snapshot(true);
    s.set_omit_expression(true);
    let repo = env!("CARGO_MANIFEST_DIR");
    for (path, name) in [
        (ws.display().to_string(), "[WS]"),
        (repo.to_string(), "[REPO]"),
    ] {
        s.add_filter(&regex_escape(&path), name);
    }
    s.add_filter(r"/tmp/\.tmp[A-Za-z0-9]+", "[TMP]");
    // The workspace's folder name alone: the site's default project name.
    s.add_filter(r"\.tmp[A-Za-z0-9]{6}", "[WSNAME]");
    s.add_filter(r"\b[0-9a-f]{40}\b", "[SHA]");
    s.add_filter(
        r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d(\.\d+)?)?( ?UTC|Z|[+-]\d\d:?\d\d)?",
        "[TIME]",
    );
    s.add_filter(
        &format!(r"\b{}\b", regex_escape(env!("CARGO_PKG_VERSION"))),
        "[VERSION]",
    );
    s
}

/// `s` with regex metacharacters escaped, for a literal filter.
fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// A command for our binary in `ws` as a terminal user runs it (no colour: not a tty).
fn cmd(ws: &Path) -> Command {
    let mut c = bin();
    c.current_dir(ws).env("SOURCE_DATE_EPOCH", EPOCH);
    c
}

/// The `markdown` of `<ws>/.htdemucs-devops/<phase>.json`, the section the PR comment and
/// the step summary show.
fn markdown(ws: &Path, phase: &str) -> String {
    let path = ws.join(OUT).join(format!("{phase}.json"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: serde_json::Value = serde_json::from_str(&text).expect("a phase report is JSON");
    v["markdown"]
        .as_str()
        .unwrap_or_else(|| panic!("{phase}.json has no markdown: {text}"))
        .to_string()
}

/// Copies a ruff fixture into `ws/reports`, its recorded paths pointed at `ws`.
fn ruff_report(ws: &Path) {
    let text = std::fs::read_to_string(fixtures().join("ruff/check.json")).unwrap();
    let text = text.replace(
        "/work/wt/lint/tests/fixtures/ruff/project",
        &ws.display().to_string(),
    );
    write(&ws.join("reports/ruff.json"), &text);
}

/// Runs the four phases of the mixed scenario in `ws`; returns each phase's terminal
/// output (stdout, then stderr) with its exit code.
fn mixed_run(ws: &Path) -> Vec<(&'static str, String)> {
    ruff_report(ws);
    // Every input inside the workspace, named relative to it, as a port's workflow has
    // them: the views then show the same paths on every machine.
    for (from, to) in [
        (
            "parity/example/htdemucs-devops.yml",
            ".github/htdemucs-devops.yml",
        ),
        ("parity/example/reference.npz", "captures/reference.npz"),
        ("parity/example/candidate.npz", "captures/candidate.npz"),
        ("pytest/pytest-xunit2.xml", "results/pytest-junit.xml"),
        ("bench/history.json", "benchmarks/baseline.json"),
        ("bench/current.json", "results/benchmark.json"),
    ] {
        std::fs::create_dir_all(ws.join(to).parent().unwrap()).unwrap();
        std::fs::copy(fixtures().join(from), ws.join(to)).unwrap();
    }
    let runs: [(&str, &[&str], i32); 4] = [
        ("lint", &["lint", "--report", "ruff=reports/ruff.json"], 1),
        ("test", &["test", "--junit", "results/pytest-junit.xml"], 1),
        (
            "parity",
            &[
                "parity",
                "--reference",
                "captures/reference.npz",
                "--candidate",
                "captures/candidate.npz",
            ],
            0,
        ),
        (
            "benchmark",
            &[
                "benchmark",
                "compare",
                "--current",
                "results/benchmark.json",
            ],
            0,
        ),
    ];
    let mut shown = Vec::new();
    for (phase, args, code) in runs {
        let out = run(cmd(ws).arg("--root").arg(ws).args(args));
        let text = format!(
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            out.status.code().unwrap_or(-1),
            stdout(&out),
            stderr(&out)
        );
        assert_eq!(out.status.code(), Some(code), "{phase}: {text}");
        shown.push((phase, text));
    }
    shown
}

#[test]
fn a_mixed_run_phase_by_phase_then_the_pr_comment_and_the_site() {
    let dir = tempdir();
    let ws = dir.path();
    let terminal = mixed_run(ws);
    settings(ws).bind(|| {
        for (phase, text) in &terminal {
            insta::assert_snapshot!(format!("{phase}_terminal"), text);
            insta::assert_snapshot!(format!("{phase}_markdown"), markdown(ws, phase));
        }
        let html = std::fs::read_to_string(ws.join(OUT).join("parity.html")).unwrap();
        insta::assert_snapshot!("parity_html", html);
    });

    // The report job of a pull request under act: the comment is written, not sent.
    let out = run(bin_in_actions(ws)
        .env("ACT", "true")
        .env("GITHUB_REPOSITORY", "o/r")
        .env("GITHUB_SERVER_URL", "https://github.com")
        .env("GITHUB_EVENT_NAME", "pull_request")
        .env("GITHUB_EVENT_PATH", pr_event(ws, "o/r"))
        .env("GITHUB_SHA", "0123456789abcdef0123456789abcdef01234567")
        .env("GITHUB_RUN_ID", "42")
        .args(["report", "--reports", OUT, "--out-dir", "report-out"])
        .current_dir(ws));
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    let comment = std::fs::read_to_string(ws.join("report-out/comment.md")).unwrap();
    settings(ws).bind(|| insta::assert_snapshot!("pr_comment", comment));

    let out = run(cmd(ws)
        .args(["publish", "--root"])
        .arg(ws)
        .args(["--site-dir", "site"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let site = ws.join("site");
    let mut pages = Vec::new();
    collect_pages(&site, &site, &mut pages);
    pages.sort();
    assert!(pages.len() >= 6, "{pages:?}");
    settings(ws).bind(|| {
        insta::assert_snapshot!("site_files", pages.join("\n"));
        for page in &pages {
            if page.ends_with(".html") {
                let html = std::fs::read_to_string(site.join(page)).unwrap();
                let name = format!("site_{}", page.replace(['/', '.'], "_"));
                insta::assert_snapshot!(name, html);
            }
        }
    });
}

/// Every file under `dir`, as `/`-separated paths relative to `root`.
fn collect_pages(root: &Path, dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            collect_pages(root, &path, out);
        } else {
            let rel = path.strip_prefix(root).unwrap();
            out.push(rel.to_string_lossy().replace('\\', "/"));
        }
    }
}

#[test]
fn each_init_scaffold() {
    let dir = tempdir();
    let ws = dir.path();
    git(ws, &["init", "--quiet"]);
    let out = run(cmd(ws).args(["init", "--root"]).arg(ws));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let mut files = Vec::new();
    collect_pages(ws, ws, &mut files);
    files.retain(|f| !f.starts_with(".git/"));
    files.sort();
    settings(ws).bind(|| {
        insta::assert_snapshot!("init_files", files.join("\n"));
        insta::assert_snapshot!("init_output", stdout(&out));
        for f in &files {
            let text = std::fs::read_to_string(ws.join(f)).unwrap();
            let name = format!(
                "init_{}",
                f.trim_start_matches('.').replace(['/', '.'], "_")
            );
            insta::assert_snapshot!(name, text);
        }
    });
}

/// The subcommands listed under `Commands:` in a help text (without `help`).
fn subcommands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        // A name sits at two spaces; wrapped descriptions are indented further.
        .filter(|l| !l.starts_with("   "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn help_of_every_subcommand() {
    let dir = tempdir();
    let mut queue: Vec<Vec<String>> = vec![Vec::new()];
    let mut seen = 0;
    while let Some(path) = queue.pop() {
        let out = run(bin().current_dir(dir.path()).args(&path).arg("--help"));
        assert_eq!(out.status.code(), Some(0), "{path:?}: {}", stderr(&out));
        let help = stdout(&out);
        let name = if path.is_empty() {
            "help".to_string()
        } else {
            format!("help_{}", path.join("_"))
        };
        settings(dir.path()).bind(|| insta::assert_snapshot!(name, help));
        seen += 1;
        for sub in subcommands(&help) {
            let mut next = path.clone();
            next.push(sub);
            queue.push(next);
        }
    }
    assert!(
        seen >= 10,
        "only {seen} help texts: the Commands: sections were not found"
    );
}

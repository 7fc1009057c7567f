//! The action's outputs: the table in docs/action.md, `action.yml`'s `outputs:` and what the
//! six phases write to `GITHUB_OUTPUT` through the action are one and the same list.

use crate::common::*;
use crate::composite::*;
use crate::release_host::repo_root;
use crate::report_helpers::pr_event;
use crate::report_server::{FakeGitHub, REPO, TOKEN};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

/// The names in docs/action.md's outputs table (the rows after `| Output | Phase | Meaning |`).
pub fn readme_outputs() -> BTreeSet<String> {
    let text = std::fs::read_to_string(repo_root().join("docs/action.md"))
        .unwrap_or_else(|e| panic!("docs/action.md: {e}"));
    let mut lines = text.lines().skip_while(|l| !l.starts_with("| Output |"));
    assert!(
        lines.next().is_some(),
        "docs/action.md has no `| Output |` table"
    );
    lines
        .skip(1)
        .take_while(|l| l.starts_with('|'))
        .map(|l| {
            let cell = l.split('|').nth(1).unwrap().trim();
            cell.trim_matches('`').to_string()
        })
        .collect()
}

/// `action.yml`'s outputs: name → the expression of its value.
pub fn declared_outputs() -> BTreeMap<String, String> {
    let a = action();
    a["outputs"]
        .as_mapping()
        .cloned()
        .unwrap()
        .into_iter()
        .map(|(k, v)| {
            (
                k.as_str().unwrap().to_string(),
                v["value"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

fn git(dir: &Path, args: &[&str]) {
    let out = run(Command::new("git").current_dir(dir).args(args));
    assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
}

/// A workspace with an input for every phase: a linter report, JUnit results, two array
/// sets, benchmark results and a baseline, and a git repository whose `origin` is a bare
/// repository for `publish --push`. Returns each phase's `args` input and expected exit.
pub fn all_phases_workspace(ws: &Path) -> Vec<(&'static str, String, i32)> {
    let fixtures = repo_root().join("tests/fixtures");
    let copy = |from: &str, to: &str| {
        let dest = ws.join(to);
        std::fs::create_dir_all(dest.parent().unwrap_or(ws)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(fixtures.join(from), &dest).unwrap_or_else(|e| panic!("{from}: {e}"));
    };
    write(
        &ws.join("reports/gen.txt"),
        "src/a.py:3:1: error: bad thing\n",
    );
    copy("pytest/pytest-xunit2.xml", "reports/junit.xml");
    copy("parity/example/reference.npz", "arrays/reference.npz");
    copy("parity/example/candidate.npz", "arrays/candidate.npz");
    copy("bench/history.json", "benchmarks/baseline.json");
    copy("bench/current.json", "benchmarks/current.json");
    git(ws, &["init", "--quiet", "--bare", "remote.git"]);
    git(ws, &["init", "--quiet"]);
    let remote = ws.join("remote.git");
    git(ws, &["remote", "add", "origin", remote.to_str().unwrap()]);
    vec![
        ("lint", "--report generic=reports/gen.txt".into(), 1),
        ("test", "--junit reports/junit.xml".into(), 1),
        (
            "parity",
            "--reference arrays/reference.npz --candidate arrays/candidate.npz".into(),
            0,
        ),
        (
            "benchmark",
            "compare --baseline benchmarks/baseline.json --current benchmarks/current.json".into(),
            0,
        ),
        ("publish", "--site-dir site --push".into(), 0),
        ("report", "--reports .htdemucs-devops".into(), 1),
    ]
}

#[test]
fn readme_action_yml_and_the_phases_agree_on_every_output() {
    let readme = readme_outputs();
    let declared = declared_outputs();
    let names: BTreeSet<String> = declared.keys().cloned().collect();
    assert_eq!(
        readme, names,
        "docs/action.md's outputs table vs action.yml outputs:"
    );

    let dir = tempdir();
    let ws = dir.path();
    let bin = bin_path();
    // `report` talks to a stand-in GitHub so that `comment-url` gets a value; the other
    // phases run as under act.
    let gh = FakeGitHub::start();
    let event = pr_event(ws, REPO);
    let act_env = [("ACT", "true"), ("GITHUB_REPOSITORY", REPO)];
    let report_env = [
        ("GITHUB_API_URL", gh.url.as_str()),
        ("GITHUB_REPOSITORY", REPO),
        ("GITHUB_EVENT_NAME", "pull_request"),
        ("GITHUB_EVENT_PATH", event.to_str().unwrap()),
        ("HTDEMUCS_DEVOPS_RETRY_BASE_MS", "1"),
    ];
    let mut written: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut values: BTreeMap<String, String> = BTreeMap::new();
    for (phase, args, code) in all_phases_workspace(ws) {
        let mut env = vec![
            ("GITHUB_SHA", "1111111aaaa"),
            ("SOURCE_DATE_EPOCH", "1770300000"),
        ];
        env.extend(if phase == "report" {
            &report_env[..]
        } else {
            &act_env[..]
        });
        let r = run_action(
            ws,
            &[
                ("phase", phase),
                ("binary-path", bin.to_str().unwrap()),
                ("github-token", TOKEN),
                ("args", &args),
            ],
            &env,
        );
        assert_eq!(r.code, Some(code), "{phase}: {}{}", r.stdout, r.stderr);
        for (step, set) in r.written {
            written.entry(step).or_default().extend(set);
        }
        for (k, v) in r.outputs {
            if !v.is_empty() {
                values.insert(k, v);
            }
        }
    }
    // Every run-step output is declared under its own name, and nothing else is.
    let from_run: BTreeSet<String> = declared
        .iter()
        .filter_map(|(name, expr)| {
            let inner = expr.trim_start_matches("${{").trim_end_matches("}}").trim();
            let step = inner.strip_prefix("steps.run.outputs.")?;
            assert_eq!(step, name, "output {name} reads {expr}");
            Some(name.clone())
        })
        .collect();
    let run_wrote = written.get("run").cloned().unwrap();
    assert_eq!(
        run_wrote, from_run,
        "what the phases write to GITHUB_OUTPUT vs action.yml outputs read from the run step"
    );
    let others: BTreeSet<&String> = names.difference(&from_run).collect();
    assert_eq!(others, [&"binary".to_string()].into_iter().collect());
    assert_eq!(declared["binary"], "${{ steps.install.outputs.path }}");
    assert!(written["install"].contains("path"), "{written:?}");
    // And each declared output carried a value out of the action in some phase.
    let empty: Vec<&String> = names.iter().filter(|n| !values.contains_key(*n)).collect();
    assert!(empty.is_empty(), "never set through the action: {empty:?}");
}

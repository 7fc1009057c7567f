//! `action.yml` as a runner executes it (through `composite::run_action`): inputs reach
//! the binary's argv through the environment only, the phase's outputs come back out,
//! and every workflow here, in the README and from `init` uses only declared inputs.

use crate::common::*;
use crate::composite::*;
use crate::release_host::{
    fake_binary, host_platform, release, repo_root, route, ReleaseServer, Reply,
};
use serde_yaml_ng::Value;
use std::collections::{BTreeSet, HashMap};
use std::path::Path;

/// A stand-in binary that records its argv (one per line), folder and token, and sets
/// step outputs the way the real one does.
fn recording_binary(ws: &Path) {
    let script = r#"#!/bin/sh
{ for a in "$@"; do echo "arg:$a"; done; echo "pwd:$(pwd)"; echo "token:$GITHUB_TOKEN"; echo "config-env:${HTDEMUCS_DEVOPS_CONFIG_INPUT:-unset}"; } > "$GITHUB_WORKSPACE/record.txt"
echo "status=warned" >> "$GITHUB_OUTPUT"
echo "report-path=.htdemucs-devops/$1.json" >> "$GITHUB_OUTPUT"
echo "regressions=2" >> "$GITHUB_OUTPUT"
exit 1
"#;
    let p = ws.join("tools/recorder");
    write(&p, script);
    crate::release_host::chmod_x(&p);
}

fn record(ws: &Path) -> Vec<String> {
    std::fs::read_to_string(ws.join("record.txt"))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn inputs_reach_the_binary_through_the_environment_only() {
    let dir = tempdir();
    let ws = dir.path();
    recording_binary(ws);
    std::fs::create_dir_all(ws.join("pkg")).unwrap_or_else(|e| panic!("{e}"));
    let r = run_action(
        ws,
        &[
            ("phase", "benchmark"),
            ("binary-path", "tools/recorder"),
            ("config", "ci/devops.yml"),
            ("working-directory", "pkg"),
            // Shell syntax in an input stays text: nothing here may run.
            (
                "args",
                "compare --format json $(touch pwned) `touch pwned2` ;touch pwned3 *",
            ),
        ],
        &[],
    );
    assert!(!ws.join("pkg/pwned").exists() && !ws.join("pwned").exists());
    assert!(!ws.join("pkg/pwned2").exists() && !ws.join("pkg/pwned3").exists());
    let rec = record(ws);
    let args: Vec<&str> = rec.iter().filter_map(|l| l.strip_prefix("arg:")).collect();
    assert_eq!(
        args,
        [
            "benchmark",
            "--config",
            "ci/devops.yml",
            "compare",
            "--format",
            "json",
            "$(touch",
            "pwned)",
            "`touch",
            "pwned2`",
            ";touch",
            "pwned3",
            "*"
        ]
    );
    assert!(
        rec.contains(&format!("pwd:{}", ws.join("pkg").display())),
        "{rec:?}"
    );
    assert!(
        rec.contains(&"token:default-workflow-token".to_string()),
        "{rec:?}"
    );
    assert!(rec.contains(&"config-env:unset".to_string()), "{rec:?}");
    // The phase's exit code is the action's; its outputs are passed through.
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);

    let ok = tempdir();
    let ws = ok.path();
    recording_binary(ws);
    let script = std::fs::read_to_string(ws.join("tools/recorder")).unwrap();
    write(
        &ws.join("tools/recorder"),
        &script.replace("exit 1", "exit 0"),
    );
    let r = run_action(
        ws,
        &[
            ("phase", "report"),
            ("binary-path", "tools/recorder"),
            ("github-token", "input-token"),
            ("args", "--reports\nreports dir/with spaces\n"),
        ],
        &[],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    let rec = record(ws);
    let args: Vec<&str> = rec.iter().filter_map(|l| l.strip_prefix("arg:")).collect();
    assert_eq!(args, ["report", "--reports", "reports dir/with spaces"]);
    assert!(rec.contains(&"token:input-token".to_string()), "{rec:?}");
    assert_eq!(r.outputs["status"], "warned");
    assert_eq!(r.outputs["regressions"], "2");
    assert_eq!(r.outputs["report-path"], ".htdemucs-devops/report.json");
    assert_eq!(r.outputs["verdict"], "");
    assert!(
        r.outputs["binary"].ends_with("/htdemucs-devops"),
        "{:?}",
        r.outputs
    );
}

#[test]
fn unknown_phase_and_missing_folder_fail_with_an_annotation() {
    let dir = tempdir();
    let ws = dir.path();
    recording_binary(ws);
    let r = run_action(
        ws,
        &[("phase", "deploy"), ("binary-path", "tools/recorder")],
        &[],
    );
    assert_eq!(r.code, Some(2));
    let cmds = workflow_commands(&r.stdout);
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("::error title=htdemucs-devops::unknown phase 'deploy'")),
        "{cmds:?}"
    );
    assert!(!ws.join("record.txt").exists());

    let r = run_action(
        ws,
        &[
            ("phase", "lint"),
            ("binary-path", "tools/recorder"),
            ("working-directory", "nope"),
        ],
        &[],
    );
    assert_eq!(r.code, Some(2));
    assert!(r.stderr.contains("working-directory"), "{}", r.stderr);
}

#[test]
fn the_real_binary_runs_the_phase_as_its_subcommand() {
    let dir = tempdir();
    let ws = dir.path();
    let r = run_action(
        ws,
        &[
            ("phase", "lint"),
            ("binary-path", bin_path().to_str().unwrap()),
            ("args", "--help"),
        ],
        &[("ACT", "true")],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("Usage: htdemucs-devops lint"),
        "{}",
        r.stdout
    );
}

#[test]
fn without_binary_path_the_action_installs_the_verified_release() {
    let dir = tempdir();
    let ws = dir.path().join("ws");
    let (target, _, _) = host_platform();
    let bins = fake_binary(&dir.path().join("build"), "released binary");
    let archive = release(dir.path(), &bins, target, "v1.4.0");
    let server = ReleaseServer::start(HashMap::from([(
        route("v1.4.0", target),
        vec![Reply::ok(archive)],
    )]));
    let manifest = dir.path().join("manifest");
    let r = run_action(
        &ws_dir(&ws),
        &[("phase", "parity"), ("args", "--shard 1/2")],
        &[
            ("HTDEMUCS_DEVOPS_DOWNLOAD_BASE", &server.base),
            ("HTDEMUCS_DEVOPS_MANIFEST", manifest.to_str().unwrap()),
        ],
    );
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.contains("released binary parity --shard 1/2"),
        "{}",
        r.stdout
    );
    assert_eq!(server.request_count(), 1);
}

fn ws_dir(p: &Path) -> std::path::PathBuf {
    std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("{e}"));
    p.to_path_buf()
}

#[test]
fn action_yml_is_complete_and_keeps_expressions_out_of_scripts() {
    let a = action();
    assert!(a["name"].as_str().is_some_and(|s| !s.is_empty()));
    assert!(a["description"].as_str().is_some_and(|s| s.len() > 40));
    assert!(a["branding"]["icon"].as_str().is_some());
    assert!(a["branding"]["color"].as_str().is_some());
    let inputs = declared_inputs();
    let expected = [
        "phase",
        "config",
        "github-token",
        "version",
        "binary-path",
        "working-directory",
        "args",
        "torch",
    ];
    assert_eq!(
        inputs.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected.into_iter().collect::<BTreeSet<_>>()
    );
    assert!(inputs["phase"], "phase must be required");
    for (name, spec) in a["inputs"].as_mapping().cloned().unwrap() {
        assert!(
            spec["description"].as_str().is_some_and(|d| !d.is_empty()),
            "input {name:?} has no description"
        );
    }
    let outputs: BTreeSet<String> = a["outputs"]
        .as_mapping()
        .cloned()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    for o in [
        "verdict",
        "regressions",
        "parity-passed",
        "comment-url",
        "report-path",
        "status",
    ] {
        assert!(outputs.contains(o), "output {o} missing");
    }
    for step in a["runs"]["steps"].as_sequence().cloned().unwrap() {
        let script = step["run"].as_str().unwrap_or_default();
        assert!(!script.contains("${{"), "expression in run: {script}");
    }
}

#[test]
fn this_repos_workflows_use_only_declared_inputs() {
    let mut uses = 0;
    let mut problems = Vec::new();
    let mut files = 0;
    // The repo's own workflows, and any example workflows shipped for users to copy.
    let mut paths = Vec::new();
    for dir in [".github/workflows", "examples/workflows"] {
        let Ok(entries) = std::fs::read_dir(repo_root().join(dir)) else {
            continue;
        };
        paths.extend(entries.flatten().map(|e| e.path()));
    }
    for path in paths {
        if !matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("yml" | "yaml")
        ) {
            continue;
        }
        files += 1;
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
        let (n, p) = check_action_uses(&path.display().to_string(), &text);
        uses += n;
        problems.extend(p);
    }
    assert!(files >= 2, "ci.yml and release.yml expected");
    assert!(
        uses >= 1,
        "the end-to-end job should use the action (uses: ./)"
    );
    assert!(problems.is_empty(), "{problems:#?}");
}

#[test]
fn the_input_checker_catches_undeclared_and_missing_inputs() {
    let wf = "jobs:\n  a:\n    steps:\n      - uses: ./\n        with:\n          phase: lint\n          token: x\n      - uses: zakkeown/htdemucs-devops@v1\n        with:\n          args: x\n      - uses: ./\n        with:\n          phase: deploy\n";
    let (n, problems) = check_action_uses("t.yml", wf);
    assert_eq!(n, 3);
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(problems[0].contains("`token` is not declared"));
    assert!(problems[1].contains("required input `phase` is missing"));
    assert!(problems[2].contains("phase `deploy` is not one of"));
}

#[test]
fn the_readme_workflow_parses_and_uses_only_declared_inputs() {
    let readme = std::fs::read_to_string(repo_root().join("README.md"))
        .unwrap_or_else(|e| panic!("README.md: {e}"));
    let section = readme
        .split("\n## Usage in a workflow\n")
        .nth(1)
        .unwrap_or_else(|| panic!("README has no `## Usage in a workflow` section"));
    let block = section
        .split("```yaml\n")
        .nth(1)
        .and_then(|b| b.split("\n```").next())
        .unwrap_or_else(|| panic!("no yaml block in the Usage section"));
    let (uses, problems) = check_action_uses("README.md", block);
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(
        uses, 7,
        "lint, test, parity, report, benchmark run + record, publish"
    );
    let wf: Value = serde_yaml_ng::from_str(block).unwrap_or_else(|e| panic!("{e}"));
    for job in ["lint", "test", "parity", "report", "benchmark"] {
        assert!(wf["jobs"][job]["runs-on"].as_str().is_some(), "job {job}");
    }
}

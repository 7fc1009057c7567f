//! `action.yml` as a runner executes it: a small composite-action interpreter runs its
//! steps with their `env:` evaluated, so the wiring from inputs to the binary's argv, and
//! from the binary's step outputs to the action's outputs, is tested for real. Also checks
//! that every workflow in this repo uses only inputs the action declares.

use crate::common::*;
use crate::installer::{
    fake_binary, host_platform, release, repo_root, route, ReleaseServer, Reply,
};
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

pub const PHASES: [&str; 6] = ["lint", "test", "parity", "benchmark", "publish", "report"];

fn action() -> Value {
    let text = std::fs::read_to_string(repo_root().join("action.yml"))
        .unwrap_or_else(|e| panic!("action.yml: {e}"));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("action.yml does not parse: {e}"))
}

/// The inputs `action.yml` declares, with whether each is required.
pub fn declared_inputs() -> BTreeMap<String, bool> {
    let a = action();
    let inputs = a["inputs"]
        .as_mapping()
        .unwrap_or_else(|| panic!("action.yml has no inputs"));
    inputs
        .iter()
        .map(|(k, v)| {
            let name = k.as_str().unwrap_or_default().to_string();
            (name, v["required"].as_bool().unwrap_or(false))
        })
        .collect()
}

/// Problems with the steps of `workflow` (YAML text) that use this action (`uses: ./` or
/// `uses: zakkeown/htdemucs-devops@...`): unknown inputs, missing required ones, a phase
/// that is not one of ours. Returns how many such steps there were, and the problems.
pub fn check_action_uses(name: &str, workflow: &str) -> (usize, Vec<String>) {
    let wf: Value = serde_yaml_ng::from_str(workflow)
        .unwrap_or_else(|e| panic!("{name} does not parse as YAML: {e}"));
    let inputs = declared_inputs();
    let mut problems = Vec::new();
    let mut count = 0;
    let jobs = wf["jobs"].as_mapping().cloned().unwrap_or_default();
    for (job_name, job) in jobs {
        let job_name = job_name.as_str().unwrap_or_default().to_string();
        let steps = job["steps"].as_sequence().cloned().unwrap_or_default();
        for (i, step) in steps.iter().enumerate() {
            let uses = step["uses"].as_str().unwrap_or_default();
            if uses != "./" && !uses.starts_with("zakkeown/htdemucs-devops@") {
                continue;
            }
            count += 1;
            let at = format!("{name}: job {job_name} step {i}");
            let with = step["with"].as_mapping().cloned().unwrap_or_default();
            let keys: BTreeSet<String> = with
                .keys()
                .map(|k| k.as_str().unwrap_or_default().to_string())
                .collect();
            for k in &keys {
                if !inputs.contains_key(k) {
                    problems.push(format!("{at}: input `{k}` is not declared in action.yml"));
                }
            }
            for (k, required) in &inputs {
                if *required && !keys.contains(k) {
                    problems.push(format!("{at}: required input `{k}` is missing"));
                }
            }
            let phase = with.get("phase").and_then(|v| v.as_str());
            if let Some(phase) = phase.filter(|p| !p.contains("${{") && !PHASES.contains(p)) {
                problems.push(format!("{at}: phase `{phase}` is not one of {PHASES:?}"));
            }
        }
    }
    (count, problems)
}

/// Evaluates the `${{ ... }}` expressions a composite action may use here; anything else
/// panics, so action.yml cannot grow an expression this interpreter silently gets wrong.
fn eval(text: &str, ctx: &HashMap<String, String>) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${{") {
        out.push_str(&rest[..start]);
        let end = rest[start..]
            .find("}}")
            .unwrap_or_else(|| panic!("unclosed expression in {text:?}"));
        let expr = rest[start + 3..start + end].trim();
        out.push_str(&lookup(expr, ctx));
        rest = &rest[start + end + 2..];
    }
    out.push_str(rest);
    out
}

/// One expression: a context value, or `a || b || ...` (the first non-empty). Step outputs
/// that were never set are empty, as on a runner; anything else unknown panics.
fn lookup(expr: &str, ctx: &HashMap<String, String>) -> String {
    for part in expr.split("||").map(str::trim) {
        let value = match ctx.get(part) {
            Some(v) => v.clone(),
            None if part.starts_with("steps.") => String::new(),
            None => panic!("unsupported expression `{part}` in action.yml"),
        };
        if !value.is_empty() {
            return value;
        }
    }
    String::new()
}

/// Reads a `GITHUB_OUTPUT` file: `name=value` lines and `name<<DELIM` heredocs.
fn parse_outputs(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut lines = text.lines();
    while let Some(line) = lines.next() {
        if let Some((name, delim)) = line.split_once("<<") {
            let mut value = Vec::new();
            for l in lines.by_ref() {
                if l == delim {
                    break;
                }
                value.push(l);
            }
            out.push((name.to_string(), value.join("\n")));
        } else if let Some((name, value)) = line.split_once('=') {
            out.push((name.to_string(), value.to_string()));
        }
    }
    out
}

pub struct ActionRun {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
    pub outputs: BTreeMap<String, String>,
}

/// Runs action.yml's steps like a runner: `workspace` is GITHUB_WORKSPACE, `with` the
/// step's inputs, `job_env` what the job's environment adds.
pub fn run_action(workspace: &Path, with: &[(&str, &str)], job_env: &[(&str, &str)]) -> ActionRun {
    let a = action();
    assert_eq!(a["runs"]["using"].as_str(), Some("composite"));
    let mut ctx: HashMap<String, String> = HashMap::new();
    for (name, spec) in a["inputs"].as_mapping().cloned().unwrap_or_default() {
        let name = name.as_str().unwrap_or_default().to_string();
        let default = spec["default"].as_str().unwrap_or_default().to_string();
        ctx.insert(format!("inputs.{name}"), default);
    }
    ctx.insert("github.token".into(), "default-workflow-token".into());
    ctx.insert("github.action_ref".into(), String::new());
    // Defaults are expressions themselves (`${{ github.token }}`).
    let defaults: Vec<(String, String)> = ctx
        .iter()
        .filter(|(k, _)| k.starts_with("inputs."))
        .map(|(k, v)| (k.clone(), eval(v, &ctx)))
        .collect();
    ctx.extend(defaults);
    for (k, v) in with {
        assert!(
            ctx.contains_key(&format!("inputs.{k}")),
            "input {k} is not declared in action.yml"
        );
        ctx.insert(format!("inputs.{k}"), v.to_string());
    }

    let runner_temp = workspace.join(".runner-temp");
    std::fs::create_dir_all(&runner_temp).unwrap_or_else(|e| panic!("{e}"));
    let (mut all_out, mut all_err) = (String::new(), String::new());
    let mut code = Some(0);
    let steps = a["runs"]["steps"]
        .as_sequence()
        .cloned()
        .unwrap_or_default();
    for (i, step) in steps.iter().enumerate() {
        let id = step["id"].as_str().unwrap_or_default().to_string();
        let script = step["run"]
            .as_str()
            .unwrap_or_else(|| panic!("step {i} of action.yml has no run"));
        assert!(
            !script.contains("${{"),
            "step {id}: an expression inside run: {script}"
        );
        assert_eq!(step["shell"].as_str(), Some("bash"), "step {id}");
        let output_file = runner_temp.join(format!("output-{i}"));
        let (_, os, arch) = host_platform();
        let mut cmd = Command::new("bash");
        cmd.arg("-e")
            .arg("-c")
            .arg(script)
            .current_dir(workspace)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("HOME", workspace)
            .env("GITHUB_ACTIONS", "true")
            .env("CI", "true")
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("RUNNER_TEMP", &runner_temp)
            .env("RUNNER_TOOL_CACHE", workspace.join(".toolcache"))
            .env("GITHUB_WORKSPACE", workspace)
            .env("GITHUB_ACTION_PATH", repo_root())
            .env("GITHUB_OUTPUT", &output_file)
            .env("GITHUB_PATH", runner_temp.join("path"))
            .env("GITHUB_STEP_SUMMARY", runner_temp.join("summary.md"));
        for (k, v) in job_env {
            cmd.env(k, v);
        }
        for (k, v) in step["env"].as_mapping().cloned().unwrap_or_default() {
            let k = k.as_str().unwrap_or_default().to_string();
            cmd.env(k, eval(v.as_str().unwrap_or_default(), &ctx));
        }
        let out = run(&mut cmd);
        all_out.push_str(&stdout(&out));
        all_err.push_str(&stderr(&out));
        let written = std::fs::read_to_string(&output_file).unwrap_or_default();
        for (k, v) in parse_outputs(&written) {
            ctx.insert(format!("steps.{id}.outputs.{k}"), v);
        }
        if !out.status.success() {
            // Later steps are skipped; the outputs set so far still reach the caller,
            // as on a runner.
            code = out.status.code();
            break;
        }
    }
    let mut outputs = BTreeMap::new();
    for (name, spec) in a["outputs"].as_mapping().cloned().unwrap_or_default() {
        let name = name.as_str().unwrap_or_default().to_string();
        let expr = spec["value"].as_str().unwrap_or_default();
        outputs.insert(name, eval(expr, &ctx));
    }
    ActionRun {
        code,
        stdout: all_out,
        stderr: all_err,
        outputs,
    }
}

/// A stand-in binary that records its argv (one per line), folder and token, and sets
/// step outputs the way the real one does.
fn recording_binary(ws: &Path) {
    let script = r#"#!/bin/sh
{ for a in "$@"; do echo "arg:$a"; done; echo "pwd:$(pwd)"; echo "token:$GITHUB_TOKEN"; echo "config-env:${HTDEMUCS_DEVOPS_CONFIG_INPUT:-unset}"; } > "$GITHUB_WORKSPACE/record.txt"
echo "$1-status=warned" >> "$GITHUB_OUTPUT"
echo "report-path=.htdemucs-devops/$1.json" >> "$GITHUB_OUTPUT"
echo "regressions=2" >> "$GITHUB_OUTPUT"
exit 1
"#;
    let p = ws.join("tools/recorder");
    write(&p, script);
    crate::installer::chmod_x(&p);
}

fn record(ws: &Path) -> Vec<String> {
    std::fs::read_to_string(ws.join("record.txt"))
        .unwrap_or_default()
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
    let script = std::fs::read_to_string(ws.join("tools/recorder")).unwrap_or_default();
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
            ("binary-path", bin_path().to_str().unwrap_or_default()),
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
            (
                "HTDEMUCS_DEVOPS_MANIFEST",
                manifest.to_str().unwrap_or_default(),
            ),
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
    ];
    assert_eq!(
        inputs.keys().map(String::as_str).collect::<BTreeSet<_>>(),
        expected.into_iter().collect::<BTreeSet<_>>()
    );
    assert!(inputs["phase"], "phase must be required");
    for (name, spec) in a["inputs"].as_mapping().cloned().unwrap_or_default() {
        assert!(
            spec["description"].as_str().is_some_and(|d| !d.is_empty()),
            "input {name:?} has no description"
        );
    }
    let outputs: BTreeSet<String> = a["outputs"]
        .as_mapping()
        .cloned()
        .unwrap_or_default()
        .keys()
        .map(|k| k.as_str().unwrap_or_default().to_string())
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
    for step in a["runs"]["steps"]
        .as_sequence()
        .cloned()
        .unwrap_or_default()
    {
        let script = step["run"].as_str().unwrap_or_default();
        assert!(!script.contains("${{"), "expression in run: {script}");
    }
}

#[test]
fn this_repos_workflows_use_only_declared_inputs() {
    let dir = repo_root().join(".github/workflows");
    let mut uses = 0;
    let mut problems = Vec::new();
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
        if path.extension().and_then(|e| e.to_str()) != Some("yml") {
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
fn under_act_a_real_phase_annotates_sets_outputs_and_calls_no_api() {
    let dir = tempdir();
    let ws = dir.path();
    // Anything that reached "GitHub" would be recorded here.
    let api = ReleaseServer::start(HashMap::new());
    write(&ws.join("src/a.py"), "import os\n\n\nx = 1\n");
    write(
        &ws.join("reports/gen.txt"),
        "src/a.py:3:1: error: bad thing %0A::set-output name=x::y ::error::forged\n",
    );
    let r = run_action(
        ws,
        &[
            ("phase", "lint"),
            ("binary-path", bin_path().to_str().unwrap_or_default()),
            ("args", "--report generic=reports/gen.txt"),
        ],
        &[
            ("ACT", "true"),
            ("GITHUB_API_URL", &api.base),
            ("GITHUB_REPOSITORY", "o/r"),
            ("GITHUB_EVENT_NAME", "pull_request"),
        ],
    );
    assert_eq!(r.code, Some(1), "{}{}", r.stdout, r.stderr);
    let cmds = workflow_commands(&r.stdout);
    let errors: Vec<&String> = cmds.iter().filter(|c| c.starts_with("::error")).collect();
    assert_eq!(errors.len(), 1, "{cmds:?}");
    assert!(
        errors[0].starts_with("::error file=src/a.py,line=3"),
        "{errors:?}"
    );
    assert!(errors[0].contains("%250A::set-output"), "{errors:?}");
    assert!(!cmds
        .iter()
        .any(|c| c.starts_with("::set-output") || c == "::error::forged"));
    assert_eq!(api.request_count(), 0, "{:?}", api.requests);
    // The phase's outputs come back out of the action.
    let report = ws.join(".htdemucs-devops/lint.json");
    assert!(report.is_file());
    assert_eq!(r.outputs["status"], "failed", "{:?}", r.outputs);
    assert_eq!(Path::new(&r.outputs["report-path"]), report);
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
    assert_eq!(uses, 6, "lint, test, parity, report, benchmark, publish");
    let wf: Value = serde_yaml_ng::from_str(block).unwrap_or_else(|e| panic!("{e}"));
    for job in ["lint", "test", "parity", "report", "benchmark"] {
        assert!(wf["jobs"][job]["runs-on"].as_str().is_some(), "job {job}");
    }
}

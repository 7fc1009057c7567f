//! A small composite-action interpreter for the tests: runs `action.yml`'s steps the way a
//! runner does (inputs and defaults, `env:` expressions, step outputs, action outputs),
//! and checks workflows' `uses:` steps against the inputs the action declares.

use crate::common::*;
use crate::release_host::{host_platform, repo_root};
use serde_yaml_ng::Value;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;
use std::process::Command;

pub const PHASES: [&str; 6] = ["lint", "test", "parity", "benchmark", "publish", "report"];

pub fn action() -> Value {
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
            let name = k.as_str().expect("an input name is a string").to_string();
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
    let jobs = wf["jobs"].as_mapping().cloned().unwrap();
    for (job_name, job) in jobs {
        let job_name = job_name.as_str().unwrap().to_string();
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
                .map(|k| k.as_str().unwrap().to_string())
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
pub fn eval(text: &str, ctx: &HashMap<String, String>) -> String {
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
pub fn lookup(expr: &str, ctx: &HashMap<String, String>) -> String {
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
pub fn parse_outputs(text: &str) -> Vec<(String, String)> {
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
    /// The names each step (by id) wrote to its `GITHUB_OUTPUT`.
    pub written: BTreeMap<String, BTreeSet<String>>,
    /// The `with:` of each `actions/cache` step that ran (not executed here).
    pub caches: Vec<BTreeMap<String, String>>,
}

/// An `if:` condition: `a == 'x'` terms (or `!=`) joined by `||` or by `&&` (not both).
pub fn condition(expr: &str, ctx: &HashMap<String, String>) -> bool {
    let term = |t: &str| {
        let (lhs, rhs, eq) = match (t.split_once("!="), t.split_once("==")) {
            (Some((l, r)), _) => (l, r, false),
            (None, Some((l, r))) => (l, r, true),
            _ => panic!("unsupported condition `{t}` in action.yml"),
        };
        let lit = rhs.trim().trim_matches('\'');
        (lookup(lhs.trim(), ctx) == lit) == eq
    };
    if expr.contains("&&") {
        assert!(!expr.contains("||"), "mixed && and || in `{expr}`");
        expr.split("&&").all(term)
    } else {
        expr.split("||").any(term)
    }
}

/// Runs action.yml's steps like a runner: `workspace` is GITHUB_WORKSPACE, `with` the
/// step's inputs, `job_env` what the job's environment adds.
pub fn run_action(workspace: &Path, with: &[(&str, &str)], job_env: &[(&str, &str)]) -> ActionRun {
    let a = action();
    assert_eq!(a["runs"]["using"].as_str(), Some("composite"));
    let mut ctx: HashMap<String, String> = HashMap::new();
    for (name, spec) in a["inputs"].as_mapping().cloned().unwrap() {
        let name = name.as_str().unwrap().to_string();
        let default = spec["default"].as_str().unwrap_or_default().to_string();
        ctx.insert(format!("inputs.{name}"), default);
    }
    ctx.insert("github.token".into(), "default-workflow-token".into());
    ctx.insert("github.action_ref".into(), String::new());
    let (_, os, arch) = host_platform();
    ctx.insert("runner.os".into(), os.into());
    ctx.insert("runner.arch".into(), arch.into());
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
    let mut names: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut caches = Vec::new();
    let steps = a["runs"]["steps"].as_sequence().cloned().unwrap();
    for (i, step) in steps.iter().enumerate() {
        // Keys this interpreter does not act on (if:, working-directory:, uses:) would be
        // silently ignored; refuse them so the test keeps meaning what a runner does.
        for key in step.as_mapping().cloned().unwrap().keys() {
            let key = key.as_str().unwrap();
            assert!(
                ["id", "name", "shell", "env", "run", "if", "uses", "with"].contains(&key),
                "action.yml step {i} uses `{key}`, which tests/it/composite.rs does not interpret"
            );
        }
        let id = step["id"].as_str().unwrap_or_default().to_string();
        if let Some(cond) = step["if"].as_str() {
            if !condition(cond, &ctx) {
                continue;
            }
        }
        if let Some(uses) = step["uses"].as_str() {
            assert!(
                uses.starts_with("actions/cache@"),
                "step {id} uses {uses}, which tests/it/composite.rs does not stand in for"
            );
            let with = step["with"]
                .as_mapping()
                .cloned()
                .unwrap_or_else(|| panic!("step {id}: actions/cache without `with`"));
            caches.push(
                with.iter()
                    .map(|(k, v)| {
                        let k = k.as_str().unwrap().to_string();
                        (k, eval(v.as_str().unwrap(), &ctx))
                    })
                    .collect(),
            );
            continue;
        }
        let script = step["run"]
            .as_str()
            .unwrap_or_else(|| panic!("step {i} of action.yml has no run"));
        assert!(
            !script.contains("${{"),
            "step {id}: an expression inside run: {script}"
        );
        assert_eq!(step["shell"].as_str(), Some("bash"), "step {id}");
        let output_file = runner_temp.join(format!("output-{i}"));
        // A fresh file per step, as a runner gives it, even when one workspace runs twice.
        let _ = std::fs::remove_file(&output_file);
        let (_, os, arch) = host_platform();
        let mut cmd = Command::new("bash");
        cmd.arg("-e")
            .arg("-c")
            .arg(script)
            .current_dir(workspace)
            .env_clear()
            .env("PATH", std::env::var("PATH").expect("PATH is set"))
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
            let k = k.as_str().unwrap().to_string();
            cmd.env(k, eval(v.as_str().unwrap(), &ctx));
        }
        let out = run(&mut cmd);
        all_out.push_str(&stdout(&out));
        all_err.push_str(&stderr(&out));
        let written = std::fs::read_to_string(&output_file).unwrap_or_default();
        for (k, v) in parse_outputs(&written) {
            names.entry(id.clone()).or_default().insert(k.clone());
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
    for (name, spec) in a["outputs"].as_mapping().cloned().unwrap() {
        let name = name.as_str().unwrap().to_string();
        let expr = spec["value"].as_str().unwrap();
        outputs.insert(name, eval(expr, &ctx));
    }
    ActionRun {
        code,
        stdout: all_out,
        stderr: all_err,
        outputs,
        written: names,
        caches,
    }
}

//! The workflow `init` generates for the port fixture, run by real `act` in host mode: the
//! caller job in their ci.yml and the reusable workflow's lint (ruff, `init --check`),
//! build-and-test (their pytest suites, the parity suite among them), parity (their stems
//! and metrics.csv) and report jobs, with local stand-ins for the actions github.com serves.

use crate::common::*;
use crate::init_adopt::port;
use crate::init_make::{fast_bootstrap, open_up};
use crate::release_host::repo_root;
use std::path::Path;
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// Composite stand-ins for the GitHub actions the workflow uses (github.com is out of
/// reach): no cache, the host's Python, and artifacts as folders under `$ARTIFACTS`.
fn stand_ins(dir: &Path) -> Vec<(String, std::path::PathBuf)> {
    let composite = |inputs: &str, run: &str| {
        let mut steps = String::new();
        for line in run.lines() {
            steps.push_str("        ");
            steps.push_str(line);
            steps.push('\n');
        }
        format!(
            "name: stand-in\ninputs:\n{inputs}runs:\n  using: composite\n  steps:\n    - shell: bash\n      env:\n        INPUTS: ${{{{ toJSON(inputs) }}}}\n      run: |\n{steps}"
        )
    };
    let input = |names: &[&str]| {
        names
            .iter()
            .map(|n| format!("  {n}:\n    default: \"\"\n"))
            .collect::<String>()
    };
    let actions = [
        (
            "actions/cache@v4",
            composite(&input(&["path", "key", "restore-keys"]), "echo cache stand-in: nothing restored"),
        ),
        (
            "actions/setup-python@v5",
            // A venv of the host's python reaching the dev venv's packages, first on PATH.
            composite(
                &input(&["python-version"]),
                "py=\"${RUNNER_TEMP:-$HOME}/python\"\n\"$BOOTSTRAP_PYTHON\" -m venv \"$py\"\necho \"$py/bin\" >> \"$GITHUB_PATH\"",
            ),
        ),
        (
            "actions/upload-artifact@v4",
            composite(
                &input(&["name", "path", "if-no-files-found"]),
                "name=$(printf '%s' \"$INPUTS\" | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"name\"])')\nsrc=$(printf '%s' \"$INPUTS\" | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"path\"])')\nmkdir -p \"$ARTIFACTS/$name\"\nif [ -d \"$src\" ]; then cp -R \"$src/.\" \"$ARTIFACTS/$name/\"; fi",
            ),
        ),
        (
            "actions/download-artifact@v4",
            composite(
                &input(&["name", "pattern", "path", "merge-multiple", "run-id", "github-token"]),
                "dest=$(printf '%s' \"$INPUTS\" | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"path\"])')\nmkdir -p \"$dest\"\nfor d in \"$ARTIFACTS\"/htdemucs-devops-*; do [ -d \"$d\" ] && cp -R \"$d/.\" \"$dest/\"; done\ntrue",
            ),
        ),
    ];
    actions
        .into_iter()
        .map(|(name, text)| {
            let path = dir.join(name.replace(['/', '@'], "-"));
            write(&path.join("action.yml"), &text);
            (name.to_string(), path)
        })
        .collect()
}

/// The action as its release tag holds it (action.yml and dist/), without the build
/// products act would otherwise copy into every job.
fn action_copy(dir: &Path) -> std::path::PathBuf {
    let action = dir.join("action");
    std::fs::create_dir_all(action.join("dist")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::copy(repo_root().join("action.yml"), action.join("action.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    for f in ["install.sh", "run.sh", "manifest"] {
        std::fs::copy(
            repo_root().join("dist").join(f),
            action.join("dist").join(f),
        )
        .unwrap_or_else(|e| panic!("{f}: {e}"));
    }
    action
}

#[test]
fn the_generated_workflow_runs_green_under_act_on_the_port() {
    let repo = port();
    let ws = repo.path();
    let init = run(bin().arg("init").current_dir(ws));
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    let git = |args: &[&str]| {
        let out = run(Command::new("git").current_dir(ws).args(args));
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
        stdout(&out)
    };
    git(&["add", "-A"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@e",
        "commit",
        "-qm",
        "adopted",
    ]);
    let head = git(&["rev-parse", "HEAD"]);

    let dir = tempdir();
    let d = dir.path();
    let artifacts = d.join("artifacts");
    std::fs::create_dir_all(&artifacts).unwrap_or_else(|e| panic!("{e}"));
    let boot = fast_bootstrap(d);
    open_up(d);
    let event = d.join("event.json");
    write(
        &event,
        &format!(
            "{{\"pull_request\": {{\"number\": 7, \"head\": {{\"sha\": \"{}\", \"ref\": \"feature\"}}, \"base\": {{\"ref\": \"main\"}}}}, \"repository\": {{\"full_name\": \"o/port\"}}}}",
            head.trim()
        ),
    );
    let home = d.join("home");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    // A hung job must fail the test, not stall it.
    let mut act = Command::new("timeout");
    act.args(["600", "act"])
        .current_dir(ws)
        .env("HOME", &home)
        .env_remove("GITHUB_ACTIONS")
        // The port's Makefile must not inherit ours (`make test VENV=...` exports VENV).
        .env_remove("VENV")
        .env_remove("MAKEFLAGS")
        .env_remove("MFLAGS")
        .env_remove("MAKELEVEL")
        .args(["pull_request", "-W", ".github/workflows/ci.yml", "-e"])
        .arg(&event)
        // Their own `swift` job needs a Mac; ours is the caller job.
        .args(["-j", "htdemucs-devops"])
        .args([
            "-P",
            "ubuntu-latest=-self-hosted",
            "-P",
            "macos-14=-self-hosted",
        ])
        .arg("--local-repository")
        .arg(format!(
            "zakkeown/htdemucs-devops@v{VERSION}={}",
            action_copy(d).display()
        ));
    for (name, path) in stand_ins(&d.join("stand-ins")) {
        act.arg("--local-repository")
            .arg(format!("{name}={}", path.display()));
    }
    let wheels = crate::wheel::built_wheels();
    for (k, v) in [
        ("HTDEMUCS_DEVOPS_BINARY", bin_path().display().to_string()),
        ("HTDEMUCS_DEVOPS_FIND_LINKS", wheels.display().to_string()),
        ("BOOTSTRAP_PYTHON", boot.display().to_string()),
        ("ARTIFACTS", artifacts.display().to_string()),
        ("PIP_DISABLE_PIP_VERSION_CHECK", "1".to_string()),
    ] {
        act.arg("--env").arg(format!("{k}={v}"));
    }
    let log_path = d.join("act.log");
    let log_file = std::fs::File::create(&log_path).unwrap_or_else(|e| panic!("{e}"));
    let err_file = log_file.try_clone().unwrap_or_else(|e| panic!("{e}"));
    if let Ok(p) = std::env::var("INIT_ACT_LOG") {
        let _ = std::fs::remove_file(&p);
        let _ = std::os::unix::fs::symlink(&log_path, p);
    }
    let status = act
        .stdout(log_file)
        .stderr(err_file)
        .status()
        .unwrap_or_else(|e| panic!("act: {e}"));
    let log = std::fs::read_to_string(&log_path).unwrap();
    let out = std::process::Output {
        status,
        stdout: Vec::new(),
        stderr: Vec::new(),
    };
    assert_eq!(out.status.code(), Some(0), "{log}");
    assert!(!log.contains("Job failed"), "{log}");
    for job in ["Lint", "Build and test", "Parity", "Report"] {
        // act pads the job name: `[htdemucs-devops/htdemucs-devops/Lint    ] 🏁  Job succeeded`.
        let done = log.lines().any(|l| {
            l.split_once(']').is_some_and(|(head, tail)| {
                head.trim_end().ends_with(&format!("/{job}")) && tail.contains("Job succeeded")
            })
        });
        assert!(done, "{job} did not succeed:\n{log}");
    }
    // What each job did, in the port's terms.
    for seen in [
        "ruff",
        "files match their templates",
        "test_mean_sdr_is_above_the_gate",
        "12 arrays within tolerance",
    ] {
        assert!(log.contains(seen), "{seen:?} not in the log:\n{log}");
    }
    // The report job merged every job's report into the comment it would post.
    let reports = artifacts.join("htdemucs-devops-reports");
    for phase in ["lint", "test", "parity"] {
        assert!(
            reports.join(format!("{phase}.json")).is_file(),
            "{phase}.json not merged: {log}"
        );
    }
}

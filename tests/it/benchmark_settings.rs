//! Allocator and thread settings: the benchmark phase launches every stage runner process
//! with the same ones (defaults chosen for stable numbers, or the config's `runner:`),
//! the run records them, runs under other settings are another testbed, and producers
//! that ran under different settings cannot be merged into one run.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

/// A stand-in named `htdemucs-stage-runner` that reports the settings it was started
/// with the way the real one records them (`$meta.fingerprint.run_settings`). `--threads N`
/// overrides the launcher's thread count, as on the real runner.
const FAKE_RUNNER: &str = r#"#!/bin/sh
threads="$HTDEMUCS_RUNNER_THREADS"; BACKEND=pytorch
while [ $# -gt 0 ]; do
  case "$1" in
    --threads) threads="$2"; shift ;;
    --backend) BACKEND="$2"; shift ;;
  esac
  shift
done
cat <<JSON
{"\$meta": {"fingerprint": {"run_settings": {"threads": $threads,
  "env": {"MALLOC_ARENA_MAX": "${MALLOC_ARENA_MAX:-unset}", "OMP_NUM_THREADS": "${OMP_NUM_THREADS:-unset}"}}}},
 "$BACKEND": {"model_sec": [0.5], "model_load_sec": 0.1}}
JSON
"#;

fn workspace(producers: &[(&str, &str)]) -> tempfile::TempDir {
    let ws = tempdir();
    let runner = ws.path().join("bin/htdemucs-stage-runner");
    write(&runner, FAKE_RUNNER);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runner, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    let mut cfg = String::from("benchmark:\n  warmup: 0\n  repetitions: 1\n  producers:\n");
    for (name, extra) in producers {
        cfg.push_str(&format!(
            "    - name: {name}\n      command: [{:?}, --backend, {name}{extra}]\n",
            runner.display()
        ));
    }
    write(&ws.path().join(".github/htdemucs-devops.yml"), &cfg);
    ws
}

fn bench_run(ws: &Path) -> (std::process::Output, Value) {
    let out = run(bin()
        .current_dir(ws)
        .args(["benchmark", "run", "--format", "json"]));
    let doc = serde_json::from_str(&stdout(&out)).unwrap_or(Value::Null);
    (out, doc)
}

fn recorded(ws: &Path) -> Value {
    let path = ws.join(".htdemucs-devops/benchmark-run.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let run: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    run["$meta"]["fingerprint"]["run_settings"].clone()
}

#[test]
fn every_backend_gets_the_same_settings_and_the_run_records_them() {
    let cores = std::thread::available_parallelism().map_or(1, usize::from);
    let ws = workspace(&[("pytorch", ""), ("coreml", "")]);
    let cfg = std::fs::read_to_string(ws.path().join(".github/htdemucs-devops.yml")).unwrap();
    let (out, doc) = bench_run(ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let settings = recorded(ws.path());
    assert_eq!(settings["threads"], cores, "{settings}");
    assert_eq!(settings["env"]["OMP_NUM_THREADS"], cores.to_string());
    if cfg!(all(target_os = "linux", target_env = "gnu")) {
        assert_eq!(settings["env"]["MALLOC_ARENA_MAX"], "2", "{settings}");
    }
    let default_testbed = doc["testbed"].as_str().unwrap_or("").to_string();
    assert!(default_testbed.contains(" · settings "), "{doc}");

    // The config's own settings replace the defaults, and are another testbed.
    let own = cfg.replace(
        "benchmark:",
        "runner:\n  threads: 1\n  env: {MALLOC_ARENA_MAX: \"8\"}\nbenchmark:",
    );
    write(&ws.path().join(".github/htdemucs-devops.yml"), &own);
    let (out, doc) = bench_run(ws.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let settings = recorded(ws.path());
    assert_eq!(settings["threads"], 1);
    assert_eq!(settings["env"]["MALLOC_ARENA_MAX"], "8");
    let testbed = doc["testbed"].as_str().unwrap_or("");
    assert!(
        testbed.contains(" · settings ") && testbed != default_testbed,
        "{testbed}"
    );
}

#[test]
fn producers_under_different_settings_are_refused() {
    let ws = workspace(&[("a", ""), ("b", ", --threads, \"7\"")]);
    let (out, _) = bench_run(ws.path());
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("benchmark producer \"b\" ran under other allocator/thread settings"),
        "{err}"
    );
}

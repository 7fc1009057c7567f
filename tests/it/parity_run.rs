//! `parity run` against the stage runner's CLI contract (a fake runner script that
//! writes prepared captures, until the real runner lands), `--shard` and `parity merge`,
//! and per-stage tolerances from the config file.

use crate::common::*;
use crate::parity::{check, f16_round, pair, stages};
use serde_json::Value;
use std::path::Path;

/// A stand-in for htdemucs-stage-runner: logs its argv, copies the prepared capture for
/// its backend/mode to --capture and writes --out, like the real one.
const FAKE_RUNNER: &str = r#"#!/bin/sh
echo "$@ OMP=${OMP_NUM_THREADS:-unset}" >> "$FAKE_DIR/calls.log"
backend=""; capture=""; from=""; out=""
while [ $# -gt 0 ]; do
  case "$1" in
    --backend) backend="$2"; shift ;;
    --capture) capture="$2"; shift ;;
    --inputs-from) from="$2"; shift ;;
    --out) out="$2"; shift ;;
  esac
  shift
done
if [ "$backend" = "broken" ]; then echo "model file not found: x.mlpackage" >&2; exit 3; fi
if [ "$backend" = "pytorch" ]; then src=ref.npz
elif [ -n "$from" ]; then
  [ -f "$from" ] || { echo "no inputs file $from" >&2; exit 4; }
  src=isolated.npz
else src=chained.npz; fi
cp "$FAKE_DIR/$src" "$capture"
echo '{"stages": []}' > "$out"
"#;

fn members(arrays: &[(&'static str, Vec<usize>, Vec<f32>)]) -> Vec<(&'static str, Vec<u8>)> {
    arrays.iter().map(|(n, s, d)| (*n, npy_f32(s, d))).collect()
}

/// Chained: error grows downstream (each stage adds 1e-3 relative); isolated: only
/// time_branch is off, by 3e-2.
fn fake_runner_dir() -> tempfile::TempDir {
    let dir = tempdir();
    let reference = stages(11);
    let mut chained = reference.clone();
    for (k, (_, _, d)) in chained.iter_mut().enumerate() {
        let scale = 1.0 + 1e-3 * (k as f32 + 1.0);
        d.iter_mut().for_each(|x| *x *= scale);
    }
    let mut isolated: Vec<_> = reference
        .iter()
        .map(|(n, s, d)| {
            (
                *n,
                s.clone(),
                d.iter().map(|x| f16_round(*x)).collect::<Vec<f32>>(),
            )
        })
        .collect();
    isolated[2].2.iter_mut().for_each(|x| *x *= 1.03);
    write_npz(&dir.path().join("ref.npz"), &members(&reference), false);
    write_npz(&dir.path().join("chained.npz"), &members(&chained), false);
    write_npz(&dir.path().join("isolated.npz"), &members(&isolated), false);
    let runner = dir.path().join("fake-runner");
    write(&runner, FAKE_RUNNER);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runner, std::fs::Permissions::from_mode(0o755))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    write(&dir.path().join("pipeline.yml"), "stages: []\n");
    dir
}

fn run_parity(dir: &Path, extra: &[&str]) -> std::process::Output {
    run(bin()
        .current_dir(dir)
        .env("FAKE_DIR", dir)
        .args(["parity", "run", "--runner"])
        .arg(dir.join("fake-runner"))
        .args(extra))
}

#[test]
fn run_compares_chained_and_isolated_side_by_side() {
    let dir = fake_runner_dir();
    let out = run_parity(
        dir.path(),
        &["--clip", "a.wav", "--clip", "b.wav", "--format", "json"],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v: Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stdout(&out)));
    let checks = v["checks"]
        .as_array()
        .cloned()
        .expect("the report has checks");
    assert_eq!(checks.len(), 2 * 2 * 4, "2 clips × 2 modes × 4 arrays");
    assert_eq!(v["reference"], "pytorch");
    assert_eq!(v["candidate"], "coreml");
    let find = |clip: &str, mode: &str, array: &str| {
        checks
            .iter()
            .find(|c| c["clip"] == clip && c["mode"] == mode && c["array"] == array)
            .cloned()
            .unwrap_or_else(|| panic!("no {clip}/{mode}/{array}"))
    };
    // Isolated mode pins the error on time_branch; chained shows it everywhere.
    assert_eq!(
        find("a.wav", "isolated", "time_branch.time_out")["passed"],
        false
    );
    assert_eq!(find("a.wav", "isolated", "output.stems")["passed"], true);
    assert_eq!(find("a.wav", "isolated", "stft.spec")["passed"], true);
    assert_eq!(find("b.wav", "chained", "output.stems")["passed"], false);
    // The runner was called per the contract: reference, candidate, candidate isolated.
    let calls = std::fs::read_to_string(dir.path().join("calls.log")).expect("the runner ran");
    let lines: Vec<&str> = calls.lines().collect();
    assert_eq!(lines.len(), 6, "{calls}");
    assert!(
        lines[0].contains("--backend pytorch")
            && lines[0].contains("--audio")
            && lines[0].contains("a.wav")
    );
    assert!(
        lines[0].contains("--spec") && lines[0].contains("pipeline.yml"),
        "{calls}"
    );
    assert!(lines[1].contains("--backend coreml") && !lines[1].contains("--inputs-from"));
    assert!(
        lines[2].contains("--inputs-from")
            && lines[2].contains("reference.npz")
            && !lines[2].contains("--audio"),
        "isolated runs take the audio from the reference capture: {calls}"
    );
    // The text table puts chained and isolated SNR side by side.
    let text = run_parity(dir.path(), &["--clip", "a.wav"]);
    let t = stdout(&text);
    assert!(
        t.lines().next().expect("a table").contains("isolated SNR"),
        "{t}"
    );
    let rows = t.lines().filter(|l| {
        l.contains("a.wav · ") && !l.contains("(chained)") && !l.contains("(isolated)")
    });
    assert_eq!(rows.count(), 4, "one row per array, both modes in it: {t}");
}

#[test]
fn run_shards_split_the_clips() {
    let dir = fake_runner_dir();
    let out = run_parity(
        dir.path(),
        &[
            "--clip", "a.wav", "--clip", "b.wav", "--clip", "c.wav", "--shard", "2/3", "--format",
            "json",
        ],
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["shard"], "2/3");
    let clips: std::collections::BTreeSet<String> = v["checks"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["clip"].as_str().map(String::from))
        .collect();
    assert_eq!(
        clips.into_iter().collect::<Vec<_>>(),
        vec!["b.wav".to_string()]
    );
}

#[test]
fn runner_failures_exit_2_with_its_message() {
    let dir = fake_runner_dir();
    write(
        &dir.path().join("cfg.yml"),
        "parity:\n  run:\n    candidate_backend: broken\n",
    );
    let out = run_parity(dir.path(), &["--config", "cfg.yml"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("model file not found") && err.contains("exit 3"),
        "{err}"
    );
    let missing = run(bin().current_dir(dir.path()).args([
        "parity",
        "run",
        "--runner",
        "/nonexistent/htdemucs-stage-runner",
    ]));
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("is not installed"),
        "{}",
        stderr(&missing)
    );
}

#[test]
fn shards_merge_into_one_report_and_a_missing_shard_is_an_error() {
    let p = pair(|name, _, d| {
        if name == "stft.spec" {
            d[3] += 0.5;
        }
    });
    for i in 1..=2 {
        let out = run(bin().current_dir(p.dir.path()).args([
            "parity",
            "--reference",
            "ref.npz",
            "--candidate",
            "cand.npz",
            "--shard",
            &format!("{i}/2"),
            "--out-dir",
            &format!("shard{i}"),
        ]));
        assert!(out.status.code() == Some(0) || out.status.code() == Some(1));
    }
    let merged = run(bin().current_dir(p.dir.path()).args([
        "parity",
        "merge",
        "shard*/parity.json",
        "--format",
        "json",
        "--out-dir",
        "merged",
    ]));
    assert_eq!(merged.status.code(), Some(1), "{}", stderr(&merged));
    let v: Value = serde_json::from_str(&stdout(&merged)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["checks"].as_array().map(Vec::len), Some(4));
    assert_eq!(
        v["checks"][0]["array"], "stft.spec",
        "worst first after merging"
    );
    assert!(v.get("shard").is_none());
    assert!(p.dir.path().join("merged/parity.html").is_file());
    let lonely =
        run(bin()
            .current_dir(p.dir.path())
            .args(["parity", "merge", "shard1/parity.json"]));
    assert_eq!(lonely.status.code(), Some(2));
    assert!(
        stderr(&lonely).contains("shard 2/2 is missing"),
        "{}",
        stderr(&lonely)
    );
}

#[test]
fn per_stage_tolerances_come_from_the_config() {
    let p = pair(|name, _, d| {
        if name == "output.stems" {
            d.iter_mut().for_each(|x| *x *= 1.005);
        }
    });
    let out = run(bin().current_dir(p.dir.path()).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
        "--format",
        "json",
    ]));
    assert_eq!(out.status.code(), Some(1));
    write(
        &p.dir.path().join(".github/htdemucs-devops.yml"),
        "parity:\n  stages:\n    output:\n      rtol: 0.01\n      min_snr_db: 30\n",
    );
    let out = run(bin().current_dir(p.dir.path()).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
        "--format",
        "json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(check(&v, "output.stems")["tolerance"]["rtol"], 0.01);
    assert_eq!(check(&v, "stft.spec")["tolerance"]["rtol"], 1e-3);
}

#[test]
fn run_modes_and_run_counts_reach_the_runner() {
    let dir = fake_runner_dir();
    let calls = |dir: &Path| -> Vec<String> {
        let text = std::fs::read_to_string(dir.join("calls.log")).expect("the runner ran");
        std::fs::remove_file(dir.join("calls.log")).unwrap();
        text.lines().map(String::from).collect()
    };
    // Defaults: parity needs outputs, not timings.
    let out = run_parity(dir.path(), &["--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let lines = calls(dir.path());
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert!(
        lines.iter().all(|l| l.contains("--warmup 0 --repeat 1")),
        "{lines:?}"
    );
    // Every backend runs under the same thread setting (`runner.threads`, default: the
    // cores available), never the library's own default.
    let omp: Vec<&str> = lines
        .iter()
        .filter_map(|l| l.rsplit("OMP=").next())
        .collect();
    assert!(
        omp.iter()
            .all(|o| *o == omp[0] && o.parse::<usize>().is_ok()),
        "{lines:?}"
    );
    assert!(
        lines[1].contains("--shared-from") && lines[1].contains("reference.npz"),
        "chained runs get the reference for stages they do not run: {lines:?}"
    );
    let v: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["run"]["mode"], "chained and isolated");

    // Isolated only, with counts and threads: no chained run at all.
    let out = run_parity(
        dir.path(),
        &[
            "--mode",
            "isolated",
            "--warmup",
            "2",
            "--repeat",
            "3",
            "--threads",
            "4",
            "--format",
            "json",
        ],
    );
    let v: Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    let lines = calls(dir.path());
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[1].contains("--inputs-from"), "{lines:?}");
    assert!(
        lines
            .iter()
            .all(|l| l.contains("--warmup 2 --repeat 3 --threads 4") && l.contains("OMP=4")),
        "{lines:?}"
    );
    let checks = v["checks"]
        .as_array()
        .cloned()
        .expect("the report has checks");
    assert!(!checks.is_empty() && checks.iter().all(|c| c["mode"] == "isolated"));
    assert_eq!(v["run"]["threads"], 4);
    assert_eq!(v["run"]["repeat"], 3);
    // The isolated checks name the stage that introduces the error.
    assert_eq!(v["introduced"][0]["stage"], "time_branch", "{v:#}");
    let text = run_parity(dir.path(), &["--mode", "isolated"]);
    assert!(
        stdout(&text).contains("introduced at stage time_branch"),
        "{}",
        stdout(&text)
    );
    calls(dir.path());

    // Chained only.
    let _ = run_parity(dir.path(), &["--mode", "chained"]);
    let lines = calls(dir.path());
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(
        !lines.iter().any(|l| l.contains("--inputs-from")),
        "{lines:?}"
    );
    for bad in [
        ["--repeat", "0"],
        ["--threads", "0"],
        ["--mode", "sideways"],
    ] {
        let out = run_parity(dir.path(), &bad);
        assert_eq!(out.status.code(), Some(2), "{bad:?}");
    }
    let help = run(bin().args(["parity", "run", "--help"]));
    let help = stdout(&help);
    assert!(
        help.contains("none by default") && help.contains("One by default"),
        "{help}"
    );
}

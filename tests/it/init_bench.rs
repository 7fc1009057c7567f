//! The port's benchmark as `init` adopted it: `benchmark run` runs their script through
//! the producer in the config and reads its `latest.json` (PyTorch stages `null`, not
//! measured), and the generated `make devops-benchmark-compare CURRENT=...` passes against
//! their date-keyed baseline holding such nulls, as a non-root user.

use crate::common::*;
use crate::init_adopt::port;
use crate::init_make::{fast_bootstrap, make, open_up};
use std::process::Command;

#[test]
fn the_adopted_benchmark_reads_their_nulls_and_compares_green() {
    let repo = port();
    let dir = repo.path();
    let init = run(bin().arg("init").current_dir(dir));
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    // Their venv, as `make setup` leaves it (the producer runs its python).
    let boot = fast_bootstrap(dir);
    let venv = run(Command::new(&boot)
        .args(["-m", "venv"])
        .arg(dir.join("tests/parity/venv")));
    assert!(venv.status.success(), "{}", stderr(&venv));
    open_up(dir);

    let bench = run(bin().args(["benchmark", "run"]).current_dir(dir));
    let so = stdout(&bench);
    assert_eq!(bench.status.code(), Some(0), "{so}{}", stderr(&bench));
    assert!(so.contains("not measured"), "{so}");
    let latest = std::fs::read_to_string(dir.join("benchmarks/latest.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let v: serde_json::Value = serde_json::from_str(&latest).unwrap_or_else(|e| panic!("{e}"));
    assert!(v["pytorch"]["stft_sec"].is_null(), "{latest}");

    // Their script appended the run to their baseline: nulls in it too.
    let baseline = std::fs::read_to_string(dir.join("benchmarks/baseline.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(baseline.contains("null"), "{baseline}");
    // What the run above (as the test's user) wrote, the maintainer may write too.
    open_up(dir);
    let devops = format!("DEVOPS={}", bin_path().display());
    let compare = make(
        dir,
        &[
            "devops-benchmark-compare",
            "CURRENT=benchmarks/latest.json",
            &devops,
        ],
    );
    let so = stdout(&compare);
    assert!(compare.status.success(), "{so}{}", stderr(&compare));
    assert!(
        so.contains("not measured") && so.contains("Full pipeline"),
        "{so}"
    );
    // The comparison's report, as the maintainer's make run left it.
    let report = std::fs::read_to_string(dir.join(".htdemucs-devops/benchmark.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let report: serde_json::Value = serde_json::from_str(&report).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(report["phase"], "benchmark", "{report}");
}

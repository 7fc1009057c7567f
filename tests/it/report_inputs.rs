//! `report` on phase reports it cannot use: a truncated upload, a file named after a
//! phase that is not a report, another schema version, a file that cannot be read. Each
//! is a failed phase in the comment and the check runs, and the step exits 2 naming it;
//! foreign JSON beside them is still skipped.

use crate::common::*;
use crate::report_helpers::*;
use crate::report_server::*;
use serde_json::Value;
use std::path::{Path, PathBuf};

/// The good reports, with `name` replaced by `text`.
fn reports_with(dir: &Path, name: &str, text: &[u8]) -> PathBuf {
    let reports = dir.join("reports");
    for f in [
        "lint.json",
        "test.json",
        "parity.json",
        "benchmark.json",
        "unrelated.json",
    ] {
        let src = std::fs::read(ok_reports().join(f)).unwrap();
        write(&reports.join(f), &String::from_utf8_lossy(&src));
    }
    std::fs::write(reports.join(name), text).unwrap_or_else(|e| panic!("{e}"));
    reports
}

/// A failing lint report cut after 4,000 bytes, as an interrupted upload leaves it.
fn truncated_failing_lint() -> Vec<u8> {
    let text = std::fs::read_to_string(ok_reports().join("lint.json")).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    v["status"] = "failed".into();
    let mut bytes = serde_json::to_vec_pretty(&v).unwrap();
    assert!(bytes.len() > 4000);
    bytes.truncate(4000);
    bytes
}

#[test]
fn a_truncated_failing_lint_report_is_red_and_exits_2_naming_it() {
    let dir = tempdir();
    let gh = FakeGitHub::start();
    let reports = reports_with(dir.path(), "lint.json", &truncated_failing_lint());
    let out = run_report(&mut report_cmd(dir.path(), &gh, &reports));
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(2), "{so}\n{}", stderr(&out));
    // The reason of the exit 2 names the file.
    let errors: Vec<String> = workflow_commands(&so)
        .into_iter()
        .filter(|c| c.starts_with("::error"))
        .collect();
    assert!(
        errors
            .iter()
            .any(|c| c.contains("lint.json") && c.contains("not valid JSON")),
        "{errors:#?}"
    );
    // Posted anyway, red: the verdict names the lint phase as failed.
    let ours = gh.marked(MARKER);
    assert_eq!(ours.len(), 1, "{:#?}", gh.log());
    let body = &ours[0].body;
    assert!(
        body.contains("❌ 1 of 4 phases failed: lint"),
        "{}",
        body.lines().nth(1).unwrap()
    );
    assert!(body.contains("❌ failed"), "{body}");
    assert_eq!(
        output_value(dir.path(), "verdict").as_deref(),
        Some("failed")
    );
    let runs = gh.with(|s| s.check_runs.clone());
    let lint = runs
        .iter()
        .find(|r| r["name"] == "htdemucs-devops / lint")
        .unwrap_or_else(|| panic!("no lint check run: {runs:#?}"));
    assert_eq!(lint["conclusion"], "failure");
    // The foreign JSON beside them is still not a phase.
    assert!(!body.contains("unrelated"), "{body}");
}

#[test]
fn every_unusable_report_is_a_failed_phase_locally_too() {
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "parity.json",
            br#"{"schema": "htdemucs-devops/phase-report/v9", "phase": "parity"}"#.to_vec(),
            "phase-report/v9",
        ),
        (
            "test.json",
            br#"{"tests": 3}"#.to_vec(),
            "named after a phase",
        ),
        (
            "benchmark.json",
            b"\xff\xfe not text".to_vec(),
            "not valid JSON",
        ),
        ("stray.json", b"{\"schema\": ".to_vec(), "not valid JSON"),
    ];
    for (name, text, why) in cases {
        let dir = tempdir();
        let reports = reports_with(dir.path(), name, &text);
        let out = run(bin()
            .arg("report")
            .arg("--reports")
            .arg(&reports)
            .arg("--out-dir")
            .arg(dir.path().join("out"))
            .current_dir(dir.path()));
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(2), "{name}: {err}");
        assert!(err.contains(name) && err.contains(why), "{name}: {err}");
        let md = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
        let stem = name.trim_end_matches(".json");
        assert!(
            md.contains(&format!("❌ {stem}: the report {name} is unusable")),
            "{name}: {md}"
        );
        assert!(md.lines().any(|l| l.contains("phases failed")), "{md}");
    }
}

#[cfg(unix)]
#[test]
fn an_unreadable_report_is_a_failed_phase() {
    let dir = tempdir();
    let reports = reports_with(dir.path(), "lint.json", b"{}");
    std::fs::remove_file(reports.join("lint.json")).unwrap_or_else(|e| panic!("{e}"));
    // A link to nowhere: listed, but reading it fails.
    std::os::unix::fs::symlink(dir.path().join("gone"), reports.join("lint.json"))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = run(bin()
        .arg("report")
        .arg("--reports")
        .arg(&reports)
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .current_dir(dir.path()));
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(
        err.contains("lint.json") && err.contains("cannot be read"),
        "{err}"
    );
    let md = std::fs::read_to_string(dir.path().join("out/report.md")).unwrap();
    assert!(md.contains("❌ 1 of 4 phases failed: lint"), "{md}");
}

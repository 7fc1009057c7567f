//! Hostile and careless inputs through the real binary: FIFOs and devices given as
//! files, files over the size limit, nesting meant to make a parser crawl, megabyte
//! units and names, a failing test case hidden inside another, and a lint report with
//! hundreds of thousands of findings. Each must end quickly, exit 2 naming the file
//! (or count what it found), and print a bounded amount.

use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// Runs `cmd`, killing it (and failing the test) if it is still running after `secs`.
fn run_within(cmd: &mut Command, secs: u64) -> Output {
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let start = Instant::now();
    loop {
        match child.try_wait() {
            Ok(Some(_)) => break,
            Ok(None) if start.elapsed() > Duration::from_secs(secs) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!("{cmd:?} still running after {secs} s");
            }
            Ok(None) => std::thread::sleep(Duration::from_millis(20)),
            Err(e) => panic!("wait: {e}"),
        }
    }
    child
        .wait_with_output()
        .unwrap_or_else(|e| panic!("output: {e}"))
}

/// Points `cmd` at the workspace `dir`: `--root`, `--out-dir <dir>/out`, run from there.
fn in_workspace<'a>(cmd: &'a mut Command, dir: &Path) -> &'a mut Command {
    cmd.arg("--root")
        .arg(dir)
        .arg("--out-dir")
        .arg(dir.join("out"))
        .current_dir(dir)
}

fn lint_report(dir: &Path, tool_file: &str) -> Command {
    let mut cmd = bin();
    cmd.arg("lint").arg("--report").arg(tool_file);
    in_workspace(&mut cmd, dir);
    cmd
}

fn all_output(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[cfg(unix)]
#[test]
fn a_fifo_given_as_a_lint_report_is_refused_at_once() {
    let dir = tempdir();
    let fifo = dir.path().join("ruff.json");
    let made = run(Command::new("mkfifo").arg(&fifo));
    assert!(made.status.success(), "mkfifo: {}", stderr(&made));
    let o = run_within(
        &mut lint_report(dir.path(), &format!("ruff={}", fifo.display())),
        20,
    );
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    let err = stderr(&o);
    assert!(
        err.contains("ruff.json is a FIFO (named pipe), not a regular file"),
        "{err}"
    );
}

#[cfg(unix)]
#[test]
fn a_symlink_to_dev_zero_is_refused_as_config_baseline_and_results() {
    let dir = tempdir();
    let zero = dir.path().join("zero.yml");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap_or_else(|e| panic!("{e}"));
    let o = run_within(
        bin()
            .arg("--config")
            .arg(&zero)
            .arg("lint")
            .arg("--root")
            .arg(dir.path())
            .current_dir(dir.path()),
        20,
    );
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    assert!(
        stderr(&o).contains("the config file") && stderr(&o).contains("a character device"),
        "{}",
        stderr(&o)
    );

    let current = dir.path().join("current.json");
    write(&current, r#"{"coreml": {"stft_sec": 0.4}}"#);
    let o = run_within(
        in_workspace(
            bin()
                .args(["benchmark", "compare", "--baseline"])
                .arg(&zero)
                .arg("--current")
                .arg(&current),
            dir.path(),
        ),
        20,
    );
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    assert!(stderr(&o).contains("a character device"), "{}", stderr(&o));

    let o = run_within(
        in_workspace(
            bin().args(["benchmark", "compare", "--current"]).arg(&zero),
            dir.path(),
        ),
        20,
    );
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    assert!(
        stderr(&o).contains("the results file") && stderr(&o).contains("a character device"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn an_input_over_the_limit_names_file_limit_and_how_to_raise_it() {
    let dir = tempdir();
    let report = dir.path().join("big.txt");
    // 2 MiB of generic findings: over a 1 MiB limit, fine under 4 MiB.
    let line = "src/a.py:1:1: error: too long\n";
    write(&report, &line.repeat(2 * 1024 * 1024 / line.len() + 1));
    let arg = format!("generic={}", report.display());
    let o = run_within(
        lint_report(dir.path(), &arg).env("HTDEMUCS_DEVOPS_MAX_INPUT_MIB", "1"),
        60,
    );
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    let err = stderr(&o);
    assert!(
        err.contains("big.txt is 2.0 MiB, over the 1 MiB limit"),
        "{err}"
    );
    assert!(err.contains("HTDEMUCS_DEVOPS_MAX_INPUT_MIB=<MiB>"), "{err}");

    let o = run_within(
        lint_report(dir.path(), &arg).env("HTDEMUCS_DEVOPS_MAX_INPUT_MIB", "4"),
        60,
    );
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));

    let o = run_within(
        lint_report(dir.path(), &arg).env("HTDEMUCS_DEVOPS_MAX_INPUT_MIB", "lots"),
        60,
    );
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    assert!(
        stderr(&o).contains("is not a whole number of MiB"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_failing_test_case_nested_in_another_fails_the_phase() {
    let dir = tempdir();
    let junit = dir.path().join("nested.xml");
    write(
        &junit,
        r#"<?xml version="1.0"?><testsuites><testsuite name="s" tests="1">
<testcase classname="t" name="outer"><testcase classname="t" name="hidden">
<failure message="assert 1 == 2">boom</failure></testcase></testcase>
</testsuite></testsuites>"#,
    );
    let o = run_within(
        in_workspace(bin().arg("test").arg("--junit").arg(&junit), dir.path()),
        30,
    );
    assert_eq!(o.status.code(), Some(1), "{}", all_output(&o));
    let text = std::fs::read_to_string(dir.path().join("out/test.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_eq!(v["data"]["totals"]["tests"], 2, "{text}");
    assert_eq!(v["data"]["totals"]["failed"], 1, "{text}");
    assert!(stdout(&o).contains("hidden"), "{}", stdout(&o));
}

#[test]
fn junit_nested_a_hundred_thousand_deep_is_refused_fast() {
    let dir = tempdir();
    let junit = dir.path().join("deep.xml");
    let n = 100_000;
    write(
        &junit,
        &format!(
            "<testsuites>{}<testcase name=\"x\"/>{}</testsuites>",
            "<testsuite name=\"s\">".repeat(n),
            "</testsuite>".repeat(n)
        ),
    );
    let o = run_within(
        in_workspace(bin().arg("test").arg("--junit").arg(&junit), dir.path()),
        30,
    );
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    assert!(
        stderr(&o).contains("deep.xml:1:") && stderr(&o).contains("nest more than 256 levels"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_config_nested_a_hundred_thousand_deep_is_refused_fast_with_its_line() {
    let dir = tempdir();
    let config = dir.path().join("deep.yml");
    let n = 100_000;
    write(
        &config,
        &format!("lint:\n  tools: {}{}\n", "[".repeat(n), "]".repeat(n)),
    );
    let o = run_within(
        bin()
            .arg("--config")
            .arg(&config)
            .arg("lint")
            .arg("--root")
            .arg(dir.path())
            .current_dir(dir.path()),
        30,
    );
    assert_eq!(o.status.code(), Some(2), "{}", all_output(&o));
    let err = stderr(&o);
    assert!(
        err.contains("deep.yml:2: the YAML nests more than 64 levels"),
        "{err}"
    );
}

#[test]
fn a_megabyte_unit_is_refused_without_being_echoed() {
    let dir = tempdir();
    let current = dir.path().join("gab.json");
    let unit = "u".repeat(1024 * 1024);
    write(
        &current,
        &format!(r#"[{{"name": "coreml/stft", "unit": "{unit}", "value": 1.0}}]"#),
    );
    let o = run_within(
        in_workspace(
            bin()
                .args(["benchmark", "compare", "--current"])
                .arg(&current),
            dir.path(),
        ),
        30,
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let all = all_output(&o);
    assert!(all.len() < 4096, "{} bytes of output", all.len());
    assert!(
        all.contains("gab.json: the unit of stft is 1048576 characters"),
        "{all}"
    );
}

#[test]
fn a_lint_report_of_many_findings_keeps_exact_counts_and_a_bounded_list() {
    let dir = tempdir();
    let report = dir.path().join("many.json");
    let entry = r#"{"code":"F401","message":"m","filename":"a.py","location":{"row":1,"column":1},"end_location":{"row":1,"column":2},"fix":null,"url":null}"#;
    let n = 12_345;
    write(&report, &format!("[{}]", vec![entry; n].join(",")));
    let o = run_within(
        &mut lint_report(dir.path(), &format!("ruff={}", report.display())),
        120,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let text = std::fs::read_to_string(dir.path().join("out/lint.json")).unwrap();
    let v: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
    assert_eq!(
        v["data"]["totals"]["errors"],
        n,
        "{}",
        &text[..text.len().min(500)]
    );
    assert_eq!(
        v["data"]["diagnostics"].as_array().map(Vec::len),
        Some(10_000)
    );
    assert_eq!(v["data"]["omitted"], n - 10_000);
    assert!(
        stdout(&o).contains("the JSON report lists 10000 of them"),
        "{}",
        stdout(&o)
    );
}

#[test]
fn a_megabyte_lint_message_is_capped_in_every_output() {
    let dir = tempdir();
    let report = dir.path().join("long.txt");
    write(
        &report,
        &format!("src/a.py:1:1: error: {}\n", "x".repeat(1024 * 1024)),
    );
    let o = run_within(
        bin_in_actions(dir.path())
            .arg("lint")
            .arg("--report")
            .arg(format!("generic={}", report.display()))
            .arg("--root")
            .arg(dir.path())
            .arg("--out-dir")
            .arg(dir.path().join("out"))
            .current_dir(dir.path()),
        60,
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let all = all_output(&o);
    assert!(all.len() < 64 * 1024, "{} bytes of output", all.len());
    assert!(
        all.contains("bytes cut]"),
        "{}",
        &all[..all.len().min(2000)]
    );
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        summary.len() < 64 * 1024,
        "{} bytes of summary",
        summary.len()
    );
}

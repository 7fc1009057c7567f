//! The `test` phase through the real binary: JUnit/xUnit fixtures of real tool output,
//! hostile input in GitHub Actions, bad files, and real pytest runs.

use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use crate::common::*;

fn fixture(rel: &str) -> PathBuf {
    fixtures().join(rel)
}

/// Runs `test` with the given extra arguments in a fresh workspace `root`.
fn test_in(root: &Path, args: &[&str]) -> Output {
    run(bin()
        .arg("test")
        .args(args)
        .arg("--root")
        .arg(root)
        .arg("--out-dir")
        .arg(root.join("out"))
        .current_dir(root))
}

fn ingest(root: &Path, files: &[PathBuf]) -> Output {
    let mut cmd = bin();
    cmd.arg("test");
    for f in files {
        cmd.arg("--junit").arg(f);
    }
    run(cmd
        .arg("--root")
        .arg(root)
        .arg("--out-dir")
        .arg(root.join("out"))
        .current_dir(root))
}

/// The `data` part of `<out>/test.json`.
fn report(root: &Path) -> Value {
    let path = root.join("out/test.json");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("bad json: {e}"));
    v["data"].clone()
}

fn totals(data: &Value) -> [u64; 5] {
    let t = &data["totals"];
    ["tests", "passed", "failed", "errored", "skipped"].map(|k| t[k].as_u64().unwrap_or(999))
}

/// `(name, "file:line" or "", first message)` of each failure.
fn failures(data: &Value) -> Vec<(String, String, String)> {
    data["failures"]
        .as_array()
        .cloned()
        .unwrap()
        .iter()
        .map(|f| {
            let place = match (f["file"].as_str(), f["line"].as_u64()) {
                (Some(file), Some(l)) => format!("{file}:{l}"),
                (Some(file), None) => file.to_string(),
                _ => String::new(),
            };
            (
                f["name"].as_str().unwrap_or("").to_string(),
                place,
                f["messages"][0].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn slowest_names(data: &Value) -> Vec<String> {
    data["slowest"]
        .as_array()
        .cloned()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap_or("").to_string())
        .collect()
}

fn check_pytest_fixture(file: &str) {
    let dir = tempdir();
    let out = ingest(dir.path(), &[fixture(file)]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let data = report(dir.path());
    // 13 test cases: the failing subtests count once, under their test.
    assert_eq!(totals(&data), [13, 5, 4, 1, 3], "{file}");
    let f = failures(&data);
    let expect = [
        (
            "tests.sample_tests::test_fails",
            "tests/sample_tests.py:19",
            "AssertionError: 2 + 2 should be <5> & more\nassert 4 == 5\n +  where 4 = add(2, 2)",
        ),
        (
            "tests.sample_tests::test_errors_in_setup",
            "tests/sample_tests.py:24",
            "failed on setup with \"RuntimeError: fixture setup exploded\"",
        ),
        (
            "tests.sample_tests::test_prints_then_fails",
            "tests/sample_tests.py:34",
            "ValueError: bad value",
        ),
        (
            "tests.sample_tests::test_square[3-10]",
            "tests/sample_tests.py:53",
            "assert (3 * 3) == 10",
        ),
        (
            "tests.sample_tests::test_subtests",
            "tests/sample_tests.py:68",
            "AssertionError: channel 1 mismatch\nassert 1 != 1",
        ),
    ];
    let got: Vec<(&str, &str, &str)> = f
        .iter()
        .map(|(a, b, c)| (a.as_str(), b.as_str(), c.as_str()))
        .collect();
    assert_eq!(got, expect, "{file}");
    assert_eq!(data["failures"][1]["status"], "errored");
    assert_eq!(
        data["failures"][4]["messages"][1],
        "contains 1 failed subtest"
    );
    assert_eq!(slowest_names(&data)[0], "tests.sample_tests::test_slow");
    assert_eq!(data["slowest"].as_array().map(Vec::len), Some(5));
    // The terminal summary leads with the headline.
    assert!(
        stdout(&out).starts_with("Tests: 4 failed, 1 errored, 5 passed, 3 skipped in "),
        "{}",
        stdout(&out)
    );
}

#[test]
fn pytest_xunit2_fixture_totals_failures_and_slowest() {
    check_pytest_fixture("pytest/pytest-xunit2.xml");
}

#[test]
fn pytest_legacy_fixture_uses_file_attributes_and_captured_output() {
    check_pytest_fixture("pytest/pytest-legacy.xml");
    let dir = tempdir();
    ingest(dir.path(), &[fixture("pytest/pytest-legacy.xml")]);
    let data = report(dir.path());
    let output = data["failures"][2]["output"].as_str().unwrap_or("");
    assert!(output.contains("some stdout from the test"), "{output}");
    assert!(output.contains("some stderr from the test"), "{output}");
}

#[test]
fn nextest_fixtures_totals_locations_and_retries() {
    let dir = tempdir();
    let out = ingest(dir.path(), &[fixture("nextest/nextest-junit.xml")]);
    assert_eq!(out.status.code(), Some(1));
    let data = report(dir.path());
    assert_eq!(totals(&data), [5, 2, 3, 0, 0]);
    let f = failures(&data);
    assert_eq!(f[0].0, "nextest-fixture::tests::fails_with_message");
    assert_eq!(f[0].1, "src/lib.rs:20");
    assert_eq!(
        f[0].2,
        "assertion `left == right` failed: 2 + 2 should be <5> & more"
    );
    assert_eq!(f[2].1, "src/lib.rs:50");
    assert_eq!(
        f[2].2,
        "index out of bounds: the len is 0 but the index is 3"
    );
    assert_eq!(slowest_names(&data)[0], "nextest-fixture::tests::slow");

    let dir = tempdir();
    let out = ingest(dir.path(), &[fixture("nextest/nextest-junit-retries.xml")]);
    assert_eq!(out.status.code(), Some(1));
    let data = report(dir.path());
    assert_eq!(totals(&data), [5, 3, 2, 0, 0]);
    assert_eq!(data["totals"]["flaky"], 1);
    assert_eq!(data["flaky"][0]["name"], "nextest-fixture::tests::flaky");
    assert_eq!(data["flaky"][0]["failed_attempts"], 1);
    let mut names: Vec<String> = failures(&data).into_iter().map(|f| f.0).collect();
    names.sort();
    assert_eq!(
        names,
        [
            "nextest-fixture::tests::fails_with_message",
            "nextest-fixture::tests::nested::panics"
        ]
    );
}

#[test]
fn xctest_fixture_without_locations_falls_back_to_the_test_name() {
    let dir = tempdir();
    let out = run(bin_in_actions(dir.path())
        .args(["test", "--junit"])
        .arg(fixture("xctest/swift-xunit.xml"))
        .arg("--out-dir")
        .arg(dir.path().join("out"))
        .current_dir(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    let data = report(dir.path());
    assert_eq!(totals(&data), [5, 3, 2, 0, 0]);
    assert!((data["totals"]["time_seconds"].as_f64().unwrap_or(0.0) - 0.828899).abs() < 1e-9);
    assert_eq!(
        slowest_names(&data)[0],
        "HTDemucsKitTests.ModelLoadTests::testCompiledModelLoads"
    );
    let errors: Vec<String> = workflow_commands(&stdout(&out))
        .into_iter()
        .filter(|c| c.starts_with("::error"))
        .collect();
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(
        errors[0].starts_with(
            "::error title=HTDemucsKitTests.STFTTests%3A%3AtestInverseMatchesTorch::failure"
        ),
        "{errors:?}"
    );
    assert!(!errors[0].contains("file="), "{errors:?}");
}

#[test]
fn xctest_detailed_messages_give_the_assertion_line() {
    // The fixture was "recorded" in a macOS runner's workspace: put it in ours.
    let dir = tempdir();
    let root = dir.path().canonicalize().unwrap_or_else(|e| panic!("{e}"));
    let text = std::fs::read_to_string(fixture("xctest/swift-xunit-detailed.xml"))
        .unwrap_or_else(|e| panic!("{e}"))
        .replace(
            "/Users/runner/work/HTDemucsCoreML/HTDemucsCoreML",
            &root.to_string_lossy(),
        );
    let file = root.join("swift-xunit.xml");
    write(&file, &text);
    let out = ingest(&root, &[file]);
    assert_eq!(out.status.code(), Some(1));
    let f = failures(&report(&root));
    assert_eq!(f[0].1, "Tests/HTDemucsKitTests/STFTTests.swift:42");
    assert_eq!(
        f[0].2,
        "XCTAssertEqual failed: (\"0.5\") is not equal to (\"0.25\") - bin 7 drifted"
    );
    assert_eq!(f[1].1, "Tests/HTDemucsKitTests/SeparatorTests.swift:17");
    assert!(
        f[1].2.ends_with("stem order → must match demucs"),
        "{}",
        f[1].2
    );
}

#[test]
fn swift_testing_and_glob_ingest_add_up() {
    let dir = tempdir();
    let results = dir.path().join("results");
    for name in ["swift-xunit.xml", "swift-xunit-swift-testing.xml"] {
        std::fs::create_dir_all(&results).unwrap_or_else(|e| panic!("{e}"));
        std::fs::copy(fixture(&format!("xctest/{name}")), results.join(name))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = test_in(dir.path(), &["--junit", "results/swift-xunit*.xml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let data = report(dir.path());
    assert_eq!(totals(&data), [8, 4, 3, 0, 1]);
    assert_eq!(data["sources"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        data["sources"][0]["path"],
        "results/swift-xunit-swift-testing.xml"
    );
    assert_eq!(data["sources"][0]["producer"], "swift");
    let f = failures(&data);
    let st = f
        .iter()
        .find(|f| f.0 == "HTDemucsKitTests.ISTFTSuite::windowSum()")
        .unwrap_or_else(|| panic!("{f:?}"));
    assert_eq!(
        st.2,
        "Expectation failed: (sum → 0.98) == 1.0: window must sum to one"
    );
}

#[test]
fn generic_nested_suites_properties_and_errors() {
    let dir = tempdir();
    let out = ingest(dir.path(), &[fixture("junit/nested-suites.xml")]);
    assert_eq!(out.status.code(), Some(1));
    let data = report(dir.path());
    assert_eq!(totals(&data), [5, 2, 1, 1, 1]);
    let f = failures(&data);
    // The traceback's frame is more precise than the line attribute.
    assert_eq!(f[0].1, "tests/parity/test_stft.py:33");
    assert_eq!(f[1].0, "parity.model.ModelParity::loads_weights");
    assert_eq!(data["failures"][1]["status"], "errored");
    assert_eq!(f[1].1, "");
    assert_eq!(
        slowest_names(&data),
        [
            "parity.model.ModelParity::loads_weights",
            "parity.stft.StftParity::matches_torch",
            "parity.stft.StftParity::rejects_short_input",
            "smoke::imports"
        ]
    );
}

#[test]
fn forged_workflow_commands_and_html_are_escaped_in_actions() {
    let dir = tempdir();
    let out = run(bin_in_actions(dir.path())
        .args(["test", "--junit"])
        .arg(fixture("junit/forged-commands.xml"))
        .current_dir(dir.path()));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let text = stdout(&out);
    let cmds = workflow_commands(&text);
    assert!(!cmds.is_empty(), "{text}");
    for c in &cmds {
        let ours = [
            "::error ",
            "::error::",
            "::warning ",
            "::notice ",
            "::group::",
            "::endgroup::",
        ]
        .iter()
        .any(|p| c.starts_with(p));
        assert!(ours, "not one of our commands: {c}\n{text}");
        assert!(!c.contains('\r'), "{c:?}");
        // Every `%` in the payload is escaped: only %25, %0A, %0D, %3A, %2C appear.
        for (i, _) in c.match_indices('%') {
            let esc = &c[i..(i + 3).min(c.len())];
            assert!(
                ["%25", "%0A", "%0D", "%3A", "%2C"].contains(&esc),
                "{esc} in {c}"
            );
        }
    }
    let error = cmds
        .iter()
        .find(|c| c.starts_with("::error file="))
        .unwrap_or_else(|| panic!("no error annotation: {cmds:?}"));
    assert!(
        error.starts_with("::error file=src/evil%2Cmod.py,line=7,title=evil%250A%3A%3Aset-output"),
        "{error}"
    );
    assert!(
        error.contains("::boom %250A::set-output name=x::y%0A::error::forged%0D%0A::warning"),
        "{error}"
    );
    // No line of the log starts a command we did not write.
    for line in text.lines() {
        assert!(
            !line.starts_with("::set-output") && !line.starts_with("::error::forged"),
            "{line}"
        );
    }

    let summary =
        std::fs::read_to_string(dir.path().join("summary.md")).unwrap_or_else(|e| panic!("{e}"));
    assert!(!summary.contains("<script>"), "{summary}");
    assert!(
        summary.contains("&lt;script&gt;alert(2)&lt;/script&gt;"),
        "{summary}"
    );
    assert!(
        summary.contains("&lt;script&gt;alert\\(1\\)&lt;/script&gt;"),
        "{summary}"
    );
    // The traceback cannot close our <details> or <pre> early.
    assert_eq!(
        summary.matches("</details>").count(),
        summary.matches("<details>").count()
    );
    assert!(summary.contains("<pre>Traceback (cc @here)"), "{summary}");
    let outputs =
        std::fs::read_to_string(dir.path().join("output.txt")).unwrap_or_else(|e| panic!("{e}"));
    assert!(outputs.contains("tests-failed<<"), "{outputs}");
    assert!(outputs.contains("tests-passed<<"), "{outputs}");
    assert!(
        outputs.contains("\nstatus<<") || outputs.starts_with("status<<"),
        "{outputs}"
    );
}

#[test]
fn truncated_and_non_xml_files_exit_2_naming_file_and_problem() {
    let dir = tempdir();
    let out = ingest(dir.path(), &[fixture("junit/truncated.xml")]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("truncated.xml:19:"), "{err}");
    assert!(err.contains("ends inside"), "{err}");
    assert!(!dir.path().join("out/test.json").exists());

    let json = dir.path().join("ruff.json");
    write(&json, "[{\"code\": \"E501\"}]\n");
    let out = ingest(dir.path(), &[json]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("ruff.json:1:"), "{}", stderr(&out));

    let html = dir.path().join("page.xml");
    write(&html, "<html><body>502 Bad Gateway</body></html>");
    let out = ingest(dir.path(), &[html]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("root element is <html>"),
        "{}",
        stderr(&out)
    );

    let out = test_in(dir.path(), &["--junit", "missing.xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("missing.xml: no such file"),
        "{}",
        stderr(&out)
    );
    let out = test_in(dir.path(), &["--junit", "nothing/*.xml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("matched no file"), "{}", stderr(&out));
}

#[test]
fn no_tests_fails_unless_configured() {
    let dir = tempdir();
    let out = ingest(dir.path(), &[fixture("junit/no-tests.xml")]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stdout(&out).starts_with("Tests: no tests ran"),
        "{}",
        stdout(&out)
    );
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "test:\n  fail_if_no_tests: false\n",
    );
    let out = ingest(dir.path(), &[fixture("junit/no-tests.xml")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

/// Finds a pytest to run: the repo's `.venv` (made by `make test`), the shared venv,
/// or PATH.
fn pytest_dir() -> PathBuf {
    let candidates = [
        // `make test` exports the venv it made.
        PathBuf::from(std::env::var("HTDEMUCS_VENV").unwrap_or_default()).join("bin"),
        PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin"),
        PathBuf::from("/work/venv/bin"),
    ];
    for c in candidates {
        if c.join("pytest").is_file() {
            return c;
        }
    }
    let found = Command::new("sh")
        .args(["-c", "command -v pytest"])
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|s| !s.is_empty());
    match found {
        Some(p) => PathBuf::from(p).parent().map(Path::to_path_buf).unwrap(),
        None => panic!("pytest is needed for this test: run `make setup` (creates .venv)"),
    }
}

fn with_pytest(cmd: &mut Command) -> &mut Command {
    let path = format!(
        "{}:{}",
        pytest_dir().display(),
        std::env::var("PATH").expect("PATH is set")
    );
    cmd.env("PATH", path).env("PYTHONDONTWRITEBYTECODE", "1")
}

#[test]
fn runs_real_pytest_end_to_end() {
    let dir = tempdir();
    let root = dir.path();
    write(
        &root.join("tests/test_calc.py"),
        "def test_adds():\n    assert 1 + 1 == 2\n\n\ndef test_breaks():\n    value = 3\n    assert value == 4, 'value drifted'\n",
    );
    let out = run(with_pytest(&mut bin())
        .arg("test")
        .arg("--root")
        .arg(root)
        .arg("--out-dir")
        .arg(root.join("out"))
        .current_dir(root));
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    let data = report(root);
    assert_eq!(totals(&data), [2, 1, 1, 0, 0]);
    let f = failures(&data);
    assert_eq!(f[0].0, "tests.test_calc::test_breaks");
    assert_eq!(f[0].1, "tests/test_calc.py:7");
    assert!(
        f[0].2.starts_with("AssertionError: value drifted"),
        "{}",
        f[0].2
    );
    assert_eq!(data["commands"][0]["name"], "swift test");
    assert_eq!(data["commands"][0]["state"], "skipped");
    assert!(data["commands"][0]["reason"]
        .as_str()
        .unwrap_or("")
        .contains("Package.swift"));
    assert_eq!(data["commands"][1]["state"], "ran");
    assert_eq!(data["commands"][1]["exit_code"], 1);
    assert!(root.join("out/pytest-junit.xml").is_file());

    // Fixed: the next run is green and does not read the old results.
    write(
        &root.join("tests/test_calc.py"),
        "def test_adds():\n    assert 1 + 1 == 2\n",
    );
    let out = run(with_pytest(&mut bin())
        .arg("test")
        .arg("--root")
        .arg(root)
        .arg("--out-dir")
        .arg(root.join("out"))
        .current_dir(root));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}\n{}",
        stdout(&out),
        stderr(&out)
    );
    assert_eq!(totals(&report(root)), [1, 1, 0, 0, 0]);
}

#[test]
fn nothing_to_test_means_no_tests_ran() {
    let dir = tempdir();
    write(&dir.path().join("src/app.py"), "print('hi')\n");
    let out = run(with_pytest(&mut bin())
        .arg("test")
        .arg("--root")
        .arg(dir.path())
        .arg("--out-dir")
        .arg(dir.path().join("out")));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let data = report(dir.path());
    assert_eq!(data["commands"][1]["state"], "skipped");
    assert!(
        stderr(&out).contains("pytest skipped: nothing to test"),
        "{}",
        stderr(&out)
    );
}

fn config(root: &Path, yaml: &str) {
    write(&root.join(".github/htdemucs-devops.yml"), yaml);
}

#[test]
fn a_command_failing_without_results_is_reported_not_zero_tests() {
    let dir = tempdir();
    let root = dir.path();
    config(
        root,
        "test:\n  fail_if_no_tests: false\n  commands:\n    - name: build-and-test\n      command: [sh, -c, 'echo \"error: cannot compile Foo.swift\" >&2; exit 3']\n      junit: ['{out_dir}/results.xml']\n",
    );
    // A stale result file from an earlier run must not count.
    write(
        &root.join("out/results.xml"),
        "<testsuite><testcase name=\"old\"/></testsuite>",
    );
    let out = test_in(root, &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let data = report(root);
    assert_eq!(data["commands"][0]["state"], "broken");
    let problem = data["commands"][0]["problem"].as_str().unwrap_or("");
    assert!(
        problem.contains("exited with 3 and wrote no result file"),
        "{problem}"
    );
    assert!(data["commands"][0]["output_tail"]
        .as_str()
        .unwrap_or("")
        .contains("cannot compile Foo.swift"));
    assert_eq!(totals(&data), [0, 0, 0, 0, 0]);
}

#[test]
fn a_required_missing_program_exits_2() {
    let dir = tempdir();
    config(
        dir.path(),
        "test:\n  commands:\n    - command: [no-such-test-runner-xyz]\n      junit: [r.xml]\n      required: true\n",
    );
    let out = test_in(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("no-such-test-runner-xyz is not installed"),
        "{}",
        stderr(&out)
    );

    config(
        dir.path(),
        "test:\n  commands:\n    - command: [no-such-test-runner-xyz]\n      junit: [r.xml]\n",
    );
    let out = test_in(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "no test ran: {}", stderr(&out));
    assert!(
        stderr(&out).contains("no-such-test-runner-xyz skipped"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_command_exiting_non_zero_with_green_results_is_broken() {
    let dir = tempdir();
    config(
        dir.path(),
        "test:\n  commands:\n    - name: crashy\n      command: [sh, -c, 'echo \"<testsuite><testcase name=\\\"ok\\\"/></testsuite>\" > \"$0\"; echo segfault >&2; exit 139', '{out_dir}/r.xml']\n      junit: ['{out_dir}/r.xml']\n",
    );
    let out = test_in(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let data = report(dir.path());
    assert_eq!(totals(&data), [1, 1, 0, 0, 0]);
    assert_eq!(data["commands"][0]["state"], "broken");
    assert!(data["commands"][0]["problem"]
        .as_str()
        .unwrap_or("")
        .contains("exited with 139 although its results show no failing test"));
}

#[test]
fn many_failures_are_capped_in_actions_and_all_counted() {
    let dir = tempdir();
    let mut xml = String::from("<testsuites><testsuite name=\"many\">");
    for i in 0..25 {
        xml.push_str(&format!(
            "<testcase classname=\"m\" name=\"t{i}\" time=\"0.{i:02}\"><failure message=\"bad {i}\"/></testcase>"
        ));
    }
    xml.push_str("</testsuite></testsuites>");
    let file = dir.path().join("many.xml");
    write(&file, &xml);
    let out = run(bin_in_actions(dir.path())
        .args(["test", "--junit"])
        .arg(&file)
        .current_dir(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let errors = workflow_commands(&text)
        .into_iter()
        .filter(|c| c.starts_with("::error"))
        .count();
    // Nine: one of GitHub's ten per step is kept for the reason of a failure to run.
    assert_eq!(errors, 9, "{text}");
    assert!(text.contains("16 more errors"), "{text}");
    let summary =
        std::fs::read_to_string(dir.path().join("summary.md")).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        summary.contains("### ❌ Tests: 25 failed, 0 passed"),
        "{summary}"
    );
    assert!(summary.contains("| 0 | 25 | 0 | 0 | 0 |"), "{summary}");
    assert!(summary.contains("#### Failures (25)"), "{summary}");
    assert_eq!(summary.matches("<details>").count(), 25);
    assert!(summary.contains("#### Slowest tests"), "{summary}");
    assert!(
        summary.contains("| <code>m::t24</code> | failed | 0.24 s |"),
        "{summary}"
    );
    let outputs =
        std::fs::read_to_string(dir.path().join("output.txt")).unwrap_or_else(|e| panic!("{e}"));
    assert!(outputs.contains("tests-failed<<"), "{outputs}");
    let failed_value = outputs
        .lines()
        .skip_while(|l| !l.starts_with("tests-failed<<"))
        .nth(1);
    assert_eq!(failed_value, Some("25"));
}

#[test]
fn required_command_with_nothing_to_test_exits_2() {
    let dir = tempdir();
    config(
        dir.path(),
        "test:\n  commands:\n    - name: swift\n      command: [swift, test]\n      junit: [x.xml]\n      if_present: [Package.swift]\n      required: true\n",
    );
    let out = test_in(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nothing to test"), "{}", stderr(&out));
}

#[test]
fn pytest_fixture_renders_in_actions() {
    // One combined snapshot: the log a workflow shows and the step summary.
    let dir = tempdir();
    let file = dir.path().join("pytest-junit.xml");
    std::fs::copy(fixture("pytest/pytest-xunit2.xml"), &file).unwrap_or_else(|e| panic!("{e}"));
    let out = run(bin_in_actions(dir.path())
        .args(["test", "--junit", "pytest-junit.xml"])
        .current_dir(dir.path()));
    assert_eq!(out.status.code(), Some(1));
    let summary =
        std::fs::read_to_string(dir.path().join("summary.md")).unwrap_or_else(|e| panic!("{e}"));
    let combined = format!(
        "--- log ---\n{}\n--- step summary ---\n{summary}",
        stdout(&out)
    )
    // The binary prints its current folder, which may be the canonical form (macOS).
    .replace(
        &dir.path()
            .canonicalize()
            .unwrap_or_else(|e| panic!("{e}"))
            .to_string_lossy()
            .into_owned(),
        "[ROOT]",
    )
    .replace(&dir.path().to_string_lossy().into_owned(), "[ROOT]");
    insta::assert_snapshot!("pytest_fixture_in_actions", combined);
}

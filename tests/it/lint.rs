//! The lint phase through the real binary: fixtures of real tool output, real ruff runs,
//! the annotation cap, escaping of hostile messages, missing tools and bad reports.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::*;

/// Where the ruff fixtures were produced (see tests/fixtures/ruff/README.md).
const RUFF_PREFIX: &str = "/work/wt/lint/tests/fixtures/ruff/project";
/// The macOS runner workspace the Swift fixtures are written for.
const SWIFT_PREFIX: &str = "/Users/runner/work/htdemucs-port/htdemucs-port";

/// The folder holding the `ruff` executable: `$HTDEMUCS_VENV/bin` (set by `make test`),
/// the repo's `.venv/bin`, or `PATH`.
fn ruff_dir() -> PathBuf {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(v) = std::env::var_os("HTDEMUCS_VENV") {
        candidates.push(PathBuf::from(v).join("bin"));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin"));
    if let Some(p) = std::env::var_os("PATH") {
        candidates.extend(std::env::split_paths(&p));
    }
    candidates
        .into_iter()
        .find(|d| d.join("ruff").is_file())
        .unwrap_or_else(|| {
            panic!("ruff not found: run the tests through `make test` (it builds the venv) or put ruff on PATH")
        })
}

/// A PATH with ruff and the basic system tools only, so the Swift tools are surely
/// absent (a developer's Mac may have them) and the defaults' skip path is exercised.
fn hermetic_path() -> String {
    format!("{}:/usr/bin:/bin", ruff_dir().display())
}

/// Copies a fixture into `dir`, replacing the absolute prefix it was produced under
/// with `dir` — what a report produced in the same workspace looks like.
fn fixture_into(dir: &Path, rel: &str, prefix: &str) -> PathBuf {
    let text = std::fs::read_to_string(fixtures().join(rel))
        .unwrap_or_else(|e| panic!("fixture {rel}: {e}"));
    let text = text.replace(prefix, &dir.display().to_string());
    let name = Path::new(rel)
        .file_name()
        .unwrap_or_else(|| panic!("{rel}"));
    let path = dir.join("reports").join(name);
    write(&path, &text);
    path
}

/// Runs `lint` with the given extra arguments, writing the report into `dir/out`.
fn lint(cmd: &mut Command, dir: &Path, args: &[&str]) -> Output {
    run(cmd
        .arg("lint")
        .args(args)
        .arg("--root")
        .arg(dir)
        .arg("--out-dir")
        .arg(dir.join("out"))
        .current_dir(dir))
}

/// The `data` of `out/lint.json`.
fn report(dir: &Path) -> Value {
    let path = dir.join("out/lint.json");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let v: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    v["data"].clone()
}

fn diags(r: &Value) -> Vec<Value> {
    r["diagnostics"].as_array().cloned().unwrap()
}

fn find<'a>(ds: &'a [Value], rule: &str) -> &'a Value {
    ds.iter()
        .find(|d| d["rule"] == rule)
        .unwrap_or_else(|| panic!("no {rule} in {ds:?}"))
}

fn files(ds: &[Value]) -> Vec<String> {
    let mut f: Vec<String> = ds
        .iter()
        .filter_map(|d| d["file"].as_str().map(String::from))
        .collect();
    f.sort();
    f.dedup();
    f
}

#[test]
fn ruff_check_json_from_two_versions_parses_with_relative_paths() {
    for (fixture, count, syntax_rule) in [
        ("ruff/check.json", 10, "invalid-syntax"),
        ("ruff/check-0.4.0.json", 9, "E999"),
    ] {
        let dir = tempdir();
        let file = fixture_into(dir.path(), fixture, RUFF_PREFIX);
        let out = lint(
            &mut bin_in_actions(dir.path()),
            dir.path(),
            &["--report", &format!("ruff={}", file.display())],
        );
        assert_eq!(out.status.code(), Some(1), "{fixture}: {}", stderr(&out));
        let r = report(dir.path());
        let ds = diags(&r);
        assert_eq!(ds.len(), count, "{fixture}");
        assert_eq!(r["totals"]["errors"], count);
        assert_eq!(
            files(&ds),
            ["stems/broken.py", "stems/separate.py"],
            "{fixture}"
        );
        let f401 = find(&ds, "F401");
        assert_eq!(f401["tool"], "ruff");
        assert_eq!(f401["fixable"], true);
        assert_eq!(f401["line"], 1);
        assert_eq!(f401["column"], 8);
        assert_eq!(f401["end_column"], 10);
        assert_eq!(
            f401["url"],
            "https://docs.astral.sh/ruff/rules/unused-import"
        );
        // Unsafe fixes are not applied by `ruff check --fix`.
        assert_eq!(find(&ds, "B006")["fixable"], false);
        assert_eq!(find(&ds, "F821")["fixable"], false);
        assert_eq!(find(&ds, syntax_rule)["file"], "stems/broken.py");
        let cmds = workflow_commands(&stdout(&out));
        assert!(
            cmds.iter()
                .any(|c| c.starts_with("::error file=stems/broken.py,line=")),
            "{cmds:?}"
        );
    }
}

#[test]
fn ruff_format_check_output_from_two_versions() {
    for fixture in ["ruff/format-check.txt", "ruff/format-check-0.4.0.txt"] {
        let dir = tempdir();
        let file = fixture_into(dir.path(), fixture, RUFF_PREFIX);
        let out = lint(
            &mut bin(),
            dir.path(),
            &["--report", &format!("ruff-format={}", file.display())],
        );
        assert_eq!(out.status.code(), Some(1), "{fixture}: {}", stderr(&out));
        let ds = diags(&report(dir.path()));
        assert_eq!(ds.len(), 3, "{fixture}: {ds:?}");
        let unformatted: Vec<&Value> = ds.iter().filter(|d| d["rule"] == "unformatted").collect();
        assert_eq!(unformatted.len(), 2, "{fixture}");
        assert!(unformatted.iter().all(|d| d["fixable"] == true));
        assert_eq!(
            files(&ds),
            ["stems/broken.py", "stems/separate.py", "stems/spectro.py"]
        );
        let broken = ds.iter().find(|d| d["file"] == "stems/broken.py");
        assert_eq!(broken.map(|d| d["line"].clone()), Some(Value::from(2)));
    }
}

#[test]
fn swiftlint_json_fixture() {
    let dir = tempdir();
    let file = fixture_into(dir.path(), "swiftlint/swiftlint.json", SWIFT_PREFIX);
    let out = lint(
        &mut bin(),
        dir.path(),
        &["--report", &format!("swiftlint={}", file.display())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = report(dir.path());
    assert_eq!(r["totals"]["errors"], 3);
    assert_eq!(r["totals"]["warnings"], 2);
    let ds = diags(&r);
    assert_eq!(
        files(&ds),
        [
            "Sources/HTDemucsMini/STFT.swift",
            "Sources/HTDemucsMini/Separator.swift"
        ]
    );
    let ll = find(&ds, "line_length");
    assert_eq!(ll["severity"], "warning");
    assert_eq!(ll["line"], 15);
    assert!(ll.get("column").is_none(), "{ll}");
    assert_eq!(find(&ds, "force_try")["column"], 17);
    // Errors come first.
    assert_eq!(ds[0]["severity"], "error");
    assert_eq!(ds[4]["severity"], "warning");
}

#[test]
fn swiftformat_lint_fixture() {
    let dir = tempdir();
    let file = fixture_into(dir.path(), "swiftformat/swiftformat-lint.txt", SWIFT_PREFIX);
    let out = lint(
        &mut bin(),
        dir.path(),
        &["--report", &format!("swiftformat={}", file.display())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = report(dir.path());
    assert_eq!(r["totals"]["errors"], 3);
    assert_eq!(r["totals"]["notes"], 1);
    assert_eq!(r["totals"]["fixable"], 3);
    let ds = diags(&r);
    let indent = find(&ds, "indent");
    assert_eq!(indent["file"], "Sources/HTDemucsMini/Chunker.swift");
    assert_eq!(indent["line"], 11);
    assert_eq!(
        indent["message"],
        "Indent code in accordance with the scope level."
    );
    assert_eq!(find(&ds, "sortImports")["line"], 1);
    assert_eq!(find(&ds, "consecutiveBlankLines")["line"], 8);
}

#[test]
fn generic_fixture_from_gcc() {
    let dir = tempdir();
    let file = dir.path().join("gcc.txt");
    std::fs::copy(fixtures().join("generic/gcc.txt"), &file).unwrap_or_else(|e| panic!("{e}"));
    let out = lint(
        &mut bin(),
        dir.path(),
        &["--report", &format!("generic={}", file.display())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let r = report(dir.path());
    assert_eq!(r["totals"]["errors"], 1);
    assert_eq!(r["totals"]["warnings"], 3);
    let ds = diags(&r);
    let unused = find(&ds, "-Werror=unused-variable");
    assert_eq!(unused["file"], "native/resample.c");
    assert_eq!(
        (unused["line"].clone(), unused["column"].clone()),
        (6.into(), 9.into())
    );
    assert_eq!(unused["message"], "unused variable 'unused_channels'");
    // Local runs list findings once, grouped by file, in the summary on stdout.
    let text = stdout(&out);
    assert!(
        text.contains("• native/resample.c") && text.contains("6:9  error"),
        "{text}"
    );
    assert!(
        !stderr(&out).contains("native/resample.c:6:9: error: "),
        "{}",
        stderr(&out)
    );
    assert!(
        stdout(&out).contains("• native/resample.c"),
        "{}",
        stdout(&out)
    );
}

#[test]
fn real_ruff_through_the_phase_with_default_tools() {
    let dir = tempdir();
    let root = dir.path();
    write(&root.join("pkg/__init__.py"), "");
    write(
        &root.join("pkg/model.py"),
        "import os\n\n\ndef load(path):\n    return open(path).read() + missing\n",
    );
    write(&root.join("pkg/fmt.py"), "x=1\n");
    let out = lint(bin_in_actions(root).env("PATH", hermetic_path()), root, &[]);
    let so = stdout(&out);
    assert_eq!(out.status.code(), Some(1), "{so}\n{}", stderr(&out));
    let r = report(root);
    let ds = diags(&r);
    let f401 = find(&ds, "F401");
    assert_eq!(f401["tool"], "ruff-check");
    assert_eq!(f401["file"], "pkg/model.py");
    assert_eq!(find(&ds, "F821")["file"], "pkg/model.py");
    let unformatted = find(&ds, "unformatted");
    assert_eq!(unformatted["tool"], "ruff-format");
    assert_eq!(unformatted["file"], "pkg/fmt.py");
    let tools: Vec<(String, String)> = r["tools"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|t| {
                    (
                        t["name"].as_str().unwrap().to_string(),
                        t["source"]["kind"].as_str().unwrap().to_string(),
                    )
                })
                .collect()
        })
        .unwrap();
    assert_eq!(
        tools,
        [
            ("swiftformat".to_string(), "skipped".to_string()),
            ("swiftlint".into(), "skipped".into()),
            ("ruff-check".into(), "ran".into()),
            ("ruff-format".into(), "ran".into())
        ]
    );
    let cmds = workflow_commands(&so);
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("::notice::swiftlint skipped: `swiftlint` is not installed")),
        "{cmds:?}"
    );
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("::group::ruff-check: ruff check --output-format json .")),
        "{cmds:?}"
    );
    let outputs = std::fs::read_to_string(root.join("output.txt")).unwrap();
    assert!(outputs.contains("lint-errors<<"), "{outputs}");
}

#[test]
fn three_hundred_errors_give_ten_annotations_and_a_full_summary() {
    let dir = tempdir();
    let text: String = (1..=300)
        .map(|i| {
            format!(
                "src/mod{}.py:{i}:1: error: problem number {i} [R{}]\n",
                i % 30,
                i % 7
            )
        })
        .collect();
    let file = dir.path().join("many.txt");
    write(&file, &text);
    let out = lint(
        &mut bin_in_actions(dir.path()),
        dir.path(),
        &["--report", &format!("generic={}", file.display())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let so = stdout(&out);
    let cmds = workflow_commands(&so);
    let errors: Vec<&String> = cmds.iter().filter(|c| c.starts_with("::error")).collect();
    // Nine: one of GitHub's ten per step is kept for the reason of a failure to run.
    assert_eq!(errors.len(), 9, "{so}");
    // Most important first: errors ordered by file, then line.
    assert!(
        errors[0].starts_with("::error file=src/mod0.py,line=30,"),
        "{}",
        errors[0]
    );
    let more: Vec<&str> = so
        .lines()
        .filter(|l| l.contains("more errors than GitHub shows"))
        .collect();
    assert_eq!(more.len(), 1, "{so}");
    assert!(more[0].starts_with("291 more errors"), "{}", more[0]);
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(
        summary.contains("300 errors, 0 warnings in 30 files"),
        "{summary}"
    );
    assert!(
        summary.contains("<summary>300 findings \\(the first 100 are listed"),
        "{summary}"
    );
    assert!(
        so.contains("… 100 more not shown here; all 300 are in the JSON report"),
        "{so}"
    );
    assert_eq!(report(dir.path())["totals"]["errors"], 300);
}

#[test]
fn ruff_report_that_is_not_json_exits_2_naming_the_file() {
    let dir = tempdir();
    write(
        &dir.path().join("tests/x.json"),
        "pkg/a.py:1:8: F401 [*] `os` imported but unused\n",
    );
    let out = lint(&mut bin(), dir.path(), &["--report", "ruff=tests/x.json"]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("tests/x.json: not ruff JSON output (expected an array"),
        "{err}"
    );
    assert!(err.contains("ruff check --output-format json"), "{err}");
    assert!(!dir.path().join("out/lint.json").exists());
}

#[test]
fn missing_report_file_exits_2_naming_it() {
    let dir = tempdir();
    let out = lint(
        &mut bin(),
        dir.path(),
        &["--report", "swiftlint=reports/nope.json"],
    );
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("reports/nope.json"), "{err}");
    assert!(err.contains("cannot read the lint report"), "{err}");
}

#[test]
fn bad_report_arguments_exit_2() {
    let dir = tempdir();
    write(&dir.path().join("r.txt"), "");
    for (args, needle) in [
        (vec!["--report", "eslint=r.txt"], "unknown tool `eslint`"),
        (vec!["--report", "r.txt"], "expected TOOL=FILE"),
        (
            vec!["--report", "ruff=r.txt", "--fix"],
            "cannot be combined",
        ),
    ] {
        let out = lint(&mut bin(), dir.path(), &args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(stderr(&out).contains(needle), "{args:?}: {}", stderr(&out));
    }
    write(&dir.path().join("g.txt"), "this is not a lint report\n");
    let out = lint(&mut bin(), dir.path(), &["--report", "generic=g.txt"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("g.txt: not generic lint output"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn hostile_messages_cannot_forge_workflow_commands_or_markdown() {
    let dir = tempdir();
    let evil = "%0A::set-output name=x::y ::error::forged <script>alert(1)</script> @team";
    let text = format!(
        "src/a.py:3:1: error: {evil} [R1]\nsrc/b.py:4: warning: line\\n::error::forged too\n"
    );
    let file = dir.path().join("evil.txt");
    write(&file, &text);
    let out = lint(
        &mut bin_in_actions(dir.path()),
        dir.path(),
        &["--report", &format!("generic={}", file.display())],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let so = stdout(&out);
    let cmds = workflow_commands(&so);
    assert_eq!(cmds.len(), 2, "{cmds:?}");
    assert_eq!(
        cmds[0],
        "::error file=src/a.py,line=3,col=1,title=generic R1::%250A::set-output name=x::y ::error::forged <script>alert(1)</script> @team"
    );
    assert!(
        cmds[1].starts_with("::warning file=src/b.py,line=4,title=generic::"),
        "{cmds:?}"
    );
    // The runner trims leading spaces before looking for `::`; nothing else may qualify.
    let ours = so
        .lines()
        .filter(|l| l.trim_start().starts_with("::"))
        .count();
    assert_eq!(ours, 2, "{so}");
    let summary = std::fs::read_to_string(dir.path().join("summary.md")).unwrap();
    assert!(!summary.contains("<script>"), "{summary}");
    assert!(
        summary.contains("&lt;script&gt;alert\\(1\\)&lt;/script&gt;"),
        "{summary}"
    );
    assert!(summary.contains("@\u{200B}team"), "{summary}");
    let json: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("out/lint.json")).unwrap())
            .unwrap();
    assert!(json["data"]["diagnostics"][0]["message"]
        .as_str()
        .unwrap()
        .contains("<script>"));
}

fn config(dir: &Path, yaml: &str) {
    write(&dir.join(".github/htdemucs-devops.yml"), yaml);
}

#[test]
fn missing_tool_is_skipped_with_a_notice_unless_required() {
    let dir = tempdir();
    let tool = "lint:\n  tools:\n    - name: stage-check\n      command: [htdemucs-no-such-linter, --all]\n      format: generic\n";
    config(dir.path(), tool);
    let out = lint(&mut bin_in_actions(dir.path()), dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let cmds = workflow_commands(&stdout(&out));
    assert!(
        cmds.iter().any(|c| c.starts_with(
            "::notice::stage-check skipped: `htdemucs-no-such-linter` is not installed"
        )),
        "{cmds:?}"
    );
    let r = report(dir.path());
    assert_eq!(r["tools"][0]["source"]["kind"], "skipped");
    assert_eq!(r["status"], "passed");

    config(dir.path(), &format!("{tool}      required: true\n"));
    let out = lint(&mut bin(), dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("stage-check is required"), "{err}");
    assert!(err.contains("htdemucs-no-such-linter"), "{err}");
}

#[test]
fn custom_tool_in_a_subfolder_and_fail_on_warnings() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("scripts")).unwrap_or_else(|e| panic!("{e}"));
    let yaml = "lint:\n  tools:\n    - name: shell-check\n      command: [sh, -c, \"echo 'run.sh:3:1: warning: Double quote to prevent globbing [SC2086]'; exit 1\"]\n      format: generic\n      working_directory: scripts\n";
    config(dir.path(), yaml);
    let out = lint(&mut bin(), dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let r = report(dir.path());
    assert_eq!(r["status"], "warned");
    let ds = diags(&r);
    assert_eq!(ds[0]["file"], "scripts/run.sh");
    assert_eq!(ds[0]["rule"], "SC2086");

    config(dir.path(), &format!("{yaml}  fail_on_warnings: true\n"));
    let out = lint(&mut bin(), dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(report(dir.path())["status"], "failed");
}

#[test]
fn a_tool_that_fails_without_findings_exits_2_with_its_words() {
    let dir = tempdir();
    config(
        dir.path(),
        "lint:\n  tools:\n    - name: broken\n      command: [sh, -c, \"echo 'config file is invalid' >&2; exit 3\"]\n      format: generic\n",
    );
    let out = lint(&mut bin(), dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("broken"), "{err}");
    assert!(err.contains("exited with 3"), "{err}");
    assert!(err.contains("config file is invalid"), "{err}");
}

#[test]
fn unknown_format_in_config_names_the_line() {
    let dir = tempdir();
    config(
        dir.path(),
        "lint:\n  tools:\n    - name: x\n      command: [x]\n      format: eslint\n",
    );
    let out = lint(&mut bin(), dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("htdemucs-devops.yml:5:"), "{err}");
    assert!(err.contains("ruff-json"), "{err}");
}

#[test]
fn fix_runs_the_fixers_then_lints_what_is_left() {
    let dir = tempdir();
    let root = dir.path();
    write(
        &root.join("app.py"),
        "import os\nimport sys\n\n\ndef main( ):\n    return sys.argv+[undefined_name]\n",
    );
    let out = lint(bin().env("PATH", hermetic_path()), root, &["--fix"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let fixed = std::fs::read_to_string(root.join("app.py")).unwrap();
    assert!(!fixed.contains("import os"), "{fixed}");
    assert!(fixed.contains("def main():"), "{fixed}");
    assert!(fixed.contains("sys.argv + [undefined_name]"), "{fixed}");
    let r = report(root);
    assert_eq!(r["fixed"], true);
    let ds = diags(&r);
    assert_eq!(ds.len(), 1, "{ds:?}");
    assert_eq!(ds[0]["rule"], "F821");
}

#[test]
fn real_ruff_failing_on_its_config_exits_2() {
    let dir = tempdir();
    let root = dir.path();
    write(&root.join("a.py"), "x = 1\n");
    write(&root.join("ruff.toml"), "line-length = \"long\"\n");
    let out = lint(bin().env("PATH", hermetic_path()), root, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("ruff-check (ruff check --output-format json .) failed with exit code 2"),
        "{err}"
    );
    assert!(!root.join("out/lint.json").exists());
}

#[test]
fn fix_uses_the_configured_fix_command_in_the_tool_folder() {
    let dir = tempdir();
    std::fs::create_dir_all(dir.path().join("ios")).unwrap_or_else(|e| panic!("{e}"));
    config(
        dir.path(),
        "lint:\n  tools:\n    - name: swift-tidy\n      command: [sh, -c, \"test -f fixed.marker || echo 'A.swift:1:1: error: untidy'\"]\n      fix_command: [sh, -c, \"touch fixed.marker\"]\n      format: generic\n      working_directory: ios\n",
    );
    let out = lint(&mut bin(), dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert_eq!(diags(&report(dir.path()))[0]["file"], "ios/A.swift");
    let out = lint(&mut bin(), dir.path(), &["--fix"]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(dir.path().join("ios/fixed.marker").is_file());
    assert_eq!(report(dir.path())["totals"]["errors"], 0);
}

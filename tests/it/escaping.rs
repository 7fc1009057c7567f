//! The escaping suite: hostile payloads through every untrusted field of every phase, run
//! as a GitHub Actions step. The raw stdout and stderr are read the way actions/runner
//! reads them, and no line may be a workflow command we did not write; the Markdown
//! (step summary, PR comment) may not break out; the HTML pages run nothing in Chromium
//! (`browser`); the commands we start get no secrets (`children`).

mod browser;
mod checker;
mod children;
mod inputs;
mod port_formats;

use crate::common::*;
use checker::*;
use inputs::*;
use serde_json::json;
use std::path::Path;
use std::process::Command;

/// Every payload carries `PWN` + a number, never at its start: a command whose content
/// starts with `PWN` was parsed out of a payload by the runner.
pub(super) fn payloads() -> Vec<String> {
    vec![
        "::error::PWN01 forged".into(),
        "  ::error::PWN02 indented".into(),
        "\t::warning file=x.py,line=1::PWN03 tab".into(),
        "a ##[error]PWN04 legacy".into(),
        "##[add-mask]PWN05".into(),
        "b ##[set-output name=a]PWN06".into(),
        "c\n::error::PWN07 after LF".into(),
        "d\r::error::PWN08 after CR".into(),
        "e\r\n  ##[warning]PWN09 after CRLF".into(),
        "f %0A::error::PWN10 %0D%0A::notice::PWN10".into(),
        "<script>document.title='PWN11'</script>".into(),
        "\"><img src=x onerror=\"document.title='PWN12'\">".into(),
        "</details>PWN13<details><summary>x".into(),
        "<!-- htdemucs-devops:comment:default -->PWN14".into(),
        "::group::PWN15".into(),
        "::endgroup::PWN15".into(),
        "::stop-commands::PWN16".into(),
        format!("{}\n::error::PWN17 after 100 KB", "N".repeat(100_000)),
    ]
}

/// A payload usable where a name must stay short or one line (a file name, a zip member
/// name): everything but the 100 KB one.
pub(super) fn short_payloads() -> Vec<String> {
    payloads().into_iter().filter(|p| p.len() < 1000).collect()
}

pub(super) fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// An Actions step in `ws` writing its reports to `ws/out`.
pub(super) fn step(ws: &Path) -> Command {
    let mut cmd = bin_in_actions(ws);
    cmd.current_dir(ws)
        .arg("--root")
        .arg(ws)
        .arg("--out-dir")
        .arg(ws.join("out"));
    cmd
}

pub(super) fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn lint_reports_forge_nothing() {
    let dir = tempdir();
    let ws = dir.path();
    let mut cmd = step(ws);
    cmd.arg("lint");
    for r in lint_reports(ws) {
        cmd.arg("--report").arg(r);
    }
    let out = run(&mut cmd);
    assert_eq!(out.status.code(), Some(1), "{}", clip(&stderr(&out)));
    assert!(
        stdout(&out).contains("PWN13"),
        "the findings were printed: {}",
        clip(&stdout(&out))
    );
    assert_clean("lint", &out);
    assert_markdown_clean("lint summary", &read(&ws.join("summary.md")));
}

#[test]
fn junit_names_and_messages_forge_nothing() {
    let dir = tempdir();
    let ws = dir.path();
    let path = junit(ws);
    let out = run(step(ws).arg("test").arg("--junit").arg(path));
    assert_eq!(out.status.code(), Some(1), "{}", clip(&stderr(&out)));
    assert!(stdout(&out).contains("PWN02"), "{}", clip(&stdout(&out)));
    assert_clean("test", &out);
    assert_markdown_clean("test summary", &read(&ws.join("summary.md")));
}

/// The issue's case: a JUnit failure message `::error::X` is printed indented under the
/// failing test, where the runner strips the indentation and runs it.
#[test]
fn junit_failure_message_printed_indented_is_not_run() {
    let dir = tempdir();
    let ws = dir.path();
    let path = ws.join("j.xml");
    write(
        &path,
        r#"<testsuite name="s" tests="1"><testcase classname="c" name="t">
<failure message="::error::PWN20 from the message">body</failure></testcase></testsuite>"#,
    );
    let out = run(step(ws).arg("test").arg("--junit").arg(&path));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stdout(&out).contains("PWN20"), "{}", stdout(&out));
    assert_clean("test", &out);
}

#[test]
fn parity_array_names_forge_nothing() {
    let dir = tempdir();
    let ws = dir.path();
    // A zip member name holds at most 64 KiB: the long name is 60 KB here.
    let mut names = short_payloads();
    names.push(format!(
        "{}\n::error::PWN17 after 60 KB",
        "N".repeat(60_000)
    ));
    parity_inputs(ws, &names);
    let out = run(step(ws).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
        "--junit",
        "parity-junit.xml",
        "--html",
        "parity.html",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", clip(&stderr(&out)));
    assert!(
        stderr(&out).contains("PWN04"),
        "array names show in the progress lines: {}",
        clip(&stderr(&out))
    );
    assert_clean("parity", &out);
    assert_markdown_clean("parity summary", &read(&ws.join("summary.md")));
}

#[test]
fn benchmark_backend_metric_and_stage_names_forge_nothing() {
    let dir = tempdir();
    let ws = dir.path();
    bench_inputs(ws);
    let out = run(step(ws).args([
        "benchmark",
        "compare",
        "--baseline",
        "baseline.json",
        "--current",
        "current.json",
    ]));
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        clip(&stderr(&out))
    );
    assert!(stdout(&out).contains("PWN07"), "{}", clip(&stdout(&out)));
    assert_clean("benchmark", &out);
    assert_markdown_clean("benchmark summary", &read(&ws.join("summary.md")));
}

/// The issue's case: a backend name with a newline in the table header.
#[test]
fn benchmark_backend_with_a_newline_stays_in_the_header() {
    let dir = tempdir();
    let ws = dir.path();
    let evil = "coreml\n::error::PWN21 from the header";
    write(
        &ws.join("current.json"),
        &json!({ evil: {"stft_sec": 1.0}, "pytorch": {"stft_sec": 1.1} }).to_string(),
    );
    write(
        &ws.join(".github/htdemucs-devops.yml"),
        &format!("benchmark:\n  candidate: {}\n", yaml_str(evil)),
    );
    let out = run(step(ws).args(["benchmark", "compare", "--current", "current.json"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("PWN21"), "{}", stdout(&out));
    assert_clean("benchmark", &out);
    assert!(
        !stdout(&out).lines().any(|l| l
            .replace('\u{200B}', "")
            .trim_start()
            .starts_with("::error::PWN21")),
        "{}",
        stdout(&out)
    );
}

/// Config-provided names (lint tools, test commands, benchmark producers) and what those
/// commands print, echoed raw in the log.
#[test]
fn config_names_and_echoed_tool_output_forge_nothing() {
    let dir = tempdir();
    let ws = dir.path();
    let ps = short_payloads();
    let say = "printf '%s\\n' '::error::PWN30 echoed' '  ::warning::PWN31' 'x ##[error]PWN32' '##[set-output name=a]PWN33'; printf 'cr\\r::error::PWN34\\n'";
    let mut yaml = String::from("lint:\n  tools:\n");
    // Lint tool names are checked against a safe alphabet when the config is read, so
    // their payloads come from the tools' output only.
    for i in 0..3 {
        yaml.push_str(&format!(
            "    - name: {}\n      format: generic\n      command: [sh, -c, {}]\n",
            yaml_str(&format!("tool{i}")),
            yaml_str(&format!("{say}; echo 'src/a.py:1:1: error: {i}' ; exit 1"))
        ));
    }
    yaml.push_str("test:\n  commands:\n");
    for (i, p) in ps.iter().take(6).enumerate() {
        yaml.push_str(&format!(
            "    - name: {}\n      command: [sh, -c, {}]\n      junit: [\"{{out_dir}}/none-{i}.xml\"]\n",
            yaml_str(&format!("t{i}{p}")),
            yaml_str(&format!("{say}; exit 3"))
        ));
    }
    yaml.push_str("benchmark:\n  producers:\n");
    yaml.push_str(&format!(
        "    - name: {}\n      command: [sh, -c, {}]\n",
        yaml_str(&ps[3]),
        yaml_str(&format!("({say}) >&2; exit 4"))
    ));
    write(&ws.join(".github/htdemucs-devops.yml"), &yaml);
    for args in [&["lint"][..], &["test"], &["benchmark", "run"]] {
        let out = run(step(ws).args(args));
        assert!(
            matches!(out.status.code(), Some(1 | 2)),
            "{args:?}: {}",
            stderr(&out)
        );
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            all.contains("PWN33"),
            "{args:?}: the output was echoed: {all}"
        );
        assert_clean(&format!("{args:?}"), &out);
    }
}

/// What the `report` phase merges from the phase reports above reaches the comment and
/// the step summary escaped.
#[test]
fn report_comment_and_summary_keep_payloads_in_place() {
    let dir = tempdir();
    let ws = dir.path();
    let mut lint = step(ws);
    lint.arg("lint");
    for r in lint_reports(ws) {
        lint.arg("--report").arg(r);
    }
    run(&mut lint);
    run(step(ws).arg("test").arg("--junit").arg(junit(ws)));
    parity_inputs(ws, &short_payloads());
    run(step(ws).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
    ]));
    bench_inputs(ws);
    run(step(ws).args([
        "benchmark",
        "compare",
        "--baseline",
        "baseline.json",
        "--current",
        "current.json",
    ]));
    std::fs::remove_file(ws.join("summary.md")).unwrap_or_else(|e| panic!("{e}"));
    let out = run(step(ws).arg("report"));
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "{}",
        clip(&stderr(&out))
    );
    assert_clean("report", &out);
    let comment = read(&ws.join("out/comment.md"));
    assert!(comment.contains("PWN"), "payloads reach the comment");
    assert_markdown_clean("comment", &comment);
    assert_eq!(
        comment.matches("<!-- htdemucs-devops:comment:").count(),
        1,
        "only our marker is live"
    );
    assert_markdown_clean("report summary", &read(&ws.join("summary.md")));
}

/// `--format json` on stdout in Actions: inert for the runner, and the names a consumer
/// parses are exactly the names we read (no mark inserted into them).
#[test]
fn json_output_is_inert_and_exact() {
    let dir = tempdir();
    let ws = dir.path();
    let names = short_payloads();
    parity_inputs(ws, &names);
    let out = run(step(ws).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
        "--format",
        "json",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", clip(&stderr(&out)));
    assert_clean("parity --format json", &out);
    let text = stdout(&out);
    // In Actions the annotations and notes follow the document on stdout.
    let doc: serde_json::Value = serde_json::Deserializer::from_str(&text)
        .into_iter()
        .next()
        .and_then(Result::ok)
        .unwrap_or_else(|| panic!("no JSON document first: {}", clip(&text)));
    let all = doc.to_string();
    for (i, n) in names.iter().enumerate() {
        let quoted = serde_json::to_string(&format!("s{i}.{n}")).unwrap();
        assert!(
            all.contains(&quoted),
            "{quoted} is not in the JSON as it was"
        );
    }
}

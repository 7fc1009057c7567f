//! The escaping suite: hostile payloads through every untrusted field of every phase, run
//! as a GitHub Actions step. The raw stdout and stderr are read the way actions/runner
//! reads them, and no line may be a workflow command we did not write; the Markdown
//! (step summary, PR comment) may not break out; the HTML pages run nothing in Chromium.

use crate::common::*;
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every payload carries `PWN` + a number, never at its start: a command whose content
/// starts with `PWN` was parsed out of a payload by the runner.
fn payloads() -> Vec<String> {
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
fn short_payloads() -> Vec<String> {
    payloads().into_iter().filter(|p| p.len() < 1000).collect()
}

/// Command names the product writes.
const OURS: [&str; 6] = [
    "error", "warning", "notice", "group", "endgroup", "add-mask",
];
/// What the runner registers (it ignores `::name::` for other names, then tries `##[`).
const REGISTERED: [&str; 16] = [
    "error",
    "warning",
    "notice",
    "debug",
    "group",
    "endgroup",
    "add-mask",
    "add-matcher",
    "remove-matcher",
    "set-output",
    "set-env",
    "add-path",
    "save-state",
    "echo",
    "stop-commands",
    "internal-set-repo-path",
];

/// Lines as the runner's `StreamReader.ReadLine` splits them: at LF, CR or CRLF.
fn runner_lines(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while !rest.is_empty() {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        out.push(&rest[..end]);
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            usize::from(end < rest.len())
        };
        rest = &rest[end + skip..];
    }
    out
}

/// One command the runner would parse out of a line.
#[derive(Debug)]
struct Parsed {
    legacy: bool,
    name: String,
    props: Vec<String>,
    data: String,
}

/// actions/runner `ActionCommand.TryParseV2` (`::name props::data` after `TrimStart`),
/// then, when that fails or names an unregistered command, `TryParse` (`##[name props]data`
/// anywhere in the line). Stricter than the runner: any name counts.
fn parse(line: &str) -> Option<Parsed> {
    let t = line.trim_start();
    if let Some(after) = t.strip_prefix("::") {
        if let Some(end) = after.find("::") {
            let info = &after[..end];
            let (name, props) = info.split_once(' ').unwrap_or((info, ""));
            if REGISTERED.contains(&name) || !line.contains("##[") {
                return Some(Parsed {
                    legacy: false,
                    name: name.to_string(),
                    props: props
                        .split(',')
                        .filter_map(|p| p.split_once('=').map(|(_, v)| v.to_string()))
                        .collect(),
                    data: after[end + 2..].to_string(),
                });
            }
        }
    }
    let i = line.find("##[")?;
    let rb = line[i + 3..].find(']')? + i + 3;
    let info = &line[i + 3..rb];
    let (name, props) = info.split_once(' ').unwrap_or((info, ""));
    Some(Parsed {
        legacy: true,
        name: name.to_string(),
        props: props
            .split(';')
            .filter_map(|p| p.split_once('=').map(|(_, v)| v.to_string()))
            .collect(),
        data: line[rb + 1..].to_string(),
    })
}

/// Every line of `text` the runner would run as a command that we did not write: ours
/// start at column 0, use the modern form and one of our names, and what they carry was
/// escaped (so it never *starts* with a payload's marker).
fn forged(text: &str) -> Vec<String> {
    runner_lines(text)
        .into_iter()
        .filter_map(|line| {
            let p = parse(line)?;
            let ours = !p.legacy
                && line.starts_with("::")
                && OURS.contains(&p.name.as_str())
                && !p.data.starts_with("PWN")
                && !p.props.iter().any(|v| v.starts_with("PWN"));
            (!ours).then(|| format!("{p:?} from {:?}", clip(line)))
        })
        .collect()
}

fn clip(s: &str) -> String {
    s.chars().take(300).collect()
}

/// Lines whose start came from the inside of an untrusted field: the text after a CR or
/// LF in a payload, seen at the start of a line (ZWSPs removed, as a reader sees it).
fn broken_lines(text: &str) -> Vec<String> {
    let tails = [
        "::error::PWN07",
        "::error::PWN08",
        "##[warning]PWN09",
        "::error::PWN17",
    ];
    runner_lines(text)
        .into_iter()
        .map(|l| l.replace('\u{200B}', ""))
        .filter(|l| tails.iter().any(|t| l.trim_start().starts_with(t)))
        .map(|l| clip(&l))
        .collect()
}

fn assert_clean(what: &str, out: &Output) {
    for (stream, text) in [("stdout", stdout(out)), ("stderr", stderr(out))] {
        let bad = forged(&text);
        assert!(
            bad.is_empty(),
            "{what}: {} forged command(s) on {stream}:\n{}",
            bad.len(),
            bad.join("\n")
        );
        let broken = broken_lines(&text);
        assert!(
            broken.is_empty(),
            "{what}: a CR/LF in a field started a line on {stream}:\n{}",
            broken.join("\n")
        );
    }
}

/// Removes fenced code blocks (their content is literal text in GitHub Markdown).
fn outside_fences(md: &str) -> String {
    let mut out = String::new();
    let mut fence: Option<(char, usize)> = None;
    for line in md.lines() {
        let t = line.trim_start_matches(' ');
        let indent = line.len() - t.len();
        let run = |c: char| t.chars().take_while(|&x| x == c).count();
        match fence {
            Some((c, n)) => {
                if indent < 4 && run(c) >= n && t.trim_start_matches(c).trim().is_empty() {
                    fence = None;
                }
            }
            None => {
                let (bt, tl) = (run('`'), run('~'));
                if indent < 4 && (bt >= 3 || tl >= 3) {
                    fence = Some(if bt >= 3 { ('`', bt) } else { ('~', tl) });
                } else {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
    }
    out
}

/// Markdown that rendered on GitHub would let a payload out of its place.
fn markdown_breakouts(md: &str) -> Vec<String> {
    let live = outside_fences(md);
    let mut bad = Vec::new();
    for raw in [
        "<script",
        "<img",
        "onerror=\"",
        "</details>PWN13",
        "<details><summary>x",
        "<!-- htdemucs-devops:comment:default -->PWN14",
    ] {
        if live.contains(raw) {
            bad.push(format!("raw {raw:?}"));
        }
    }
    let opened = live.matches("<details").count();
    let closed = live.matches("</details>").count();
    if opened != closed {
        bad.push(format!("{opened} <details> but {closed} </details>"));
    }
    bad
}

fn assert_markdown_clean(what: &str, md: &str) {
    let bad = markdown_breakouts(md);
    if !bad.is_empty() {
        let keep = std::env::temp_dir().join(format!("escaping-{}.md", what.replace(' ', "-")));
        let _ = std::fs::write(&keep, md);
        panic!("{what}: {bad:?} (kept in {})", keep.display());
    }
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// An Actions step in `ws` writing its reports to `ws/out`.
fn step(ws: &Path) -> Command {
    let mut cmd = bin_in_actions(ws);
    cmd.current_dir(ws)
        .arg("--root")
        .arg(ws)
        .arg("--out-dir")
        .arg(ws.join("out"));
    cmd
}

fn yaml_str(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn the_checker_flags_what_the_runner_would_run() {
    let forged_lines = [
        "::error::PWN forged",
        "   ::warning::x",
        "\t::set-output name=a::b",
        "text ##[error]x",
        "##[add-mask]secret",
        "::error file=a.py::ok\r::error::PWN",
        "::bogus::x",
        "::group::PWN",
    ];
    for l in forged_lines {
        assert!(!forged(l).is_empty(), "missed {l:?}");
    }
    let fine = [
        "::error file=a.py,line=3,title=%3A%3Aerror%3A%3APWN::%3A::error::PWN01 forged",
        "::group::lint: ::error::PWN01",
        "::endgroup::",
        "plain text :: with colons",
        "  :\u{200B}:error::PWN02",
        "a ##\u{200B}[error]PWN04",
        "::error::x ##[error]PWN in our escaped data",
    ];
    for l in fine {
        assert!(forged(l).is_empty(), "flagged {l:?}: {:?}", forged(l));
    }
    assert_eq!(runner_lines("a\rb\r\nc\nd"), ["a", "b", "c", "d"]);
    assert!(!broken_lines("x\n  ::error::PWN07 after LF").is_empty());
    assert!(!markdown_breakouts("<details>\n</details>PWN13<details><summary>x\n").is_empty());
    assert!(markdown_breakouts("```\n<script>\n```\n<details>\n</details>\n").is_empty());
    let dom = r#"<p title="&quot;><img onerror=x>">a</p><img src=x onerror="y"><svg onload='z'></svg><a href=" javascript:x">"#;
    assert_eq!(live_markup(dom).len(), 3, "{:?}", live_markup(dom));
    assert!(live_markup("<script>x</script>").len() == 1);
    assert!(live_markup("<p aria-label=\"onerror=x javascript:\">t</p>").is_empty());
}

/// Writes one report per lint format, each finding carrying a payload in every field the
/// format has (message, path, rule id).
fn lint_reports(ws: &Path) -> Vec<String> {
    let ps = payloads();
    let names = short_payloads();
    let mut ruff = Vec::new();
    let mut swiftlint = Vec::new();
    let mut swiftformat = String::new();
    let mut generic = String::new();
    for (i, p) in ps.iter().enumerate() {
        let name = &names[i % names.len()];
        let file = format!("src/{}.py", name.replace(['\r', '\n', '/'], "_"));
        ruff.push(json!({
            "cell": null, "code": format!("E{i}{p}"), "end_location": {"column": 2, "row": 1},
            "filename": ws.join(&file), "fix": null, "location": {"column": 1, "row": 1},
            "message": p, "name": p, "noqa_row": null, "severity": "error", "url": p,
        }));
        swiftlint.push(json!({
            "character": 1, "file": ws.join(file.replace(".py", ".swift")), "line": 1,
            "reason": p, "rule_id": p, "severity": "Error", "type": p,
        }));
        let one_line = p.replace(['\r', '\n'], " ");
        swiftformat.push_str(&format!(
            "{}:1:1: error: ({}) {one_line}\n",
            ws.join(file.replace(".py", ".swift")).display(),
            name.replace(['(', ')', ' ', '\r', '\n'], "_")
        ));
        generic.push_str(&format!("{file}:{}:1: error: {one_line} [{name}]\n", i + 1));
    }
    let dir = ws.join("reports");
    write(
        &dir.join("ruff.json"),
        &serde_json::to_string(&ruff).unwrap_or_default(),
    );
    write(
        &dir.join("swiftlint.json"),
        &serde_json::to_string(&swiftlint).unwrap_or_default(),
    );
    write(&dir.join("swiftformat.txt"), &swiftformat);
    write(&dir.join("generic.txt"), &generic);
    vec![
        format!("ruff={}", dir.join("ruff.json").display()),
        format!("swiftlint={}", dir.join("swiftlint.json").display()),
        format!("swiftformat={}", dir.join("swiftformat.txt").display()),
        format!("generic={}", dir.join("generic.txt").display()),
    ]
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

/// A JUnit file with a payload in every test's name, class, file, failure message and
/// body, and captured output.
fn junit(ws: &Path) -> PathBuf {
    let esc = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
            .replace('\r', "&#13;")
            .replace('\n', "&#10;")
    };
    let mut cases = String::new();
    for (i, p) in payloads().iter().enumerate() {
        let e = esc(p);
        cases.push_str(&format!(
            r#"<testcase classname="{e}" name="t{i}{e}" file="{e}.py" line="{i}" time="0.{i}">
  <failure message="{e}" type="{e}">{e}&#10;    ::error::PWN18 indented in the body</failure>
  <system-out>{e}</system-out><system-err>{e}</system-err>
</testcase>
<testcase classname="c" name="ok{i}{e}" time="1.{i}"/>
"#
        ));
    }
    let path = ws.join("junit.xml");
    write(
        &path,
        &format!(
            "<?xml version=\"1.0\"?>\n<testsuites><testsuite name=\"{}\" tests=\"1\">\n{cases}</testsuite></testsuites>\n",
            esc(&payloads()[0])
        ),
    );
    path
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

/// Arrays named with every payload, in a reference and a candidate that differ, so each
/// name shows in progress lines, the table, the failures and the outputs.
fn parity_inputs(ws: &Path, names: &[String]) {
    let signal: Vec<f32> = (0..256).map(|i| (i as f32 * 0.05).sin()).collect();
    let noisy: Vec<f32> = signal.iter().map(|v| v + 0.25).collect();
    let named: Vec<String> = names
        .iter()
        .enumerate()
        .map(|(i, n)| format!("s{i}.{n}"))
        .collect();
    let members = |data: &[f32]| -> Vec<(&str, Vec<u8>)> {
        named
            .iter()
            .map(|n| (n.as_str(), npy_f32(&[data.len()], data)))
            .collect()
    };
    write_npz(&ws.join("ref.npz"), &members(&signal), false);
    write_npz(&ws.join("cand.npz"), &members(&noisy), false);
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

/// A benchmark results file whose backends, metrics and stages are payloads, and a
/// baseline that knows them, so every name reaches the table, the findings and the
/// summary.
fn bench_inputs(ws: &Path) {
    let mut current = serde_json::Map::new();
    let mut base = serde_json::Map::new();
    for (i, p) in short_payloads().iter().enumerate() {
        let backend = format!("b{i}{p}");
        let metric = format!("{p}_sec");
        current.insert(
            backend.clone(),
            json!({ metric.clone(): 2.0, "stft_sec": 1.0 }),
        );
        base.insert(backend, json!({ metric: 1.0, "stft_sec": 1.0 }));
    }
    let long = &payloads()[payloads().len() - 1];
    current.insert(long.clone(), json!({ format!("{long}_sec"): 3.0 }));
    write(
        &ws.join("current.json"),
        &serde_json::Value::Object(current).to_string(),
    );
    let runs: Vec<serde_json::Value> = (0..3)
        .map(|d| json!({ format!("2026-02-0{}", d + 1): base.clone() }))
        .collect();
    let mut history = serde_json::Map::new();
    for r in runs {
        if let serde_json::Value::Object(m) = r {
            history.extend(m);
        }
    }
    write(
        &ws.join("baseline.json"),
        &serde_json::Value::Object(history).to_string(),
    );
    let ps = short_payloads();
    write(
        &ws.join(".github/htdemucs-devops.yml"),
        &format!(
            "benchmark:\n  candidate: {}\n  reference: {}\n",
            yaml_str(&format!("b0{}", ps[0])),
            yaml_str(&format!("b6{}", ps[6]))
        ),
    );
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

/// A tiny TCP listener on loopback that counts connections.
struct Listener {
    port: u16,
    hits: std::sync::Arc<std::sync::atomic::AtomicUsize>,
}

fn listener() -> Listener {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
    let hits = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let h = hits.clone();
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            h.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            drop(s);
        }
    });
    Listener { port, hits }
}

/// Payloads that, if they ran, change the title or call the listener.
fn script_payloads(port: u16) -> Vec<String> {
    vec![
        format!("<script>document.title='PWNED';fetch('http://127.0.0.1:{port}/s')</script>"),
        format!("\"><img src=x onerror=\"document.title='PWNED';fetch('http://127.0.0.1:{port}/i')\">"),
        format!("'><svg onload=\"document.title='PWNED'\"><image href=\"http://127.0.0.1:{port}/v\"/>"),
        format!("</title></text><script>document.title='PWNED'</script><img src=\"http://127.0.0.1:{port}/t\">"),
        format!("javascript:fetch('http://127.0.0.1:{port}/j')"),
    ]
}

/// The tags of a serialised DOM (where text `<` is always `&lt;`), quotes respected.
fn tags(dom: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = dom.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] != b'<' {
            i += 1;
            continue;
        }
        let start = i;
        let mut quote = None;
        while i < b.len() {
            match (quote, b[i]) {
                (None, b'"' | b'\'') => quote = Some(b[i]),
                (Some(q), c) if c == q => quote = None,
                (None, b'>') => break,
                _ => {}
            }
            i += 1;
        }
        out.push(&dom[start..i.min(b.len())]);
    }
    out
}

/// A tag's name and attributes (`name`, unquoted value), lower-cased names.
fn attributes(tag: &str) -> (String, Vec<(String, String)>) {
    let body = tag.trim_start_matches('<');
    let name_end = body
        .find(|c: char| c.is_whitespace() || c == '>' || c == '/')
        .unwrap_or(body.len());
    let name = body[..name_end].to_ascii_lowercase();
    let mut attrs = Vec::new();
    let mut rest = &body[name_end..];
    loop {
        rest = rest.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if rest.is_empty() || rest.starts_with('>') {
            break;
        }
        let n_end = rest
            .find(|c: char| c.is_whitespace() || c == '=' || c == '>')
            .unwrap_or(rest.len());
        let attr = rest[..n_end].to_ascii_lowercase();
        rest = rest[n_end..].trim_start();
        let mut value = String::new();
        if let Some(v) = rest.strip_prefix('=') {
            let v = v.trim_start();
            let (val, after) = match v.chars().next() {
                Some(q @ ('"' | '\'')) => {
                    let inner = &v[1..];
                    let end = inner.find(q).unwrap_or(inner.len());
                    (&inner[..end], inner.get(end + 1..).unwrap_or(""))
                }
                _ => {
                    let end = v
                        .find(|c: char| c.is_whitespace() || c == '>')
                        .unwrap_or(v.len());
                    (&v[..end], &v[end..])
                }
            };
            value = val.to_string();
            rest = after;
        }
        attrs.push((attr, value));
    }
    (name, attrs)
}

/// Script elements, event-handler attributes and `javascript:` or loopback URLs.
fn live_markup(dom: &str) -> Vec<String> {
    tags(dom)
        .into_iter()
        .filter(|t| {
            let (name, attrs) = attributes(t);
            name == "script"
                || attrs.iter().any(|(a, v)| {
                    let v = v.trim().to_ascii_lowercase();
                    a.starts_with("on")
                        || (["href", "src", "xlink:href", "action", "formaction", "data"]
                            .contains(&a.as_str())
                            && (v.starts_with("javascript:") || v.contains("127.0.0.1")))
                })
        })
        .map(clip)
        .collect()
}

fn assert_inert_in_chromium(page: &Path, l: &Listener) {
    let (dom, log) = chromium_dump_dom(&page.display().to_string());
    assert!(
        dom.contains("</html>"),
        "{} did not load: {log}",
        page.display()
    );
    let title = dom
        .split("<title>")
        .nth(1)
        .and_then(|t| t.split("</title>").next())
        .unwrap_or("");
    // A payload sets exactly this title; the names themselves may show in it as text.
    assert_ne!(
        title.trim(),
        "PWNED",
        "{}: a script changed the title",
        page.display()
    );
    let live = live_markup(&dom);
    assert!(
        live.is_empty(),
        "{}: live markup from a payload: {live:?}",
        page.display()
    );
    assert_eq!(
        l.hits.load(std::sync::atomic::Ordering::SeqCst),
        0,
        "{}: the page called the loopback listener",
        page.display()
    );
}

#[test]
fn parity_html_runs_no_payload_in_chromium() {
    let dir = tempdir();
    let ws = dir.path();
    let l = listener();
    parity_inputs(ws, &script_payloads(l.port));
    let out = run(step(ws).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
        "--html",
        "parity.html",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let html = read(&ws.join("parity.html"));
    assert!(
        html.contains("<svg"),
        "charts with the hostile names are in"
    );
    assert!(html.contains("PWNED"), "the names are shown");
    assert_inert_in_chromium(&ws.join("parity.html"), &l);
}

#[test]
fn published_site_runs_no_payload_in_chromium() {
    let dir = tempdir();
    let ws = dir.path();
    let l = listener();
    let evil = script_payloads(l.port);
    parity_inputs(ws, &evil);
    let out = run(step(ws).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
    ]));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    // Backends and metrics named with the payloads, over three runs, for the charts.
    let mut history = serde_json::Map::new();
    for d in 1..=3 {
        let mut run = serde_json::Map::new();
        for (i, p) in evil.iter().enumerate() {
            run.insert(
                format!("b{i}{p}"),
                json!({ format!("{p}_sec"): 1.0 + f64::from(d) / 10.0, "stft_sec": 0.4 }),
            );
        }
        history.insert(format!("2026-02-0{d}"), serde_json::Value::Object(run));
    }
    write(
        &ws.join("benchmarks/baseline.json"),
        &serde_json::Value::Object(history.clone()).to_string(),
    );
    let current = history
        .get("2026-02-03")
        .cloned()
        .unwrap_or_else(|| panic!("run"));
    write(&ws.join("current.json"), &current.to_string());
    write(
        &ws.join(".github/htdemucs-devops.yml"),
        &format!("publish:\n  project: {}\n", yaml_str(&evil[0])),
    );
    let out = run(step(ws).args([
        "benchmark",
        "compare",
        "--baseline",
        "benchmarks/baseline.json",
        "--current",
        "current.json",
    ]));
    assert!(matches!(out.status.code(), Some(0 | 1)), "{}", stderr(&out));
    std::fs::remove_file(ws.join("summary.md")).unwrap_or_else(|e| panic!("{e}"));
    let out = run(step(ws).env("SOURCE_DATE_EPOCH", "1770300000").args([
        "publish",
        "--site-dir",
        "site",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_clean("publish", &out);
    assert_markdown_clean("publish summary", &read(&ws.join("summary.md")));
    let mut pages = Vec::new();
    let mut stack = vec![ws.join("site")];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d)
            .unwrap_or_else(|e| panic!("{e}"))
            .flatten()
        {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "html" || x == "svg") {
                pages.push(p);
            }
        }
    }
    assert!(pages.len() >= 5, "{pages:?}");
    let charts = pages.iter().filter(|p| read(p).contains("<svg")).count();
    assert!(charts > 0, "the site has SVG charts");
    for p in &pages {
        assert_inert_in_chromium(p, &l);
    }
}

/// The children part of the hardening issue: tokens never reach the linters, test
/// commands or benchmark producers we start, and what they print is masked.
#[test]
fn children_get_no_token_and_their_output_is_masked() {
    let dir = tempdir();
    let ws = dir.path();
    let token = "ghs_s3cretTOKENvalue0123456789";
    // Prints every variable holding the token (by name or value), then the token from a
    // file the child can read, the way a test's own debug output might.
    write(&ws.join("leak.txt"), token);
    let probe = "env | grep -i -e token -e s3cret || true; echo leaked=$(cat leak.txt); exit 1";
    let yaml = format!(
        "lint:\n  tools:\n    - name: probe\n      format: generic\n      command: [sh, -c, {p}]\ntest:\n  commands:\n    - name: probe\n      command: [sh, -c, {p}]\n      junit: [\"{{out_dir}}/none.xml\"]\nbenchmark:\n  producers:\n    - name: probe\n      command: [sh, -c, {pe}]\n",
        p = yaml_str(probe),
        pe = yaml_str(&format!("({probe}) >&2"))
    );
    write(&ws.join(".github/htdemucs-devops.yml"), &yaml);
    for args in [&["lint"][..], &["test"], &["benchmark", "run"]] {
        let out = run(step(ws)
            .env("GITHUB_TOKEN", token)
            .env("GH_TOKEN", token)
            .env("ACTIONS_RUNTIME_TOKEN", "rt_0123456789abcdef")
            .env("MY_COPY", token)
            .env("TOKENIZERS_PARALLELISM", "false")
            .args(args));
        let all = format!("{}{}", stdout(&out), stderr(&out));
        assert!(
            all.contains("leaked=***"),
            "{args:?}: the echo is masked: {all}"
        );
        for leaked in [
            "GITHUB_TOKEN",
            "GH_TOKEN",
            "ACTIONS_RUNTIME_TOKEN",
            "MY_COPY",
            "rt_0123456789abcdef",
            token,
        ] {
            assert!(
                !all.contains(leaked),
                "{args:?}: {leaked} reached the child or the log: {all}"
            );
        }
        assert!(
            all.contains("TOKENIZERS_PARALLELISM=false"),
            "{args:?}: ordinary variables still reach the child: {all}"
        );
        let summary = std::fs::read_to_string(ws.join("summary.md")).unwrap_or_default();
        assert!(!summary.contains(token), "{args:?}: token in the summary");
        for report in ["lint.json", "test.json"] {
            let text = std::fs::read_to_string(ws.join("out").join(report)).unwrap_or_default();
            assert!(!text.contains(token), "{args:?}: token in {report}");
        }
    }
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
        let quoted = serde_json::to_string(&format!("s{i}.{n}")).unwrap_or_default();
        assert!(
            all.contains(&quoted),
            "{quoted} is not in the JSON as it was"
        );
    }
}

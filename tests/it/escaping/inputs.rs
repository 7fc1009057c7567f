//! Inputs for the escaping suite: lint reports, JUnit, arrays and benchmark results with
//! a payload in every field each format has.

use super::*;
use serde_json::json;
use std::path::PathBuf;

/// Writes one report per lint format, each finding carrying a payload in every field the
/// format has (message, path, rule id).
pub(super) fn lint_reports(ws: &Path) -> Vec<String> {
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
        &serde_json::to_string(&ruff).unwrap(),
    );
    write(
        &dir.join("swiftlint.json"),
        &serde_json::to_string(&swiftlint).unwrap(),
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

/// A JUnit file with a payload in every test's name, class, file, failure message and
/// body, and captured output.
pub(super) fn junit(ws: &Path) -> PathBuf {
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

/// Arrays named with every payload, in a reference and a candidate that differ, so each
/// name shows in progress lines, the table, the failures and the outputs.
pub(super) fn parity_inputs(ws: &Path, names: &[String]) {
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

/// A benchmark results file whose backends, metrics and stages are payloads, and a
/// baseline that knows them, so every name reaches the table, the findings and the
/// summary.
pub(super) fn bench_inputs(ws: &Path) {
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

//! What the site's benchmark pages say, through the real binary: the latest page's
//! design table (stages, units, Δ, ✓, verdicts against the testbed's baseline, details
//! folded), the history page's per-stage charts with run labels and change points, the
//! same change point in `benchmark history` and in the PR comment's Markdown.

use crate::common::*;
use std::path::Path;

/// Runs in the history; the CoreML freq branch steps +15 % at run [`STEP`] (0-based).
const RUNS: usize = 24;
const STEP: usize = 14;

const METRICS: [(&str, f64, f64); 11] = [
    // (metric, coreml, pytorch)
    ("stft_sec", 0.042, 0.038),
    ("freq_branch_sec", 3.21, 4.87),
    ("time_branch_sec", 2.89, 3.92),
    ("istft_sec", 0.31, 0.29),
    ("full_pipeline_sec", 8.12, 11.2),
    ("model_load_sec", 2.1, 3.2),
    ("memory_peak_mb", 1840.0, 2910.0),
    ("stft_load_sec", 0.01, 0.02),
    ("stft_peak_mb", 120.0, 340.0),
    ("freq_branch_load_sec", 0.9, 1.3),
    ("freq_branch_peak_mb", 512.0, 880.0),
];

fn commit(i: usize) -> String {
    format!("{:07x}{}", 0xc0ffee0 + i * 0x111, "d".repeat(33))
}

const FINGERPRINT: &str =
    r#"{"os": "linux", "arch": "x86_64", "cpu": "Test CPU 3000", "runner": "ubuntu24"}"#;

/// ±1 % of deterministic wobble.
fn wobble(i: usize, j: usize) -> f64 {
    let h = (i * 2_654_435_761 + j * 40_503) % 1000;
    1.0 + (h as f64 / 1000.0 - 0.5) * 0.02
}

fn results(i: usize, scale: impl Fn(&str, &str) -> f64) -> String {
    let backend = |name: &str, col: usize| {
        let fields: Vec<String> = METRICS
            .iter()
            .enumerate()
            .map(|(j, m)| {
                let base = if col == 0 { m.1 } else { m.2 };
                format!(
                    "\"{}\": {:.6}",
                    m.0,
                    base * wobble(i, j + col * 17) * scale(name, m.0)
                )
            })
            .collect();
        format!("\"{name}\": {{{}}}", fields.join(", "))
    };
    format!("{{{}, {}}}", backend("coreml", 0), backend("pytorch", 1))
}

fn stepped(i: usize) -> impl Fn(&str, &str) -> f64 {
    move |b, m| {
        if b == "coreml" && m == "freq_branch_sec" && i >= STEP {
            1.15
        } else {
            1.0
        }
    }
}

/// A versioned baseline whose runs were all made within the same minute.
fn baseline() -> String {
    let runs: Vec<String> = (0..RUNS)
        .map(|i| {
            format!(
                r#"{{"id": "run-{i}", "timestamp": "2026-03-01T10:00:{:02}Z", "commit": "{}", "fingerprint": {FINGERPRINT}, "results": {}}}"#,
                i * 2,
                commit(i),
                results(i, stepped(i))
            )
        })
        .collect();
    format!("{{\"version\": 2, \"runs\": [{}]}}", runs.join(",\n"))
}

/// A workspace with the baseline and a current run whose CoreML time branch is 30 %
/// slower (the stepped freq branch stays at its new level).
fn workspace() -> tempfile::TempDir {
    let dir = tempdir();
    let ws = dir.path();
    write(&ws.join("benchmarks/baseline.json"), &baseline());
    let current = results(RUNS, |b, m| {
        stepped(RUNS)(b, m)
            * if b == "coreml" && m == "time_branch_sec" {
                1.3
            } else {
                1.0
            }
    });
    let current = current.strip_suffix('}').unwrap_or(&current).to_string()
        + &format!(
            r#", "$meta": {{"commit": "{}", "timestamp": "2026-03-01T10:01:00Z", "fingerprint": {FINGERPRINT}, "audio_seconds": 30}}}}"#,
            "f".repeat(40)
        );
    write(&ws.join("current.json"), &current);
    dir
}

fn bench(ws: &Path, args: &[&str]) -> String {
    let out = run(bin()
        .current_dir(ws)
        .arg("--root")
        .arg(ws)
        .arg("benchmark")
        .args(args));
    assert!(
        out.status.code().is_some_and(|c| c <= 1),
        "{args:?}: {}",
        stderr(&out)
    );
    stdout(&out)
}

fn publish(ws: &Path) -> String {
    bench(ws, &["compare", "--current", "current.json"]);
    let out = run(bin()
        .current_dir(ws)
        .env("SOURCE_DATE_EPOCH", "1772359300")
        .args(["publish", "--root"])
        .arg(ws)
        .args(["--site-dir", "site"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::read_to_string(ws.join("site/benchmarks/history.html")).unwrap()
}

/// Short commits the step may be attributed to (± one run).
fn step_commits() -> Vec<String> {
    (STEP - 1..=STEP + 1)
        .map(|i| commit(i)[..7].to_string())
        .collect()
}

/// The `<section>` of the history page whose heading starts with `title`.
fn section<'a>(html: &'a str, title: &str) -> &'a str {
    html.split("<section")
        .find(|s| s.contains(&format!(">{title} <span")))
        .unwrap_or_else(|| panic!("no section {title:?}"))
}

#[test]
fn a_step_is_found_at_its_commit_and_marked_on_the_chart() {
    let ws = workspace();
    let commits = step_commits();

    let history = bench(ws.path(), &["history"]);
    let line = history
        .lines()
        .find(|l| l.contains("CoreML · Freq branch"))
        .unwrap_or_else(|| panic!("no change point listed:\n{history}"));
    assert!(commits.iter().any(|c| line.contains(c.as_str())), "{line}");
    assert!(line.contains("+15."), "{line}");
    assert_eq!(
        history.matches("· Freq branch").count(),
        1,
        "only the stepped series changed:\n{history}"
    );

    let md = bench(
        ws.path(),
        &[
            "compare",
            "--current",
            "current.json",
            "--format",
            "markdown",
        ],
    );
    assert!(
        commits
            .iter()
            .any(|c| md.contains(&format!("CoreML · Freq branch since `{c}` (+15 %)"))),
        "{md}"
    );

    let page = publish(ws.path());
    let freq = section(&page, "Freq branch");
    let svg = &freq[freq.find("<svg").unwrap_or(0)..freq.find("</svg>").unwrap_or(0)];
    let marked: Vec<&String> = commits
        .iter()
        .filter(|c| svg.contains(&format!(">{c}</text>")))
        .collect();
    assert_eq!(
        marked.len(),
        1,
        "the chart labels the change point with its commit"
    );
    assert!(
        svg.contains(&format!("CoreML stepped at commit {}", marked[0])),
        "the mark has a tooltip"
    );
    assert!(svg.contains("(+15."), "the tooltip gives the change");
    for quiet in ["STFT", "Time branch", "Memory peak"] {
        assert!(
            !section(&page, quiet).contains("stepped at commit"),
            "{quiet} has no change point"
        );
    }
}

#[test]
fn history_groups_stages_and_tells_runs_apart() {
    let ws = workspace();
    let page = publish(ws.path());
    // Seven main charts (the design's rows), the loads and peaks folded under their stage.
    assert_eq!(page.matches("<h2").count(), 7, "one heading per stage");
    assert_eq!(page.matches("<svg").count(), 11, "one chart per metric");
    let stft = section(&page, "STFT");
    let folded = &stft[stft
        .find("<details>\n<summary>STFT:")
        .unwrap_or(usize::MAX / 2)..];
    assert!(
        folded.contains("STFT load") && folded.contains("STFT peak"),
        "the stage's load and peak are folded under it"
    );
    assert!(stft.contains(">CoreML</th>") && stft.contains(">PyTorch</th>"));
    assert!(
        stft.contains(">STFT <span class=\"muted\">(ms,"),
        "sub-0.1 s charts in ms"
    );
    // Runs within the same minute: axis labels and table rows still differ.
    let labels: Vec<&str> = page
        .split("</text>")
        .filter_map(|t| t.rsplit('>').next())
        .filter(|t| t.starts_with('#'))
        .collect();
    assert!(labels.len() >= 4, "{labels:?}");
    for l in &labels {
        let n: usize = l[1..]
            .split(' ')
            .next()
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        assert!(
            (1..=RUNS).contains(&n) && l.ends_with(&commit(n - 1)[..7]),
            "label {l:?} names run and commit"
        );
    }
    for i in [0, RUNS - 1] {
        assert!(
            stft.contains(&format!(
                "<td class=\"num\">{}</td><td>2026-03-01 10:00</td><td><code>{}</code>",
                i + 1,
                &commit(i)[..7]
            )),
            "row of run {}",
            i + 1
        );
    }
}

#[test]
fn latest_is_the_design_table_with_units_and_verdicts() {
    let ws = workspace();
    publish(ws.path());
    let html = std::fs::read_to_string(ws.path().join("site/benchmarks/latest.html")).unwrap();
    let design = &html[html.find("<table class=\"design\">").unwrap_or(0)..];
    let design = &design[..design.find("</table>").unwrap_or(0)];
    let rows: Vec<&str> = design.split("<tr").skip(3).collect();
    let labels: Vec<String> = rows
        .iter()
        .filter_map(|r| r.split("<th scope=\"row\">").nth(1))
        .filter_map(|r| r.split("</th>").next())
        .map(str::to_string)
        .collect();
    assert_eq!(
        labels,
        [
            "STFT (30s audio)",
            "Freq branch",
            "Time branch",
            "iSTFT",
            "Full pipeline",
            "Model load",
            "Memory peak"
        ]
    );
    let row = |label: &str| -> &str {
        rows.iter()
            .find(|r| r.contains(&format!(">{label}</th>")) || r.contains(&format!(">{label} (")))
            .copied()
            .unwrap_or_else(|| panic!("no row {label}"))
    };
    // Units as the design writes them, Δ and the ✓ where CoreML is better.
    let freq = row("Freq branch");
    assert!(
        (freq.contains(">3.6") || freq.contains(">3.7")) && freq.contains("s</td>"),
        "{freq}"
    );
    assert!(freq.contains("<td class=\"mark\">✓</td>"), "{freq}");
    assert!(
        row("STFT").contains("ms</td>"),
        "sub-0.1 s in ms: {}",
        row("STFT")
    );
    assert!(
        row("Memory peak").contains("GB</td>"),
        "{}",
        row("Memory peak")
    );
    assert!(
        row("iSTFT").contains("<td class=\"mark\"></td>"),
        "PyTorch is faster there"
    );
    // The change against the testbed's baseline, one column per backend.
    let time = row("Time branch");
    assert!(time.contains("class=\"regressed\""), "{time}");
    assert!(
        time.contains("change regression") && time.contains("✗"),
        "{time}"
    );
    assert!(row("STFT").contains("change unchanged"), "{}", row("STFT"));
    assert!(!design.contains("stft_sec"), "no raw keys in the table");
    assert!(html.contains("<code>fffffff</code>"), "the commit is shown");
    assert!(
        step_commits().iter().any(|c| html.contains(&format!(
            "CoreML · Freq branch since <code>{c}</code> (+15 %)"
        ))),
        "the step on main is named"
    );
    assert!(html.contains("testbed <strong>"), "the testbed is named");
    // Details folded: per-stage loads and peaks, then every comparison with its key.
    let details = &html[html.find("<details>").unwrap_or(0)..];
    assert!(details.contains("Per-stage load times and memory peaks (4)"));
    assert!(details.contains("STFT load") && details.contains("Freq branch peak"));
    // 22 measured rows and 5 portable ratios (CoreML ÷ PyTorch per stage and pipeline).
    assert!(
        details.contains("All 27 comparisons")
            && details.contains("<code class=\"muted\">stft_sec</code>")
            && details.contains("<td>CoreML ÷ PyTorch</td>"),
        "{details}"
    );
}

#[test]
fn pages_render_in_chromium() {
    let ws = workspace();
    publish(ws.path());
    let shots = std::env::var_os("SITE_SHOTS_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| ws.path().join("shots"));
    std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("{e}"));
    for (page, shot, height) in [
        ("latest", "latest", 1300),
        ("history", "history", 3200),
        ("history", "history-top", 1100),
    ] {
        let file = ws.path().join(format!("site/benchmarks/{page}.html"));
        let file = file.to_string_lossy();
        let (dom, log) = chromium_dump_dom(&file);
        assert!(dom.contains("</html>"), "{page} did not load: {log}");
        assert!(chromium_page_errors(&log).is_empty(), "{page}: {log}");
        let png = shots.join(format!("{shot}.png"));
        chromium_screenshot(&file, &png, 1100, height);
        let bytes = std::fs::read(&png).unwrap();
        assert!(
            bytes.starts_with(b"\x89PNG") && bytes.len() > 10_000,
            "{page}: no screenshot"
        );
    }
}

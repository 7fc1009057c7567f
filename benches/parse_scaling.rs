//! Parser scaling: every text parser timed on a real-shaped input at 1×, 10× and 100×
//! its base size. A near-linear parser takes about 10× and 100× the time; the goal is at
//! most ~12× per tenfold step. Run with `cargo bench --bench parse_scaling` (or
//! `make bench`); `-- NAME` runs the parsers whose name contains NAME.

use std::path::Path;
use std::time::{Duration, Instant};

use htdemucs_devops::bench::ingest::{read_str, InputFormat};
use htdemucs_devops::ingest::diagnostic::Format;
use htdemucs_devops::ingest::junit;

/// One parser: its name, the base size (items), an input maker and the parse.
struct Case {
    name: &'static str,
    base: usize,
    make: fn(usize) -> String,
    parse: fn(&str),
}

fn junit_cases(n: usize) -> String {
    let mut s = String::from(
        "<?xml version=\"1.0\"?>\n<testsuites name=\"pytest tests\"><testsuite name=\"pytest\">\n",
    );
    for i in 0..n {
        if i % 10 == 0 {
            s.push_str(&format!("<testcase classname=\"tests.test_mod{}\" name=\"test_{i}\" time=\"0.{i}\" file=\"tests/test_mod.py\" line=\"{i}\"><failure message=\"assert {i} == 0\">def test():\n&gt;   assert x == 0\nE   assert {i} == 0\n</failure><system-out>captured {i}</system-out></testcase>\n", i % 50));
        } else {
            s.push_str(&format!(
                "<testcase classname=\"tests.test_mod{}\" name=\"test_{i}\" time=\"0.001\"/>\n",
                i % 50
            ));
        }
    }
    s.push_str("</testsuite></testsuites>\n");
    s
}

fn junit_properties(n: usize) -> String {
    let mut s = String::from("<testsuite name=\"s\"><properties>");
    for i in 0..n {
        s.push_str(&format!("<property name=\"p{i}\" value=\"v{i}\"/>"));
    }
    s.push_str("</properties><testcase name=\"t\"/></testsuite>");
    s
}

fn junit_attributes(n: usize) -> String {
    let mut s = String::from("<testsuite name=\"s\"><testcase name=\"t\"");
    for i in 0..n {
        s.push_str(&format!(" a{i}=\"{i}\""));
    }
    s.push_str("/></testsuite>");
    s
}

/// 200 nested suites (close to the reader's depth limit), `n` cases in the innermost.
fn junit_nested(n: usize) -> String {
    let depth = 200;
    let mut s = String::from("<testsuites>");
    for d in 0..depth {
        s.push_str(&format!("<testsuite name=\"suite{d}\">"));
    }
    for i in 0..n {
        s.push_str(&format!("<testcase name=\"t{i}\"/>"));
    }
    s.push_str(&"</testsuite>".repeat(depth));
    s.push_str("</testsuites>");
    s
}

fn parse_junit(text: &str) {
    let f = junit::parse_bytes(text.as_bytes(), Path::new("bench.xml"));
    assert!(f.is_ok(), "{:?}", f.err());
}

fn ruff_json(n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"cell":null,"code":"F401","end_location":{{"column":10,"row":{i}}},"filename":"/w/pkg/m{}.py","fix":{{"applicability":"safe","edits":[{{"content":"","end_location":{{"column":1,"row":2}},"location":{{"column":1,"row":1}}}}],"message":"Remove unused import"}},"location":{{"column":8,"row":{i}}},"message":"`os` imported but unused","noqa_row":{i},"url":"https://docs.astral.sh/ruff/rules/unused-import"}}"#, i % 100))
        .collect();
    format!("[{}]", entries.join(",\n"))
}

fn swiftlint_json(n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"character":{},"file":"/w/Sources/F{}.swift","line":{i},"reason":"Line should be 120 characters or less","rule_id":"line_length","severity":"Warning","type":"Line Length"}}"#, i % 80, i % 100))
        .collect();
    format!("[{}]", entries.join(",\n"))
}

fn generic_text(n: usize) -> String {
    (0..n)
        .map(|i| {
            format!(
                "src/mod{}/file.c:{i}:5: warning: unused variable 'x{i}' [-Wunused-variable]\n",
                i % 40
            )
        })
        .collect()
}

fn swiftformat_text(n: usize) -> String {
    let mut s = String::from("Running SwiftFormat...\n(lint mode - no files will be changed.)\n");
    for i in 0..n {
        s.push_str(&format!("/w/Sources/F{}.swift:{i}:1: error: (indent) Indent code in accordance with the scope level.\n", i % 100));
    }
    s
}

fn ruff_format_text(n: usize) -> String {
    (0..n)
        .map(|i| format!("unformatted: File would be reformatted\n  --> pkg/m{i}.py:1:1\n   |\n 1 | import os\n"))
        .collect()
}

/// One line with `n` `": "` separators and no finding: the worst case of the
/// `file:line: severity: message` search.
fn generic_one_long_line(n: usize) -> String {
    "a: 1: ".repeat(n)
}

fn lint_with(format: Format) -> impl Fn(&str) {
    move |text| {
        let _ = format.parse("bench", text);
    }
}

fn gab(n: usize) -> String {
    let entries: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#"{{"name":"coreml/stage{i}_sec","unit":"s","value":{}.5}}"#,
                i % 7
            )
        })
        .collect();
    format!("[{}]", entries.join(","))
}

fn design(n: usize) -> String {
    let metrics: Vec<String> = (0..n)
        .map(|i| format!(r#""m{i}_sec":[0.{i},0.{}]"#, i + 1))
        .collect();
    format!(
        r#"{{"$meta":{{"commit":"abc"}},"coreml":{{{}}},"pytorch":{{{}}}}}"#,
        metrics.join(","),
        metrics.join(",")
    )
}

fn bmf(n: usize) -> String {
    let benches: Vec<String> = (0..n)
        .map(|i| {
            format!(
                r#""bench{i}":{{"latency":{{"value":{i}.0,"lower_value":1.0,"upper_value":2.0}}}}"#
            )
        })
        .collect();
    format!("{{{}}}", benches.join(","))
}

fn hyperfine(n: usize) -> String {
    let results: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"command":"coreml/stage{i}","mean":0.5,"times":[0.4,0.5,0.6],"memory_usage_byte":[1000,2000,3000]}}"#))
        .collect();
    format!(r#"{{"results":[{}]}}"#, results.join(","))
}

fn parse_bench(text: &str) {
    let r = read_str(text, "bench.json", InputFormat::Auto);
    assert!(r.is_ok(), "{:?}", r.err());
}

fn baseline(n: usize) -> String {
    let runs: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"id":"run{i}","timestamp":"2026-01-01T00:00:00Z","commit":"{i:07x}","fingerprint":{{"os":"macos","arch":"aarch64","cpu":"Apple M1","runner":"macos14"}},"results":{{"coreml":{{"stft_sec":0.42,"full_pipeline_sec":8.1,"memory_peak_mb":1840}},"pytorch":{{"stft_sec":0.38,"full_pipeline_sec":11.2}}}}}}"#))
        .collect();
    format!(r#"{{"version":2,"runs":[{}]}}"#, runs.join(",\n"))
}

fn parse_baseline(text: &str) {
    let r = htdemucs_devops::bench::baseline::parse(text, Path::new("baseline.json"));
    assert!(r.is_ok(), "{:?}", r.err());
}

fn config_yaml(n: usize) -> String {
    let mut s = String::from("lint:\n  fail_on_warnings: true\n  tools:\n");
    for i in 0..n {
        s.push_str(&format!("    - name: tool{i}\n      command: [\"tool{i}\", \"--json\", \"src\"]\n      format: generic\n"));
    }
    s
}

fn parse_config(text: &str) {
    let r = htdemucs_devops::config::parse(text, Path::new("config.yml"));
    assert!(r.is_ok(), "{:?}", r.err());
}

/// Nesting `n` flow levels deep: refused, and how fast it is refused.
fn deep_yaml(n: usize) -> String {
    format!("lint:\n  tools: {}{}\n", "[".repeat(n), "]".repeat(n))
}

fn refuse_config(text: &str) {
    assert!(htdemucs_devops::config::parse(text, Path::new("config.yml")).is_err());
}

fn phase_report(n: usize) -> String {
    let annotations: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"level":"error","message":"problem {i}","file":"src/m{i}.py","line":{i},"title":"ruff F401"}}"#))
        .collect();
    format!(
        r#"{{"schema":"htdemucs-devops/phase-report/v1","phase":"lint","tool_version":"0.1.0","generated_at":"2026-01-01T00:00:00Z","status":"failed","headline":"h","markdown":"m","annotations":[{}],"outputs":{{}},"context":{{}},"data":{{"diagnostics":[{}]}}}}"#,
        annotations.join(","),
        annotations.join(",")
    )
}

fn parse_phase_report(text: &str) {
    let r = serde_json::from_str::<htdemucs_devops::output::PhaseReport>(text);
    assert!(r.is_ok(), "{:?}", r.err());
}

/// CPU time of this thread, so that other processes on a busy machine do not count.
#[cfg(unix)]
#[allow(unsafe_code)]
fn cpu_now() -> Option<Duration> {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(unix))]
fn cpu_now() -> Option<Duration> {
    None
}

/// A parse that needs state (the lint format it reads).
type Parser = Box<dyn Fn(&str)>;

fn time(parse: &dyn Fn(&str), text: &str, runs: usize) -> Duration {
    // The best of a few runs: what is left is the parser, not the machine.
    let mut best = Duration::MAX;
    for _ in 0..runs {
        let (cpu, wall) = (cpu_now(), Instant::now());
        parse(text);
        let t = match (cpu, cpu_now()) {
            (Some(a), Some(b)) => b.saturating_sub(a),
            _ => wall.elapsed(),
        };
        best = best.min(t);
    }
    best
}

fn main() {
    let filter = std::env::args().skip(1).find(|a| !a.starts_with('-'));
    let lint = |f: Format| -> Parser { Box::new(lint_with(f)) };
    let cases: Vec<(Case, Option<Parser>)> = vec![
        (
            Case {
                name: "junit: pytest cases",
                base: 2_000,
                make: junit_cases,
                parse: parse_junit,
            },
            None,
        ),
        (
            Case {
                name: "junit: suite properties",
                base: 5_000,
                make: junit_properties,
                parse: parse_junit,
            },
            None,
        ),
        (
            Case {
                name: "junit: attributes of one case",
                base: 10_000,
                make: junit_attributes,
                parse: parse_junit,
            },
            None,
        ),
        (
            Case {
                name: "junit: 200 nested suites x cases",
                base: 2_000,
                make: junit_nested,
                parse: parse_junit,
            },
            None,
        ),
        (
            Case {
                name: "ruff JSON",
                base: 1_000,
                make: ruff_json,
                parse: |_| {},
            },
            Some(lint(Format::RuffJson)),
        ),
        (
            Case {
                name: "ruff format text",
                base: 2_000,
                make: ruff_format_text,
                parse: |_| {},
            },
            Some(lint(Format::RuffFormat)),
        ),
        (
            Case {
                name: "SwiftLint JSON",
                base: 1_000,
                make: swiftlint_json,
                parse: |_| {},
            },
            Some(lint(Format::SwiftlintJson)),
        ),
        (
            Case {
                name: "SwiftFormat text",
                base: 2_000,
                make: swiftformat_text,
                parse: |_| {},
            },
            Some(lint(Format::Swiftformat)),
        ),
        (
            Case {
                name: "generic text",
                base: 2_000,
                make: generic_text,
                parse: |_| {},
            },
            Some(lint(Format::Generic)),
        ),
        (
            Case {
                name: "generic: one line of ': '",
                base: 10_000,
                make: generic_one_long_line,
                parse: |_| {},
            },
            Some(lint(Format::Generic)),
        ),
        (
            Case {
                name: "benchmark: GAB array",
                base: 1_000,
                make: gab,
                parse: parse_bench,
            },
            None,
        ),
        (
            Case {
                name: "benchmark: design metrics",
                base: 1_000,
                make: design,
                parse: parse_bench,
            },
            None,
        ),
        (
            Case {
                name: "benchmark: BMF",
                base: 1_000,
                make: bmf,
                parse: parse_bench,
            },
            None,
        ),
        (
            Case {
                name: "benchmark: hyperfine",
                base: 500,
                make: hyperfine,
                parse: parse_bench,
            },
            None,
        ),
        (
            Case {
                name: "baseline.json runs",
                base: 200,
                make: baseline,
                parse: parse_baseline,
            },
            None,
        ),
        (
            Case {
                name: "config YAML tools",
                base: 100,
                make: config_yaml,
                parse: parse_config,
            },
            None,
        ),
        (
            Case {
                name: "deep YAML (refused)",
                base: 1_000,
                make: deep_yaml,
                parse: refuse_config,
            },
            None,
        ),
        (
            Case {
                name: "phase report JSON",
                base: 1_000,
                make: phase_report,
                parse: parse_phase_report,
            },
            None,
        ),
    ];
    println!(
        "{:<34} {:>9} {:>11} {:>8} {:>8}  verdict",
        "parser", "1x items", "1x time", "10x/1x", "100x/10x"
    );
    let mut worst: f64 = 0.0;
    for (case, custom) in &cases {
        if filter.as_deref().is_some_and(|f| !case.name.contains(f)) {
            continue;
        }
        let parse: &dyn Fn(&str) = match custom {
            Some(p) => p.as_ref(),
            None => &case.parse,
        };
        let times: Vec<Duration> = [(1, 7), (10, 5), (100, 3)]
            .iter()
            .map(|&(k, runs)| time(parse, &(case.make)(case.base * k), runs))
            .collect();
        let r10 = times[1].as_secs_f64() / times[0].as_secs_f64().max(1e-9);
        let r100 = times[2].as_secs_f64() / times[1].as_secs_f64().max(1e-9);
        worst = worst.max(r10.max(r100));
        // A quadratic parser shows ~100x per tenfold step; between 12x and 20x is the
        // cost of memory outgrowing caches or of sorted maps (n log n).
        let step = r10.max(r100);
        let verdict = if step <= 12.0 {
            "near-linear"
        } else if step <= 20.0 {
            "above the 12x goal (cache, n log n)"
        } else {
            "SUPERLINEAR"
        };
        println!(
            "{:<34} {:>9} {:>9.2}ms {:>7.1}x {:>7.1}x  {verdict}",
            case.name,
            case.base,
            times[0].as_secs_f64() * 1e3,
            r10,
            r100
        );
    }
    println!("worst tenfold step: {worst:.1}x (goal: at most ~12x)");
}

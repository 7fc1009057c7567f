//! Parity outputs: the terminal table, JUnit XML, the Markdown section, step outputs in
//! Actions, and the HTML report opened in headless Chromium with a hostile array name.

use crate::common::*;
use crate::parity::{f16_round, pair, parity, stages};

const EVIL: &str = "<img src=x onerror=alert(1)>";

fn evil_pair() -> tempfile::TempDir {
    let dir = tempdir();
    let arrays = stages(5);
    let mut ref_members: Vec<(&str, Vec<u8>)> =
        arrays.iter().map(|(n, s, d)| (*n, npy_f32(s, d))).collect();
    let noisy: Vec<f32> = arrays[2].2.iter().map(|x| x * 1.01).collect();
    let mut cand_members = ref_members.clone();
    cand_members[2].1 = npy_f32(&arrays[2].1, &noisy);
    let evil = npy_f32(&[2, 100], &vec![0.5f32; 200]);
    ref_members.push((EVIL, evil.clone()));
    cand_members.push((EVIL, evil));
    write_npz(&dir.path().join("ref.npz"), &ref_members, false);
    write_npz(&dir.path().join("cand.npz"), &cand_members, false);
    dir
}

#[test]
fn terminal_table_lists_worst_first() {
    let dir = evil_pair();
    let out = run(bin().current_dir(dir.path()).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    let lines: Vec<&str> = text.lines().collect();
    assert!(
        lines[0].contains("stage") && lines[0].contains("SNR dB"),
        "{text}"
    );
    assert!(
        lines[2].starts_with('✗') && lines[2].contains("time_branch.time_out"),
        "{text}"
    );
    assert!(text.contains("1 of 5 arrays out of tolerance"), "{text}");
    assert!(dir.path().join(".htdemucs-devops/parity.json").is_file());
}

#[test]
fn junit_has_one_case_per_array_and_a_failure() {
    let dir = evil_pair();
    let out = run(bin().current_dir(dir.path()).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
        "--format",
        "junit",
    ]));
    let xml = stdout(&out);
    let mut reader = quick_xml::Reader::from_str(&xml);
    let (mut cases, mut failures) = (Vec::new(), 0);
    loop {
        match reader.read_event() {
            Ok(quick_xml::events::Event::Start(e)) | Ok(quick_xml::events::Event::Empty(e)) => {
                if e.name().as_ref() == b"testcase" {
                    let name = e
                        .try_get_attribute("name")
                        .ok()
                        .flatten()
                        .and_then(|a| a.unescape_value().ok().map(|v| v.into_owned()))
                        .unwrap();
                    cases.push(name);
                }
                if e.name().as_ref() == b"failure" {
                    failures += 1;
                }
            }
            Ok(quick_xml::events::Event::Eof) => break,
            Err(e) => panic!("invalid XML: {e}\n{xml}"),
            _ => {}
        }
    }
    assert_eq!(cases.len(), 5, "{xml}");
    assert!(cases.iter().any(|c| c == EVIL), "{cases:?}");
    assert_eq!(failures, 1);
    let on_disk =
        std::fs::read_to_string(dir.path().join(".htdemucs-devops/parity.junit.xml")).unwrap();
    assert_eq!(on_disk, xml);
}

#[test]
fn markdown_section_escapes_names_and_marks_results() {
    let dir = evil_pair();
    let out = run(bin().current_dir(dir.path()).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
        "--format",
        "markdown",
    ]));
    let md = stdout(&out);
    assert!(md.starts_with("### ❌ Parity"), "{md}");
    assert!(!md.contains("<img"), "{md}");
    assert!(
        md.contains("&lt;img src=x onerror=alert\\(1\\)&gt;"),
        "{md}"
    );
    let rows: Vec<&str> = md
        .lines()
        .filter(|l| l.starts_with("| ✗") || l.starts_with("| ✓"))
        .collect();
    assert_eq!(rows.len(), 5, "{md}");
    assert!(
        rows[0].starts_with("| ✗") && rows[0].contains("time\\_branch"),
        "{md}"
    );
}

#[test]
fn actions_outputs_say_whether_parity_passed() {
    let p = pair(|_, _, d| d.iter_mut().for_each(|x| *x = f16_round(*x)));
    let out = run(bin_in_actions(p.dir.path())
        .current_dir(p.dir.path())
        .args([
            "parity",
            "--reference",
            "ref.npz",
            "--candidate",
            "cand.npz",
        ]));
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
    let outputs = std::fs::read_to_string(p.dir.path().join("output.txt")).unwrap();
    assert!(
        outputs.contains("parity-passed<<") || outputs.contains("parity-passed="),
        "{outputs}"
    );
    let value_line = outputs
        .lines()
        .skip_while(|l| !l.starts_with("parity-passed"))
        .nth(1)
        .unwrap();
    assert_eq!(value_line, "true", "{outputs}");
    let summary = std::fs::read_to_string(p.dir.path().join("summary.md")).unwrap();
    assert!(summary.contains("### ✅ Parity"), "{summary}");
    let failing = parity(&crate::parity::pair(|_, _, d| d[0] = f32::INFINITY), &[]);
    assert_eq!(failing.status.code(), Some(1));
}

#[test]
fn html_report_opens_in_chromium_and_shows_the_hostile_name_as_text() {
    let dir = evil_pair();
    let out = run(bin().current_dir(dir.path()).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
        "--html",
        "page.html",
    ]));
    assert_eq!(out.status.code(), Some(1));
    let page = dir.path().join("page.html");
    let html = std::fs::read_to_string(&page).unwrap();
    assert!(
        !html.contains("<img"),
        "the name must be escaped in the file"
    );
    assert!(html.contains("<svg"), "charts are inline SVG");
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external assets"
    );
    let (dom, log) = chromium_dump_dom(&page.display().to_string());
    assert!(
        dom.contains("Parity report"),
        "chromium did not render the page: {log}"
    );
    assert!(
        !dom.contains("<img"),
        "the hostile name became an element:\n{dom}"
    );
    assert!(dom.contains("&lt;img src=x onerror=alert(1)&gt;"), "{dom}");
    let errors = chromium_page_errors(&log);
    assert!(errors.is_empty(), "page errors: {errors:?}");
    // The page's own text shows the name literally: screenshot to prove it renders.
    let png = dir.path().join("shot.png");
    chromium_screenshot(&page.display().to_string(), &png, 1200, 900);
    assert!(std::fs::metadata(&png)
        .map(|m| m.len() > 1000)
        .unwrap_or(false));
}

#[test]
fn chromium_helper_sees_page_errors() {
    // Proves the check above can fail: a page with a script error is reported.
    let dir = tempdir();
    let page = dir.path().join("bad.html");
    write(
        &page,
        "<html><body><script>console.error('boom'); missing();</script></body></html>",
    );
    let (_, log) = chromium_dump_dom(&page.display().to_string());
    let errors = chromium_page_errors(&log);
    assert!(
        errors.iter().any(|e| e.contains("Uncaught ReferenceError")),
        "{log}"
    );
}

#[test]
fn numpy_written_example_is_read_with_per_stem_sdr() {
    // savez (zip64 members) for the reference, savez_compressed for the candidate.
    let ex = fixtures().join("parity/example");
    let out = run(bin()
        .current_dir(tempdir().path())
        .arg("--config")
        .arg(ex.join("htdemucs-devops.yml"))
        .args(["parity", "--format", "json", "--reference"])
        .arg(ex.join("reference.npz"))
        .arg("--candidate")
        .arg(ex.join("candidate.npz")));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let v: serde_json::Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(v["checks"].as_array().map(Vec::len), Some(5));
    let stems = crate::parity::check(&v, "output.stems")["stems_sdr"].clone();
    let names: Vec<&str> = stems
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|s| s["stem"].as_str())
        .collect();
    assert_eq!(names, ["drums", "bass", "other", "vocals"]);
}

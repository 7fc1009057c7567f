//! JUnit XML for the parity checks: one test case per (clip,) array and mode, so any
//! JUnit reporter (GitHub test reporters, IDEs) shows parity next to the unit tests.
//! quick-xml escapes every attribute and text; control characters (invalid in XML 1.0)
//! are replaced first.

use quick_xml::events::BytesText;
use quick_xml::Writer;

use super::report::{db, sci, ParityReport};
use crate::output::terminal::sanitize;

/// Renders the report as a JUnit `<testsuites>` document.
pub fn render(report: &ParityReport) -> String {
    match write(report) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        // Writing into a Vec cannot fail for I/O reasons; keep a valid document anyway.
        Err(_) => "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites/>\n".to_string(),
    }
}

fn write(report: &ParityReport) -> std::io::Result<Vec<u8>> {
    let mut w = Writer::new_with_indent(Vec::new(), b' ', 2);
    w.get_mut()
        .extend_from_slice(b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let tests = report.checks.len().to_string();
    let failures = report.failed().to_string();
    w.create_element("testsuites")
        .with_attribute(("name", "htdemucs-devops parity"))
        .with_attribute(("tests", tests.as_str()))
        .with_attribute(("failures", failures.as_str()))
        .write_inner_content(|w| {
            w.create_element("testsuite")
                .with_attribute(("name", "parity"))
                .with_attribute(("tests", tests.as_str()))
                .with_attribute(("failures", failures.as_str()))
                .with_attribute(("errors", "0"))
                .write_inner_content(|w| {
                    for c in &report.checks {
                        let classname = sanitize(&format!("parity.{}", c.stage));
                        let mut name = c.label();
                        if let Some(m) = c.mode {
                            name.push_str(&format!(" [{}]", m.name()));
                        }
                        let name = sanitize(&name);
                        let summary = c.metrics.as_ref().map(|m| {
                            format!(
                                "max_abs={} mean_abs={} p99_abs={} rmse={} snr_db={} psnr_db={} cosine={} outside={}",
                                sci(m.max_abs),
                                sci(m.mean_abs),
                                sci(m.p99_abs),
                                sci(m.rmse),
                                db(m.snr_db),
                                db(m.psnr_db),
                                m.cosine,
                                m.outside
                            )
                        });
                        let case = w
                            .create_element("testcase")
                            .with_attribute(("classname", classname.as_str()))
                            .with_attribute(("name", name.as_str()))
                            .with_attribute(("time", "0"));
                        case.write_inner_content(|w| {
                            if !c.passed {
                                let first = c.problems.first().cloned().unwrap_or_default();
                                let body = sanitize_lines(&c.problems.join("\n"));
                                w.create_element("failure")
                                    .with_attribute(("message", sanitize(&first).as_str()))
                                    .with_attribute(("type", "parity"))
                                    .write_text_content(BytesText::new(&body))?;
                            }
                            if let Some(s) = &summary {
                                w.create_element("system-out")
                                    .write_text_content(BytesText::new(s))?;
                            }
                            Ok(())
                        })?;
                    }
                    Ok(())
                })?;
            Ok(())
        })?;
    let mut out = w.into_inner();
    out.push(b'\n');
    Ok(out)
}

fn sanitize_lines(s: &str) -> String {
    s.split('\n').map(sanitize).collect::<Vec<_>>().join("\n")
}

//! Streaming reader for JUnit/xUnit XML as pytest (`--junitxml`), cargo-nextest and
//! SwiftPM (`swift test --xunit-output`, XCTest and Swift Testing) write it.
//!
//! One pass over the file with `quick-xml`, no DOM: [`stream_file`] hands each test case
//! to a callback as soon as it is complete, and failure text and captured output are
//! capped per test case, so memory does not grow with the file.

mod capped;
mod error;
mod state;
mod types;

use std::io::BufRead;
use std::path::Path;

pub use error::JunitError;
use error::{line_col, Raw};
pub use types::{Issue, IssueKind, JunitFile, Producer, TestCase, TestStatus};

use quick_xml::events::Event;
use quick_xml::Reader;
use state::State;

/// Reads one JUnit/xUnit file into memory (all its test cases).
pub fn parse_file(path: &Path) -> Result<JunitFile, JunitError> {
    let mut cases = Vec::new();
    let mut file = stream_file(path, &mut |case, _| cases.push(case))?;
    file.cases = cases;
    Ok(file)
}

/// Streams one JUnit/xUnit file: `sink` gets each test case (with the producer guessed
/// so far) as soon as its element closes. The returned file has no `cases`.
pub fn stream_file(
    path: &Path,
    sink: &mut dyn FnMut(TestCase, Producer),
) -> Result<JunitFile, JunitError> {
    let shown = path.display().to_string();
    let (file, _) = crate::fs::open(path, "the JUnit file")?;
    let reader = std::io::BufReader::with_capacity(64 * 1024, file);
    parse_reader(reader, path, sink).map_err(|e| {
        e.attach(&shown, |offset| {
            // Only on the error path: read the prefix again to turn the byte offset
            // into a line and column a person can jump to.
            crate::fs::read_bytes(path, "the JUnit file")
                .map(|bytes| line_col(&bytes, offset))
                .unwrap_or((0, 0))
        })
    })
}

/// Parses JUnit XML from memory (tests, and files already read).
pub fn parse_bytes(bytes: &[u8], path: &Path) -> Result<JunitFile, JunitError> {
    let shown = path.display().to_string();
    let mut cases = Vec::new();
    let mut file = parse_reader(bytes, path, &mut |case, _| cases.push(case))
        .map_err(|e| e.attach(&shown, |offset| line_col(bytes, offset)))?;
    file.cases = cases;
    Ok(file)
}

fn parse_reader<R: BufRead>(
    input: R,
    path: &Path,
    sink: &mut dyn FnMut(TestCase, Producer),
) -> Result<JunitFile, Raw> {
    let mut reader = Reader::from_reader(input);
    // Mismatched end tags are reported by quick-xml; we need empty elements as such.
    reader.config_mut().check_end_names = true;
    let mut st = State::new(sink);
    let mut buf = Vec::with_capacity(8 * 1024);
    loop {
        let start = reader.buffer_position();
        let event = match reader.read_event_into(&mut buf) {
            Ok(ev) => ev,
            Err(quick_xml::Error::Io(e)) => {
                return Err(Raw::Io(std::io::Error::new(e.kind(), e.to_string())))
            }
            Err(e) => return Err(Raw::At(reader.error_position(), e.to_string())),
        };
        let at = reader.buffer_position();
        match event {
            Event::Start(e) => st.open(&e, at)?,
            Event::Empty(e) => {
                st.open(&e, at)?;
                st.close(at)?;
            }
            Event::End(_) => st.close(at)?,
            Event::Text(t) => {
                let text = t
                    .xml_content()
                    .map_err(|e| Raw::At(at, format!("text is not UTF-8: {e}")))?;
                if !st.seen_root && !text.trim().is_empty() {
                    // JSON, a log or an HTML error page saved under the wrong name.
                    let skipped = text.len() - text.trim_start().len();
                    return Err(Raw::At(
                        start + skipped as u64,
                        "text where the XML root element should start: this is not an XML file"
                            .into(),
                    ));
                }
                st.text(&text);
            }
            Event::CData(t) => {
                let text = t
                    .decode()
                    .map_err(|e| Raw::At(at, format!("CDATA is not UTF-8: {e}")))?;
                st.text(&text);
            }
            Event::GeneralRef(r) => {
                if let Ok(Some(c)) = r.resolve_char_ref() {
                    st.text(c.encode_utf8(&mut [0u8; 4]));
                } else {
                    let name = String::from_utf8_lossy(&r).into_owned();
                    match quick_xml::escape::resolve_predefined_entity(&name) {
                        Some(s) => st.text(s),
                        // An undeclared entity: keep it visible rather than fail the file.
                        None => st.text(&format!("&{name};")),
                    }
                }
            }
            Event::Eof => {
                if !st.seen_root {
                    return Err(Raw::At(at, "the file has no XML element (empty?)".into()));
                }
                if let Some(open) = st.innermost() {
                    return Err(Raw::At(
                        at,
                        format!(
                            "the file ends inside <{open}> ({} element(s) left open)",
                            st.depth()
                        ),
                    ));
                }
                break;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
    let (producer, properties) = st.finish();
    Ok(JunitFile {
        path: path.to_path_buf(),
        producer,
        cases: Vec::new(),
        properties,
    })
}

#[cfg(test)]
mod tests;

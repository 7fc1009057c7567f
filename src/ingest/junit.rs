//! Streaming reader for JUnit/xUnit XML as pytest (`--junitxml`), cargo-nextest and
//! SwiftPM (`swift test --xunit-output`, XCTest and Swift Testing) write it.
//!
//! One pass over the file with `quick-xml`, no DOM: [`stream_file`] hands each test case
//! to a callback as soon as it is complete, and failure text and captured output are
//! capped per test case, so memory does not grow with the file.

mod capped;
mod error;
mod types;

use std::io::BufRead;
use std::path::Path;

use capped::{Capped, ISSUE_HEAD, ISSUE_TAIL, OUTPUT_HEAD, OUTPUT_TAIL};
pub use error::JunitError;
use error::{line_col, Raw};
pub use types::{Issue, IssueKind, JunitFile, Producer, TestCase, TestStatus};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Where text events currently go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Elem {
    Suites,
    Suite,
    Case,
    Issue,
    SystemOut,
    SystemErr,
    Properties,
    Property,
    Other,
}

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
    let file = std::fs::File::open(path).map_err(|source| JunitError::Io {
        path: shown.clone(),
        source,
    })?;
    let reader = std::io::BufReader::with_capacity(64 * 1024, file);
    parse_reader(reader, path, sink).map_err(|e| {
        e.attach(&shown, |offset| {
            // Only on the error path: read the prefix again to turn the byte offset
            // into a line and column a person can jump to.
            std::fs::read(path)
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

/// The parser's state while streaming.
struct State<'s> {
    stack: Vec<Elem>,
    suites: Vec<String>,
    case: Option<TestCase>,
    issue_text: Option<Capped>,
    out: Option<Capped>,
    sink: &'s mut dyn FnMut(TestCase, Producer),
    properties: Vec<(String, String)>,
    producer: Producer,
    seen_root: bool,
}

fn parse_reader<R: BufRead>(
    input: R,
    path: &Path,
    sink: &mut dyn FnMut(TestCase, Producer),
) -> Result<JunitFile, Raw> {
    let mut reader = Reader::from_reader(input);
    // Mismatched end tags are reported by quick-xml; we need empty elements as such.
    reader.config_mut().check_end_names = true;
    let mut st = State {
        stack: Vec::new(),
        suites: Vec::new(),
        case: None,
        issue_text: None,
        out: None,
        sink,
        properties: Vec::new(),
        producer: Producer::Unknown,
        seen_root: false,
    };
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
            Event::Start(e) => {
                let elem = st.open(&e, at)?;
                st.stack.push(elem);
            }
            Event::Empty(e) => {
                let elem = st.open(&e, at)?;
                st.stack.push(elem);
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
                if !st.stack.is_empty() {
                    return Err(Raw::At(
                        at,
                        format!(
                            "the file ends inside <{}> ({} element(s) left open)",
                            open_name(st.stack.last().copied()),
                            st.stack.len()
                        ),
                    ));
                }
                break;
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
        buf.clear();
    }
    Ok(JunitFile {
        path: path.to_path_buf(),
        producer: st.producer,
        cases: Vec::new(),
        properties: st.properties,
    })
}

fn open_name(e: Option<Elem>) -> &'static str {
    match e {
        Some(Elem::Suites) => "testsuites",
        Some(Elem::Suite) => "testsuite",
        Some(Elem::Case) => "testcase",
        Some(Elem::Issue) => "failure/error/skipped",
        Some(Elem::SystemOut) => "system-out",
        Some(Elem::SystemErr) => "system-err",
        Some(Elem::Properties) => "properties",
        Some(Elem::Property) => "property",
        Some(Elem::Other) | None => "an element",
    }
}

/// Attribute values, unescaped; a value with an unknown entity is kept raw.
fn attrs(e: &BytesStart, at: u64) -> Result<Vec<(Vec<u8>, String)>, Raw> {
    let mut out = Vec::new();
    for a in e.attributes() {
        let a = a.map_err(|err| Raw::At(at, format!("bad attribute: {err}")))?;
        let value = match a.unescape_value() {
            Ok(v) => v.into_owned(),
            Err(_) => String::from_utf8_lossy(&a.value).into_owned(),
        };
        out.push((a.key.as_ref().to_vec(), value));
    }
    Ok(out)
}

fn get(attrs: &[(Vec<u8>, String)], key: &[u8]) -> Option<String> {
    attrs
        .iter()
        .find(|(k, _)| k.as_slice() == key)
        .map(|(_, v)| v.clone())
}

/// `time="1,234.5"` (some writers group digits) or `time="1.2e-05"` (Swift).
fn parse_time(s: &str) -> Option<f64> {
    let t: f64 = s.trim().replace(',', "").parse().ok()?;
    (t.is_finite() && t >= 0.0).then_some(t)
}

impl State<'_> {
    fn parent(&self) -> Option<Elem> {
        self.stack.last().copied()
    }

    fn open(&mut self, e: &BytesStart, at: u64) -> Result<Elem, Raw> {
        let tag = e.local_name();
        let tag = tag.as_ref();
        if !self.seen_root {
            self.seen_root = true;
            if tag != b"testsuites" && tag != b"testsuite" {
                return Err(Raw::NotJunit(String::from_utf8_lossy(tag).into_owned()));
            }
        }
        let parent = self.parent();
        let in_case = parent == Some(Elem::Case);
        let elem = match tag {
            b"testsuites" => {
                let a = attrs(e, at)?;
                match get(&a, b"name").as_deref() {
                    Some("nextest-run") => self.producer = Producer::Nextest,
                    Some("pytest tests") => self.producer = Producer::Pytest,
                    _ => {}
                }
                Elem::Suites
            }
            b"testsuite" if self.case.is_none() => {
                let a = attrs(e, at)?;
                let name = get(&a, b"name").unwrap_or_default();
                if self.producer == Producer::Unknown {
                    self.producer = match name.as_str() {
                        "pytest" => Producer::Pytest,
                        "TestResults" => Producer::Swift,
                        _ => Producer::Unknown,
                    };
                }
                self.suites.push(name);
                Elem::Suite
            }
            b"testcase" if self.case.is_none() => {
                let a = attrs(e, at)?;
                self.case = Some(TestCase {
                    suite: self.suites.clone(),
                    classname: get(&a, b"classname").unwrap_or_default(),
                    name: get(&a, b"name").unwrap_or_default(),
                    time: get(&a, b"time").as_deref().and_then(parse_time),
                    file: get(&a, b"file").filter(|f| !f.is_empty()),
                    line: get(&a, b"line").and_then(|l| l.trim().parse().ok()),
                    ..TestCase::default()
                });
                Elem::Case
            }
            _ if in_case => {
                if let Some(kind) = IssueKind::from_tag(tag) {
                    let a = attrs(e, at)?;
                    if let Some(case) = self.case.as_mut() {
                        case.issues.push(Issue {
                            kind,
                            message: get(&a, b"message"),
                            kind_name: get(&a, b"type"),
                            text: String::new(),
                        });
                    }
                    self.issue_text = Some(Capped::new(ISSUE_HEAD, ISSUE_TAIL));
                    Elem::Issue
                } else {
                    match tag {
                        b"system-out" => {
                            self.out = Some(Capped::new(OUTPUT_HEAD, OUTPUT_TAIL));
                            Elem::SystemOut
                        }
                        b"system-err" => {
                            self.out = Some(Capped::new(OUTPUT_HEAD, OUTPUT_TAIL));
                            Elem::SystemErr
                        }
                        b"properties" => Elem::Properties,
                        _ => Elem::Other,
                    }
                }
            }
            b"properties" => Elem::Properties,
            b"property" if parent == Some(Elem::Properties) => {
                let a = attrs(e, at)?;
                let pair = (
                    get(&a, b"name").unwrap_or_default(),
                    get(&a, b"value").unwrap_or_default(),
                );
                // Case properties sit two levels under the case: case > properties > property.
                let depth = self.stack.len();
                let owner_is_case = depth >= 2 && self.stack[depth - 2] == Elem::Case;
                match self.case.as_mut() {
                    Some(case) if owner_is_case => case.properties.push(pair),
                    _ => {
                        if !self.properties.contains(&pair) {
                            self.properties.push(pair);
                        }
                    }
                }
                Elem::Property
            }
            _ => Elem::Other,
        };
        Ok(elem)
    }

    fn close(&mut self, at: u64) -> Result<(), Raw> {
        let Some(elem) = self.stack.pop() else {
            return Err(Raw::At(at, "a closing tag without an opening one".into()));
        };
        let owner_is_case = self.parent() == Some(Elem::Case);
        match elem {
            Elem::Suite => {
                self.suites.pop();
            }
            Elem::Case => {
                if let Some(case) = self.case.take() {
                    (self.sink)(case, self.producer);
                }
            }
            Elem::Issue => {
                let text = self.issue_text.take().map(Capped::finish);
                if let (Some(case), Some(text)) = (self.case.as_mut(), text) {
                    if let Some(issue) = case.issues.last_mut() {
                        issue.text = text;
                    }
                }
            }
            Elem::SystemOut | Elem::SystemErr if owner_is_case => {
                let text = self.out.take().map(Capped::finish).unwrap_or_default();
                if let Some(case) = self.case.as_mut() {
                    let slot = if elem == Elem::SystemOut {
                        &mut case.system_out
                    } else {
                        &mut case.system_err
                    };
                    slot.push_str(&text);
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn text(&mut self, s: &str) {
        match self.parent() {
            Some(Elem::Issue) => {
                if let Some(t) = self.issue_text.as_mut() {
                    t.push(s);
                }
            }
            Some(Elem::SystemOut | Elem::SystemErr) => {
                if let Some(t) = self.out.as_mut() {
                    t.push(s);
                }
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;

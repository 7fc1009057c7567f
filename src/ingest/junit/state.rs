//! The JUnit reader's state while streaming: which elements are open, the suite path,
//! the test cases being read (a stack: a `<testcase>` nested in another is read as a
//! case of its own, never dropped) and where text goes. Every step costs time in
//! proportion to the element it handles, whatever the depth or count before it.

use std::collections::HashSet;
use std::sync::Arc;

use quick_xml::events::BytesStart;

use crate::fs::cap_field;

use super::capped::{Capped, ISSUE_HEAD, ISSUE_TAIL, OUTPUT_HEAD, OUTPUT_TAIL};
use super::error::Raw;
use super::types::{Issue, IssueKind, Producer, TestCase};

/// Deepest element nesting accepted. Real writers nest five or six levels (suites >
/// suite > case > failure); far deeper files are generated junk, refused at once.
pub const MAX_DEPTH: usize = 256;

/// Longest test, class or suite name kept (a name is echoed in every place the test is).
const NAME_CAP: usize = 4 * 1024;

/// What an open element is, for deciding where its children and text go.
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

impl Elem {
    fn name(self) -> &'static str {
        match self {
            Elem::Suites => "testsuites",
            Elem::Suite => "testsuite",
            Elem::Case => "testcase",
            Elem::Issue => "failure/error/skipped",
            Elem::SystemOut => "system-out",
            Elem::SystemErr => "system-err",
            Elem::Properties => "properties",
            Elem::Property => "property",
            Elem::Other => "an element",
        }
    }
}

/// One test case being read, with the text it is collecting.
struct Frame {
    case: TestCase,
    /// Where `stack` stood when the case opened (its own element is at this index).
    at_depth: usize,
    issue_text: Option<Capped>,
    out: Option<Capped>,
}

pub(super) struct State<'s> {
    stack: Vec<Elem>,
    suites: Vec<String>,
    /// The suite path shared by every case read while `suites` does not change.
    suite_path: Option<Arc<[String]>>,
    cases: Vec<Frame>,
    sink: &'s mut dyn FnMut(TestCase, Producer),
    properties: Vec<(String, String)>,
    seen_properties: HashSet<(String, String)>,
    producer: Producer,
    pub(super) seen_root: bool,
}

/// The attributes named in `wanted`, unescaped (the first of duplicates wins); a value
/// with an unknown entity is kept raw. Others are skipped without being decoded.
fn attrs<const N: usize>(
    e: &BytesStart,
    at: u64,
    wanted: [&[u8]; N],
) -> Result<[Option<String>; N], Raw> {
    let mut out: [Option<String>; N] = std::array::from_fn(|_| None);
    // quick-xml's duplicate check compares every attribute with every other one.
    for a in e.attributes().with_checks(false) {
        let a = a.map_err(|err| Raw::At(at, format!("bad attribute: {err}")))?;
        let Some(slot) = wanted.iter().position(|w| *w == a.key.as_ref()) else {
            continue;
        };
        if out[slot].is_some() {
            continue;
        }
        out[slot] = Some(match a.unescape_value() {
            Ok(v) => v.into_owned(),
            Err(_) => String::from_utf8_lossy(&a.value).into_owned(),
        });
    }
    Ok(out)
}

/// `time="1,234.5"` (some writers group digits) or `time="1.2e-05"` (Swift).
pub(super) fn parse_time(s: &str) -> Option<f64> {
    let t: f64 = s.trim().replace(',', "").parse().ok()?;
    (t.is_finite() && t >= 0.0).then_some(t)
}

impl<'s> State<'s> {
    pub(super) fn new(sink: &'s mut dyn FnMut(TestCase, Producer)) -> Self {
        State {
            stack: Vec::new(),
            suites: Vec::new(),
            suite_path: None,
            cases: Vec::new(),
            sink,
            properties: Vec::new(),
            seen_properties: HashSet::new(),
            producer: Producer::Unknown,
            seen_root: false,
        }
    }

    pub(super) fn finish(self) -> (Producer, Vec<(String, String)>) {
        (self.producer, self.properties)
    }

    /// The innermost open element's name, `None` when every element is closed.
    pub(super) fn innermost(&self) -> Option<&'static str> {
        self.stack.last().map(|e| e.name())
    }

    pub(super) fn depth(&self) -> usize {
        self.stack.len()
    }

    fn parent(&self) -> Option<Elem> {
        self.stack.last().copied()
    }

    fn suite_path(&mut self) -> Arc<[String]> {
        self.suite_path
            .get_or_insert_with(|| Arc::from(self.suites.as_slice()))
            .clone()
    }

    /// Handles an opening tag (an empty element is opened, then closed).
    pub(super) fn open(&mut self, e: &BytesStart, at: u64) -> Result<(), Raw> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(Raw::At(
                at,
                format!(
                    "elements nest more than {MAX_DEPTH} levels deep, which no test report does"
                ),
            ));
        }
        let elem = self.classify(e, at)?;
        self.stack.push(elem);
        Ok(())
    }

    fn classify(&mut self, e: &BytesStart, at: u64) -> Result<Elem, Raw> {
        let tag = e.local_name();
        let tag = tag.as_ref();
        if !self.seen_root {
            self.seen_root = true;
            if tag != b"testsuites" && tag != b"testsuite" {
                return Err(Raw::NotJunit(String::from_utf8_lossy(tag).into_owned()));
            }
        }
        let parent = self.parent();
        let depth = self.stack.len();
        let elem = match tag {
            b"testsuites" => {
                let [name] = attrs(e, at, [b"name"])?;
                match name.as_deref() {
                    Some("nextest-run") => self.producer = Producer::Nextest,
                    Some("pytest tests") => self.producer = Producer::Pytest,
                    _ => {}
                }
                Elem::Suites
            }
            b"testsuite" => {
                let [name] = attrs(e, at, [b"name"])?;
                let name = cap_field(name.unwrap_or_default(), NAME_CAP);
                if self.producer == Producer::Unknown {
                    self.producer = match name.as_str() {
                        "pytest" => Producer::Pytest,
                        "TestResults" => Producer::Swift,
                        _ => Producer::Unknown,
                    };
                }
                self.suites.push(name);
                self.suite_path = None;
                Elem::Suite
            }
            b"testcase" => {
                // Anywhere, even inside another case: a case is never dropped.
                let [classname, name, time, file, line] =
                    attrs(e, at, [b"classname", b"name", b"time", b"file", b"line"])?;
                let case = TestCase {
                    suite: self.suite_path(),
                    classname: cap_field(classname.unwrap_or_default(), NAME_CAP),
                    name: cap_field(name.unwrap_or_default(), NAME_CAP),
                    time: time.as_deref().and_then(parse_time),
                    file: file.filter(|f| !f.is_empty()),
                    line: line.and_then(|l| l.trim().parse().ok()),
                    ..TestCase::default()
                };
                self.cases.push(Frame {
                    case,
                    at_depth: depth,
                    issue_text: None,
                    out: None,
                });
                Elem::Case
            }
            _ => self.in_case(tag, e, at, parent)?,
        };
        Ok(elem)
    }

    /// Elements other than suites and cases.
    fn in_case(
        &mut self,
        tag: &[u8],
        e: &BytesStart,
        at: u64,
        parent: Option<Elem>,
    ) -> Result<Elem, Raw> {
        let depth = self.stack.len();
        let frame = self.cases.last_mut();
        let busy = frame
            .as_ref()
            .is_some_and(|f| f.issue_text.is_some() || f.out.is_some());
        if let (Some(frame), false) = (frame, busy) {
            // A failure wrapped in an unknown element still fails its case.
            if let Some(kind) = IssueKind::from_tag(tag) {
                let [message, kind_name] = attrs(e, at, [b"message", b"type"])?;
                frame.case.issues.push(Issue {
                    kind,
                    message: message.map(|m| cap_field(m, ISSUE_HEAD)),
                    kind_name: kind_name.map(|k| cap_field(k, NAME_CAP)),
                    text: String::new(),
                });
                frame.issue_text = Some(Capped::new(ISSUE_HEAD, ISSUE_TAIL));
                return Ok(Elem::Issue);
            }
            if parent == Some(Elem::Case) && (tag == b"system-out" || tag == b"system-err") {
                frame.out = Some(Capped::new(OUTPUT_HEAD, OUTPUT_TAIL));
                return Ok(if tag == b"system-out" {
                    Elem::SystemOut
                } else {
                    Elem::SystemErr
                });
            }
        }
        Ok(match tag {
            b"properties" => Elem::Properties,
            b"property" if parent == Some(Elem::Properties) => {
                let [name, value] = attrs(e, at, [b"name", b"value"])?;
                let pair = (name.unwrap_or_default(), value.unwrap_or_default());
                // Case properties sit two levels under the case: case > properties > property.
                match self.cases.last_mut() {
                    Some(f) if f.at_depth + 2 == depth => f.case.properties.push(pair),
                    _ => {
                        if self.seen_properties.insert(pair.clone()) {
                            self.properties.push(pair);
                        }
                    }
                }
                Elem::Property
            }
            _ => Elem::Other,
        })
    }

    pub(super) fn close(&mut self, at: u64) -> Result<(), Raw> {
        let Some(elem) = self.stack.pop() else {
            return Err(Raw::At(at, "a closing tag without an opening one".into()));
        };
        match elem {
            Elem::Suite => {
                self.suites.pop();
                self.suite_path = None;
            }
            Elem::Case => {
                if let Some(frame) = self.cases.pop() {
                    (self.sink)(frame.case, self.producer);
                }
            }
            Elem::Issue => {
                if let Some(frame) = self.cases.last_mut() {
                    let text = frame.issue_text.take().map(Capped::finish);
                    if let (Some(issue), Some(text)) = (frame.case.issues.last_mut(), text) {
                        issue.text = text;
                    }
                }
            }
            Elem::SystemOut | Elem::SystemErr => {
                if let Some(frame) = self.cases.last_mut() {
                    let text = frame.out.take().map(Capped::finish).unwrap_or_default();
                    let slot = if elem == Elem::SystemOut {
                        &mut frame.case.system_out
                    } else {
                        &mut frame.case.system_err
                    };
                    slot.push_str(&text);
                }
            }
            _ => {}
        }
        Ok(())
    }

    pub(super) fn text(&mut self, s: &str) {
        let Some(frame) = self.cases.last_mut() else {
            return;
        };
        match self.stack.last() {
            Some(Elem::Issue) => {
                if let Some(t) = frame.issue_text.as_mut() {
                    t.push(s);
                }
            }
            Some(Elem::SystemOut | Elem::SystemErr) => {
                if let Some(t) = frame.out.as_mut() {
                    t.push(s);
                }
            }
            _ => {}
        }
    }
}

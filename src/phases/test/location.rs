//! Where a failed test failed: `file`/`line` attributes when the result file has them,
//! else a `path:line` found in the failure text (pytest's `tests/x.py:12: AssertionError`,
//! Rust's `panicked at src/lib.rs:20:9`, XCTest's `/…/FooTests.swift:42: error: …`).

use std::path::Path;

use crate::ingest::junit::{IssueKind, Producer, TestCase};

/// A file position, the file relative to the workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: String,
    pub line: Option<u32>,
}

/// How a location was written; earlier kinds name the failing line more reliably.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// `panicked at path:line:col`
    Panic,
    /// `path:line: error: ...` (XCTest, compilers)
    Error,
    /// `path:line: ...` at the start of a line (pytest tracebacks)
    Plain,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Found {
    path: String,
    line: u32,
    kind: Kind,
}

/// Parses `path:line` (optionally `:col`) at the start of `s`; returns the path, the
/// line and the rest after the number(s). The path must end in a file extension so
/// that times (`12:30:01`) and URLs are not mistaken for locations.
fn parse_loc(s: &str) -> Option<(&str, u32, &str)> {
    let mut search = 0;
    while let Some(rel) = s[search..].find(':') {
        let colon = search + rel;
        let path = &s[..colon];
        let after = &s[colon + 1..];
        let digits = after.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 && digits < 10 && plausible_path(path) {
            let line: u32 = after[..digits].parse().ok()?;
            let mut rest = &after[digits..];
            if let Some(r) = rest.strip_prefix(':') {
                let col = r.bytes().take_while(u8::is_ascii_digit).count();
                rest = if col > 0 { &r[col..] } else { rest };
            }
            let ends_ok = rest.is_empty() || rest.starts_with([':', ' ', '\t', ')', ',']);
            if ends_ok && line > 0 {
                return Some((path, line, rest));
            }
        }
        search = colon + 1;
        // Windows drive letters (`C:\...`) contain a colon inside the path: keep looking.
        if !(colon == 1 && s.as_bytes()[0].is_ascii_alphabetic()) {
            return None;
        }
    }
    None
}

fn plausible_path(path: &str) -> bool {
    if path.is_empty() || path.contains("://") || path.contains(char::is_whitespace) {
        return false;
    }
    if path.contains(['"', '\'', '<', '>', '(', ')', '[', ']', '`']) {
        return false;
    }
    let last = path.rsplit(['/', '\\']).next().unwrap_or(path);
    match last.rsplit_once('.') {
        Some((stem, ext)) => {
            !stem.is_empty()
                && (1..=10).contains(&ext.len())
                && ext.bytes().all(|b| b.is_ascii_alphanumeric())
                && ext.bytes().any(|b| b.is_ascii_alphabetic())
        }
        None => false,
    }
}

/// For a `path:line: error: message` line (XCTest's failure line), the message.
pub fn error_line(line: &str) -> Option<&str> {
    let (_, _, rest) = parse_loc(line.trim_start())?;
    let msg = rest
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix("error:")?;
    Some(msg.trim())
}

/// A Python traceback frame: `File "tests/x.py", line 33, in test_y`.
fn python_frame(line: &str) -> Option<(&str, u32)> {
    let rest = line.strip_prefix("File \"")?;
    let (path, rest) = rest.split_once('"')?;
    let rest = rest.strip_prefix(", line ")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    let n: u32 = rest[..digits].parse().ok()?;
    (plausible_path(path) && n > 0).then_some((path, n))
}

/// Every location in `text`, in order.
fn scan(text: &str, out: &mut Vec<Found>) {
    for raw in text.lines() {
        let line = raw.trim_start();
        if let Some(idx) = line.find("panicked at ") {
            if let Some((p, n, _)) = parse_loc(&line[idx + "panicked at ".len()..]) {
                out.push(Found {
                    path: p.to_string(),
                    line: n,
                    kind: Kind::Panic,
                });
                continue;
            }
        }
        if let Some((p, n)) = python_frame(line) {
            out.push(Found {
                path: p.to_string(),
                line: n,
                kind: Kind::Plain,
            });
            continue;
        }
        if let Some((p, n, rest)) = parse_loc(line) {
            let kind = if rest
                .trim_start_matches(':')
                .trim_start()
                .starts_with("error:")
            {
                Kind::Error
            } else {
                Kind::Plain
            };
            out.push(Found {
                path: p.to_string(),
                line: n,
                kind,
            });
        }
    }
}

/// Locates a test case's failure. `base` is the folder the test command ran in (paths
/// in the file are relative to it); `root` the workspace root. Locations outside the
/// workspace (site-packages, the Rust standard library) are never chosen.
pub fn locate(case: &TestCase, producer: Producer, base: &Path, root: &Path) -> Option<Location> {
    let rel = |p: &str| {
        let r = crate::paths::relativize(p, base, root);
        (!Path::new(&r).is_absolute() && !r.starts_with("../")).then_some(r)
    };
    let mut found = Vec::new();
    for issue in &case.issues {
        if matches!(
            issue.kind,
            IssueKind::Failure | IssueKind::Error | IssueKind::RerunFailure | IssueKind::RerunError
        ) {
            if let Some(m) = &issue.message {
                scan(m, &mut found);
            }
            scan(&issue.text, &mut found);
        }
    }
    let inside: Vec<(String, u32, Kind)> = found
        .into_iter()
        .filter_map(|f| rel(&f.path).map(|p| (p, f.line, f.kind)))
        .collect();

    if let Some(file) = case.file.as_deref().and_then(rel) {
        // The text names the failing line; the attribute only the test's definition
        // (pytest even writes it 0-based). Prefer the text when it is the same file.
        if let Some((_, line, _)) = inside.iter().rev().find(|(p, _, _)| *p == file) {
            return Some(Location {
                file,
                line: Some(*line),
            });
        }
        let line = case.line.map(|l| {
            if producer == Producer::Pytest {
                l + 1
            } else {
                l
            }
        });
        return Some(Location {
            file,
            line: line.filter(|l| *l > 0),
        });
    }
    let best = inside
        .iter()
        .filter(|(_, _, k)| *k != Kind::Plain)
        .min_by_key(|(_, _, k)| *k)
        .or_else(|| inside.last())?;
    Some(Location {
        file: best.0.clone(),
        line: Some(best.1),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::junit::Issue;

    fn case(text: &str, file: Option<&str>, line: Option<u32>) -> TestCase {
        TestCase {
            name: "t".into(),
            file: file.map(String::from),
            line,
            issues: vec![Issue {
                kind: IssueKind::Failure,
                message: None,
                kind_name: None,
                text: text.into(),
            }],
            ..TestCase::default()
        }
    }

    const ROOT: &str = "/ws";

    fn loc(c: &TestCase, p: Producer) -> Option<(String, Option<u32>)> {
        locate(c, p, Path::new(ROOT), Path::new(ROOT)).map(|l| (l.file, l.line))
    }

    #[test]
    fn parses_location_forms() {
        assert_eq!(parse_loc("a/b.py:12: E"), Some(("a/b.py", 12, ": E")));
        assert_eq!(parse_loc("src/lib.rs:20:9:"), Some(("src/lib.rs", 20, ":")));
        assert_eq!(
            parse_loc("C:\\x\\y.swift:3: error"),
            Some(("C:\\x\\y.swift", 3, ": error"))
        );
        assert_eq!(parse_loc("12:30:01 started"), None);
        assert_eq!(parse_loc("http://host.com:80/x"), None);
        assert_eq!(parse_loc("Makefile:3: x"), None);
    }

    #[test]
    fn pytest_takes_the_last_frame_inside_the_workspace() {
        let text = "tests/test_a.py:10: in test_x\n    helper()\nsrc/pkg/m.py:4: in helper\n/usr/lib/python3/site-packages/x.py:99: ValueError";
        let c = case(text, None, None);
        assert_eq!(
            loc(&c, Producer::Pytest),
            Some(("src/pkg/m.py".into(), Some(4)))
        );
    }

    #[test]
    fn panic_and_error_lines_win() {
        let c = case(
            "thread 'a' panicked at src/lib.rs:20:9:\nboom\n   at ./src/other.rs:3:1",
            None,
            None,
        );
        assert_eq!(
            loc(&c, Producer::Nextest),
            Some(("src/lib.rs".into(), Some(20)))
        );
        let c = case("Test Case started\n/ws/Tests/AT/FooTests.swift:42: error: -[AT.FooTests testX] : failed\nTests/AT/x.swift:1: note", None, None);
        assert_eq!(
            loc(&c, Producer::Swift),
            Some(("Tests/AT/FooTests.swift".into(), Some(42)))
        );
    }

    #[test]
    fn attributes_are_refined_by_text_and_fixed_for_pytest() {
        let c = case(
            "tests/t.py:18: AssertionError",
            Some("tests/t.py"),
            Some(15),
        );
        assert_eq!(
            loc(&c, Producer::Pytest),
            Some(("tests/t.py".into(), Some(18)))
        );
        let c = case("no location here", Some("tests/t.py"), Some(15));
        assert_eq!(
            loc(&c, Producer::Pytest),
            Some(("tests/t.py".into(), Some(16)))
        );
        assert_eq!(
            loc(&c, Producer::Unknown),
            Some(("tests/t.py".into(), Some(15)))
        );
    }

    #[test]
    fn python_traceback_frames_count() {
        let text = "Traceback (most recent call last):\n  File \"tests/p/test_s.py\", line 33, in t\n  File \"/usr/lib/python3.12/json.py\", line 5, in x\nAssertionError";
        let c = case(text, Some("tests/p/test_s.py"), Some(30));
        assert_eq!(
            loc(&c, Producer::Unknown),
            Some(("tests/p/test_s.py".into(), Some(33)))
        );
    }

    #[test]
    fn nothing_found_outside_the_workspace() {
        let c = case("/rustc/abc/library/core/src/panicking.rs:5: x", None, None);
        assert_eq!(loc(&c, Producer::Unknown), None);
        assert_eq!(
            loc(&case("plain failure", None, None), Producer::Unknown),
            None
        );
    }
}

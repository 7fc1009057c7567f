//! Ruff's two reports: `ruff check --output-format json` (a JSON array) and the text
//! `ruff format --check` prints, in both the old (`Would reformat: path`, ruff < 0.9)
//! and the current (diagnostic blocks with ` --> path:line:col`) shapes.

use serde::Deserialize;

use super::diagnostic::{split_location, Diagnostic, FormatError, Loc, Severity};
use super::json_array::{self, ArrayError};

const JSON_HINT: &str = "produce it with `ruff check --output-format json`";

#[derive(Debug, Deserialize)]
struct Location {
    row: u32,
    column: u32,
}

#[derive(Debug, Deserialize)]
struct Fix {
    /// `safe`, `unsafe` or `display-only` (ruff >= 0.1); absent in older versions,
    /// where every offered fix was applied by `--fix`.
    #[serde(default)]
    applicability: Option<String>,
}

#[derive(Debug, Deserialize)]
struct Entry {
    /// `null` for syntax errors in some ruff versions (others say `E999` or
    /// `invalid-syntax`).
    code: Option<String>,
    message: String,
    filename: String,
    location: Option<Location>,
    #[serde(default)]
    end_location: Option<Location>,
    #[serde(default)]
    fix: Option<Fix>,
    #[serde(default)]
    url: Option<String>,
}

/// Parses `ruff check --output-format json` output.
pub fn parse_json(tool: &str, text: &str) -> Result<Vec<Diagnostic>, FormatError> {
    let err = |detail: String| FormatError {
        what: "ruff JSON output",
        expected: "expected an array of diagnostics",
        detail,
        hint: JSON_HINT,
    };
    let mut out = Vec::new();
    json_array::for_each::<Entry, _>(text, |_, e| {
        // `ruff check --fix` applies only safe fixes (unsafe ones need --unsafe-fixes),
        // so "fixable" means what our `lint --fix` would fix.
        let fixable = e
            .fix
            .as_ref()
            .is_some_and(|f| f.applicability.as_deref().is_none_or(|a| a == "safe"));
        let mut d = Diagnostic::new(tool, Severity::Error, e.message);
        d.rule = Some(e.code.unwrap_or_else(|| "syntax-error".to_string()));
        d.file = Some(e.filename);
        d.line = e.location.as_ref().map(|l| l.row);
        d.column = e.location.as_ref().map(|l| l.column);
        d.end_line = e.end_location.as_ref().map(|l| l.row);
        d.end_column = e.end_location.as_ref().map(|l| l.column);
        d.fixable = fixable;
        d.url = e.url.filter(|u| !u.is_empty());
        out.push(d);
        Ok(())
    })
    .map_err(|e| err(array_detail(e, text, "a ruff diagnostic")))?;
    Ok(out)
}

/// What to say when a report is not the JSON array it should be.
pub(crate) fn array_detail(e: ArrayError, text: &str, entry: &str) -> String {
    match e {
        ArrayError::Empty => "the output is empty".to_string(),
        ArrayError::NotJson(e) => format!("not JSON: {e}; it starts with {:?}", head(text)),
        ArrayError::NotArray(kind) => format!("found {kind}"),
        ArrayError::Entry(e) => format!("{e} (expected {entry})"),
    }
}

/// The first few characters of `text`, for error messages.
pub(crate) fn head(text: &str) -> String {
    let t = text.trim_start();
    let mut s: String = t.chars().take(40).collect();
    if t.chars().count() > 40 {
        s.push('…');
    }
    s
}

fn unformatted(tool: &str, file: &str, line: Option<u32>, col: Option<u32>) -> Diagnostic {
    let mut d = Diagnostic::new(
        tool,
        Severity::Error,
        "File would be reformatted (run `ruff format`)",
    );
    d.rule = Some("unformatted".to_string());
    d.file = Some(file.to_string());
    d.line = line;
    d.column = col;
    d.fixable = true;
    d
}

fn syntax_error(tool: &str, rule: &str, loc: Loc, msg: &str) -> Diagnostic {
    let mut d = Diagnostic::new(tool, Severity::Error, msg.trim());
    d.rule = Some(rule.to_string());
    d.file = Some(loc.0.to_string());
    d.line = Some(loc.1);
    d.column = loc.2;
    d
}

/// Parses what `ruff format --check` prints (stdout and stderr together). Lines it
/// does not recognise (summaries, diffs, warnings) are skipped; a clean run yields
/// nothing.
pub fn parse_format_check(tool: &str, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    // The current format: a header `code: message`, then ` --> path:line:col`.
    let mut header: Option<(&str, &str)> = None;
    for line in text.lines() {
        let line = line.trim_end_matches('\r');
        if let Some(path) = line.strip_prefix("Would reformat: ") {
            out.push(unformatted(tool, path.trim(), None, None));
        } else if let Some(rest) = line.strip_prefix("error: Failed to parse ") {
            // `error: Failed to parse b.py:1:12: Expected ...`
            if let Some((loc, msg)) = split_loc_message(rest) {
                out.push(syntax_error(tool, "syntax-error", loc, msg));
            }
        } else if let Some(loc) = line
            .strip_prefix(' ')
            .and_then(|l| l.trim_start().strip_prefix("--> "))
        {
            // Indented by the width of the line numbers in the snippet that follows.
            if let (Some((code, msg)), Some(loc)) = (header.take(), split_location(loc.trim())) {
                out.push(block(tool, code, msg, loc));
            }
        } else if !line.starts_with(' ') && !line.is_empty() {
            header = header_of(line);
            // The concise format puts both on one line: `a.py:2:1: unformatted: File ...`.
            if header.is_none() {
                if let Some((loc, rest)) = split_loc_message(line) {
                    if let Some((code, msg)) = header_of(rest) {
                        out.push(block(tool, code, msg, loc));
                    }
                }
            }
        }
    }
    out
}

fn block(tool: &str, code: &str, msg: &str, loc: Loc) -> Diagnostic {
    if code == "unformatted" {
        unformatted(tool, loc.0, Some(loc.1), loc.2)
    } else {
        syntax_error(tool, code, loc, msg)
    }
}

/// `unformatted: File would be reformatted` -> (`unformatted`, `File would...`). Codes
/// are lowercase words with dashes; `warning:`/`error:` lines are ruff talking, not
/// findings.
fn header_of(line: &str) -> Option<(&str, &str)> {
    let (code, msg) = line.split_once(": ")?;
    let is_code = !code.is_empty()
        && code
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    (is_code && code != "warning" && code != "error").then_some((code, msg))
}

/// `path:line[:col]: message` -> location and message.
fn split_loc_message(s: &str) -> Option<(Loc<'_>, &str)> {
    // The message starts after the first ": " that follows a numeric location.
    let mut search = 0;
    while let Some(i) = s[search..].find(": ") {
        let at = search + i;
        if let Some(loc) = split_location(&s[..at]) {
            return Some((loc, &s[at + 2..]));
        }
        search = at + 2;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_entry_with_fix_and_url() {
        let text = r#"[{"cell":null,"code":"F401","end_location":{"column":10,"row":1},
            "filename":"/w/a.py","fix":{"applicability":"safe","edits":[],"message":"m"},
            "location":{"column":8,"row":1},"message":"`os` imported but unused",
            "noqa_row":1,"url":"https://docs.astral.sh/ruff/rules/unused-import"}]"#;
        let d = parse_json("ruff", text).unwrap();
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].rule.as_deref(), Some("F401"));
        assert_eq!((d[0].line, d[0].column), (Some(1), Some(8)));
        assert_eq!((d[0].end_line, d[0].end_column), (Some(1), Some(10)));
        assert!(d[0].fixable);
        assert_eq!(d[0].file.as_deref(), Some("/w/a.py"));
    }

    #[test]
    fn null_code_is_a_syntax_error_and_unsafe_fix_is_not_fixable() {
        let text = r#"[
          {"code":null,"filename":"b.py","location":{"row":1,"column":12},
           "end_location":null,"fix":null,"message":"SyntaxError: x","url":null},
          {"code":"B006","filename":"c.py","location":{"row":2,"column":1},
           "fix":{"applicability":"unsafe"},"message":"m"}]"#;
        let d = parse_json("ruff", text).unwrap();
        assert_eq!(d[0].rule.as_deref(), Some("syntax-error"));
        assert!(!d[0].fixable);
        assert_eq!(d[0].url, None);
        assert!(!d[1].fixable);
    }

    #[test]
    fn not_json_says_what_and_how() {
        let e = parse_json("ruff", "a.py:1:1: F401 unused")
            .err()
            .map(|e| e.to_string())
            .unwrap();
        assert!(
            e.starts_with("not ruff JSON output (expected an array"),
            "{e}"
        );
        assert!(e.contains("--output-format json"), "{e}");
        let e = parse_json("ruff", "{\"a\":1}")
            .err()
            .map(|e| e.to_string())
            .unwrap();
        assert!(e.contains("found an object"), "{e}");
        let e = parse_json("ruff", "[{\"code\":\"X\"}]")
            .err()
            .map(|e| e.to_string())
            .unwrap();
        assert!(e.contains("entry 0"), "{e}");
    }

    #[test]
    fn old_format_check_output() {
        let text = "Would reformat: pkg/a.py\n\
                    error: Failed to parse pkg/b.py:1:12: Expected a parameter\n\
                    1 file would be reformatted\n";
        let d = parse_format_check("ruff-format", text);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].file.as_deref(), Some("pkg/a.py"));
        assert!(d[0].fixable);
        assert_eq!(d[1].rule.as_deref(), Some("syntax-error"));
        assert_eq!((d[1].line, d[1].column), (Some(1), Some(12)));
        assert_eq!(d[1].message, "Expected a parameter");
    }

    #[test]
    fn new_and_concise_format_check_output() {
        let text = "unformatted: File would be reformatted\n  --> a.py:2:1\n  |\n\
                    1 | import os\n  - x=1\n\ninvalid-syntax: Expected `)`\n --> b.py:1:12\n\
                    c.py:3:1: unformatted: File would be reformatted\n\
                    warning: No Python files found\n2 files would be reformatted\n";
        let d = parse_format_check("ruff-format", text);
        assert_eq!(d.len(), 3, "{d:?}");
        assert_eq!(d[0].rule.as_deref(), Some("unformatted"));
        assert_eq!((d[0].line, d[0].column), (Some(2), Some(1)));
        assert_eq!(d[1].rule.as_deref(), Some("invalid-syntax"));
        assert!(!d[1].fixable);
        assert_eq!(d[2].file.as_deref(), Some("c.py"));
    }
}

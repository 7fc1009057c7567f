//! The generic compiler-style format: `file:line[:col]: severity: message`, one finding
//! per line, as gcc, mypy, SwiftFormat and many custom scripts print. A trailing
//! `[code]` (mypy) or leading `(rule)` (SwiftFormat) becomes the rule.

use super::diagnostic::{split_location, Diagnostic, Severity};

/// One recognised line, before it is attributed to a tool.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line<'a> {
    pub file: &'a str,
    pub line: u32,
    pub column: Option<u32>,
    pub severity: Severity,
    pub message: &'a str,
}

/// Recognises one `file:line[:col]: severity: message` line.
pub fn parse_line(text: &str) -> Option<Line<'_>> {
    let text = text.trim_end_matches('\r');
    // Try every ": " as the end of the location: file names may contain ": ".
    let mut search = 0;
    while let Some(i) = text[search..].find(": ") {
        let at = search + i;
        let rest = &text[at + 2..];
        if let Some((file, line, column)) = split_location(text[..at].trim_start()) {
            if let Some((word, message)) = rest.split_once(':') {
                if let Some(severity) = Severity::from_word(word) {
                    if !word.contains(char::is_whitespace) {
                        return Some(Line {
                            file,
                            line,
                            column,
                            severity,
                            message: message.trim(),
                        });
                    }
                }
            }
        }
        search = at + 2;
    }
    None
}

/// Turns a recognised line into a diagnostic, taking a `[code]` suffix as the rule.
pub fn to_diagnostic(tool: &str, l: &Line) -> Diagnostic {
    let (message, rule) = match l
        .message
        .strip_suffix(']')
        .and_then(|m| m.rsplit_once(" ["))
    {
        Some((msg, code)) if !code.is_empty() && !code.contains(char::is_whitespace) => {
            (msg.trim_end(), Some(code.to_string()))
        }
        _ => (l.message, None),
    };
    let mut d = Diagnostic::new(tool, l.severity, message);
    d.rule = rule;
    d.file = Some(l.file.to_string());
    d.line = (l.line > 0).then_some(l.line);
    d.column = l.column.filter(|c| *c > 0);
    d
}

/// Parses every recognised line; other lines (banners, summaries) are skipped.
pub fn parse(tool: &str, text: &str) -> Vec<Diagnostic> {
    text.lines()
        .filter_map(parse_line)
        .map(|l| to_diagnostic(tool, &l))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_and_without_column() {
        let d = parse(
            "mypy",
            "src/a.py:12:5: error: Incompatible types [assignment]\n\
             src/b.py:3: warning: unused\nFound 2 errors in 2 files\n",
        );
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].rule.as_deref(), Some("assignment"));
        assert_eq!(d[0].message, "Incompatible types");
        assert_eq!((d[0].line, d[0].column), (Some(12), Some(5)));
        assert_eq!(d[1].severity, Severity::Warning);
        assert_eq!((d[1].line, d[1].column), (Some(3), None));
    }

    #[test]
    fn windows_paths_and_colons_in_messages() {
        let l = parse_line("C:\\w\\a.py:1:2: note: see: here").unwrap_or_else(|| panic!());
        assert_eq!(l.file, "C:\\w\\a.py");
        assert_eq!(l.severity, Severity::Note);
        assert_eq!(l.message, "see: here");
        let l = parse_line("odd: name.py:4: error: x").unwrap_or_else(|| panic!());
        assert_eq!(l.file, "odd: name.py");
    }

    #[test]
    fn ignores_other_lines() {
        assert!(parse_line("warning: no location").is_none());
        assert!(parse_line("a.py:1: something else: x").is_none());
        assert!(parse_line("Done in 0.1s").is_none());
    }
}

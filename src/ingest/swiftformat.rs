//! SwiftFormat's `--lint` output (on stderr): one line per change it would make,
//! `/path/File.swift:12:1: error: (indent) Indent code in accordance with the scope level.`
//! (`warning:` with `--lenient`), among banner and summary lines. Lines without a
//! location are SwiftFormat talking about the run: `error:` ones (a file it could not
//! parse, a bad option) are kept as errors, `warning:` ones (e.g. no Swift version set)
//! as notes, since they are advice about the set-up rather than findings in code.

use super::diagnostic::{Diagnostic, Severity};
use super::generic;

pub fn parse(tool: &str, text: &str) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for raw in text.lines() {
        let line = raw.trim_end_matches('\r');
        if let Some(l) = generic::parse_line(line) {
            let mut d = generic::to_diagnostic(tool, &l);
            // Every located line is a change `swiftformat` (without --lint) would make.
            d.fixable = true;
            if let Some((rule, msg)) = leading_rule(l.message) {
                d.rule = Some(rule.to_string());
                d.message = msg.to_string();
            }
            out.push(d);
        } else if let Some(msg) = line.strip_prefix("error: ") {
            out.push(Diagnostic::new(tool, Severity::Error, msg.trim()));
        } else if let Some(msg) = line.strip_prefix("warning: ") {
            out.push(Diagnostic::new(tool, Severity::Note, msg.trim()));
        }
    }
    out
}

/// `(indent) Indent code...` -> (`indent`, `Indent code...`).
fn leading_rule(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix('(')?;
    let (rule, msg) = rest.split_once(')')?;
    let ok = !rule.is_empty() && rule.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    ok.then(|| (rule, msg.trim_start()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lint_lines_banners_and_run_messages() {
        let text = "Running SwiftFormat...\n(lint mode - no files will be changed.)\n\
            /w/Sources/A.swift:3:1: error: (indent) Indent code in accordance with the scope level.\n\
            /w/Sources/B.swift:1:1: warning: (sortImports) Sort import statements alphabetically.\n\
            warning: No swift version was specified, so some formatting features were disabled.\n\
            error: Unexpected token in /w/Sources/C.swift:4:2.\n\
            SwiftFormat completed in 0.02s.\nSource input did not pass lint check.\n\
            2/3 files require formatting.\n";
        let d = parse("swiftformat", text);
        assert_eq!(d.len(), 4, "{d:?}");
        assert_eq!(d[0].rule.as_deref(), Some("indent"));
        assert_eq!(
            d[0].message,
            "Indent code in accordance with the scope level."
        );
        assert_eq!(d[0].severity, Severity::Error);
        assert!(d[0].fixable);
        assert_eq!((d[0].line, d[0].column), (Some(3), Some(1)));
        assert_eq!(d[1].severity, Severity::Warning);
        assert_eq!(d[2].severity, Severity::Note);
        assert_eq!(d[2].file, None);
        assert_eq!(d[3].severity, Severity::Error);
        assert!(!d[3].fixable);
    }

    #[test]
    fn clean_run_has_no_findings() {
        let text = "Running SwiftFormat...\n(lint mode - no files will be changed.)\n\
                    SwiftFormat completed in 0.01s.\n0/3 files require formatting.\n";
        assert!(parse("swiftformat", text).is_empty());
    }
}

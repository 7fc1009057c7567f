//! SwiftLint's JSON reporter (`swiftlint lint --reporter json`): an array of
//! `{character, file, line, reason, rule_id, severity, type}`, where `character`, `file`
//! and `line` may be `null` and `severity` is `"Warning"` or `"Error"`.

use serde::Deserialize;

use super::diagnostic::{Diagnostic, FormatError, Severity};
use super::json_array;
use super::ruff::array_detail;
use crate::fs::clip;

#[derive(Debug, Deserialize)]
struct Entry {
    #[serde(default)]
    character: Option<u32>,
    #[serde(default)]
    file: Option<String>,
    #[serde(default)]
    line: Option<u32>,
    reason: String,
    rule_id: String,
    severity: String,
    /// The rule's display name ("Line Length"); kept out of the model, the id is enough.
    #[serde(default, rename = "type")]
    _kind: Option<String>,
}

pub fn parse(tool: &str, text: &str) -> Result<Vec<Diagnostic>, FormatError> {
    let err = |detail: String| FormatError {
        what: "SwiftLint JSON output",
        expected: "expected an array of violations",
        detail,
        hint: "produce it with `swiftlint lint --reporter json`",
    };
    let mut out = Vec::new();
    json_array::for_each::<Entry, _>(text, |i, e| {
        let severity = Severity::from_word(&e.severity).ok_or_else(|| {
            format!(
                "entry {i} has severity {:?} (expected \"Warning\" or \"Error\")",
                clip(&e.severity, 40)
            )
        })?;
        let mut d = Diagnostic::new(tool, severity, e.reason);
        d.rule = Some(e.rule_id);
        d.file = e.file.filter(|f| !f.is_empty());
        d.line = e.line.filter(|l| *l > 0);
        d.column = e.character.filter(|c| *c > 0);
        out.push(d);
        Ok(())
    })
    .map_err(|e| err(array_detail(e, text, "a SwiftLint violation")))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_nulls_and_severities() {
        let text = r#"[
          {"character":null,"file":"/w/A.swift","line":3,"reason":"r1",
           "rule_id":"line_length","severity":"Error","type":"Line Length"},
          {"character":5,"file":null,"line":null,"reason":"r2",
           "rule_id":"colon","severity":"Warning","type":"Colon Spacing"}]"#;
        let d = parse("swiftlint", text).unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].severity, Severity::Error);
        assert_eq!((d[0].line, d[0].column), (Some(3), None));
        assert_eq!(d[1].severity, Severity::Warning);
        assert_eq!(d[1].file, None);
        assert_eq!(d[1].rule.as_deref(), Some("colon"));
    }

    #[test]
    fn rejects_other_shapes() {
        assert!(parse("swiftlint", "A.swift:1:1: warning: x").is_err());
        assert!(parse("swiftlint", "{}").is_err());
        let e = parse(
            "swiftlint",
            r#"[{"reason":"r","rule_id":"x","severity":"Fatal?"}]"#,
        )
        .err()
        .map(|e| e.to_string())
        .unwrap();
        assert!(e.contains("Fatal?"), "{e}");
    }
}

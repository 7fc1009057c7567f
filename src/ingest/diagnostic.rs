//! The one lint diagnostic model every linter adapter produces, the report formats we
//! understand, and the error for output that is not in the format it claims to be.

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Error` sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Error,
    Warning,
    Note,
}

impl Severity {
    pub fn word(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Note => "note",
        }
    }

    /// Reads the severity words tools print (`error`, `Warning`, `info`...).
    pub fn from_word(word: &str) -> Option<Severity> {
        match word.trim().to_ascii_lowercase().as_str() {
            "error" | "fatal" | "err" => Some(Severity::Error),
            "warning" | "warn" => Some(Severity::Warning),
            "note" | "notice" | "info" | "hint" | "information" => Some(Severity::Note),
            _ => None,
        }
    }
}

/// One finding of one linter, whatever tool reported it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Diagnostic {
    /// The tool entry that reported it (`ruff-check`, `swiftlint`, a custom name...).
    pub tool: String,
    /// The tool's rule id (`F401`, `line_length`, `indent`); `None` when it gave none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    pub severity: Severity,
    /// Path relative to the workspace root, `/`-separated, once the phase has made it so
    /// (absolute only when the file lies outside the root). `None` for findings about
    /// the run rather than a file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    /// 1-based.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_line: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_column: Option<u32>,
    pub message: String,
    /// The tool's fix mode (`lint --fix`) would fix it.
    pub fixable: bool,
    /// Documentation of the rule, when the tool gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

impl Diagnostic {
    /// A diagnostic with only the required parts; adapters fill in the rest.
    pub fn new(tool: &str, severity: Severity, message: impl Into<String>) -> Self {
        Diagnostic {
            tool: tool.to_string(),
            rule: None,
            severity,
            file: None,
            line: None,
            column: None,
            end_line: None,
            end_column: None,
            message: message.into(),
            fixable: false,
            url: None,
        }
    }

    /// Caps what a tool wrote at sizes no real finding reaches (a message of 8 KiB, a
    /// path of 4 KiB, a rule of 256 bytes), so a hostile report cannot flood the log.
    pub fn cap_fields(&mut self) {
        use crate::fs::cap_field;
        self.message = cap_field(std::mem::take(&mut self.message), 8 * 1024);
        self.file = self.file.take().map(|f| cap_field(f, 4 * 1024));
        self.rule = self.rule.take().map(|r| cap_field(r, 256));
        self.url = self.url.take().map(|u| cap_field(u, 2 * 1024));
    }

    /// Order for reports and annotations: errors first, then by file and position.
    pub fn sort_key(&self) -> impl Ord + '_ {
        (
            self.severity,
            self.file.is_none(),
            self.file.as_deref(),
            self.line,
            self.column,
            self.rule.as_deref(),
            self.message.as_str(),
        )
    }
}

/// The report formats we can read. Names are what the config's `format:` key takes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Format {
    /// `ruff check --output-format json` (also `ruff format --check --output-format json`).
    RuffJson,
    /// The text `ruff format --check` prints (old `Would reformat:` lines or the newer
    /// diagnostic blocks).
    RuffFormat,
    /// `swiftlint lint --reporter json`.
    SwiftlintJson,
    /// `swiftformat --lint` text (`file:line:col: error: (rule) message`).
    Swiftformat,
    /// `file:line[:col]: severity: message` lines.
    Generic,
}

impl Format {
    pub const ALL: [Format; 5] = [
        Format::RuffJson,
        Format::RuffFormat,
        Format::SwiftlintJson,
        Format::Swiftformat,
        Format::Generic,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Format::RuffJson => "ruff-json",
            Format::RuffFormat => "ruff-format",
            Format::SwiftlintJson => "swiftlint-json",
            Format::Swiftformat => "swiftformat",
            Format::Generic => "generic",
        }
    }

    /// The report is on stdout only; stderr carries progress and warnings that would
    /// break a JSON document. Text formats read both streams (SwiftFormat writes its
    /// findings to stderr; old ruff writes parse failures there).
    pub fn stdout_only(self) -> bool {
        matches!(self, Format::RuffJson | Format::SwiftlintJson)
    }

    /// Parses a tool's output into diagnostics attributed to `tool`. File paths are left
    /// as the tool printed them.
    pub fn parse(self, tool: &str, text: &str) -> Result<Vec<Diagnostic>, FormatError> {
        let mut found = self.parse_all(tool, text)?;
        for d in &mut found {
            d.cap_fields();
        }
        Ok(found)
    }

    fn parse_all(self, tool: &str, text: &str) -> Result<Vec<Diagnostic>, FormatError> {
        match self {
            Format::RuffJson => super::ruff::parse_json(tool, text),
            Format::RuffFormat => Ok(super::ruff::parse_format_check(tool, text)),
            Format::SwiftlintJson => super::swiftlint::parse(tool, text),
            Format::Swiftformat => Ok(super::swiftformat::parse(tool, text)),
            Format::Generic => Ok(super::generic::parse(tool, text)),
        }
    }
}

/// Output that is not in the format it was said to be in. Displayed after the source
/// ("tests/x.json: not ruff JSON output (...)"), so it names neither file nor tool.
#[derive(Debug, thiserror::Error)]
#[error("not {what} ({expected}): {detail} — {hint}")]
pub struct FormatError {
    /// "ruff JSON output"
    pub what: &'static str,
    /// "expected an array"
    pub expected: &'static str,
    /// What we found instead.
    pub detail: String,
    /// How to produce the right thing.
    pub hint: &'static str,
}

/// A place as tools print it: file, line and (optionally) column.
pub type Loc<'a> = (&'a str, u32, Option<u32>);

/// Splits `file:line[:col]` from the right, so that Windows drive letters and colons in
/// file names stay in the file part. Returns `None` unless `line` is a number.
pub fn split_location(loc: &str) -> Option<Loc<'_>> {
    let (rest, last) = loc.rsplit_once(':')?;
    let last_n: u32 = last.trim().parse().ok()?;
    match rest.rsplit_once(':') {
        Some((file, line)) if !file.is_empty() => match line.trim().parse::<u32>() {
            Ok(line_n) => Some((file, line_n, Some(last_n))),
            Err(_) => Some((rest, last_n, None)),
        },
        _ if !rest.is_empty() => Some((rest, last_n, None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_locations() {
        assert_eq!(split_location("a.py:3:4"), Some(("a.py", 3, Some(4))));
        assert_eq!(split_location("a.py:3"), Some(("a.py", 3, None)));
        assert_eq!(
            split_location("C:\\x\\a.py:3:4"),
            Some(("C:\\x\\a.py", 3, Some(4)))
        );
        assert_eq!(
            split_location("C:\\x\\a.py:3"),
            Some(("C:\\x\\a.py", 3, None))
        );
        assert_eq!(split_location("a.py"), None);
        assert_eq!(split_location(":3"), None);
        assert_eq!(split_location("a.py:x"), None);
    }

    #[test]
    fn severity_words() {
        assert_eq!(Severity::from_word("Warning"), Some(Severity::Warning));
        assert_eq!(Severity::from_word("ERROR"), Some(Severity::Error));
        assert_eq!(Severity::from_word("info"), Some(Severity::Note));
        assert_eq!(Severity::from_word("fixed"), None);
    }

    #[test]
    fn errors_sort_first_then_by_place() {
        let mut a = Diagnostic::new("t", Severity::Warning, "w");
        a.file = Some("a.py".into());
        let mut b = Diagnostic::new("t", Severity::Error, "e");
        b.file = Some("z.py".into());
        b.line = Some(9);
        let mut c = Diagnostic::new("t", Severity::Error, "e");
        c.file = Some("z.py".into());
        c.line = Some(2);
        let mut v = [a, b, c];
        v.sort_by(|x, y| x.sort_key().cmp(&y.sort_key()));
        assert_eq!(v[0].line, Some(2));
        assert_eq!(v[1].line, Some(9));
        assert_eq!(v[2].severity, Severity::Warning);
    }
}

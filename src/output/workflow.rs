//! Workflow commands (`::error ...::msg`, `::group::`, `::add-mask::`) with the toolkit's
//! escaping, and the neutraliser every other line goes through, so that no untrusted text
//! can end, forge or start a command.

use std::fmt::Write as _;

/// Escapes the message part of a workflow command the way `@actions/core` does:
/// `%` first (so our own escapes are not re-read), then CR and LF. A message can then
/// never span lines, and a `::` inside it is harmless because commands only start at
/// the beginning of a line.
pub fn escape_data(s: &str) -> String {
    escape(s, false)
}

/// Escapes a property value (`file=`, `title=`...): as [`escape_data`] plus `:` and `,`,
/// which would otherwise end the property list or split a property.
pub fn escape_property(s: &str) -> String {
    escape(s, true)
}

fn escape(s: &str, property: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' if property => out.push_str("%3A"),
            ',' if property => out.push_str("%2C"),
            _ => out.push(c),
        }
    }
    out
}

/// One workflow command line we built (without the trailing newline). It can only be made
/// by [`command`], so the console can tell our commands from text: this is the only kind of
/// line it writes without [`neutralize`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WorkflowCommand {
    name: &'static str,
    line: String,
}

impl WorkflowCommand {
    /// The command's name (`error`, `group`, `add-mask`...).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The whole line, `::name props::data`.
    pub fn as_str(&self) -> &str {
        &self.line
    }
}

/// Builds one workflow command. `properties` with an empty value are left out. The name
/// is a literal of ours; properties and message are escaped, so they cannot end the line,
/// the property list or the command.
pub fn command(
    name: &'static str,
    properties: &[(&str, String)],
    message: &str,
) -> WorkflowCommand {
    let mut line = format!("::{name}");
    let mut first = true;
    for (key, value) in properties {
        if value.is_empty() {
            continue;
        }
        line.push(if first { ' ' } else { ',' });
        first = false;
        let _ = write!(line, "{key}={}", escape_property(value));
    }
    line.push_str("::");
    line.push_str(&escape_data(message));
    WorkflowCommand { name, line }
}

/// Zero-width space: splits `::` and `##[` without changing what a reader sees.
const BREAK: char = '\u{200B}';

/// Makes text inert for the runner's command parser (actions/runner `ActionCommand`):
/// it reads output line by line, ending lines at LF, CR or CRLF; runs `::name::` when it
/// starts a line after `TrimStart()` (Unicode whitespace); and runs the legacy `##[name]`
/// form anywhere in a line. So every line ending becomes LF, a `::` that would start a
/// line becomes `:` ZWSP `:`, and every `##[` becomes `##` ZWSP `[`. The text reads the
/// same in the log. Idempotent.
pub fn neutralize(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 8);
    let mut rest = text;
    loop {
        let end = rest.find(['\r', '\n']).unwrap_or(rest.len());
        neutralize_line(&rest[..end], &mut out);
        if end == rest.len() {
            break;
        }
        out.push('\n');
        let skip = if rest[end..].starts_with("\r\n") {
            2
        } else {
            1
        };
        rest = &rest[end + skip..];
    }
    out
}

/// A JSON document made inert without changing what it means: `##[` can only occur inside
/// a string there, where `[` may be written `\u005b`; and no line of JSON starts with `::`.
/// Returns `None` when `text` is not one JSON document (then [`neutralize`] applies), so a
/// consumer parsing our `--format json` output gets exactly the names we read.
pub fn inert_json(text: &str) -> Option<String> {
    let t = text.trim_start();
    if !(t.starts_with('{') || t.starts_with('[')) {
        return None;
    }
    serde_json::from_str::<serde::de::IgnoredAny>(text).ok()?;
    Some(text.replace("##[", "##\\u005b"))
}

fn neutralize_line(line: &str, out: &mut String) {
    let body = line.trim_start();
    out.push_str(&line[..line.len() - body.len()]);
    let body = match body.strip_prefix("::") {
        Some(after) => {
            out.push(':');
            out.push(BREAK);
            out.push(':');
            after
        }
        None => body,
    };
    let mut parts = body.split("##[");
    if let Some(first) = parts.next() {
        out.push_str(first);
    }
    for part in parts {
        out.push_str("##");
        out.push(BREAK);
        out.push('[');
        out.push_str(part);
    }
}

/// A random token for `::stop-commands::`, unguessable by the text it fences.
pub fn random_token() -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    (0..32)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_escaping_matches_toolkit() {
        assert_eq!(escape_data("50% done\r\nnext"), "50%25 done%0D%0Anext");
        assert_eq!(escape_data("a:b,c"), "a:b,c");
    }

    #[test]
    fn property_escaping_matches_toolkit() {
        assert_eq!(escape_property("C:\\x,y%\n"), "C%3A\\x%2Cy%25%0A");
    }

    #[test]
    fn command_builds_and_skips_empty_properties() {
        let line = command(
            "error",
            &[
                ("file", "a.py".into()),
                ("line", String::new()),
                ("title", "x:y".into()),
            ],
            "bad\n::set-output name=x::y",
        );
        assert_eq!(
            line.as_str(),
            "::error file=a.py,title=x%3Ay::bad%0A::set-output name=x::y"
        );
        assert_eq!(line.name(), "error");
        assert_eq!(command("endgroup", &[], "").as_str(), "::endgroup::");
    }

    #[test]
    fn neutralize_breaks_both_command_forms_and_every_line_ending() {
        let z = '\u{200B}';
        assert_eq!(neutralize("::error::x"), format!(":{z}:error::x"));
        assert_eq!(neutralize(" \t::error::x"), format!(" \t:{z}:error::x"));
        assert_eq!(
            neutralize("a ##[error]b ###[x]"),
            format!("a ##{z}[error]b ###{z}[x]")
        );
        assert_eq!(
            neutralize("a\r::warning::b\r\n  ::notice::c\nd::e"),
            format!("a\n:{z}:warning::b\n  :{z}:notice::c\nd::e")
        );
        // Unicode whitespace is trimmed by the runner too.
        assert_eq!(neutralize("\u{3000}::x::"), format!("\u{3000}:{z}:x::"));
        assert_eq!(neutralize("plain\n"), "plain\n");
        let once = neutralize("::a::\n##[b]\r\n");
        assert_eq!(neutralize(&once), once);
    }

    #[test]
    fn json_stays_the_same_document() {
        let doc = "{\n  \"name\": \"a ##[error]x\\n::warning::y\"\n}\n";
        let inert = inert_json(doc).unwrap();
        assert!(!inert.contains("##["), "{inert}");
        assert_eq!(neutralize(&inert), inert);
        let a: serde_json::Value = serde_json::from_str(doc).unwrap();
        let b: serde_json::Value = serde_json::from_str(&inert).unwrap();
        assert_eq!(a, b);
        assert_eq!(inert_json("Tests: ##[x]"), None);
        assert_eq!(inert_json("[not json"), None);
    }

    #[test]
    fn tokens_are_random_hex() {
        let a = random_token();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_token());
    }
}

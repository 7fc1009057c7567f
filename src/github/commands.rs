//! Workflow commands (`::error ...::msg`, `::group::`, `::stop-commands::`) with the
//! toolkit's escaping, so that no untrusted text can end or forge a command.

use std::fmt::Write as _;

/// Escapes the message part of a workflow command the way `@actions/core` does:
/// `%` first (so our own escapes are not re-read), then CR and LF. A message can then
/// never span lines, and a `::` inside it is harmless because commands only start at
/// the beginning of a line.
pub fn escape_data(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            _ => out.push(c),
        }
    }
    out
}

/// Escapes a property value (`file=`, `title=`...): as [`escape_data`] plus `:` and `,`,
/// which would otherwise end the property list or split a property.
pub fn escape_property(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => out.push_str("%25"),
            '\r' => out.push_str("%0D"),
            '\n' => out.push_str("%0A"),
            ':' => out.push_str("%3A"),
            ',' => out.push_str("%2C"),
            _ => out.push(c),
        }
    }
    out
}

/// Builds one workflow command line (without the trailing newline).
/// `properties` with an empty value are left out.
pub fn command(name: &str, properties: &[(&str, String)], message: &str) -> String {
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
    line
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
            line,
            "::error file=a.py,title=x%3Ay::bad%0A::set-output name=x::y"
        );
        assert_eq!(command("endgroup", &[], ""), "::endgroup::");
    }

    #[test]
    fn tokens_are_random_hex() {
        let a = random_token();
        assert_eq!(a.len(), 32);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, random_token());
    }
}

//! The two files a step may write to: `GITHUB_STEP_SUMMARY` (Markdown, capped at 1 MiB)
//! and `GITHUB_OUTPUT` (name/value pairs, written as heredocs with random delimiters).

use anyhow::{Context, Result};
use std::io::Write;
use std::path::Path;

use super::workflow::random_token;

/// GitHub refuses step summaries over 1 MiB; stay a little under it.
pub const SUMMARY_LIMIT: usize = 1024 * 1024 - 1024;

/// Cuts `markdown` so that what is already in the file plus what we add stays under
/// [`SUMMARY_LIMIT`], ending with a note that says where the rest is.
pub fn fit_summary(markdown: &str, already: usize, rest_at: &str) -> String {
    let room = SUMMARY_LIMIT.saturating_sub(already);
    if markdown.len() <= room {
        return markdown.to_string();
    }
    let note = format!(
        "\n\n> **Summary truncated** to stay under GitHub's 1 MiB limit; the full report is in {}.\n",
        crate::output::markdown::code(rest_at)
    );
    // Room for the note and for closing what the cut leaves open (a code fence, folds).
    let mut cut = room.saturating_sub(note.len() + 1024);
    while cut > 0 && !markdown.is_char_boundary(cut) {
        cut -= 1;
    }
    // Do not leave half a table row or line behind.
    let body = &markdown[..cut];
    let body = body.rfind('\n').map_or(body, |i| &body[..i]);
    let closers = crate::output::markdown::closers(body);
    format!("{body}{closers}{note}")
}

/// Appends a Markdown section to the step summary file.
pub fn append_summary(path: &Path, markdown: &str, rest_at: &str) -> Result<()> {
    let already = std::fs::metadata(path)
        .map(|m| m.len() as usize)
        .unwrap_or(0);
    let text = fit_summary(markdown, already, rest_at);
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the step summary file {}", path.display()))?;
    writeln!(f, "{text}").with_context(|| format!("cannot write {}", path.display()))
}

/// Formats step outputs in the multi-line form `name<<DELIM\nvalue\nDELIM`. The delimiter
/// is random per value and checked against the value, so a value cannot close it early
/// and smuggle in another output.
pub fn format_outputs(pairs: &[(String, String)]) -> String {
    let mut out = String::new();
    for (name, value) in pairs {
        let delim = loop {
            let d = format!("ghadelimiter_{}", random_token());
            if !value.contains(&d) {
                break d;
            }
        };
        out.push_str(&format!("{name}<<{delim}\n{value}\n{delim}\n"));
    }
    out
}

/// Appends outputs to the `GITHUB_OUTPUT` file.
pub fn append_outputs(path: &Path, pairs: &[(String, String)]) -> Result<()> {
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .with_context(|| format!("cannot open the step output file {}", path.display()))?;
    f.write_all(format_outputs(pairs).as_bytes())
        .with_context(|| format!("cannot write {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_summary_is_unchanged() {
        assert_eq!(fit_summary("# hi\n", 0, "x.json"), "# hi\n");
    }

    #[test]
    fn large_summary_is_cut_with_note() {
        let line = "| a | b |\n";
        let big = line.repeat(SUMMARY_LIMIT / line.len() + 100);
        let fitted = fit_summary(&big, 1000, ".htdemucs-devops/lint.json");
        assert!(fitted.len() + 1000 <= SUMMARY_LIMIT);
        assert!(fitted.contains("Summary truncated"));
        assert!(fitted.contains("<code>.htdemucs\\-devops/lint.json</code>"));
        // Only whole rows survive.
        let body = fitted.split("\n\n> **Summary").next().unwrap();
        assert!(body.lines().all(|l| l == "| a | b |"));
    }

    #[test]
    fn outputs_use_random_delimiters() {
        let text = format_outputs(&[("verdict".into(), "ok\nEOF\nx=y".into())]);
        let first = text.lines().next().unwrap();
        let delim = first.strip_prefix("verdict<<").unwrap();
        assert!(delim.starts_with("ghadelimiter_") && delim.len() > 20);
        assert_eq!(text, format!("verdict<<{delim}\nok\nEOF\nx=y\n{delim}\n"));
    }
}

//! Markdown building blocks for the step summary and the PR comment. Everything that
//! came from outside (test names, lint messages, paths) goes through [`escape`]: the
//! Markdown templates' formatter (`crate::output::templates`) applies it to every value not marked
//! safe; tracebacks go through [`pre`].

use crate::html;

/// Escapes untrusted text for inline use in GitHub-flavoured Markdown, including table
/// cells: HTML metacharacters become entities, other Markdown punctuation is
/// backslash-escaped, line breaks become spaces and `@` cannot mention anyone.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if let Some(e) = html::entity(c) {
            out.push_str(e);
            continue;
        }
        match c {
            '\r' | '\n' => out.push(' '),
            // A zero-width space after @ stops GitHub from turning it into a mention.
            '@' => out.push_str("@\u{200B}"),
            '\\' | '`' | '*' | '_' | '{' | '}' | '[' | ']' | '(' | ')' | '#' | '+' | '-' | '!'
            | '|' | '~' | '$' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// Inline code with escaped content (GitHub renders `<code>` and escapes still apply).
pub fn code(s: &str) -> String {
    format!("<code>{}</code>", escape(s))
}

/// A fenced code block whose fence is longer than any backtick run inside `text`, so
/// the text cannot close it. Used for raw tool output.
pub fn fenced(text: &str, lang: &str) -> String {
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest.max(2) + 1);
    let body = text.trim_end_matches('\n');
    format!("{fence}{lang}\n{body}\n{fence}\n")
}

/// Untrusted multi-line text as a `<pre>` block. GitHub does not read Markdown inside
/// `<pre>` and the block can only end at `</pre>`, which escaping makes impossible, so
/// tracebacks show verbatim and nothing in them renders as HTML. (`@name` needs no
/// care here: GitHub makes no mentions inside `<pre>`, and decorators stay copyable.)
pub fn pre(text: &str) -> String {
    let mut out = String::from("<pre>");
    for c in text.trim_end().chars() {
        match html::entity(c) {
            Some(e) => out.push_str(e),
            None => out.push(c),
        }
    }
    out.push_str("</pre>\n");
    out
}

/// A `<details>` block: the summary line is escaped, the body is trusted Markdown.
pub fn details(summary: &str, body: &str) -> String {
    format!(
        "<details><summary>{}</summary>\n\n{}\n</details>\n",
        escape(summary),
        body.trim_end()
    )
}

/// What must follow a cut-off piece of our Markdown so that it closes like a whole one:
/// the fence of a code block left open, then one `</details>` for every `<details>`
/// left open. Without it a truncated step summary or comment would pull whatever comes
/// after it (the truncation note, the next step's section) into a code block or a fold.
pub fn closers(md: &str) -> String {
    let mut fence: Option<(char, usize)> = None;
    let mut open = 0usize;
    for line in md.lines() {
        let t = line.trim_start_matches(' ');
        let indented = line.len() - t.len() >= 4;
        let run = |c: char| t.chars().take_while(|&x| x == c).count();
        match fence {
            Some((c, n)) => {
                if !indented && run(c) >= n && t.trim_start_matches(c).trim().is_empty() {
                    fence = None;
                }
            }
            None => {
                let (ticks, tildes) = (run('`'), run('~'));
                if !indented && ticks >= 3 {
                    fence = Some(('`', ticks));
                } else if !indented && tildes >= 3 {
                    fence = Some(('~', tildes));
                } else {
                    open += line.matches("<details").count();
                    open = open.saturating_sub(line.matches("</details>").count());
                }
            }
        }
    }
    let mut out = String::new();
    if let Some((c, n)) = fence {
        out.push('\n');
        out.extend(std::iter::repeat_n(c, n));
    }
    for _ in 0..open {
        out.push_str("\n</details>");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_html_and_markdown() {
        assert_eq!(
            escape("<script>a|b</script> *x* @team\nnext"),
            "&lt;script&gt;a\\|b&lt;/script&gt; \\*x\\* @\u{200B}team next"
        );
    }

    #[test]
    fn fence_outgrows_content() {
        let f = fenced("a ```` b", "");
        assert!(f.starts_with("`````\n"));
        assert!(f.ends_with("\n`````\n"));
        assert_eq!(fenced("plain", "text"), "```text\nplain\n```\n");
    }

    #[test]
    fn closers_close_what_a_cut_left_open() {
        assert_eq!(
            closers("<details><summary>a</summary>\n\n```\nx"),
            "\n```\n</details>"
        );
        assert_eq!(
            closers("<details>\n````\n</details>\n```\n````\n</details>\n"),
            ""
        );
        assert_eq!(closers(&details("s", &fenced("a\n</details>", ""))), "");
        assert_eq!(closers("~~~\n<details>"), "\n~~~");
    }
}

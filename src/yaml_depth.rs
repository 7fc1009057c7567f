//! A linear pre-check of YAML nesting depth, run before a config or pipeline spec is
//! handed to the YAML parser: the parser's cost grows with depth for every token, so a
//! file nested thousands of levels deep (never a real config) is refused at once with
//! the line where it went too deep, instead of after minutes of parsing.
//!
//! The count is an over-estimate on purpose: indentation levels, `- ` / `? ` markers and
//! open flow brackets outside quotes, comments and block scalars all count.

/// Deepest nesting accepted. The configs this tool reads nest about six levels.
pub const MAX_DEPTH: usize = 64;

/// The YAML nests deeper than [`MAX_DEPTH`]; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "the YAML nests more than {MAX_DEPTH} levels deep, which no configuration needs; flatten it"
)]
pub struct TooDeep {
    pub line: usize,
}

/// Where the scan is across lines.
#[derive(Default)]
struct Scan {
    indents: Vec<usize>,
    flow: usize,
    /// Inside a multi-line quoted scalar: its quote character.
    quote: Option<u8>,
    /// Inside a block scalar (`|`, `>`): lines indented more than this belong to it.
    block_parent: Option<usize>,
}

/// Checks that `text` nests at most [`MAX_DEPTH`] levels.
pub fn check(text: &str) -> Result<(), TooDeep> {
    let mut s = Scan::default();
    for (i, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|&&b| b == b' ').count();
        let rest = &bytes[indent..];
        if let Some(parent) = s.block_parent {
            if rest.is_empty() || indent > parent {
                continue;
            }
            s.block_parent = None;
        }
        if s.quote.is_none() && s.flow == 0 {
            if rest.is_empty() || rest[0] == b'#' {
                continue;
            }
            while s.indents.last().is_some_and(|&top| top > indent) {
                s.indents.pop();
            }
            if s.indents.last().is_none_or(|&top| top < indent) {
                s.indents.push(indent);
            }
        }
        let deepest = s.line(rest);
        if s.indents.len() + deepest > MAX_DEPTH {
            return Err(TooDeep { line: i + 1 });
        }
        if s.quote.is_none() && s.flow == 0 && opens_block_scalar(rest) {
            s.block_parent = Some(indent);
        }
    }
    Ok(())
}

/// The value ends with a block scalar header (`|`, `>-`, `|2+`...).
fn opens_block_scalar(rest: &[u8]) -> bool {
    let code = match rest.windows(2).position(|w| w == b" #") {
        Some(p) => &rest[..p],
        None => rest,
    };
    let code = code.trim_ascii_end();
    let header_start = code
        .iter()
        .rposition(|&b| b == b'|' || b == b'>')
        .filter(|&p| p == 0 || code[p - 1] == b' ');
    header_start.is_some_and(|p| {
        code[p + 1..]
            .iter()
            .all(|&b| b == b'-' || b == b'+' || b.is_ascii_digit())
    })
}

impl Scan {
    /// Scans one line's content; returns the deepest nesting it reaches beyond the
    /// indentation levels.
    fn line(&mut self, rest: &[u8]) -> usize {
        let mut deepest = self.flow;
        let mut markers = 0usize;
        let mut at_token_start = true;
        let mut i = 0;
        while i < rest.len() {
            let b = rest[i];
            if let Some(q) = self.quote {
                if b == b'\\' && q == b'"' {
                    i += 2;
                    continue;
                }
                if b == q {
                    if q == b'\'' && rest.get(i + 1) == Some(&b'\'') {
                        i += 2;
                        continue;
                    }
                    self.quote = None;
                }
                i += 1;
                continue;
            }
            match b {
                b'#' if at_token_start || i == 0 => break,
                b'"' | b'\'' if at_token_start => self.quote = Some(b),
                b'[' | b'{' => {
                    self.flow += 1;
                    deepest = deepest.max(self.flow + markers);
                }
                b']' | b'}' => self.flow = self.flow.saturating_sub(1),
                b'-' | b'?'
                    if self.flow == 0
                        && at_token_start
                        && matches!(rest.get(i + 1), None | Some(b' ')) =>
                {
                    markers += 1;
                    deepest = deepest.max(self.flow + markers);
                }
                _ => {}
            }
            at_token_start = matches!(b, b' ' | b'\t' | b'[' | b'{' | b',' | b':');
            i += 1;
        }
        deepest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn real_configs_pass() {
        let text = "lint:\n  tools:\n    - name: ruff # a comment [[[[\n      command: [ruff, check, \"[x\"]\n      run: |\n        if [ -f x ]; then [[[[[\n        fi\n    - {a: [1, [2, [3]]]}\n";
        assert_eq!(check(text), Ok(()));
    }

    #[test]
    fn deep_flow_sequences_are_refused() {
        let deep = format!("a: {}{}\n", "[".repeat(100), "]".repeat(100));
        assert_eq!(check(&deep), Err(TooDeep { line: 1 }));
        let ok = format!("a: {}{}\n", "[".repeat(40), "]".repeat(40));
        assert_eq!(check(&ok), Ok(()));
        assert_eq!(check(&format!("x: \"{}\"\n", "[".repeat(100))), Ok(()));
    }

    #[test]
    fn deep_indentation_and_dashes_are_refused() {
        let mut text = String::new();
        for d in 0..100 {
            text.push_str(&" ".repeat(d));
            text.push_str("k:\n");
        }
        assert_eq!(check(&text), Err(TooDeep { line: 65 }));
        assert!(check(&format!("{}x\n", "- ".repeat(100))).is_err());
    }
}

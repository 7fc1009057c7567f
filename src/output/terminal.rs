//! Terminal rendering: colour that respects `NO_COLOR`, control-character sanitising, and
//! aligned plain-text tables whose cells can never break a line.

/// Colour on or off, decided once from the environment (see `RunEnv::color`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Style {
    pub color: bool,
}

impl Style {
    fn paint(self, code: &str, s: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{s}\x1b[0m")
        } else {
            s.to_string()
        }
    }
    pub fn bold(self, s: &str) -> String {
        self.paint("1", s)
    }
    pub fn red(self, s: &str) -> String {
        self.paint("31", s)
    }
    pub fn green(self, s: &str) -> String {
        self.paint("32", s)
    }
    pub fn yellow(self, s: &str) -> String {
        self.paint("33", s)
    }
    pub fn dim(self, s: &str) -> String {
        self.paint("2", s)
    }
}

/// Terminal output must not let tool text move the cursor or recolour the screen:
/// control characters other than tab are shown as `?`.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() && c != '\t' { '?' } else { c })
        .collect()
}

/// As [`sanitize`], but keeps our own colour codes (`ESC [ digits ; ... m`, what
/// [`Style`] writes) so that a cell can be styled and still never carry a line break,
/// a carriage return or a cursor movement.
pub fn sanitize_styled(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '\x1b' {
            let tail = &rest[1..];
            let params = tail.strip_prefix('[').map(|t| {
                t.len()
                    - t.trim_start_matches(|d: char| d.is_ascii_digit() || d == ';')
                        .len()
            });
            if let Some(n) = params.filter(|&n| tail[1 + n..].starts_with('m')) {
                out.push_str(&rest[..n + 3]);
                rest = &rest[n + 3..];
                continue;
            }
        }
        out.push(if c.is_control() && c != '\t' { '?' } else { c });
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// Display width, counting each char as one column (good enough for our ASCII-heavy
/// tables, and the symbols we use are single-width).
fn width(s: &str) -> usize {
    let mut w = 0;
    let mut in_escape = false;
    for c in s.chars() {
        match (in_escape, c) {
            (false, '\x1b') => in_escape = true,
            (true, 'm') => in_escape = false,
            (true, _) => {}
            (false, _) => w += 1,
        }
    }
    w
}

/// Renders rows as an aligned table. `right` marks right-aligned columns. Cells may
/// contain colour codes; widths ignore them. Headers and cells often carry untrusted names
/// (backends, metrics, stages, tests), so every one is sanitised here: a newline in a name
/// cannot start a line of its own.
pub fn table(headers: &[&str], rows: &[Vec<String>], right: &[bool]) -> String {
    let headers: Vec<String> = headers.iter().map(|h| sanitize_styled(h)).collect();
    let headers: Vec<&str> = headers.iter().map(String::as_str).collect();
    let rows: Vec<Vec<String>> = rows
        .iter()
        .map(|r| r.iter().map(|c| sanitize_styled(c)).collect())
        .collect();
    let cols = headers.len();
    let mut widths: Vec<usize> = headers.iter().map(|h| width(h)).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate().take(cols) {
            widths[i] = widths[i].max(width(cell));
        }
    }
    let fmt_row = |cells: Vec<&str>| {
        let mut line = String::new();
        for (i, cell) in cells.iter().enumerate() {
            let pad = widths[i].saturating_sub(width(cell));
            if i > 0 {
                line.push_str("  ");
            }
            if right.get(i).copied().unwrap_or(false) {
                line.push_str(&" ".repeat(pad));
                line.push_str(cell);
            } else {
                line.push_str(cell);
                if i + 1 < cols {
                    line.push_str(&" ".repeat(pad));
                }
            }
        }
        line.trim_end().to_string()
    };
    let mut out = fmt_row(headers.clone());
    out.push('\n');
    let total: usize = widths.iter().sum::<usize>() + 2 * cols.saturating_sub(1);
    out.push_str(&"─".repeat(total));
    out.push('\n');
    for row in &rows {
        let mut cells: Vec<&str> = row.iter().map(String::as_str).collect();
        cells.resize(cols, "");
        out.push_str(&fmt_row(cells));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_colour_is_plain() {
        assert_eq!(Style { color: false }.red("x"), "x");
        assert_eq!(Style { color: true }.red("x"), "\x1b[31mx\x1b[0m");
    }

    #[test]
    fn sanitizes_escapes() {
        assert_eq!(sanitize("a\x1b[2Jb\tc\n"), "a?[2Jb\tc?");
    }

    #[test]
    fn styled_sanitising_keeps_colour_only() {
        let s = Style { color: true };
        let red = s.red("a\nb");
        assert_eq!(sanitize_styled(&red), "\x1b[31ma?b\x1b[0m");
        assert_eq!(
            sanitize_styled("x\x1b[2Jy\x1b[1;31mz\r"),
            "x?[2Jy\x1b[1;31mz?"
        );
        assert_eq!(sanitize_styled("\x1b"), "?");
    }

    #[test]
    fn table_cells_cannot_break_lines() {
        let t = table(&["metric\n::error::x"], &[vec!["a\r\nb".into()]], &[false]);
        assert_eq!(t.lines().count(), 3, "{t}");
        assert!(t.starts_with("metric?::error::x\n"), "{t}");
        assert!(t.contains("a??b"), "{t}");
    }

    #[test]
    fn aligns_columns_ignoring_colour() {
        let s = Style { color: true };
        let t = table(
            &["name", "n"],
            &[
                vec![s.red("ab"), "1".into()],
                vec!["abcd".into(), "10".into()],
            ],
            &[false, true],
        );
        let plain: Vec<String> = t
            .lines()
            .map(|l| l.replace("\x1b[31m", "").replace("\x1b[0m", ""))
            .collect();
        assert_eq!(plain[0], "name   n");
        assert_eq!(plain[2], "ab     1");
        assert_eq!(plain[3], "abcd  10");
    }
}

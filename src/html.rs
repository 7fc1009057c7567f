//! The entities that keep text from being read as markup, shared by every escaper that
//! writes into HTML or XML (Markdown cells and `<pre>` blocks, SVG charts).

/// The entity for a character that must not appear raw in HTML/XML text or in a
/// double-quoted attribute; `None` for any other character.
#[inline]
pub fn entity(c: char) -> Option<&'static str> {
    match c {
        '&' => Some("&amp;"),
        '<' => Some("&lt;"),
        '>' => Some("&gt;"),
        '"' => Some("&quot;"),
        _ => None,
    }
}

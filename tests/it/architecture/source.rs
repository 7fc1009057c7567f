//! Reading Rust source as text for the import graph: code without comments or literal
//! contents, without `#[cfg(test)]` items, its `#[path]` modules and its `use` trees.

/// The source with comments removed and string/char literal contents blanked, so that
/// only code is scanned.
pub fn code_only(text: &str) -> String {
    let b: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let next = b.get(i + 1).copied();
        if c == '/' && next == Some('/') {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '/' && next == Some('*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == '/' && b.get(i + 1) == Some(&'*') {
                    depth += 1;
                    i += 2;
                } else if b[i] == '*' && b.get(i + 1) == Some(&'/') {
                    depth -= 1;
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    i += 1;
                }
            }
            out.push(' ');
        } else if c == 'r' && (next == Some('"') || next == Some('#')) && starts_literal(&b, i) {
            // Raw string r"..." / r#"..."#.
            let mut j = i + 1;
            let mut hashes = 0;
            while b.get(j) == Some(&'#') {
                hashes += 1;
                j += 1;
            }
            if b.get(j) != Some(&'"') {
                out.push(c);
                i += 1;
                continue;
            }
            j += 1;
            loop {
                if j >= b.len() {
                    break;
                }
                if b[j] == '"' && (0..hashes).all(|k| b.get(j + 1 + k) == Some(&'#')) {
                    j += 1 + hashes;
                    break;
                }
                j += 1;
            }
            out.push_str("\"\"");
            i = j;
        } else if c == '"' {
            let start = i + 1;
            i += 1;
            while i < b.len() && b[i] != '"' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            // `#[path = "..."]` keeps its file name: it says which file a module is.
            let attr = out.trim_end().strip_suffix('=').map(str::trim_end);
            if attr.is_some_and(|a| a.ends_with("#[path")) {
                out.push('"');
                out.extend(&b[start..i.min(b.len())]);
                out.push('"');
            } else {
                out.push_str("\"\"");
            }
            i += 1;
        } else if c == '\'' {
            // A char literal ('a', '\n', '\u{1F600}') or a lifetime ('a).
            if next == Some('\\') {
                let mut j = i + 3;
                while j < b.len() && b[j] != '\'' {
                    j += 1;
                }
                i = j + 1;
                out.push_str("' '");
            } else if b.get(i + 2) == Some(&'\'') {
                i += 3;
                out.push_str("' '");
            } else {
                out.push(c);
                i += 1;
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// Whether the `r` at `i` opens a raw string (`r"`, `br"`), not ends an identifier.
fn starts_literal(b: &[char], i: usize) -> bool {
    let ident = |k: usize| b.get(k).is_some_and(|p| is_ident(*p));
    match i.checked_sub(1) {
        None => true,
        Some(k) if b[k] == 'b' => k == 0 || !ident(k - 1),
        Some(k) => !ident(k),
    }
}

/// A `#[cfg(test)] mod name;` declaration: the module's name and its `#[path]`, if any.
#[derive(Debug)]
pub struct TestMod {
    pub name: String,
    pub path: Option<String>,
}

/// Removes every item marked `#[cfg(test)]` (with the attributes that follow it) and
/// returns the test-only child modules declared as `mod name;`.
pub fn strip_test_items(code: &str) -> (String, Vec<TestMod>) {
    const MARK: &str = "#[cfg(test)]";
    let mut out = String::with_capacity(code.len());
    let mut test_mods = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find(MARK) {
        out.push_str(&rest[..at]);
        let mut item = rest[at + MARK.len()..].trim_start();
        // Further attributes (`#[path = ...]`, `#[allow(...)]`).
        let mut path = None;
        while item.starts_with("#[") {
            let mut depth = 0;
            let mut end = item.len();
            for (k, ch) in item.char_indices() {
                match ch {
                    '[' => depth += 1,
                    ']' => {
                        depth -= 1;
                        if depth == 0 {
                            end = k + 1;
                            break;
                        }
                    }
                    _ => {}
                }
            }
            if let Some(p) = item[..end].strip_prefix("#[path") {
                path = Some(p.trim_matches(|c: char| " =\"]".contains(c)).to_string());
            }
            item = item[end..].trim_start();
        }
        // The item ends at its first `;` outside braces, or its closing brace.
        let mut depth = 0;
        let mut end = item.len();
        for (k, ch) in item.char_indices() {
            match ch {
                '{' => depth += 1,
                '}' => {
                    depth -= 1;
                    if depth == 0 {
                        end = k + 1;
                        break;
                    }
                }
                ';' if depth == 0 => {
                    end = k + 1;
                    break;
                }
                _ => {}
            }
        }
        let decl = item[..end].trim();
        if let Some(name) = decl
            .trim_start_matches("pub ")
            .strip_prefix("mod ")
            .and_then(|r| r.strip_suffix(';'))
        {
            test_mods.push(TestMod {
                name: name.trim().to_string(),
                path: path.take(),
            });
        }
        rest = &item[end..];
    }
    out.push_str(rest);
    (out, test_mods)
}

/// `#[path = "file"] mod name;` declarations (of non-test code): (file, name).
pub fn path_mods(code: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(at) = rest.find("#[path") {
        let after = &rest[at..];
        let Some(close) = after.find(']') else { break };
        let file = after["#[path".len()..close].trim_matches(|c: char| " =\"".contains(c));
        let mut item = after[close + 1..].trim_start();
        while item.starts_with("#[") {
            match item.find(']') {
                Some(k) => item = item[k + 1..].trim_start(),
                None => break,
            }
        }
        if let Some(r) = item.trim_start_matches("pub ").strip_prefix("mod ") {
            let name: String = r.chars().take_while(|c| is_ident(*c)).collect();
            out.push((file.to_string(), name));
        }
        rest = &after[close + 1..];
    }
    out
}

pub fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands a `use` tree (`crate::a::{b, c::{d as e, self}}`) into its paths.
pub fn expand_use(tree: &str) -> Vec<Vec<String>> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut chars = tree.chars().peekable();
    while let Some(c) = chars.next() {
        if is_ident(c) || c == '$' {
            word.push(c);
            continue;
        }
        if !word.is_empty() {
            tokens.push(std::mem::take(&mut word));
        }
        match c {
            ':' if chars.peek() == Some(&':') => {
                chars.next();
                tokens.push("::".to_string());
            }
            '{' | '}' | ',' | '*' => tokens.push(c.to_string()),
            _ => {}
        }
    }
    if !word.is_empty() {
        tokens.push(word);
    }
    let mut out = Vec::new();
    let mut pos = 0;
    expand_tokens(&tokens, &mut pos, &[], &mut out);
    out
}

fn expand_tokens(
    tokens: &[String],
    pos: &mut usize,
    prefix: &[String],
    out: &mut Vec<Vec<String>>,
) {
    let mut path = prefix.to_vec();
    while let Some(tok) = tokens.get(*pos) {
        *pos += 1;
        match tok.as_str() {
            "{" => {
                while let Some(t) = tokens.get(*pos) {
                    match t.as_str() {
                        "}" => {
                            *pos += 1;
                            break;
                        }
                        "," => *pos += 1,
                        _ => expand_tokens(tokens, pos, &path, out),
                    }
                }
                return;
            }
            "*" => break,
            "::" => {}
            // `self` inside a group is the group's prefix.
            "self" if !path.is_empty() => {}
            word => {
                path.push(word.to_string());
                if tokens.get(*pos).map(String::as_str) == Some("as") {
                    *pos += 2;
                }
                if tokens.get(*pos).map(String::as_str) != Some("::") {
                    break;
                }
            }
        }
    }
    out.push(path);
}

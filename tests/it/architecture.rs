//! The import graph of `src/`: no cycle among its modules, and only `phases/`, `cli.rs`
//! and `config.rs` reaching into `phases::`. Read from the source text (non-test code),
//! so a new arrow running back up fails here with the path of the cycle.
//!
//! A module is a top-level file or folder of `src/` (`bench/`, `console.rs`), except that
//! each `phases/<phase>` is its own module and so is each `phases/<phase>/config.rs`:
//! the root config composes the phases' sections, and a phase reads the root config, so
//! `config -> phases::X::config -> engines` must stay apart from `phases::X -> config`.
//! Arrows between files of one module (siblings in a folder) do not count.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Cycles known on this branch and removed by a concurrent re-cut; each entry is the
/// exact set of modules of one cycle.
const KNOWN_CYCLES: &[&[&str]] = &[
    // removed by the output re-cut
    &["console", "github", "report"],
    // parity/runner.rs -> runner and runner/{array,npz}.rs -> parity::npy: for the launch
    // re-cut (one stage-runner launcher, one .npy reader home)
    &["parity", "runner"],
];

/// The modules that may name `phases::`.
const MAY_IMPORT_PHASES: &[&str] = &["phases", "cli", "config"];

/// One arrow between modules and the first place that draws it.
#[derive(Debug, Clone)]
struct Witness {
    file: String,
    path: String,
}

/// Module -> module -> where the arrow comes from.
type Graph = BTreeMap<String, BTreeMap<String, Witness>>;

/// The module path of a file under `src/` (`phases/parity/mod.rs` -> `phases::parity`),
/// `None` for files outside the library (binaries).
fn module_of_file(rel: &str) -> Option<Vec<String>> {
    let rel = rel.strip_suffix(".rs")?;
    let mut segs: Vec<String> = rel.split('/').map(str::to_string).collect();
    if segs.first().map(String::as_str) == Some("bin") || rel == "main" {
        return None;
    }
    if matches!(segs.last().map(String::as_str), Some("mod" | "lib")) {
        segs.pop();
    }
    Some(segs)
}

/// The graph node a module belongs to (see the file's header).
fn unit(segs: &[String]) -> String {
    match segs {
        [] => "crate".to_string(),
        [p, phase, c, ..] if p == "phases" && c == "config" => format!("phases::{phase}::config"),
        [p, phase, ..] if p == "phases" => format!("phases::{phase}"),
        [first, ..] => first.clone(),
    }
}

/// The source with comments removed and string/char literal contents blanked, so that
/// only code is scanned.
fn code_only(text: &str) -> String {
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
struct TestMod {
    name: String,
    path: Option<String>,
}

/// Removes every item marked `#[cfg(test)]` (with the attributes that follow it) and
/// returns the test-only child modules declared as `mod name;`.
fn strip_test_items(code: &str) -> (String, Vec<TestMod>) {
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
fn path_mods(code: &str) -> Vec<(String, String)> {
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

/// `file` (named by a `#[path]` in `rel`) as a path under `src/`: relative to `rel`'s folder.
fn beside(rel: &str, file: &str) -> String {
    match rel.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{file}"),
        None => file.to_string(),
    }
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands a `use` tree (`crate::a::{b, c::{d as e, self}}`) into its paths.
fn expand_use(tree: &str) -> Vec<Vec<String>> {
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

/// Every module path a file's code names: `use` trees (including paths relative to a
/// child module) and inline `crate::`/`super::`/`self::` paths, resolved to absolute
/// segments (the module itself for `use super::*`).
fn referenced(code: &str, me: &[String], known: &BTreeSet<Vec<String>>) -> Vec<Vec<String>> {
    // `super` of a folder's mod.rs is the folder's parent; of a file, the file's folder.
    let parent_of = |m: &[String]| m[..m.len().saturating_sub(1)].to_vec();
    let absolute = |segs: &[String]| -> Option<Vec<String>> {
        let mut base: Vec<String>;
        let mut rest = segs;
        match segs.first().map(String::as_str) {
            Some("crate") | Some("$crate") => {
                base = Vec::new();
                rest = &segs[1..];
            }
            Some("self") => {
                base = me.to_vec();
                rest = &segs[1..];
            }
            Some("super") => {
                base = me.to_vec();
                while rest.first().map(String::as_str) == Some("super") {
                    base = parent_of(&base);
                    rest = &rest[1..];
                }
            }
            Some(first) => {
                // A child module of this one (`use config::X` in a mod.rs).
                let mut child = me.to_vec();
                child.push(first.to_string());
                if !known.contains(&child) {
                    return None;
                }
                base = me.to_vec();
            }
            None => return None,
        }
        base.extend(rest.iter().cloned());
        Some(base)
    };
    let mut found = Vec::new();
    // `use` declarations, with their trees expanded.
    let mut rest = code;
    while let Some(at) = rest.find("use ") {
        let before = rest[..at].chars().last();
        let after = &rest[at + 4..];
        rest = after;
        if before.is_some_and(is_ident) {
            continue;
        }
        let Some(end) = after.find(';') else { break };
        let tree = &after[..end];
        if tree.contains(['(', '=', '"']) {
            continue;
        }
        for p in expand_use(tree) {
            if let Some(abs) = absolute(&p) {
                found.push(abs);
            }
        }
    }
    // Inline paths.
    for root in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(k) = code[from..].find(root) {
            let at = from + k;
            from = at + root.len();
            let prev = code[..at].chars().last();
            if prev.is_some_and(|c| is_ident(c) || c == ':') {
                continue;
            }
            let tail: String = code[at..]
                .chars()
                .take_while(|c| is_ident(*c) || *c == ':')
                .collect();
            let segs: Vec<String> = tail
                .split("::")
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect();
            if let Some(abs) = absolute(&segs) {
                found.push(abs);
            }
        }
    }
    found
}

/// The import graph of a source tree given as (path under `src/`, text) pairs.
fn import_graph(files: &[(String, String)]) -> Graph {
    let mut parsed = Vec::new();
    let mut test_only = BTreeSet::new();
    // Files that a `#[path]` makes a child module of their declaring file.
    let mut declared = BTreeMap::new();
    for (rel, text) in files {
        let Some(me) = module_of_file(rel) else {
            continue;
        };
        let (code, test_mods) = strip_test_items(&code_only(text));
        for m in test_mods {
            match m.path {
                // `#[path]` is relative to the declaring file's folder.
                Some(p) => test_only.extend(module_of_file(&beside(rel, &p))),
                None => {
                    let mut child = me.clone();
                    child.push(m.name);
                    test_only.insert(child);
                }
            }
        }
        for (file, name) in path_mods(&code) {
            let mut child = me.clone();
            child.push(name);
            declared.insert(beside(rel, &file), child);
        }
        parsed.push((rel.clone(), me, code));
    }
    let mut sources = BTreeMap::new();
    for (rel, me, code) in parsed {
        let me = declared.remove(&rel).unwrap_or(me);
        sources.insert(me, (rel, code));
    }
    // Test-only files and the files under them are test code.
    sources.retain(|m, _| !test_only.iter().any(|t| m.starts_with(t)));
    let known: BTreeSet<Vec<String>> = sources.keys().cloned().collect();
    let mut graph = Graph::new();
    for (me, (rel, code)) in &sources {
        let from = unit(me);
        graph.entry(from.clone()).or_default();
        for path in referenced(code, me, &known) {
            // The longest prefix that is a module file.
            let target = (0..=path.len())
                .rev()
                .map(|n| path[..n].to_vec())
                .find(|p| known.contains(p));
            // The crate root (lib.rs) only declares modules: arrows into it say nothing.
            let Some(target) = target.filter(|t| !t.is_empty()) else {
                continue;
            };
            let to = unit(&target);
            if to != from {
                graph
                    .entry(from.clone())
                    .or_default()
                    .entry(to)
                    .or_insert_with(|| Witness {
                        file: rel.clone(),
                        path: path.join("::"),
                    });
            }
        }
    }
    graph
}

/// The strongly connected components of more than one module (Tarjan).
fn cycles(graph: &Graph) -> Vec<BTreeSet<String>> {
    struct State<'g> {
        graph: &'g Graph,
        index: BTreeMap<&'g str, usize>,
        low: BTreeMap<&'g str, usize>,
        stack: Vec<&'g str>,
        on_stack: BTreeSet<&'g str>,
        found: Vec<BTreeSet<String>>,
    }
    fn visit<'g>(s: &mut State<'g>, v: &'g str) {
        let n = s.index.len();
        s.index.insert(v, n);
        s.low.insert(v, n);
        s.stack.push(v);
        s.on_stack.insert(v);
        let graph = s.graph;
        for w in graph.get(v).into_iter().flat_map(|m| m.keys()) {
            let w = w.as_str();
            if !s.index.contains_key(w) {
                visit(s, w);
                let lw = s.low[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(lw));
            } else if s.on_stack.contains(w) {
                let iw = s.index[w];
                let lv = s.low[v];
                s.low.insert(v, lv.min(iw));
            }
        }
        if s.low[v] == s.index[v] {
            let mut comp = BTreeSet::new();
            while let Some(w) = s.stack.pop() {
                s.on_stack.remove(w);
                comp.insert(w.to_string());
                if w == v {
                    break;
                }
            }
            if comp.len() > 1 {
                s.found.push(comp);
            }
        }
    }
    let mut s = State {
        graph,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on_stack: BTreeSet::new(),
        found: Vec::new(),
    };
    let nodes: BTreeSet<&str> = graph
        .iter()
        .flat_map(|(k, v)| std::iter::once(k.as_str()).chain(v.keys().map(String::as_str)))
        .collect();
    for v in nodes {
        if !s.index.contains_key(v) {
            visit(&mut s, v);
        }
    }
    s.found
}

/// One cycle through `comp`, written arrow by arrow with the file and path behind each.
fn describe(graph: &Graph, comp: &BTreeSet<String>) -> String {
    let Some(start) = comp.iter().next() else {
        return String::new();
    };
    // Breadth-first from `start` back to itself inside the component.
    let mut prev: BTreeMap<&str, &str> = BTreeMap::new();
    let mut queue = std::collections::VecDeque::from([start.as_str()]);
    let mut closing = None;
    while let Some(v) = queue.pop_front() {
        for w in graph.get(v).into_iter().flat_map(|m| m.keys()) {
            if !comp.contains(w) {
                continue;
            }
            if w == start {
                closing = Some(v);
                break;
            }
            if !prev.contains_key(w.as_str()) {
                prev.insert(w, v);
                queue.push_back(w);
            }
        }
        if closing.is_some() {
            break;
        }
    }
    let mut path = vec![start.as_str()];
    let mut at = closing.unwrap_or(start.as_str());
    while at != start {
        path.push(at);
        at = prev.get(at).copied().unwrap_or(start.as_str());
    }
    path.push(start.as_str());
    let n = path.len();
    path[1..n - 1].reverse();
    let mut lines = vec![path.join(" -> ")];
    for pair in path.windows(2) {
        if let Some(w) = graph.get(pair[0]).and_then(|m| m.get(pair[1])) {
            lines.push(format!(
                "  {} -> {}: {} names {}",
                pair[0], pair[1], w.file, w.path
            ));
        }
    }
    lines.join("\n")
}

/// Every `.rs` file under `src/`, as (path under `src/`, text).
fn read_tree(src: &Path) -> Vec<(String, String)> {
    let mut files = Vec::new();
    let mut dirs = vec![src.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                let rel = path
                    .strip_prefix(src)
                    .unwrap()
                    .to_string_lossy()
                    .replace('\\', "/");
                files.push((rel, std::fs::read_to_string(&path).unwrap()));
            }
        }
    }
    files.sort();
    files
}

fn src_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let graph = import_graph(&read_tree(&src));
    // The graph must see the tree: a parser that found nothing would pass everything.
    assert!(
        graph.len() > 20,
        "only {} modules found under {}",
        graph.len(),
        src.display()
    );
    assert!(
        graph
            .get("phases::parity")
            .is_some_and(|m| m.contains_key("parity")),
        "the parity phase's arrows into the parity engine were not found"
    );
    graph
}

#[test]
fn src_has_no_import_cycles() {
    let graph = src_graph();
    let known: Vec<BTreeSet<String>> = KNOWN_CYCLES
        .iter()
        .map(|c| c.iter().map(|s| s.to_string()).collect())
        .collect();
    let found: Vec<String> = cycles(&graph)
        .into_iter()
        .filter(|c| !known.contains(c))
        .map(|c| describe(&graph, &c))
        .collect();
    assert!(
        found.is_empty(),
        "import cycles among src/ modules:\n{}",
        found.join("\n\n")
    );
}

#[test]
fn only_phases_cli_and_config_import_phases() {
    let graph = src_graph();
    let mut bad = Vec::new();
    for (from, targets) in &graph {
        let head = from.split("::").next().unwrap_or(from);
        if MAY_IMPORT_PHASES.contains(&head) {
            continue;
        }
        for (to, w) in targets {
            if to.starts_with("phases") {
                bad.push(format!("{from} -> {to}: {} names {}", w.file, w.path));
            }
        }
    }
    assert!(
        bad.is_empty(),
        "engines reaching into phases::\n{}",
        bad.join("\n")
    );
}

fn tree(files: &[(&str, &str)]) -> Vec<(String, String)> {
    files
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect()
}

#[test]
fn graph_finds_a_cycle_and_names_its_path() {
    let files = tree(&[
        ("lib.rs", "pub mod a; pub mod b; pub mod c; pub mod d; pub mod phases;"),
        ("a.rs", "use crate::b::Thing;\n"),
        // A multi-line use tree through a folder's mod.rs.
        ("b/mod.rs", "mod inner;\nuse crate::{\n    c::{self, More as M},\n};\n"),
        ("b/inner.rs", "pub fn f() { super::super::d::g(); }\n"),
        ("d.rs", "pub fn g() { let c = '\\''; let s = r#\"crate::a\"#; }\n"),
        ("c.rs", "// use crate::a; in a comment does not count\nlet s = \"crate::a::x\";\npub fn h() { crate::a::g() }\n"),
        ("phases/mod.rs", "pub mod p;"),
        ("phases/p/mod.rs", "pub mod config;\nuse crate::a;\nuse config::Section;\n"),
        ("phases/p/config.rs", "pub struct Section;\n#[cfg(test)]\nmod tests { use super::super::X; use crate::c; }\n"),
    ]);
    let graph = import_graph(&files);
    let found = cycles(&graph);
    let want: BTreeSet<String> = ["a", "b", "c"].iter().map(|s| s.to_string()).collect();
    assert_eq!(found, vec![want.clone()], "{graph:#?}");
    let text = describe(&graph, &want);
    assert!(text.starts_with("a -> b -> "), "{text}");
    assert!(text.contains("c -> a: c.rs names a::g"), "{text}");
    assert!(graph["b"].contains_key("d"), "{graph:#?}");
    assert!(graph["d"].is_empty(), "{graph:#?}");
    // A phase's config, its test code aside, is apart from the phase.
    assert!(
        graph["phases::p"].contains_key("phases::p::config"),
        "{graph:#?}"
    );
    assert!(graph["phases::p::config"].is_empty(), "{graph:#?}");
}

#[test]
fn graph_sees_super_and_test_only_files() {
    let files = tree(&[
        ("lib.rs", "pub mod x; pub mod y; pub mod z; pub mod phases;"),
        (
            "x/mod.rs",
            "pub mod deep;\n#[cfg(test)]\n#[path = \"x_tests.rs\"]\nmod tests;\n",
        ),
        ("x/deep.rs", "use super::super::phases::q::run;\n"),
        ("x/x_tests.rs", "use crate::y;\n"),
        ("y.rs", "use crate::x;\n"),
        ("phases/mod.rs", "pub mod q;"),
        ("phases/q.rs", "pub fn run() {}\n"),
        // A file a `#[path]` makes part of z: its arrows are z's.
        (
            "z.rs",
            "#[path = \"z_part.rs\"]\nmod part;\npub fn helper() {}\n",
        ),
        (
            "z_part.rs",
            "use super::helper;\nuse crate::phases::q::run;\n",
        ),
    ]);
    let graph = import_graph(&files);
    assert!(graph["x"].contains_key("phases::q"), "{graph:#?}");
    assert!(graph["z"].contains_key("phases::q"), "{graph:#?}");
    assert!(!graph.contains_key("z_part"), "{graph:#?}");
    // x_tests.rs is test code: its arrow to y does not close a cycle.
    assert!(cycles(&graph).is_empty(), "{graph:#?}");
}

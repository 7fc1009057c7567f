//! The module graph of a source tree: which module each file belongs to, the paths each
//! file's code names, the arrows between modules, and the cycles among them.

use std::collections::{BTreeMap, BTreeSet};

use super::source::{code_only, expand_use, is_ident, path_mods, strip_test_items};

/// One arrow between modules and the first place that draws it.
#[derive(Debug, Clone)]
pub struct Witness {
    pub file: String,
    pub path: String,
}

/// Module -> module -> where the arrow comes from.
pub type Graph = BTreeMap<String, BTreeMap<String, Witness>>;

/// The module path of a file under `src/` (`phases/parity/mod.rs` -> `phases::parity`),
/// `None` for files outside the library (binaries).
pub fn module_of_file(rel: &str) -> Option<Vec<String>> {
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
pub fn unit(segs: &[String]) -> String {
    match segs {
        [] => "crate".to_string(),
        [p, phase, c, ..] if p == "phases" && c == "config" => format!("phases::{phase}::config"),
        [p, phase, ..] if p == "phases" => format!("phases::{phase}"),
        [first, ..] => first.clone(),
    }
}

/// `file` (named by a `#[path]` in `rel`) as a path under `src/`: relative to `rel`'s folder.
fn beside(rel: &str, file: &str) -> String {
    match rel.rsplit_once('/') {
        Some((dir, _)) => format!("{dir}/{file}"),
        None => file.to_string(),
    }
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
pub fn import_graph(files: &[(String, String)]) -> Graph {
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
pub fn cycles(graph: &Graph) -> Vec<BTreeSet<String>> {
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
pub fn describe(graph: &Graph, comp: &BTreeSet<String>) -> String {
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

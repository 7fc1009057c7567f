//! The import graph of `src/`: no cycle among its modules, and only `phases/`, `cli.rs`
//! and `config.rs` reaching into `phases::`. Read from the source text (non-test code),
//! so a new arrow running back up fails here with the path of the cycle.
//!
//! A module is a top-level file or folder of `src/` (`bench/`, `console.rs`), except that
//! each `phases/<phase>` is its own module and so is each `phases/<phase>/config.rs`:
//! the root config composes the phases' sections, and a phase reads the root config, so
//! `config -> phases::X::config -> engines` must stay apart from `phases::X -> config`.
//! Arrows between files of one module (siblings in a folder) do not count.

mod graph;
mod source;

use std::collections::BTreeSet;
use std::path::Path;

use graph::{cycles, describe, import_graph, Graph};

/// The modules that may name `phases::`.
const MAY_IMPORT_PHASES: &[&str] = &["phases", "cli", "config"];

/// The arrows into `phases::` from modules other than [`MAY_IMPORT_PHASES`].
fn phase_importers(graph: &Graph) -> Vec<String> {
    let mut bad = Vec::new();
    for (from, targets) in graph {
        let head = from.split("::").next().unwrap_or(from);
        if MAY_IMPORT_PHASES.contains(&head) {
            continue;
        }
        for (to, w) in targets {
            if to == "phases" || to.starts_with("phases::") {
                bad.push(format!("{from} -> {to}: {} names {}", w.file, w.path));
            }
        }
    }
    bad
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
    let found: Vec<String> = cycles(&graph)
        .into_iter()
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
    let bad = phase_importers(&src_graph());
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
    // x and z reach into a phase; the phases themselves may.
    assert_eq!(
        phase_importers(&graph),
        vec![
            "x -> phases::q: x/deep.rs names phases::q::run".to_string(),
            "z -> phases::q: z_part.rs names phases::q::run".to_string(),
        ]
    );
    // x_tests.rs is test code: its arrow to y does not close a cycle.
    assert!(cycles(&graph).is_empty(), "{graph:#?}");
}

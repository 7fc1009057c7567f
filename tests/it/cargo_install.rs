//! `cargo install --locked htdemucs-devops`: the published crate carries every file its build
//! reads, and its `rust-version` is one that the locked dependencies build with.

use crate::release_host::*;
use std::process::Command;

fn cargo(args: &[&str]) -> String {
    let out = Command::new(std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into()))
        .args(args)
        .current_dir(repo_root())
        .output()
        .unwrap_or_else(|e| panic!("cargo {args:?}: {e}"));
    assert!(
        out.status.success(),
        "cargo {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn version_key(v: &str) -> Vec<u64> {
    v.split('.').map(|p| p.parse().unwrap_or(0)).collect()
}

#[test]
fn the_packaged_crate_carries_what_its_build_embeds() {
    let listed = cargo(&["package", "--list", "--allow-dirty", "--quiet"]);
    let files: Vec<&str> = listed.lines().collect();
    // --locked needs the lock file; the build script and the binaries' sources.
    for f in [
        "Cargo.lock",
        "Cargo.toml",
        "build.rs",
        "src/main.rs",
        "src/bin/stage_runner/main.rs",
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "README.md",
    ] {
        assert!(files.contains(&f), "{f} is not packaged");
    }
    // Every file a source embeds with include_str!/include_bytes!.
    let mut embedded = 0;
    let mut stack = vec![repo_root().join("src")];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{e}")) {
            let path = entry.unwrap_or_else(|e| panic!("{e}")).path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            if path.extension().is_none_or(|x| x != "rs") {
                continue;
            }
            let text = std::fs::read_to_string(&path).unwrap();
            for piece in text.split("include_").skip(1) {
                let Some(arg) = piece
                    .strip_prefix("str!(\"")
                    .or_else(|| piece.strip_prefix("bytes!(\""))
                else {
                    continue;
                };
                let rel = &arg[..arg.find('"').unwrap_or(0)];
                let parent = path.parent().unwrap_or(&path);
                let full = std::fs::canonicalize(parent.join(rel))
                    .unwrap_or_else(|e| panic!("{rel} from {}: {e}", path.display()));
                let root = std::fs::canonicalize(repo_root()).unwrap_or_else(|e| panic!("{e}"));
                let inside = full
                    .strip_prefix(&root)
                    .unwrap_or_else(|_| panic!("{} is outside the crate", full.display()));
                let inside = inside.to_string_lossy();
                assert!(
                    files.contains(&inside.as_ref()),
                    "{inside} (embedded by {}) is not packaged",
                    path.display()
                );
                embedded += 1;
            }
        }
    }
    assert!(embedded >= 10, "only {embedded} embedded files found");
}

#[test]
fn rust_version_is_one_the_locked_dependencies_build_with() {
    let meta = cargo(&["metadata", "--format-version", "1", "--locked"]);
    let meta: serde_json::Value = serde_json::from_str(&meta).unwrap_or_else(|e| panic!("{e}"));
    let packages = meta["packages"].as_array().cloned().unwrap();
    let ours = packages
        .iter()
        .find(|p| p["name"] == "htdemucs-devops")
        .and_then(|p| p["rust_version"].as_str())
        .unwrap_or_else(|| panic!("Cargo.toml has no rust-version"))
        .to_string();
    for p in &packages {
        if let Some(theirs) = p["rust_version"].as_str() {
            assert!(
                version_key(theirs) <= version_key(&ours),
                "{} {} needs rustc {theirs}, but Cargo.toml's rust-version is {ours}",
                p["name"].as_str().unwrap_or("?"),
                p["version"].as_str().unwrap_or("?")
            );
        }
    }
}

//! `dist/brew-formula.sh`: the Homebrew formula of a release names each platform's archive
//! with the SHA-256 that dist/manifest records for it, and refuses a release it lacks.

use crate::common::*;
use crate::release_host::*;
use std::process::Command;

const TARGETS: [&str; 4] = [
    "aarch64-apple-darwin",
    "x86_64-apple-darwin",
    "aarch64-unknown-linux-gnu",
    "x86_64-unknown-linux-gnu",
];

fn manifest(entries: &[(&str, &str, String)]) -> String {
    let mut text = String::from("# test manifest\ncurrent v1.2.3\n");
    for (v, t, s) in entries {
        text.push_str(&format!("{v} {t} {s}\n"));
    }
    text
}

fn formula(dir: &std::path::Path, version: &str, text: &str) -> std::process::Output {
    let path = dir.join("manifest");
    write(&path, text);
    run(Command::new("bash")
        .arg(repo_root().join("dist/brew-formula.sh"))
        .arg(version)
        .arg(&path))
}

#[test]
fn the_formula_pairs_each_platform_archive_with_its_manifest_checksum() {
    let dir = tempdir();
    let mut entries = Vec::new();
    for (i, t) in TARGETS.iter().enumerate() {
        entries.push(("v1.2.3", *t, format!("{:x}", i + 10).repeat(64)));
        // An older release of the same target must not be picked.
        entries.push(("v1.2.2", *t, "0".repeat(64)));
    }
    let out = formula(dir.path(), "v1.2.3", &manifest(&entries));
    assert!(out.status.success(), "{}", stderr(&out));
    let rb = stdout(&out);
    assert!(rb.contains("\n  version \"1.2.3\"\n"), "{rb}");
    assert!(!rb.contains(&"0".repeat(64)), "{rb}");
    let lines: Vec<&str> = rb.lines().map(str::trim).collect();
    for (i, t) in TARGETS.iter().enumerate() {
        let url = format!(
            "url \"https://github.com/zakkeown/htdemucs-devops/releases/download/v1.2.3/htdemucs-devops-{t}.tar.xz\""
        );
        let at = lines
            .iter()
            .position(|l| *l == url)
            .unwrap_or_else(|| panic!("no {url} in\n{rb}"));
        let sha = format!("sha256 \"{}\"", format!("{:x}", i + 10).repeat(64));
        assert_eq!(lines[at + 1], sha, "{t}");
    }
    // Each archive sits in its platform's block.
    let mac = rb.find("on_macos do").unwrap_or(usize::MAX);
    let linux = rb.find("on_linux do").unwrap_or(usize::MAX);
    let darwin = rb.find("aarch64-apple-darwin").unwrap_or(0);
    let gnu = rb.find("aarch64-unknown-linux-gnu").unwrap_or(0);
    assert!(mac < darwin && darwin < linux && linux < gnu, "{rb}");
    assert!(rb.contains("bin.install \"htdemucs-devops\""));
}

#[test]
fn a_release_missing_from_the_manifest_gives_no_formula() {
    let dir = tempdir();
    let entries: Vec<_> = TARGETS[..3]
        .iter()
        .map(|t| ("v1.2.3", *t, "a".repeat(64)))
        .collect();
    let out = formula(dir.path(), "v1.2.3", &manifest(&entries));
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("no checksum for v1.2.3 x86_64-unknown-linux-gnu"),
        "{err}"
    );
    assert!(stdout(&out).is_empty(), "{}", stdout(&out));
}

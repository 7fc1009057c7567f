//! One ruff version kept in step by Dependabot: `init` merges its update entries (the
//! `pre-commit` ecosystem among them) into the port's own dependabot.yml, which still
//! validates against GitHub's schema (check-jsonschema's bundled copy, offline); a bump of
//! the ruff-pre-commit rev moves make setup's and CI's ruff with it.

use crate::common::*;
use crate::init_adopt::port;
use std::process::Command;

fn read(p: &std::path::Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// `check-jsonschema` from `$HTDEMUCS_VENV/bin` (requirements-dev.txt pins it).
fn check_jsonschema() -> Command {
    let venv = std::env::var_os("HTDEMUCS_VENV")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    let tool = venv.join("bin/check-jsonschema");
    assert!(
        tool.is_file(),
        "{} missing: pip install -r requirements-dev.txt",
        tool.display()
    );
    Command::new(tool)
}

#[test]
fn dependabot_is_merged_and_moves_the_one_ruff() {
    let repo = port();
    let dir = repo.path();
    let path = dir.join(".github/dependabot.yml");
    let theirs = read(&path);
    let out = run(bin().arg("init").current_dir(dir));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stdout(&out).contains("merged .github/dependabot.yml"),
        "{}",
        stdout(&out)
    );
    let merged = read(&path);
    assert!(merged.starts_with(&theirs), "theirs is kept:\n{merged}");
    let v: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&merged).unwrap_or_else(|e| panic!("{e}"));
    let entries: Vec<(String, String)> = v["updates"]
        .as_sequence()
        .map(|s| {
            s.iter()
                .map(|u| {
                    (
                        u["package-ecosystem"]
                            .as_str()
                            .expect("an update has a package-ecosystem")
                            .to_string(),
                        u["directory"]
                            .as_str()
                            .expect("an update has a directory")
                            .to_string(),
                    )
                })
                .collect()
        })
        .expect("dependabot.yml has updates");
    for want in [
        ("swift", "/"),
        ("pip", "/tests/parity"),
        ("pip", "/"),
        ("pre-commit", "/"),
        ("github-actions", "/"),
    ] {
        assert!(
            entries.iter().any(|(e, d)| e == want.0 && d == want.1),
            "{want:?} not in {entries:?}"
        );
    }
    assert_eq!(
        entries.iter().filter(|(e, _)| e == "swift").count(),
        1,
        "{merged}"
    );
    // GitHub's schema for the file, as check-jsonschema bundles it (no download).
    let valid = run(check_jsonschema()
        .args(["--builtin-schema", "vendor.dependabot", "--no-cache"])
        .arg(&path)
        .env("HOME", dir));
    assert!(
        valid.status.success(),
        "{}{}",
        stdout(&valid),
        stderr(&valid)
    );
    // The schema check can fail: an unknown ecosystem is refused.
    let bad = dir.join("bad-dependabot.yml");
    write(&bad, &merged.replace("\"pre-commit\"", "\"precommit\""));
    let invalid = run(check_jsonschema()
        .args(["--builtin-schema", "vendor.dependabot", "--no-cache"])
        .arg(&bad)
        .env("HOME", dir));
    assert!(!invalid.status.success(), "{}", stdout(&invalid));
    std::fs::remove_file(&bad).unwrap_or_else(|e| panic!("{e}"));
    let check = run(bin().args(["init", "--check"]).current_dir(dir));
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));

    // Dependabot moves the ruff-pre-commit rev: nothing generated drifts, and make setup
    // and the CI lint job read the new pin.
    let ruff_of_make = || {
        let out = run(Command::new("make").current_dir(dir).args([
            "-s",
            "-f",
            "htdemucs-devops.mk",
            "--eval",
            "show-ruff: ; @echo $(RUFF_VERSION)",
            "show-ruff",
        ]));
        assert!(out.status.success(), "{}", stderr(&out));
        stdout(&out).trim().to_string()
    };
    assert_eq!(ruff_of_make(), "0.4.0");
    let hooks = dir.join(".pre-commit-config.yaml");
    write(&hooks, &read(&hooks).replace("rev: v0.4.0", "rev: v0.4.1"));
    assert_eq!(ruff_of_make(), "0.4.1");
    let wf = read(&dir.join(".github/workflows/htdemucs-devops.yml"));
    let script = wf
        .lines()
        .find_map(|l| l.trim().strip_prefix("ruff_version=\"$(python "))
        .and_then(|l| l.strip_suffix(")\""))
        .unwrap_or_else(|| panic!("no ruff lookup in the lint job: {wf}"));
    let out = run(Command::new("sh")
        .current_dir(dir)
        .arg("-c")
        .arg(format!("python3 {script}")));
    assert_eq!(stdout(&out).trim(), "0.4.1", "{}", stderr(&out));
    // With no pin at all, our default.
    write(
        &hooks,
        &read(&hooks).replace("ruff-pre-commit", "other-hooks"),
    );
    // (Our default is the ruff this repository pins: a unit test in init/templates.rs.)
    let ours = include_str!("../../requirements-dev.txt")
        .lines()
        .find_map(|l| l.strip_prefix("ruff=="))
        .unwrap();
    assert_eq!(ruff_of_make(), ours);
    write(
        &hooks,
        &read(&hooks).replace("other-hooks", "ruff-pre-commit"),
    );
    let check = run(bin().args(["init", "--check"]).current_dir(dir));
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
}

//! `dist/package.sh`: every archive carries the licences and generated third-party notices,
//! and a stage runner with an rpath into the build machine is refused.

use crate::common::*;
use crate::release_host::*;
use std::path::Path;
use std::process::Command;

fn list(archive: &Path) -> Vec<String> {
    let out = run(Command::new("tar").arg("-tJf").arg(archive));
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out).lines().map(str::to_string).collect()
}

fn extract(archive: &Path, to: &Path, member: &str) -> String {
    let out = run(Command::new("tar")
        .arg("-xJf")
        .arg(archive)
        .arg("-C")
        .arg(to)
        .arg(member));
    assert!(out.status.success(), "{}", stderr(&out));
    std::fs::read_to_string(to.join(member)).unwrap_or_else(|e| panic!("{member}: {e}"))
}

#[test]
fn every_archive_carries_the_licences_and_third_party_notices() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let bins = fake_binary(dir.path(), "x");
    release(dir.path(), &bins, target, "v1.2.3");
    let archive = dir
        .path()
        .join(format!("out/v1.2.3/htdemucs-devops-{target}.tar.xz"));
    let names = list(&archive);
    let folder = format!("htdemucs-devops-{target}");
    for f in [
        "LICENSE-MIT",
        "LICENSE-APACHE",
        "THIRD-PARTY-NOTICES",
        "README.md",
    ] {
        assert!(names.contains(&format!("{folder}/{f}")), "{f}: {names:?}");
    }
    let mit = extract(&archive, dir.path(), &format!("{folder}/LICENSE-MIT"));
    assert!(mit.contains("Permission is hereby granted"), "{mit}");
    let apache = extract(&archive, dir.path(), &format!("{folder}/LICENSE-APACHE"));
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0"));
    let notices = extract(
        &archive,
        dir.path(),
        &format!("{folder}/THIRD-PARTY-NOTICES"),
    );
    // Crates the binary links, each with its licence expression and a licence text.
    for krate in ["clap ", "serde ", "octocrab ", "minijinja "] {
        let header = notices
            .lines()
            .find(|l| l.starts_with(krate) && !l.starts_with("  "))
            .unwrap_or_else(|| panic!("{krate}missing from the notices"));
        let at = notices
            .find(&format!("\n{header}\n"))
            .unwrap_or_else(|| panic!("no section for {header}"));
        assert!(
            notices[at + 1..]
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("Licence: "),
            "{header}"
        );
    }
    assert!(notices.contains("Permission is hereby granted"));
    // Not linked: test-only crates, and proc-macros that only run at compile time.
    for absent in [
        "\n  tiny_http ",
        "\n  insta ",
        "\n  proptest ",
        "\n  serde_derive ",
    ] {
        assert!(!notices.contains(absent), "{absent:?} is listed");
    }
    // The crate's own licence says what the archive's binaries are under.
    let manifest = std::fs::read_to_string(repo_root().join("Cargo.toml")).unwrap();
    assert!(manifest.contains("license = \"MIT OR Apache-2.0\""));
}

#[test]
#[cfg(target_os = "linux")]
fn a_runner_with_an_rpath_into_the_build_machine_is_refused() {
    let dir = tempdir();
    let bins = fake_binary(dir.path(), "x");
    let runner = bins.join("htdemucs-stage-runner");
    let src = dir.path().join("main.c");
    write(&src, "int main(void) { return 0; }\n");
    let cc = run(Command::new("cc")
        .arg(&src)
        .arg("-o")
        .arg(&runner)
        .arg("-Wl,-rpath,/home/builder/venv/lib/python3.12/site-packages/torch/lib"));
    assert!(cc.status.success(), "cc: {}", stderr(&cc));
    let (target, _, _) = host_platform();
    let out = run(Command::new("bash")
        .arg(repo_root().join("dist/package.sh"))
        .arg(target)
        .arg(&bins)
        .arg(dir.path().join("out")));
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("has an rpath") && err.contains("/home/builder/venv"),
        "{err}"
    );
    assert!(!dir
        .path()
        .join("out")
        .join(format!("htdemucs-devops-{target}.tar.xz"))
        .exists());
}

//! `dist/install.sh` (with `dist/package.sh` and `dist/update-manifest.sh`, the release
//! workflow's packaging steps) against a local HTTP server playing the release host.

use crate::common::*;
use crate::release_host::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A missing file reads as empty: the installer writes `github_path` only when it adds
/// to `PATH`, as a runner creates these files lazily.
fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

/// The folder the installer added to PATH, after checking it was the only one.
fn installed_dir(dir: &Path) -> PathBuf {
    let text = read(&dir.join("github_path"));
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "GITHUB_PATH: {text:?}");
    PathBuf::from(lines[0])
}

#[test]
fn good_archive_installs_runs_and_is_cached() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let bins = fake_binary(dir.path(), "fake htdemucs-devops 1.2.3");
    let archive = release(dir.path(), &bins, target, "v1.2.3");
    let server = ReleaseServer::start(HashMap::from([(
        route("v1.2.3", target),
        vec![Reply::ok(archive)],
    )]));

    // `uses: ...@v1`: a major tag, so the manifest's `current` decides.
    let out = run(installer(dir.path(), &server.base).env("HTDEMUCS_DEVOPS_ACTION_REF", "v1"));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let bin_dir = installed_dir(dir.path());
    assert!(bin_dir.starts_with(dir.path().join("toolcache/htdemucs-devops/1.2.3")));
    let ran = run(Command::new(bin_dir.join("htdemucs-devops")).arg("--version"));
    assert_eq!(stdout(&ran).trim(), "fake htdemucs-devops 1.2.3 --version");
    assert!(read(&dir.path().join("github_output")).contains("path="));
    assert_eq!(server.request_count(), 1);

    // A second job on the same runner finds it in the tool cache: no download.
    std::fs::remove_file(dir.path().join("github_path")).unwrap();
    let again = run(&mut installer(dir.path(), &server.base));
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("found in the tool cache"),
        "{}",
        stdout(&again)
    );
    assert_eq!(installed_dir(dir.path()), bin_dir);
    assert_eq!(server.request_count(), 1);
}

#[test]
fn tampered_archive_is_refused() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let good = fake_binary(dir.path(), "good");
    let mut archive = release(dir.path(), &good, target, "v1.2.3");
    // The mirror serves different bytes than the release recorded in the manifest.
    let last = archive.len() - 1;
    archive[last] ^= 0x01;
    let server = ReleaseServer::start(HashMap::from([(
        route("v1.2.3", target),
        vec![Reply::ok(archive)],
    )]));
    let out = run(installer(dir.path(), &server.base).env("HTDEMUCS_DEVOPS_VERSION", "v1.2.3"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("checksum mismatch"), "{err}");
    assert!(err.contains("refusing to install"), "{err}");
    let cmds = workflow_commands(&stdout(&out));
    assert!(
        cmds.iter()
            .any(|c| c.starts_with("::error title=htdemucs-devops install::checksum mismatch")),
        "{cmds:?}"
    );
    assert!(read(&dir.path().join("github_path")).is_empty());
    assert!(!dir
        .path()
        .join("toolcache/htdemucs-devops/1.2.3")
        .join(target)
        .exists());
}

#[test]
fn version_missing_from_the_manifest_is_refused_without_downloading() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let bins = fake_binary(dir.path(), "x");
    let archive = release(dir.path(), &bins, target, "v1.2.3");
    let server = ReleaseServer::start(HashMap::from([(
        route("v1.3.0", target),
        vec![Reply::ok(archive)],
    )]));
    let out = run(installer(dir.path(), &server.base).env("HTDEMUCS_DEVOPS_VERSION", "1.3.0"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("has no entry for htdemucs-devops v1.3.0"),
        "{err}"
    );
    assert!(err.contains("current: v1.2.3"), "{err}");
    assert_eq!(server.request_count(), 0);
}

#[test]
fn unknown_platforms_are_refused() {
    let dir = tempdir();
    let server = ReleaseServer::start(HashMap::new());
    // A Windows runner.
    let out = run(installer(dir.path(), &server.base).env("RUNNER_OS", "Windows"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("no prebuilt htdemucs-devops for Windows/"),
        "{err}"
    );
    assert!(err.contains("binary-path"), "{err}");

    // A Linux machine whose CPU has no build: uname -m wins over what RUNNER_ARCH claims.
    let fake = dir.path().join("fakebin");
    write(
        &fake.join("uname"),
        "#!/bin/sh\n[ \"$1\" = -m ] && echo riscv64 || echo Linux\n",
    );
    chmod_x(&fake.join("uname"));
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").expect("PATH is set")
    );
    let out = run(installer(dir.path(), &server.base)
        .env("PATH", path)
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", "X64"));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("for Linux/riscv64 (uname -m: riscv64)"),
        "{err}"
    );
    assert!(stdout(&out).contains("RUNNER_ARCH is X64 but this machine is riscv64"));
    assert_eq!(server.request_count(), 0);
}

#[test]
fn transient_failures_are_retried_and_a_404_is_not() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let bins = fake_binary(dir.path(), "retried");
    let archive = release(dir.path(), &bins, target, "v2.0.0");
    let server = ReleaseServer::start(HashMap::from([(
        route("v2.0.0", target),
        vec![Reply::status(503), Reply::status(429), Reply::ok(archive)],
    )]));
    let out = run(installer(dir.path(), &server.base).env("HTDEMUCS_DEVOPS_VERSION", "v2.0.0"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let so = stdout(&out);
    assert!(so.contains("download attempt 1 of 4 failed (503)"), "{so}");
    assert!(so.contains("download attempt 2 of 4 failed (429)"), "{so}");
    assert_eq!(server.request_count(), 3);
    let ran = run(&mut Command::new(
        installed_dir(dir.path()).join("htdemucs-devops"),
    ));
    assert_eq!(stdout(&ran).trim(), "retried");

    // A missing asset fails at once with a message saying so.
    let other = tempdir();
    std::fs::copy(dir.path().join("manifest"), other.path().join("manifest"))
        .unwrap_or_else(|e| panic!("{e}"));
    let empty = ReleaseServer::start(HashMap::new());
    let out = run(installer(other.path(), &empty.base).env("HTDEMUCS_DEVOPS_VERSION", "v2.0.0"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("was not found (404)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(empty.request_count(), 1);
}

#[test]
fn retries_give_up_with_a_clear_message() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let bins = fake_binary(dir.path(), "x");
    release(dir.path(), &bins, target, "v1.0.0");
    let server = ReleaseServer::start(HashMap::from([(
        route("v1.0.0", target),
        vec![Reply::status(502)],
    )]));
    let out = run(installer(dir.path(), &server.base)
        .env("HTDEMUCS_DEVOPS_VERSION", "v1.0.0")
        .env("HTDEMUCS_DEVOPS_RETRIES", "3"));
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("failed 3 times (last: 502)"),
        "{}",
        stderr(&out)
    );
    assert_eq!(server.request_count(), 3);
}

#[test]
fn pinned_older_version_verifies_against_its_own_entry() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let old = release(
        dir.path(),
        &fake_binary(&dir.path().join("old"), "old"),
        target,
        "v1.0.0",
    );
    let new = release(
        dir.path(),
        &fake_binary(&dir.path().join("new"), "new"),
        target,
        "v1.1.0",
    );
    let manifest = read(&dir.path().join("manifest"));
    assert!(manifest.contains("\ncurrent v1.1.0\n"), "{manifest}");
    let server = ReleaseServer::start(HashMap::from([
        (route("v1.0.0", target), vec![Reply::ok(old)]),
        (route("v1.1.0", target), vec![Reply::ok(new)]),
    ]));
    // `uses: ...@v1.0.0`: the action's own ref is a full version.
    let out = run(installer(dir.path(), &server.base).env("HTDEMUCS_DEVOPS_ACTION_REF", "v1.0.0"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let ran = run(&mut Command::new(
        installed_dir(dir.path()).join("htdemucs-devops"),
    ));
    assert_eq!(stdout(&ran).trim(), "old");
}

#[test]
fn binary_path_under_act_uses_the_local_binary_and_downloads_nothing() {
    let dir = tempdir();
    let server = ReleaseServer::start(HashMap::new());
    let bins = fake_binary(dir.path(), "self-built");
    // Relative to the workspace, as a workflow writes it; the file need not be named
    // htdemucs-devops.
    std::fs::rename(bins.join("htdemucs-devops"), bins.join("my-build"))
        .unwrap_or_else(|e| panic!("{e}"));
    let out = run(installer(dir.path(), &server.base)
        .env("ACT", "true")
        .env("RUNNER_OS", "Windows") // would be refused if it tried to download
        .env("HTDEMUCS_DEVOPS_BINARY_PATH", "bin/my-build"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(server.request_count(), 0);
    let ran = run(&mut Command::new(
        installed_dir(dir.path()).join("htdemucs-devops"),
    ));
    assert_eq!(stdout(&ran).trim(), "self-built");

    let out = run(installer(dir.path(), &server.base)
        .env("ACT", "true")
        .env("HTDEMUCS_DEVOPS_BINARY_PATH", "target/nope"));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("does not exist"), "{}", stderr(&out));
}

#[test]
fn manifest_update_rejects_a_checksum_file_that_does_not_match() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let bins = fake_binary(dir.path(), "x");
    release(dir.path(), &bins, target, "v1.0.0");
    let before = read(&dir.path().join("manifest"));
    let out_dir = dir.path().join("out/v1.0.0");
    write(
        &out_dir.join(format!("htdemucs-devops-{target}.tar.xz.sha256")),
        &format!("{}  htdemucs-devops-{target}.tar.xz\n", "0".repeat(64)),
    );
    let out = run(Command::new("bash")
        .arg(repo_root().join("dist/update-manifest.sh"))
        .arg("v1.0.1")
        .arg(&out_dir)
        .arg(dir.path().join("manifest")));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("hashes to"), "{}", stderr(&out));
    assert_eq!(read(&dir.path().join("manifest")), before);
}

#[test]
fn version_source_builds_with_cargo_only_when_asked() {
    let dir = tempdir();
    let server = ReleaseServer::start(HashMap::new());
    // A stand-in cargo that records its arguments and "installs" a binary under --root.
    let fake = dir.path().join("fakebin");
    write(
        &fake.join("cargo"),
        r#"#!/bin/sh
echo "$@" > "$HOME/cargo-args"
while [ $# -gt 0 ]; do [ "$1" = --root ] && root=$2; shift; done
mkdir -p "$root/bin" && printf '#!/bin/sh\necho built from source\n' > "$root/bin/htdemucs-devops"
chmod +x "$root/bin/htdemucs-devops"
"#,
    );
    chmod_x(&fake.join("cargo"));
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").expect("PATH is set")
    );
    let out = run(installer(dir.path(), &server.base)
        .env("PATH", &path)
        .env("HTDEMUCS_DEVOPS_VERSION", "source"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let args = std::fs::read_to_string(dir.path().join("cargo-args")).unwrap();
    assert!(
        args.starts_with(&format!(
            "install --locked --path {}",
            repo_root().display()
        )),
        "{args}"
    );
    let ran = run(&mut Command::new(
        installed_dir(dir.path()).join("htdemucs-devops"),
    ));
    assert_eq!(stdout(&ran).trim(), "built from source");
    assert_eq!(server.request_count(), 0);

    // Without cargo, a clear refusal.
    let bare = tempdir();
    let out = run(installer(bare.path(), &server.base)
        .env("PATH", "/usr/bin:/bin")
        .env("HTDEMUCS_DEVOPS_VERSION", "source"));
    if !Path::new("/usr/bin/cargo").exists() && !Path::new("/bin/cargo").exists() {
        assert_eq!(out.status.code(), Some(2));
        assert!(
            stderr(&out).contains("version: source needs cargo"),
            "{}",
            stderr(&out)
        );
    }
}

#[test]
fn runner_platforms_map_to_release_targets() {
    let dir = tempdir();
    let targets = [
        "aarch64-apple-darwin",
        "x86_64-apple-darwin",
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
    ];
    let bins = fake_binary(dir.path(), "any");
    let mut routes = HashMap::new();
    for t in targets {
        routes.insert(
            route("v1.0.0", t),
            vec![Reply::ok(release(dir.path(), &bins, t, "v1.0.0"))],
        );
    }
    let server = ReleaseServer::start(routes);
    // uname and sysctl answer what the case says, as on that machine.
    let fake = dir.path().join("fakebin");
    write(
        &fake.join("uname"),
        "#!/bin/sh\ncase \"$1\" in -m) echo \"$FAKE_M\" ;; *) echo \"$FAKE_S\" ;; esac\n",
    );
    write(
        &fake.join("sysctl"),
        "#!/bin/sh\necho \"${FAKE_ARM64:-0}\"\n",
    );
    chmod_x(&fake.join("uname"));
    chmod_x(&fake.join("sysctl"));
    let path = format!(
        "{}:{}",
        fake.display(),
        std::env::var("PATH").expect("PATH is set")
    );
    // (RUNNER_OS, RUNNER_ARCH, uname -s, uname -m, hw.optional.arm64, target, warns)
    let cases = [
        (
            "macOS",
            "ARM64",
            "Darwin",
            "arm64",
            "1",
            "aarch64-apple-darwin",
            false,
        ),
        (
            "macOS",
            "X64",
            "Darwin",
            "x86_64",
            "0",
            "x86_64-apple-darwin",
            false,
        ),
        // A Rosetta shell on Apple silicon: the native build is installed.
        (
            "macOS",
            "ARM64",
            "Darwin",
            "x86_64",
            "1",
            "aarch64-apple-darwin",
            false,
        ),
        (
            "Linux",
            "X64",
            "Linux",
            "x86_64",
            "0",
            "x86_64-unknown-linux-gnu",
            false,
        ),
        (
            "Linux",
            "ARM64",
            "Linux",
            "aarch64",
            "0",
            "aarch64-unknown-linux-gnu",
            false,
        ),
        // An emulated amd64 container on an arm64 host (act): the machine wins.
        (
            "Linux",
            "ARM64",
            "Linux",
            "x86_64",
            "0",
            "x86_64-unknown-linux-gnu",
            true,
        ),
        // Outside a runner: uname alone.
        (
            "",
            "",
            "Linux",
            "aarch64",
            "0",
            "aarch64-unknown-linux-gnu",
            false,
        ),
    ];
    for (i, (os, arch, s, m, arm64, target, warns)) in cases.into_iter().enumerate() {
        let home = dir.path().join(format!("case-{i}"));
        std::fs::create_dir_all(&home).unwrap_or_else(|e| panic!("{e}"));
        let before = server.request_count();
        let out = run(installer(&home, &server.base)
            .env("PATH", &path)
            .env("RUNNER_OS", os)
            .env("RUNNER_ARCH", arch)
            .env("FAKE_S", s)
            .env("FAKE_M", m)
            .env("FAKE_ARM64", arm64)
            .env("HTDEMUCS_DEVOPS_MANIFEST", dir.path().join("manifest"))
            .env("HTDEMUCS_DEVOPS_VERSION", "v1.0.0"));
        assert_eq!(out.status.code(), Some(0), "case {i}: {}", stderr(&out));
        let requests = server
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        assert_eq!(requests.len(), before + 1, "case {i}");
        assert_eq!(requests[before], route("v1.0.0", target), "case {i}");
        assert_eq!(
            stdout(&out).contains("::warning"),
            warns,
            "case {i}: {}",
            stdout(&out)
        );
    }
}

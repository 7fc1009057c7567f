//! The Python wheel (`pip install htdemucs-devops`): built by dist/wheel.sh with maturin as
//! the release does, it carries the main binary alone with the licences, and a fresh venv
//! that installs it offline runs `htdemucs-devops --version`.

use crate::common::*;
use crate::release_host::*;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// A tool from `$HTDEMUCS_VENV/bin`, else PATH; panics with the fix when it is missing, so
/// the test cannot pass without running it.
fn venv_tool(name: &str) -> PathBuf {
    if let Some(venv) = std::env::var_os("HTDEMUCS_VENV") {
        let p = PathBuf::from(venv).join("bin").join(name);
        if p.is_file() {
            return p;
        }
    }
    std::env::var_os("PATH")
        .and_then(|p| {
            std::env::split_paths(&p)
                .map(|d| d.join(name))
                .find(|p| p.is_file())
        })
        .unwrap_or_else(|| {
            panic!("{name} not found: pip install -r requirements-dev.txt, or run through make")
        })
}

/// dist/wheel.sh with cargo pointed at this test build: its intermediate artifacts
/// (`CARGO_BUILD_BUILD_DIR`) are the test build's, so only the main binary is linked again,
/// into a separate target dir so the binary the other tests run is never replaced.
fn wheel_sh(out: &Path) -> Command {
    let profile_dir = bin_path()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("no folder above {}", bin_path().display()));
    let build_dir = profile_dir
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_else(|| panic!("no folder above {}", profile_dir.display()));
    let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
        Some("debug") => "dev",
        Some(other) => other,
        None => "dev",
    };
    let (target, _, _) = host_platform();
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("dist/wheel.sh"))
        .arg(target)
        .arg(out)
        .arg("--profile")
        .arg(profile)
        .env("MATURIN", venv_tool("maturin"))
        .env("CARGO_BUILD_BUILD_DIR", &build_dir)
        .env("CARGO_TARGET_DIR", build_dir.join("wheel"))
        // The features this test build has, so the wheel's build reuses its dependencies.
        .env(
            "FEATURES",
            if cfg!(feature = "torch") { "torch" } else { "" },
        )
        .env_remove("EXPECT_VERSION");
    // What cargo sets for a test process describes this test, not the build wheel.sh runs;
    // some build scripts watch these (ring: CARGO_MANIFEST_DIR), so passing them on would
    // rebuild dependencies on every run.
    for (k, _) in std::env::vars_os() {
        let k = k.to_string_lossy();
        if k.starts_with("CARGO_PKG_")
            || k.starts_with("CARGO_BIN_EXE_")
            || matches!(
                &*k,
                "CARGO_MANIFEST_DIR"
                    | "CARGO_MANIFEST_PATH"
                    | "CARGO_CRATE_NAME"
                    | "CARGO_PRIMARY_PACKAGE"
                    | "CARGO_TARGET_TMPDIR"
                    | "OUT_DIR"
            )
        {
            cmd.env_remove(&*k);
        }
    }
    cmd
}

/// Every member of the zip at `path`, with its bytes.
fn members(path: &Path) -> Vec<(String, Vec<u8>)> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut zip = zip::ZipArchive::new(file).unwrap_or_else(|e| panic!("zip: {e}"));
    (0..zip.len())
        .map(|i| {
            let mut m = zip.by_index(i).unwrap_or_else(|e| panic!("zip: {e}"));
            let mut bytes = Vec::new();
            m.read_to_end(&mut bytes)
                .unwrap_or_else(|e| panic!("zip: {e}"));
            (m.name().to_string(), bytes)
        })
        .collect()
}

fn text(members: &[(String, Vec<u8>)], name: &str) -> String {
    let (_, bytes) = members
        .iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{name} is not in the wheel"));
    String::from_utf8_lossy(bytes).into_owned()
}

/// The folder dist/wheel.sh built this test build's wheel into, built once per test run:
/// every test that installs htdemucs-devops with pip (`make setup` of a scaffold too)
/// shares it.
pub fn built_wheels() -> &'static Path {
    static WHEELS: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    WHEELS.get_or_init(|| {
        let out_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wheels");
        let _ = std::fs::remove_dir_all(&out_dir);
        let out = run(&mut wheel_sh(&out_dir));
        assert!(
            out.status.success(),
            "wheel.sh: {}\n{}",
            stdout(&out),
            stderr(&out)
        );
        out_dir
    })
}

#[test]
fn the_wheel_carries_the_cli_alone_and_installs_offline_into_a_fresh_venv() {
    let dir = tempdir();
    let out_dir = built_wheels();
    // The notices are written for the build only.
    assert!(!repo_root().join("THIRD-PARTY-NOTICES").exists());

    let wheels: Vec<PathBuf> = std::fs::read_dir(out_dir)
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "whl"))
        .collect();
    assert_eq!(wheels.len(), 1, "{wheels:?}");
    let wheel = &wheels[0];
    let name = wheel.file_name().and_then(|n| n.to_str()).unwrap();
    // A binary wheel: any Python 3, no ABI, this platform.
    assert!(
        name.starts_with(&format!("htdemucs_devops-{VERSION}-py3-none-")),
        "{name}"
    );
    let sum = std::fs::read_to_string(wheel.with_extension("whl.sha256"))
        .unwrap_or_else(|e| panic!("{name}.sha256: {e}"));
    assert!(sum.trim_end().ends_with(&format!("  {name}")), "{sum}");

    let files = members(wheel);
    let names: Vec<&str> = files.iter().map(|(n, _)| n.as_str()).collect();
    let data = format!("htdemucs_devops-{VERSION}.data");
    let info = format!("htdemucs_devops-{VERSION}.dist-info");
    let scripts: Vec<&&str> = names
        .iter()
        .filter(|n| n.starts_with(&format!("{data}/scripts/")))
        .collect();
    // The CLI only: the stage runner needs libtorch and ships in the release archives.
    assert_eq!(
        scripts,
        [&format!("{data}/scripts/htdemucs-devops").as_str()],
        "{names:?}"
    );
    assert!(
        !names.iter().any(|n| n.ends_with(".py")),
        "no Python module: {names:?}"
    );
    let metadata = text(&files, &format!("{info}/METADATA"));
    assert!(
        metadata.contains("\nName: htdemucs-devops\n"),
        "{metadata:.400}"
    );
    assert!(
        metadata.contains(&format!("\nVersion: {VERSION}\n")),
        "{metadata:.400}"
    );
    assert!(metadata.contains("\nLicense-Expression: MIT OR Apache-2.0\n"));
    let mit = text(&files, &format!("{info}/licenses/LICENSE-MIT"));
    assert!(mit.contains("Permission is hereby granted"));
    let apache = text(&files, &format!("{info}/licenses/LICENSE-APACHE"));
    assert!(apache.contains("Apache License") && apache.contains("Version 2.0"));
    let notices = text(&files, &format!("{info}/licenses/THIRD-PARTY-NOTICES"));
    for krate in ["\nclap ", "\nserde ", "\noctocrab "] {
        assert!(
            notices.contains(krate),
            "{krate:?} missing from the notices"
        );
    }

    // A fresh venv, no index: what `pip install htdemucs-devops` does with this file.
    let venv = dir.path().join("venv");
    let made = run(Command::new(venv_tool("python"))
        .arg("-m")
        .arg("venv")
        .arg(&venv));
    assert!(made.status.success(), "venv: {}", stderr(&made));
    let pip = run(Command::new(venv.join("bin/python"))
        .args(["-m", "pip", "install", "--no-index", "--no-deps"])
        .arg("--disable-pip-version-check")
        .arg(wheel));
    assert!(
        pip.status.success(),
        "pip: {}\n{}",
        stdout(&pip),
        stderr(&pip)
    );
    let installed = venv.join("bin/htdemucs-devops");
    assert!(installed.is_file(), "{} missing", installed.display());
    assert!(!venv.join("bin/htdemucs-stage-runner").exists());

    // Found on the venv's PATH, as a Makefile finds it, with nothing else of this build's
    // environment (no libtorch folder on any loader path).
    let path = format!("{}:/usr/bin:/bin", venv.join("bin").display());
    let version = run(Command::new("htdemucs-devops")
        .arg("--version")
        .env_clear()
        .env("PATH", &path)
        .env("HOME", dir.path()));
    assert!(version.status.success(), "{}", stderr(&version));
    assert_eq!(stdout(&version), format!("htdemucs-devops {VERSION}\n"));
    let which = run(Command::new("sh")
        .args(["-c", "command -v htdemucs-devops"])
        .env_clear()
        .env("PATH", &path));
    assert_eq!(stdout(&which).trim(), installed.display().to_string());
}

#[test]
fn a_release_tag_that_is_not_the_cargo_version_builds_no_wheel() {
    let dir = tempdir();
    let out_dir = dir.path().join("wheels");
    let out = run(wheel_sh(&out_dir).env("EXPECT_VERSION", "v999.0.0"));
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains(&format!("Cargo.toml has version {VERSION}")) && err.contains("v999.0.0"),
        "{err}"
    );
    assert!(!out_dir.exists());
}

//! Build script: records which torch release `htdemucs-stage-runner` is linked against.
//!
//! With feature `torch`, tch links libtorch dynamically (from PyPI's torch when
//! `LIBTORCH_USE_PYTORCH=1`, else from `$LIBTORCH`). No rpath is embedded: a released runner
//! runs on machines where the build's folder does not exist, so the main binary finds a
//! libtorch at run time and sets the loader path for the runner's process alone
//! (src/runner/libtorch.rs). What it needs from the build is the torch release, which this
//! script passes on as `HTDEMUCS_TORCH_VERSION` (the runner embeds it in a marker string).
//! torch-sys reports the directory it linked against as `DEP_TCH_LIBTORCH_LIB` (its
//! `links = "tch"` key), which reaches this script because torch-sys is a direct,
//! feature-gated dependency of this package.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if env::var_os("CARGO_FEATURE_TORCH").is_none() {
        return;
    }
    let version = env::var("DEP_TCH_LIBTORCH_LIB")
        .ok()
        .filter(|d| !d.is_empty())
        .and_then(|dir| torch_version(Path::new(&dir)));
    match version {
        Some(v) => println!("cargo:rustc-env=HTDEMUCS_TORCH_VERSION={v}"),
        None => {
            println!(
                "cargo:warning=torch version unknown: htdemucs-devops will start \
                 htdemucs-stage-runner with any libtorch it finds, unchecked"
            );
            println!("cargo:rustc-env=HTDEMUCS_TORCH_VERSION=unknown");
        }
    }
}

/// The torch version next to the library directory: `torch/version.py` for PyPI's wheel,
/// `build-version` for a libtorch zip. The local build tag (`+cu130`, `+cpu`) is dropped:
/// a runner links against any build of the same release.
fn torch_version(lib_dir: &Path) -> Option<String> {
    let root = lib_dir.parent()?;
    if let Ok(text) = std::fs::read_to_string(root.join("version.py")) {
        let line = text.lines().find(|l| l.starts_with("__version__"))?;
        let version = line.split(['\'', '"']).nth(1)?;
        return Some(version.split('+').next().unwrap_or(version).to_string());
    }
    let text = std::fs::read_to_string(root.join("build-version")).ok()?;
    Some(text.trim().split('+').next().unwrap_or("").to_string())
}

//! Build script: embeds the libtorch library directory as an rpath of `htdemucs-stage-runner`.
//!
//! With feature `torch`, tch links libtorch dynamically (from PyPI's torch when
//! `LIBTORCH_USE_PYTORCH=1`, else from `$LIBTORCH`). Without an rpath the runner would need
//! `LD_LIBRARY_PATH`/`DYLD_LIBRARY_PATH` at run time. torch-sys reports the directory it
//! linked against as `DEP_TCH_LIBTORCH_LIB` (its `links = "tch"` key), which reaches this
//! script because torch-sys is a direct, feature-gated dependency of this package.
//!
//! The rpath is added to the stage runner only: the main binary must never load libtorch.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=DEP_TCH_LIBTORCH_LIB");
    if env::var_os("CARGO_FEATURE_TORCH").is_none() {
        return;
    }
    let target_os = env::var("CARGO_CFG_TARGET_OS").unwrap_or_default();
    match env::var("DEP_TCH_LIBTORCH_LIB") {
        Ok(dir) if !dir.is_empty() && (target_os == "linux" || target_os == "macos") => {
            println!("cargo:rustc-link-arg-bin=htdemucs-stage-runner=-Wl,-rpath,{dir}");
            // Lets the runner report where its libtorch came from in the results metadata.
            println!("cargo:rustc-env=HTDEMUCS_LIBTORCH_LIB={dir}");
            if let Some(version) = torch_version(Path::new(&dir)) {
                println!("cargo:rustc-env=HTDEMUCS_TORCH_VERSION={version}");
            }
        }
        _ => println!(
            "cargo:warning=libtorch directory unknown: htdemucs-stage-runner will need \
             LD_LIBRARY_PATH (or PATH on Windows) to include libtorch's lib directory"
        ),
    }
}

/// The torch version next to the library directory: `torch/version.py` for PyPI's wheel,
/// `build-version` for a libtorch zip. Used for the results fingerprint.
fn torch_version(lib_dir: &Path) -> Option<String> {
    let root = lib_dir.parent()?;
    if let Ok(text) = std::fs::read_to_string(root.join("version.py")) {
        let line = text.lines().find(|l| l.starts_with("__version__"))?;
        let version = line.split(['\'', '"']).nth(1)?;
        // Drop the local build tag (`+cu130`, `+cpu`): the fingerprint compares releases.
        return Some(version.split('+').next().unwrap_or(version).to_string());
    }
    let text = std::fs::read_to_string(root.join("build-version")).ok()?;
    Some(text.trim().split('+').next().unwrap_or("").to_string())
}

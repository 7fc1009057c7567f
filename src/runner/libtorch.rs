//! Finding, at run time, the libtorch `htdemucs-stage-runner` was built for, for that child alone.
//!
//! A torch-linked runner carries no rpath: the machine that runs it is rarely the one that
//! built it. Instead the runner records the torch release it was compiled against as a
//! marker string in its own executable ([`BUILT_FOR_MARK`]), which the main binary reads by
//! scanning the file — starting the runner to ask would need the very libtorch we are
//! looking for. The main binary then finds a libtorch (`$HTDEMUCS_LIBTORCH`, the config's
//! `torch.libtorch`, else the `torch` package of the configured Python), checks its version,
//! and passes `LD_LIBRARY_PATH`/`DYLD_LIBRARY_PATH` to the runner's process only.

use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A libtorch folder chosen explicitly: a libtorch archive's root, a `torch` package folder,
/// or their `lib` folder. Beats the config and Python.
pub const LIBTORCH_ENV: &str = "HTDEMUCS_LIBTORCH";
/// Tells the runner which library folder it was started with (for its results metadata).
pub const LIB_DIR_ENV: &str = "HTDEMUCS_LIBTORCH_LIB";
/// The start of the marker; the torch release and a `;` follow.
pub const MARK_PREFIX: &str = "htdemucs-stage-runner built for torch ";

/// The marker a torch-linked runner embeds. The runner reads it through
/// `std::hint::black_box`, so the whole string stays in the executable.
#[cfg(feature = "torch")]
pub static BUILT_FOR_MARK: &str = concat!(
    "htdemucs-stage-runner built for torch ",
    env!("HTDEMUCS_TORCH_VERSION"),
    ";"
);

/// The `torch` section of the config: where the runner's libtorch comes from.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct TorchConfig {
    /// A libtorch folder (archive root, `torch` package folder or its `lib`), relative to
    /// the root. `$HTDEMUCS_LIBTORCH` beats it.
    pub libtorch: Option<PathBuf>,
    /// The Python whose `torch` package provides libtorch.
    pub python: Option<PathBuf>,
    /// A virtual environment whose `bin/python` provides libtorch (when `python` is unset).
    pub venv: Option<PathBuf>,
    /// `auto` (the port's torch when its release matches, else the private copy),
    /// `provision` (always the private copy, installed when absent) or `system` (only the
    /// port's). `$HTDEMUCS_TORCH` beats it. See src/runner/provision.rs.
    pub mode: super::provision::Mode,
    /// The folder that holds private torch copies, relative to the root.
    pub cache: Option<PathBuf>,
    /// pip's index for a private copy [Linux: the CPU wheel index; else PyPI].
    pub index_url: Option<String>,
}

/// Where the runner's libtorch was found.
#[derive(Debug, Clone, PartialEq)]
pub struct Found {
    /// The folder holding `libtorch_cpu`.
    pub lib_dir: PathBuf,
    /// Its torch release (`2.13.0`, local tag dropped); `None` when nothing says.
    pub version: Option<String>,
    /// How it was found, for messages.
    pub via: String,
}

/// The runner's libtorch is missing or of another release.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LibtorchError(pub String);

/// The torch release `runner` was built for, read from its marker without starting it;
/// `Ok(None)` for a runner without libtorch (or a stand-in script).
pub fn built_for(runner: &Path) -> Result<Option<String>, LibtorchError> {
    let bytes = match std::fs::read(runner) {
        Ok(b) => b,
        // A runner that is not there fails to start later, with the usual message.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(LibtorchError(format!(
                "cannot read the stage runner {}: {e}",
                runner.display()
            )))
        }
    };
    Ok(find_mark(&bytes))
}

/// The version after the first well-formed marker in `bytes`.
pub fn find_mark(bytes: &[u8]) -> Option<String> {
    let prefix = MARK_PREFIX.as_bytes();
    for pos in memchr::memmem::find_iter(bytes, prefix) {
        let start = pos + prefix.len();
        let tail = &bytes[start..bytes.len().min(start + 40)];
        if let Some(end) = tail.iter().position(|&b| b == b';') {
            let v = &tail[..end];
            let ok = !v.is_empty()
                && v.iter()
                    .all(|&b| b.is_ascii_alphanumeric() || b == b'.' || b == b'-');
            if ok {
                return Some(String::from_utf8_lossy(v).into_owned());
            }
        }
    }
    None
}

/// The release part of a torch version: `2.13.0+cu130` → `2.13.0`.
pub fn release_of(version: &str) -> &str {
    version.split('+').next().unwrap_or(version).trim()
}

pub(crate) fn lib_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libtorch_cpu.dylib"
    } else if cfg!(windows) {
        "torch_cpu.dll"
    } else {
        "libtorch_cpu.so"
    }
}

/// Resolves a folder given as a libtorch location to (lib folder, version).
pub(crate) fn from_folder(dir: &Path) -> Option<(PathBuf, Option<String>)> {
    let (lib, root) = if dir.join(lib_name()).is_file() {
        (dir.to_path_buf(), dir.parent()?.to_path_buf())
    } else if dir.join("lib").join(lib_name()).is_file() {
        (dir.join("lib"), dir.to_path_buf())
    } else {
        return None;
    };
    Some((lib, version_at(&root)))
}

/// The version beside a libtorch: `version.py` in a torch package (where
/// `torch.__version__` comes from), `build-version` in a libtorch archive.
pub fn version_at(root: &Path) -> Option<String> {
    if let Ok(text) = std::fs::read_to_string(root.join("version.py")) {
        let line = text
            .lines()
            .find(|l| l.trim_start().starts_with("__version__"))?;
        let v = line.split(['\'', '"']).nth(1)?;
        return Some(release_of(v).to_string());
    }
    let text = std::fs::read_to_string(root.join("build-version")).ok()?;
    Some(release_of(&text).to_string())
}

/// The Python whose torch to use, and how it was chosen.
pub(crate) fn python_for(cfg: &TorchConfig, root: &Path) -> (PathBuf, String) {
    if let Some(p) = &cfg.python {
        return (root.join(p), "torch.python in the config".into());
    }
    if let Some(v) = &cfg.venv {
        return (
            root.join(v).join("bin/python"),
            "torch.venv in the config".into(),
        );
    }
    if let Some(p) = std::env::var_os("HTDEMUCS_PYTHON") {
        return (PathBuf::from(p), "$HTDEMUCS_PYTHON".into());
    }
    for var in ["HTDEMUCS_VENV", "VIRTUAL_ENV"] {
        if let Some(v) = std::env::var_os(var) {
            return (PathBuf::from(v).join("bin/python"), format!("${var}"));
        }
    }
    let local = root.join(".venv/bin/python");
    if local.is_file() {
        return (local, "the project's .venv".into());
    }
    (PathBuf::from("python3"), "python3 on PATH".into())
}

/// Asks `python` where its `torch` package is, without importing it: importing would load
/// all of libtorch (and CUDA) just to print a path; `torch.__version__` comes from the
/// package's `version.py`, which [`version_at`] reads.
fn torch_dir_of(python: &Path) -> Result<Option<PathBuf>, String> {
    const SCRIPT: &str = "import importlib.util as u\ns = u.find_spec('torch')\n\
        print(s.submodule_search_locations[0] if s and s.submodule_search_locations else '')";
    let mut cmd = Command::new(python);
    crate::secrets::scrub_child_env(&mut cmd);
    let out = cmd
        .args(["-c", SCRIPT])
        .env_remove("PYTHONHOME")
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", python.display()))?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        return Err(format!(
            "{} failed: {}",
            python.display(),
            err.lines().last().unwrap_or("").trim()
        ));
    }
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    Ok((!text.is_empty()).then(|| PathBuf::from(text)))
}

/// The libtorch folder named explicitly (`$HTDEMUCS_LIBTORCH`, else `torch.libtorch`), and
/// how it was named.
pub(crate) fn explicit(cfg: &TorchConfig, root: &Path) -> Option<(PathBuf, String)> {
    match std::env::var_os(LIBTORCH_ENV).filter(|v| !v.is_empty()) {
        Some(v) => Some((PathBuf::from(v), format!("${LIBTORCH_ENV}"))),
        None => cfg
            .libtorch
            .as_ref()
            .map(|p| (root.join(p), "torch.libtorch in the config".to_string())),
    }
}

/// Finds the libtorch named explicitly, else the configured Python's (the `system` mode),
/// for a runner built for torch `wanted`; the error names both versions (or what was
/// searched) and the fix. [`super::provision::locate`] applies the mode around it.
pub fn locate_system(cfg: &TorchConfig, root: &Path, wanted: &str) -> Result<Found, LibtorchError> {
    let fix = format!(
        "install torch=={wanted} into the environment the config's `torch.venv`/`torch.python` \
         names (`pip install torch=={wanted}`; the CPU wheel is enough), set \
         {LIBTORCH_ENV} to a libtorch {wanted} folder, or run `htdemucs-devops torch \
         provision` for a private copy apart from that environment"
    );
    let found = if let Some((dir, via)) = explicit(cfg, root) {
        let (lib_dir, version) = from_folder(&dir).ok_or_else(|| {
            LibtorchError(format!(
                "{via} names {}, which holds no {} (nor lib/{}); point it at a libtorch \
                 {wanted} folder, or unset it to use the configured Python's torch",
                dir.display(),
                lib_name(),
                lib_name()
            ))
        })?;
        Found {
            lib_dir,
            version,
            via: format!("{via} ({})", dir.display()),
        }
    } else {
        let (python, how) = python_for(cfg, root);
        let dir = torch_dir_of(&python).map_err(|e| {
            LibtorchError(format!(
                "htdemucs-stage-runner needs libtorch {wanted} and looks for it in the torch \
                 package of {} ({how}), but {e}; {fix}",
                python.display()
            ))
        })?;
        let dir = dir.ok_or_else(|| {
            LibtorchError(format!(
                "htdemucs-stage-runner needs libtorch {wanted}, but {} ({how}) has no torch \
                 package; {fix}",
                python.display()
            ))
        })?;
        let (lib_dir, version) = from_folder(&dir).ok_or_else(|| {
            LibtorchError(format!(
                "the torch package at {} (from {}) holds no lib/{}; reinstall torch=={wanted}",
                dir.display(),
                python.display(),
                lib_name()
            ))
        })?;
        Found {
            lib_dir,
            version,
            via: format!("the torch package of {} ({how})", python.display()),
        }
    };
    match &found.version {
        Some(v) if wanted != "unknown" && release_of(v) != release_of(wanted) => {
            Err(LibtorchError(format!(
                "htdemucs-stage-runner was built for torch {wanted}, but {} is torch {v} \
                 (libtorch in {}); the runner links one libtorch release exactly. Fix: {fix}",
                found.via,
                found.lib_dir.display()
            )))
        }
        _ => Ok(found),
    }
}

/// The environment the runner's process needs: empty for a runner without libtorch, else
/// the loader path with the found libtorch first, and [`LIB_DIR_ENV`].
pub fn runner_env(
    runner: &Path,
    cfg: &TorchConfig,
    root: &Path,
) -> Result<Vec<(String, String)>, LibtorchError> {
    let Some(wanted) = built_for(runner)? else {
        return Ok(Vec::new());
    };
    let found = super::provision::locate(cfg, root, &wanted)?;
    let var = if cfg!(target_os = "macos") {
        "DYLD_LIBRARY_PATH"
    } else {
        "LD_LIBRARY_PATH"
    };
    let mut dirs = vec![found.lib_dir.clone()];
    if let Some(old) = std::env::var_os(var) {
        dirs.extend(std::env::split_paths(&old));
    }
    let joined = std::env::join_paths(dirs).map_err(|e| {
        LibtorchError(format!(
            "cannot put {} on {var}: {e}",
            found.lib_dir.display()
        ))
    })?;
    Ok(vec![
        (var.to_string(), joined.to_string_lossy().into_owned()),
        (
            LIB_DIR_ENV.to_string(),
            found.lib_dir.to_string_lossy().into_owned(),
        ),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_well_formed_marker_only() {
        let mut bytes = b"\0junk htdemucs-stage-runner built for torch \0\x01".to_vec();
        bytes.extend_from_slice(b"htdemucs-stage-runner built for torch 2.13.0;rest");
        assert_eq!(find_mark(&bytes).as_deref(), Some("2.13.0"));
        assert_eq!(find_mark(b"nothing here"), None);
        assert_eq!(find_mark(MARK_PREFIX.as_bytes()), None);
    }

    #[test]
    fn release_drops_the_local_tag() {
        assert_eq!(release_of("2.13.0+cu130"), "2.13.0");
        assert_eq!(release_of("2.10.0"), "2.10.0");
    }

    #[test]
    fn explicit_folder_without_libtorch_is_refused_naming_it() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let cfg = TorchConfig {
            libtorch: Some(dir.path().to_path_buf()),
            ..TorchConfig::default()
        };
        let err = locate_system(&cfg, Path::new("."), "2.13.0")
            .err()
            .map(|e| e.to_string())
            .expect("refused");
        assert!(err.contains(&dir.path().display().to_string()), "{err}");
        assert!(err.contains("2.13.0"), "{err}");
    }

    #[test]
    fn version_mismatch_names_both_versions() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let torch = dir.path().join("torch");
        std::fs::create_dir_all(torch.join("lib")).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(torch.join("lib").join(lib_name()), b"").unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(torch.join("version.py"), "__version__ = '2.10.0+cpu'\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let cfg = TorchConfig {
            libtorch: Some(torch.clone()),
            ..TorchConfig::default()
        };
        let err = locate_system(&cfg, Path::new("."), "2.13.0")
            .err()
            .map(|e| e.to_string())
            .expect("refused");
        assert!(err.contains("2.13.0") && err.contains("2.10.0"), "{err}");
        let ok = locate_system(&cfg, Path::new("."), "2.10.0").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(ok.lib_dir, torch.join("lib"));
    }
}

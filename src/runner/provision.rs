//! A private torch for the stage runner: `torch==<the release it was built for>` installed
//! with pip into a cache folder of its own, apart from the port's environment, and the
//! `torch.mode` choice (`auto | provision | system`) between it and the port's torch.
//!
//! The copy lives in `<cache>/torch-<release>-<os>-<arch>`; `<cache>` is `torch.cache` in
//! the config, `$HTDEMUCS_TORCH_CACHE`, `$RUNNER_TOOL_CACHE/htdemucs-devops` in Actions,
//! else `$XDG_CACHE_HOME/htdemucs-devops` or `~/.cache/htdemucs-devops`. pip installs into
//! a temporary folder beside it, which is renamed into place only when complete, so an
//! interrupted or concurrent provision never leaves a half copy under the final name.

use super::libtorch::{self, Found, LibtorchError, TorchConfig};
use serde::Deserialize;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Overrides `torch.mode` (the action's `torch` input sets it).
pub const MODE_ENV: &str = "HTDEMUCS_TORCH";
/// Overrides the cache folder that holds private copies.
pub const CACHE_ENV: &str = "HTDEMUCS_TORCH_CACHE";
/// pip's index for Linux: CPU-only wheels, a fraction of PyPI's CUDA build.
pub const LINUX_CPU_INDEX: &str = "https://download.pytorch.org/whl/cpu";

/// Which libtorch the runner gets when nothing names one explicitly.
#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Mode {
    /// The port's torch when its release matches, else the private copy if present.
    #[default]
    Auto,
    /// Always the private copy, provisioned when absent.
    Provision,
    /// Only the port's torch (the configured Python's).
    System,
}

impl Mode {
    fn parse(text: &str) -> Option<Mode> {
        match text.trim() {
            "auto" => Some(Mode::Auto),
            "provision" => Some(Mode::Provision),
            "system" => Some(Mode::System),
            _ => None,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            Mode::Auto => "auto",
            Mode::Provision => "provision",
            Mode::System => "system",
        }
    }
}

/// The mode in force: `$HTDEMUCS_TORCH` when set and not empty, else the config's.
pub fn mode(cfg: &TorchConfig) -> Result<Mode, LibtorchError> {
    match std::env::var(MODE_ENV)
        .ok()
        .filter(|v| !v.trim().is_empty())
    {
        Some(v) => Mode::parse(&v).ok_or_else(|| {
            LibtorchError(format!(
                "${MODE_ENV} (the action's `torch` input) is {v:?}; use auto, provision or system"
            ))
        }),
        None => Ok(cfg.mode),
    }
}

/// The folder holding private copies.
pub fn cache_base(cfg: &TorchConfig, root: &Path) -> PathBuf {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    if let Some(c) = &cfg.cache {
        return root.join(c);
    }
    if let Some(c) = env(CACHE_ENV) {
        return c;
    }
    if let Some(t) = env("RUNNER_TOOL_CACHE") {
        return t.join("htdemucs-devops");
    }
    let xdg = env("XDG_CACHE_HOME").or_else(|| env("HOME").map(|h| h.join(".cache")));
    xdg.unwrap_or_else(std::env::temp_dir)
        .join("htdemucs-devops")
}

/// The private copy's folder for torch `release` on this platform.
pub fn private_dir(base: &Path, release: &str) -> PathBuf {
    base.join(format!(
        "torch-{}-{}-{}",
        libtorch::release_of(release),
        std::env::consts::OS,
        std::env::consts::ARCH
    ))
}

/// The private copy at `dir` when it is complete: its `torch` package holds libtorch.
/// Its version may differ from the wanted one (the caller checks).
pub fn present(dir: &Path) -> Option<Found> {
    let (lib_dir, version) = libtorch::from_folder(&dir.join("torch"))?;
    Some(Found {
        lib_dir,
        version,
        via: format!("the private torch at {}", dir.display()),
    })
}

/// Where pip looks for the wheel.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    /// pip `--index-url`; `None`: the config's, else the CPU index on Linux, else pip's own.
    pub index_url: Option<String>,
    /// pip `--find-links` (a folder of wheels or a page of links).
    pub find_links: Vec<String>,
    /// pip `--no-index`: only `find_links`.
    pub no_index: bool,
}

/// The outcome of [`provision`].
#[derive(Debug)]
pub struct Provisioned {
    pub found: Found,
    /// False when a complete copy was already there and pip did not run.
    pub installed: bool,
}

/// Makes sure `<base>/torch-<wanted>-<os>-<arch>` holds torch `wanted`, installing it with
/// the configured Python's pip when absent. Nothing is downloaded when it is present.
pub fn provision(
    cfg: &TorchConfig,
    root: &Path,
    wanted: &str,
    sources: &Sources,
) -> Result<Provisioned, LibtorchError> {
    let base = cache_base(cfg, root);
    let dir = private_dir(&base, wanted);
    if let Some(found) = present(&dir) {
        return checked(found, wanted).map(|found| Provisioned {
            found,
            installed: false,
        });
    }
    std::fs::create_dir_all(&base).map_err(|e| {
        LibtorchError(format!(
            "cannot create the torch cache folder {}: {e}; set {CACHE_ENV} or `torch.cache` \
             to a writable folder",
            base.display()
        ))
    })?;
    let tmp = tempfile::Builder::new()
        .prefix(".provisioning-")
        .tempdir_in(&base)
        .map_err(|e| LibtorchError(format!("cannot create a folder in {}: {e}", base.display())))?;
    pip_install(cfg, root, wanted, sources, tmp.path())?;
    let staged = present(tmp.path()).ok_or_else(|| {
        LibtorchError(format!(
            "pip installed torch=={wanted}, but it holds no torch/lib/{}; the index served a \
             wheel without libtorch",
            libtorch::lib_name()
        ))
    })?;
    checked(staged, wanted)?;
    let staged = tmp.keep();
    if let Err(e) = std::fs::rename(&staged, &dir) {
        // Another provision finished first: keep its complete copy, drop ours.
        let _ = std::fs::remove_dir_all(&staged);
        if present(&dir).is_none() {
            return Err(LibtorchError(format!(
                "cannot move the new torch into {}: {e}; if that folder is left from an \
                 interrupted copy, delete it and run `htdemucs-devops torch provision` again",
                dir.display()
            )));
        }
    }
    let found = present(&dir)
        .ok_or_else(|| LibtorchError(format!("{} vanished after install", dir.display())))?;
    checked(found, wanted).map(|found| Provisioned {
        found,
        installed: true,
    })
}

/// `found` when its release is `wanted`, else an error naming both.
fn checked(found: Found, wanted: &str) -> Result<Found, LibtorchError> {
    match &found.version {
        Some(v) if libtorch::release_of(v) == libtorch::release_of(wanted) => Ok(found),
        other => Err(LibtorchError(format!(
            "htdemucs-stage-runner was built for torch {wanted}, but {} is torch {}; delete \
             that folder and run `htdemucs-devops torch provision` again",
            found.via,
            other
                .as_deref()
                .unwrap_or("of an unknown release (no torch/version.py)")
        ))),
    }
}

/// Runs `python -m pip install --target <into> --no-deps torch==<wanted>`; the runner
/// loads libtorch only, never torch's Python dependencies.
fn pip_install(
    cfg: &TorchConfig,
    root: &Path,
    wanted: &str,
    sources: &Sources,
    into: &Path,
) -> Result<(), LibtorchError> {
    let (python, how) = libtorch::python_for(cfg, root);
    let mut cmd = Command::new(&python);
    crate::secrets::scrub_child_env(&mut cmd);
    cmd.args([
        "-m",
        "pip",
        "install",
        "--no-deps",
        "--no-input",
        "--no-cache-dir",
    ])
    .args([
        "--disable-pip-version-check",
        "--only-binary=:all:",
        "--target",
    ])
    .arg(into)
    .arg(format!("torch=={}", libtorch::release_of(wanted)));
    let index = sources.index_url.clone().or_else(|| cfg.index_url.clone());
    let index = index.or_else(|| cfg!(target_os = "linux").then(|| LINUX_CPU_INDEX.to_string()));
    if sources.no_index {
        cmd.arg("--no-index");
    } else if let Some(url) = &index {
        cmd.args(["--index-url", url]);
    }
    for f in &sources.find_links {
        cmd.args(["--find-links", f]);
    }
    // pip's output is kept out of the log: an index's text could forge workflow commands.
    // Its error lines come back in the message, which the console neutralises.
    cmd.args(["--progress-bar", "off"])
        .env_remove("PYTHONHOME")
        .stdin(Stdio::null());
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .map_err(|e| {
            LibtorchError(format!(
                "cannot run {} ({how}) to install torch=={wanted}: {e}; set `torch.python` \
                 or $HTDEMUCS_PYTHON to a Python with pip",
                python.display()
            ))
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = err.lines().rev().take(5).collect();
        let tail: Vec<&str> = tail.into_iter().rev().collect();
        return Err(LibtorchError(format!(
            "`{} -m pip install torch=={wanted}` ({how}) failed: {}; check the index \
             (--index-url, `torch.index_url`) and the network",
            python.display(),
            tail.join(" / ").trim()
        )));
    }
    Ok(())
}

/// Finds the runner's libtorch according to the mode; an explicit folder
/// (`$HTDEMUCS_LIBTORCH`, `torch.libtorch`) beats every mode.
pub fn locate(cfg: &TorchConfig, root: &Path, wanted: &str) -> Result<Found, LibtorchError> {
    if libtorch::explicit(cfg, root).is_some() {
        return libtorch::locate_system(cfg, root, wanted);
    }
    match mode(cfg)? {
        Mode::System => libtorch::locate_system(cfg, root, wanted),
        Mode::Provision => provision(cfg, root, wanted, &Sources::default()).map(|p| p.found),
        Mode::Auto => {
            let theirs = libtorch::locate_system(cfg, root, wanted);
            let Err(their_err) = theirs else {
                return theirs;
            };
            let dir = private_dir(&cache_base(cfg, root), wanted);
            match present(&dir) {
                Some(found) => checked(found, wanted),
                None => Err(LibtorchError(format!(
                    "{their_err}. No private torch {wanted} either ({} is absent): run \
                     `htdemucs-devops torch provision` once, or set `torch.mode: provision` \
                     (the action's `torch: provision` input) to install it there",
                    dir.display()
                ))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_and_the_config_names_them_in_lowercase() {
        assert_eq!(Mode::parse(" provision "), Some(Mode::Provision));
        assert_eq!(Mode::parse("Auto"), None);
        let cfg: TorchConfig =
            serde_yaml_ng::from_str("mode: system\ncache: c\n").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(cfg.mode, Mode::System);
        assert_eq!(cache_base(&cfg, Path::new("/r")), Path::new("/r/c"));
        assert!(serde_yaml_ng::from_str::<TorchConfig>("mode: sometimes\n").is_err());
    }

    #[test]
    fn the_private_folder_names_release_os_and_arch() {
        let dir = private_dir(Path::new("/c"), "2.13.0+cpu");
        let name = dir.file_name().map(|n| n.to_string_lossy().into_owned());
        let want = format!(
            "torch-2.13.0-{}-{}",
            std::env::consts::OS,
            std::env::consts::ARCH
        );
        assert_eq!(name.as_deref(), Some(want.as_str()));
    }

    #[test]
    fn a_copy_of_another_release_is_refused_naming_both() {
        let found = Found {
            lib_dir: PathBuf::from("/c/torch/lib"),
            version: Some("2.10.0".into()),
            via: "the private torch at /c".into(),
        };
        let err = checked(found.clone(), "2.13.0")
            .err()
            .map(|e| e.to_string())
            .expect("a copy of another release is refused");
        assert!(err.contains("2.13.0") && err.contains("2.10.0"), "{err}");
        assert!(checked(found, "2.10.0").is_ok());
    }
}

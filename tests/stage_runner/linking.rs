//! Linking: the main binary never links libtorch; the runner carries no rpath and runs on a
//! machine without its build venv, with the libtorch the main binary finds for it.

use std::process::Command;

use crate::common::{MAIN, RUNNER};

/// The shared libraries a binary depends on (`ldd` on Linux, `otool -L` on macOS).
fn linked_libraries(binary: &str) -> String {
    let out = if cfg!(target_os = "macos") {
        Command::new("otool").args(["-L", binary]).output()
    } else {
        Command::new("ldd")
            .arg(binary)
            .env_remove("LD_LIBRARY_PATH")
            .output()
    }
    .unwrap();
    assert!(out.status.success(), "listing libraries of {binary} failed");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
#[cfg(unix)]
fn main_binary_does_not_link_libtorch() {
    let libs = linked_libraries(MAIN);
    assert!(
        !libs.contains("libtorch") && !libs.contains("libc10"),
        "htdemucs-devops links libtorch:\n{libs}"
    );
    let runner = linked_libraries(RUNNER);
    if cfg!(feature = "torch") {
        // The runner links libtorch, and nothing in it says where: without the loader path
        // the main binary sets, libtorch is not found.
        assert!(
            runner.contains("libtorch_cpu"),
            "stage runner should link libtorch:\n{runner}"
        );
        if cfg!(target_os = "linux") {
            assert!(
                runner.contains("libtorch_cpu.so => not found"),
                "libtorch resolved without a loader path (an rpath left in?):\n{runner}"
            );
        }
    } else {
        assert!(
            !runner.contains("libtorch"),
            "runner without feature torch links libtorch:\n{runner}"
        );
    }
}

/// `readelf -d`: no RPATH or RUNPATH at all in the runner (Linux).
#[test]
#[cfg(target_os = "linux")]
fn runner_has_no_rpath() {
    let out = Command::new("readelf")
        .args(["-d", RUNNER])
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("NEEDED"), "readelf -d shows nothing:\n{text}");
    assert!(
        !text.contains("RPATH") && !text.contains("RUNPATH"),
        "the runner has an rpath:\n{text}"
    );
}

#[cfg(feature = "torch")]
mod torch {
    use super::*;
    use crate::common::{example, python, run_ok};
    use htdemucs_devops::runner::libtorch;
    use std::path::{Path, PathBuf};
    use std::process::Output;

    fn py(python: &Path, code: &str) -> String {
        let out = run_ok(Command::new(python).args(["-c", code]));
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// The build venv: the prefix of the Python whose torch the runner was built against.
    fn build_venv() -> PathBuf {
        PathBuf::from(py(&python(), "import sys; print(sys.prefix)"))
    }

    fn site_packages(venv: &Path) -> PathBuf {
        let out = py(
            &venv.join("bin/python"),
            "import sysconfig; print(sysconfig.get_paths()['purelib'])",
        );
        PathBuf::from(out)
    }

    /// A fresh venv (no pip) from the build venv's base interpreter, outside the build venv.
    fn new_venv(dir: &Path) -> PathBuf {
        let base = py(&python(), "import sys; print(sys._base_executable)");
        let _ = std::fs::remove_dir_all(dir);
        run_ok(
            Command::new(base)
                .args(["-m", "venv", "--without-pip"])
                .arg(dir),
        );
        dir.to_path_buf()
    }

    /// A second torch 2.13.0 installation: a new venv whose site-packages is a hard-linked
    /// copy of the build venv's (the same files under other paths, no extra disk). Falls
    /// back to a symlinked copy when hard links cannot cross file systems; returns whether
    /// the copy is independent of the build venv's paths.
    fn second_venv() -> (PathBuf, bool) {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("second-venv");
        let stamp = dir.join("COMPLETE");
        let independent = dir.join("HARDLINKED");
        if !stamp.is_file() {
            new_venv(&dir);
            let from = site_packages(&build_venv());
            let to = site_packages(&dir);
            let _ = std::fs::remove_dir_all(&to);
            let mut hard = true;
            let cp = |flag: &str| {
                Command::new("cp")
                    .arg(flag)
                    .arg(&from)
                    .arg(&to)
                    .output()
                    .unwrap()
            };
            if !cp("-al").status.success() {
                let _ = std::fs::remove_dir_all(&to);
                assert!(cp("-as").status.success(), "copying site-packages failed");
                hard = false;
            }
            if hard {
                std::fs::write(&independent, "").unwrap();
            }
            std::fs::write(&stamp, "").unwrap();
        }
        (dir, independent.is_file())
    }

    /// A project folder: the example's pipeline plus a config naming `venv` for torch.
    fn project(name: &str, venv: &Path) -> PathBuf {
        let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let config = format!(
            "parity:\n  run:\n    spec: {}\n    reference_backend: pytorch\n    \
             candidate_backend: converted\n    signal_seconds: 0.5\n    isolated: false\n\
             torch:\n  venv: {}\n",
            example().join("pipeline.yml").display(),
            venv.display()
        );
        std::fs::write(dir.join("config.yml"), config).unwrap();
        dir
    }

    /// `htdemucs-devops parity run` in `dir`, with no Python or libtorch hints in the
    /// environment: only the config says where torch is.
    fn parity_run(dir: &Path, wrap: Option<(&Path, &Path)>) -> Output {
        parity_run_in(dir, wrap, "system")
    }

    /// [`parity_run`] with `torch.mode` `mode` (`$HTDEMUCS_TORCH`).
    fn parity_run_in(dir: &Path, wrap: Option<(&Path, &Path)>, mode: &str) -> Output {
        let (config, out_dir) = (dir.join("config.yml"), dir.join("out"));
        let args = [
            "parity",
            "run",
            "--root",
            dir.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
            "--out-dir",
            out_dir.to_str().unwrap(),
        ];
        let mut cmd = match wrap {
            // A user+mount namespace in which the build venv is an empty folder.
            Some((hide, empty)) => {
                let mut c = Command::new("unshare");
                c.args(["--user", "--map-root-user", "--mount", "sh", "-c"])
                    .arg("mount --bind \"$1\" \"$2\" && shift 2 && exec \"$@\"")
                    .arg("sh")
                    .arg(empty)
                    .arg(hide)
                    .arg(MAIN)
                    .args(args);
                c
            }
            None => {
                let mut c = Command::new(MAIN);
                c.args(args);
                c
            }
        };
        for var in [
            "HTDEMUCS_PYTHON",
            "HTDEMUCS_VENV",
            "VIRTUAL_ENV",
            "LD_LIBRARY_PATH",
            "DYLD_LIBRARY_PATH",
            libtorch::LIBTORCH_ENV,
            "HTDEMUCS_STAGE_RUNNER",
            "GITHUB_ACTIONS",
        ] {
            cmd.env_remove(var);
        }
        cmd.env("HTDEMUCS_STAGE_RUNNER", RUNNER);
        // `system`: the configured Python's torch only, so a private copy in the user's
        // cache cannot stand in for the installation under test.
        cmd.env("HTDEMUCS_TORCH", mode);
        cmd.output().unwrap()
    }

    /// Where the runner's results say its libtorch came from.
    fn libtorch_used(dir: &Path) -> String {
        let path = dir.join("out/parity-run/0-signal-0.5s/reference.json");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let i = text
            .find("\"libtorch\"")
            .unwrap_or_else(|| panic!("no libtorch in {text}"));
        text[i..]
            .split('"')
            .nth(3)
            .unwrap_or_else(|| panic!("no libtorch path in {text}"))
            .to_string()
    }

    fn can_hide() -> bool {
        Command::new("unshare")
            .args(["--user", "--map-root-user", "--mount", "true"])
            .output()
            .is_ok_and(|o| o.status.success())
    }

    #[test]
    fn runner_records_the_torch_release_it_was_built_for() {
        let wanted = libtorch::built_for(Path::new(RUNNER)).unwrap();
        let have = py(
            &python(),
            "import torch; print(torch.__version__.split('+')[0])",
        );
        assert_eq!(wanted.as_deref(), Some(have.as_str()));
        assert_eq!(libtorch::built_for(Path::new(MAIN)).unwrap(), None);
    }

    #[test]
    fn runner_runs_with_the_build_venv_hidden_on_a_second_torch_install() {
        let (venv, independent) = second_venv();
        let dir = project("relocated", &venv);
        let build = build_venv();
        let hide = independent && can_hide();
        let empty = dir.join("empty");
        std::fs::create_dir_all(&empty).unwrap();
        let out = parity_run(&dir, hide.then_some((build.as_path(), empty.as_path())));
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(
            out.status.code(),
            Some(0),
            "hidden build venv: {hide}\n{}\n{stderr}",
            String::from_utf8_lossy(&out.stdout)
        );
        let used = libtorch_used(&dir);
        assert!(
            used.starts_with(venv.to_str().unwrap()),
            "libtorch came from {used}, not from {}",
            venv.display()
        );
        assert!(!used.starts_with(build.to_str().unwrap()), "{used}");
        // Visible in the log when the build venv could not be hidden (no user namespaces).
        eprintln!(
            "build venv {} hidden: {hide}; libtorch used: {used}",
            build.display()
        );
    }

    /// A venv whose `torch` is a stub saying 2.10.0 (a port pinning an older torch).
    fn stub_torch_venv(name: &str) -> PathBuf {
        let venv = new_venv(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name));
        let torch = site_packages(&venv).join("torch");
        std::fs::create_dir_all(torch.join("lib")).unwrap();
        std::fs::write(
            torch.join("__init__.py"),
            "from .version import __version__\n",
        )
        .unwrap();
        std::fs::write(torch.join("version.py"), "__version__ = '2.10.0'\n").unwrap();
        let lib = if cfg!(target_os = "macos") {
            "libtorch_cpu.dylib"
        } else {
            "libtorch_cpu.so"
        };
        std::fs::write(torch.join("lib").join(lib), "").unwrap();
        // The stub is what `import torch` finds in that venv.
        assert_eq!(
            py(
                &venv.join("bin/python"),
                "import torch; print(torch.__version__)"
            ),
            "2.10.0"
        );
        venv
    }

    #[test]
    fn a_torch_of_another_release_exits_2_naming_both() {
        let venv = stub_torch_venv("stub-venv");
        let dir = project("other-release", &venv);
        let out = parity_run(&dir, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(
            stderr.contains("built for torch 2.13.0") && stderr.contains("is torch 2.10.0"),
            "{stderr}"
        );
        assert!(stderr.contains("pip install torch==2.13.0"), "{stderr}");
        assert!(!dir
            .join("out/parity-run/0-signal-0.5s/reference.npz")
            .exists());
    }

    #[test]
    fn a_python_without_torch_exits_2_naming_the_release_and_the_fix() {
        let venv = new_venv(&PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("bare-venv"));
        let dir = project("no-torch", &venv);
        let out = parity_run(&dir, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("has no torch package"), "{stderr}");
        assert!(stderr.contains("torch==2.13.0"), "{stderr}");
        assert!(stderr.contains(&venv.display().to_string()), "{stderr}");
    }

    /// The port pins 2.10.0 and the cache holds a private 2.13.0 (the build venv's torch
    /// package, linked into the private layout): `auto` starts the real runner on it,
    /// `system` refuses the port's torch.
    #[test]
    fn auto_runs_the_runner_on_the_private_torch_when_the_port_pins_another() {
        let venv = stub_torch_venv("pinned-venv");
        let dir = project("private-torch", &venv);
        let cache = dir.join("cache");
        let wanted = libtorch::built_for(Path::new(RUNNER)).unwrap().unwrap();
        let private = htdemucs_devops::runner::provision::private_dir(&cache, &wanted);
        std::fs::create_dir_all(&private).unwrap();
        let torch = site_packages(&build_venv()).join("torch");
        std::os::unix::fs::symlink(&torch, private.join("torch")).unwrap();
        let config = dir.join("config.yml");
        let mut text = std::fs::read_to_string(&config).unwrap();
        text.push_str(&format!("  cache: {}\n", cache.display()));
        std::fs::write(&config, text).unwrap();

        let out = parity_run_in(&dir, None, "auto");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(0), "{stderr}");
        let used = libtorch_used(&dir);
        assert!(used.starts_with(private.to_str().unwrap()), "{used}");

        let out = parity_run_in(&dir, None, "system");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("is torch 2.10.0"), "{stderr}");
    }
}

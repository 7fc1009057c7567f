//! The generated Makefile's targets that need no Swift or macOS, run for real as a
//! non-root user: `setup` (a stamp file, never the interpreter), `lint` (ruff),
//! `test-parity`, and the install hint when htdemucs-devops is missing.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const VERSION: &str = env!("CARGO_PKG_VERSION");

/// The venv with ruff and pytest the tests use (`make test` sets HTDEMUCS_VENV).
pub fn dev_venv() -> PathBuf {
    let v = std::env::var_os("HTDEMUCS_VENV")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv"));
    assert!(
        v.join("bin/ruff").is_file() && v.join("bin/python").exists(),
        "no venv with ruff at {} (run make test, or set HTDEMUCS_VENV)",
        v.display()
    );
    v
}

/// A command that runs as `nobody` when the tests run as root (so a write outside the
/// workspace fails as it would for a maintainer), else as the current non-root user.
pub fn as_user(program: &str, dir: &Path) -> Command {
    let root = run(Command::new("id").arg("-u")).stdout == b"0\n";
    let mut cmd = if root {
        let mut c = Command::new("setpriv");
        c.args([
            "--reuid=nobody",
            "--regid=nogroup",
            "--clear-groups",
            "--",
            program,
        ]);
        c
    } else {
        Command::new(program)
    };
    cmd.current_dir(dir).env("HOME", dir).env("NO_COLOR", "1");
    for (k, _) in std::env::vars() {
        // Nor our make's variables: `make test VENV=...` exports VENV, which the port's
        // Makefile would take for its own venv.
        if k.starts_with("GITHUB_")
            || k == "CI"
            || k.starts_with("MAKE")
            || k == "MFLAGS"
            || k == "VENV"
        {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// A temporary folder the non-root user can write (and everything below it).
pub fn shared_tempdir() -> tempfile::TempDir {
    let dir = tempdir();
    open_up(dir.path());
    dir
}

/// Makes `path` and everything below it writable by everyone (test folders only).
pub fn open_up(path: &Path) {
    let out = run(Command::new("chmod").args(["-R", "a+rwX"]).arg(path));
    assert!(out.status.success(), "{}", stderr(&out));
}

/// A bootstrap interpreter for `make setup` that creates the venv without downloading:
/// a venv without pip whose site-packages reaches the dev venv's (ruff, pytest, pip are
/// there, pinned as the generated setup asks, so pip has nothing to fetch).
pub fn fast_bootstrap(dir: &Path) -> PathBuf {
    let venv = dev_venv();
    let site = run(Command::new(venv.join("bin/python")).args([
        "-c",
        "import sysconfig; print(sysconfig.get_paths()['purelib'])",
    ]));
    let site = stdout(&site).trim().to_string();
    let script = dir.join("bootstrap-python");
    write(
        &script,
        &format!(
            "#!/bin/sh\n# called as: bootstrap-python -m venv DIR\nset -e\n\"{py}\" -m venv --without-pip \"$3\"\nsp=$(\"$3/bin/python\" -c \"import sysconfig; print(sysconfig.get_paths()['purelib'])\")\necho \"{site}\" > \"$sp/dev-venv.pth\"\n",
            py = base_python().display()
        ),
    );
    let chmod = run(Command::new("chmod").arg("a+rx").arg(&script));
    assert!(chmod.status.success());
    script
}

/// The system interpreter the fast venv is based on (the dev venv's may live where
/// `nobody` cannot reach, e.g. under /root); both are the same minor version here.
pub fn base_python() -> PathBuf {
    let system = PathBuf::from("/usr/bin/python3");
    if system.exists() {
        system
    } else {
        dev_venv().join("bin/python")
    }
}

/// `make ARGS` as the non-root user, with the dev venv's tools on PATH after the venv's.
pub fn make(dir: &Path, args: &[&str]) -> Output {
    make_with(dir, args, &[])
}

/// `make ARGS` as [`make`] does, with `env` added.
pub fn make_with(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    // The system folders only: root's own tool folders are not the maintainer's.
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        dev_venv().join("bin").display()
    );
    let mut cmd = as_user("make", dir);
    cmd.args(args).env("PATH", path);
    for (k, v) in env {
        cmd.env(k, v);
    }
    run(&mut cmd)
}

/// `HTDEMUCS_DEVOPS_FIND_LINKS=<this build's wheel folder>`: `make setup` installs the
/// htdemucs-devops of this build into the venv, as it installs a release's.
pub fn local_wheels() -> String {
    format!(
        "HTDEMUCS_DEVOPS_FIND_LINKS={}",
        crate::wheel::built_wheels().display()
    )
}

fn mtime(p: &Path) -> std::time::SystemTime {
    std::fs::metadata(p)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The real interpreter behind a venv's `bin/python` symlink chain.
pub fn interpreter(venv: &Path) -> PathBuf {
    std::fs::canonicalize(venv.join("bin/python"))
        .unwrap_or_else(|e| panic!("{}: {e}", venv.display()))
}

fn ok(out: &Output, what: &str) {
    assert!(
        out.status.success(),
        "{what} failed:\n{}\n{}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn setup_lint_and_test_parity_run_as_a_maintainer_without_touching_the_interpreter() {
    let dir = shared_tempdir();
    let d = dir.path();
    let git = run(Command::new("git").args(["init", "-q"]).current_dir(d));
    assert!(git.status.success());
    let init = run(bin().arg("init").current_dir(d));
    assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
    write(
        &d.join("tests/parity/test_ok.py"),
        "def test_adds():\n    assert 1 + 1 == 2\n",
    );
    write(&d.join("src/pkg/__init__.py"), "VALUE = 1\n");
    let boot = fast_bootstrap(d);
    open_up(d);
    let system = std::fs::canonicalize(base_python()).unwrap_or_else(|e| panic!("{e}"));
    let before = mtime(&system);

    let boot_arg = format!("BOOTSTRAP_PYTHON={}", boot.display());
    let links = local_wheels();
    // Offline: the dev venv has ruff, pytest and pre-commit; the wheel is this build's.
    let offline = [("PIP_NO_INDEX", "1")];
    ok(
        &make_with(d, &["setup", &boot_arg, &links], &offline),
        "make setup",
    );
    assert!(d
        .join(format!(".venv/.htdemucs-devops-setup-{VERSION}"))
        .is_file());
    // The release the workflow's action runs, in the venv.
    let wf = std::fs::read_to_string(d.join(".github/workflows/htdemucs-devops.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(
        wf.contains(&format!("uses: zakkeown/htdemucs-devops@v{VERSION}\n")),
        "{wf}"
    );
    let installed = run(Command::new(d.join(".venv/bin/htdemucs-devops")).arg("--version"));
    assert_eq!(stdout(&installed), format!("htdemucs-devops {VERSION}\n"));
    assert_eq!(
        mtime(&interpreter(&d.join(".venv"))),
        before,
        "make setup changed the system interpreter's mtime"
    );
    // Up to date: a second run does nothing.
    let again = make_with(d, &["setup", &boot_arg, &links], &offline);
    ok(&again, "second make setup");
    assert!(
        !stdout(&again).contains("pip install"),
        "{}",
        stdout(&again)
    );

    // `make lint` runs the venv's htdemucs-devops (no DEVOPS= given).
    let lint = make(d, &["lint"]);
    ok(&lint, "make lint");
    assert!(stdout(&lint).contains("ruff"), "{}", stdout(&lint));
    assert!(
        stdout(&lint).contains(".venv/bin/htdemucs-devops lint"),
        "{}",
        stdout(&lint)
    );
    let devops = format!("DEVOPS={}", bin_path().display());
    ok(&make(d, &["test-parity"]), "make test-parity");

    // A lint finding fails the target.
    write(&d.join("src/pkg/bad.py"), "import os\n");
    open_up(d);
    let bad = make(d, &["lint", &devops]);
    assert!(!bad.status.success(), "{}", stdout(&bad));

    // Without htdemucs-devops installed: how to install it, not "command not found".
    let missing = make(d, &["lint", "DEVOPS=htdemucs-devops-not-installed"]);
    assert!(!missing.status.success());
    let err = stderr(&missing);
    assert!(
        err.contains("htdemucs-devops-not-installed is not installed")
            && err.contains(&format!(
                "make setup   (htdemucs-devops {VERSION} into .venv)"
            ))
            && err.contains("cargo install --locked htdemucs-devops"),
        "{err}"
    );
    assert!(!err.contains("command not found"), "{err}");
    assert_eq!(mtime(&system), before);
}

#[test]
fn the_example_workflows_never_run_parity_without_arguments() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(root.join("examples/workflows/ci.yml"))
        .unwrap_or_else(|e| panic!("{e}"));
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        if l.trim() == "phase: parity" {
            let next = lines.get(i + 1).map(|s| s.trim()).unwrap_or_default();
            assert!(
                next.starts_with("args: "),
                "ci.yml:{}: parity without args",
                i + 1
            );
        }
    }
}

/// The generated workflow's parity step runs `parity` with its `args` (none when the
/// config names the port's stems): the way the action runs it, it never exits 2.
#[test]
fn the_generated_parity_step_has_what_it_needs() {
    let port = shared_tempdir();
    let cp = run(Command::new("cp")
        .arg("-R")
        .arg(fixtures().join("port/."))
        .arg(port.path()));
    assert!(cp.status.success(), "{}", stderr(&cp));
    let fresh = shared_tempdir();
    for (dir, pairs) in [(port.path(), true), (fresh.path(), false)] {
        let git = run(Command::new("git").args(["init", "-q"]).current_dir(dir));
        assert!(git.status.success());
        let init = run(bin().arg("init").current_dir(dir));
        assert_eq!(init.status.code(), Some(0), "{}", stderr(&init));
        let wf = std::fs::read_to_string(dir.join(".github/workflows/htdemucs-devops.yml"))
            .unwrap_or_else(|e| panic!("{e}"));
        let wf: serde_yaml_ng::Value =
            serde_yaml_ng::from_str(&wf).unwrap_or_else(|e| panic!("{e}"));
        let step = wf["jobs"]["parity"]["steps"]
            .as_sequence()
            .and_then(|s| {
                s.iter()
                    .find(|st| st["with"]["phase"].as_str() == Some("parity"))
            })
            .cloned()
            .unwrap_or_else(|| panic!("no parity step"));
        let args = step["with"]["args"].as_str().map(str::to_string);
        assert_eq!(args.is_none(), pairs, "{step:?}");
        if pairs {
            let out = run(bin().arg("parity").current_dir(dir));
            assert_eq!(
                out.status.code(),
                Some(0),
                "{}{}",
                stdout(&out),
                stderr(&out)
            );
        } else {
            assert_eq!(args.as_deref(), Some("run"));
        }
    }
}

//! `torch provision` / `torch status` and the `torch.mode` lookup, through the binary:
//! a stub `torch` wheel in a local folder stands in for the index (no download), a Python
//! wrapper logs every pip call and the environment pip got.

use crate::common::*;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const WANTED: &str = "2.13.0";
pub const SECRET: &str = "ghs_provisionSecret0123456789";

pub fn lib_name() -> &'static str {
    if cfg!(target_os = "macos") {
        "libtorch_cpu.dylib"
    } else {
        "libtorch_cpu.so"
    }
}

/// A wheel that pip installs as `torch==<dist>` and whose `torch/version.py` says `inner`.
pub fn stub_wheel(dir: &Path, dist: &str, inner: &str) {
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join(format!("torch-{dist}-py3-none-any.whl"));
    let file = std::fs::File::create(&path).unwrap_or_else(|e| panic!("{e}"));
    let info = format!("torch-{dist}.dist-info");
    let members: Vec<(String, String)> = vec![
        ("torch/__init__.py".into(), String::new()),
        (
            "torch/version.py".into(),
            format!("__version__ = '{inner}+cpu'\n"),
        ),
        (
            format!("torch/lib/{}", lib_name()),
            "not a library\n".into(),
        ),
        (
            format!("{info}/METADATA"),
            format!("Metadata-Version: 2.1\nName: torch\nVersion: {dist}\n"),
        ),
        (
            format!("{info}/WHEEL"),
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
                .into(),
        ),
    ];
    let mut record: String = members.iter().map(|(n, _)| format!("{n},,\n")).collect();
    record.push_str(&format!("{info}/RECORD,,\n"));
    let mut zip = zip::ZipWriter::new(file);
    let opts = zip::write::SimpleFileOptions::default();
    for (name, text) in members
        .iter()
        .chain(std::iter::once(&(format!("{info}/RECORD"), record)))
    {
        zip.start_file(name.as_str(), opts)
            .unwrap_or_else(|e| panic!("zip: {e}"));
        zip.write_all(text.as_bytes())
            .unwrap_or_else(|e| panic!("zip: {e}"));
    }
    zip.finish().unwrap_or_else(|e| panic!("zip: {e}"));
}

fn executable(path: &Path, text: &str) {
    write(path, text);
    let out = run(Command::new("chmod").arg("+x").arg(path));
    assert!(out.status.success());
}

/// A scene: a runner built for 2.13.0, a wheel folder, a cache folder and a Python wrapper
/// that logs its arguments and environment, then runs the real Python with `site` first
/// on its path (where a port's fake `torch` package can go). pip is held back a second,
/// so that two provisions started together surely overlap.
pub struct Scene {
    pub dir: tempfile::TempDir,
}

impl Scene {
    pub fn new() -> Scene {
        let dir = tempdir();
        let s = Scene { dir };
        executable(
            &s.runner(),
            &format!(
                "#!/bin/sh\n# htdemucs-stage-runner built for torch {WANTED};\n\
                 env > '{}'\nexit 2\n",
                s.path("runner.env").display()
            ),
        );
        let real = python_with_numpy();
        let site = s.path("site");
        std::fs::create_dir_all(&site).unwrap_or_else(|e| panic!("{e}"));
        executable(
            &s.python(),
            &format!(
                "#!/bin/sh\necho \"$*\" >> '{log}'\nenv >> '{env}'\n\
                 if [ \"$1\" = -m ]; then sleep 1; fi\nPYTHONPATH='{site}' exec '{real}' \"$@\"\n",
                log = s.path("python.log").display(),
                env = s.path("python.env").display(),
                site = site.display(),
                real = real.display()
            ),
        );
        s
    }
    pub fn path(&self, p: &str) -> PathBuf {
        self.dir.path().join(p)
    }
    pub fn runner(&self) -> PathBuf {
        self.path("htdemucs-stage-runner")
    }
    pub fn python(&self) -> PathBuf {
        self.path("python")
    }
    pub fn private(&self) -> PathBuf {
        self.path("cache").join(format!(
            "torch-{WANTED}-{}-{}",
            std::env::consts::OS,
            std::env::consts::ARCH
        ))
    }
    pub fn pip_calls(&self) -> usize {
        std::fs::read_to_string(self.path("python.log"))
            .unwrap_or_default()
            .lines()
            .filter(|l| l.starts_with("-m pip install"))
            .count()
    }
    /// The port's own torch package, found by the wrapper Python first.
    pub fn port_torch(&self, version: &str) -> PathBuf {
        let torch = self.path("site/torch");
        write(&torch.join("__init__.py"), "");
        write(
            &torch.join("version.py"),
            &format!("__version__ = '{version}'\n"),
        );
        write(&torch.join("lib").join(lib_name()), "");
        torch.join("lib")
    }
    pub fn torch(&self, args: &[&str], mode: &str) -> Output {
        let mut cmd = bin();
        cmd.current_dir(self.dir.path())
            .arg("torch")
            .args(args)
            .arg("--runner")
            .arg(self.runner())
            .arg("--cache-dir")
            .arg(self.path("cache"))
            .env("HTDEMUCS_PYTHON", self.python())
            .env("HTDEMUCS_TORCH", mode)
            .env("GITHUB_TOKEN", SECRET)
            .env("INNOCENT_LOOKING", SECRET)
            .env_remove("HTDEMUCS_LIBTORCH")
            .env_remove("HTDEMUCS_TORCH_CACHE");
        run(&mut cmd)
    }
    pub fn provision(&self) -> Output {
        let wheels = self.path("wheels");
        let wheels = wheels.to_str().unwrap();
        self.torch(&["provision", "--no-index", "--find-links", wheels], "auto")
    }
}

pub fn text(o: &Output) -> String {
    format!("{}{}", stdout(o), stderr(o))
}

#[test]
fn provision_installs_once_into_a_private_folder_and_pip_gets_no_token() {
    let s = Scene::new();
    stub_wheel(&s.path("wheels"), WANTED, WANTED);
    let out = s.provision();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let lib = s.private().join("torch/lib").join(lib_name());
    assert!(lib.is_file(), "{}: {}", lib.display(), text(&out));
    assert!(s.private().join("torch/version.py").is_file());
    // Only the finished copy stays: no half-installed folder beside it.
    let names: Vec<String> = std::fs::read_dir(s.path("cache"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert_eq!(s.pip_calls(), 1);
    let log = std::fs::read_to_string(s.path("python.log")).expect("python was run");
    assert!(log.contains(&format!("torch=={WANTED}")), "{log}");
    assert!(
        log.contains("--no-deps") && log.contains("--target"),
        "{log}"
    );
    // pip (and the Python asked where torch is) never see the token, by name or value.
    let env = std::fs::read_to_string(s.path("python.env")).expect("python was run");
    assert!(env.contains("PATH="), "{env}");
    assert!(
        !env.contains(SECRET) && !env.contains("GITHUB_TOKEN"),
        "{env}"
    );
    assert!(!text(&out).contains(SECRET));

    // Idempotent: the second run finds the copy and does not call pip.
    let again = s.provision();
    assert_eq!(again.status.code(), Some(0), "{}", text(&again));
    assert!(text(&again).contains("already present"), "{}", text(&again));
    assert_eq!(s.pip_calls(), 1);

    // `provision` mode uses it, without calling pip again.
    let status = s.torch(&["status"], "provision");
    assert_eq!(status.status.code(), Some(0), "{}", text(&status));
    let shown = s.private().join("torch/lib").display().to_string();
    assert!(text(&status).contains(&shown), "{}", text(&status));
    assert_eq!(s.pip_calls(), 1);
}

#[test]
fn a_private_torch_of_another_release_is_refused_naming_both() {
    let s = Scene::new();
    // The index says 2.13.0, the package inside says 2.10.0.
    stub_wheel(&s.path("wheels"), WANTED, "2.10.0");
    let out = s.provision();
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let msg = text(&out);
    assert!(msg.contains("2.13.0") && msg.contains("2.10.0"), "{msg}");
    assert!(
        !s.private().exists(),
        "a wrong copy must not take the final name"
    );

    // A copy that went wrong in place is refused in provision mode too.
    let bad = s.private().join("torch");
    write(&bad.join("version.py"), "__version__ = '2.10.0'\n");
    write(&bad.join("lib").join(lib_name()), "");
    let status = s.torch(&["status"], "provision");
    assert_eq!(status.status.code(), Some(2), "{}", text(&status));
    let msg = text(&status);
    assert!(msg.contains("2.13.0") && msg.contains("2.10.0"), "{msg}");
    assert!(msg.contains(&s.private().display().to_string()), "{msg}");
}

#[test]
fn auto_takes_the_ports_torch_when_it_matches_else_the_private_copy() {
    let s = Scene::new();
    // The port's torch matches: auto takes it.
    let port_lib = s.port_torch("2.13.0+cu130");
    let out = s.torch(&["status"], "auto");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("libtorch: {}", port_lib.display())),
        "{}",
        text(&out)
    );

    // The port pins an older torch and there is no private copy: exit 2, both versions
    // and the fix.
    s.port_torch("2.10.0");
    let out = s.torch(&["status"], "auto");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    let msg = text(&out);
    assert!(msg.contains("2.13.0") && msg.contains("2.10.0"), "{msg}");
    assert!(msg.contains("htdemucs-devops torch provision"), "{msg}");

    // With a private copy, auto takes it; system still refuses the port's 2.10.0.
    stub_wheel(&s.path("wheels"), WANTED, WANTED);
    assert_eq!(s.provision().status.code(), Some(0));
    let out = s.torch(&["status"], "auto");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    let private_lib = s.private().join("torch/lib");
    assert!(
        text(&out).contains(&format!("libtorch: {}", private_lib.display())),
        "{}",
        text(&out)
    );
    let out = s.torch(&["status"], "system");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("2.10.0"), "{}", text(&out));

    // An unknown mode is a usage error naming the variable.
    let out = s.torch(&["status"], "sometimes");
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("HTDEMUCS_TORCH"), "{}", text(&out));
}

#[test]
fn two_provisions_at_once_leave_one_complete_copy() {
    let s = Scene::new();
    stub_wheel(&s.path("wheels"), WANTED, WANTED);
    let start = || {
        bin()
            .current_dir(s.dir.path())
            .args(["torch", "provision", "--no-index", "--find-links"])
            .arg(s.path("wheels"))
            .arg("--runner")
            .arg(s.runner())
            .arg("--cache-dir")
            .arg(s.path("cache"))
            .env("HTDEMUCS_PYTHON", s.python())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let (a, b) = (start(), start());
    for child in [a, b] {
        let out = child.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    }
    let names: Vec<String> = std::fs::read_dir(s.path("cache"))
        .unwrap_or_else(|e| panic!("{e}"))
        .filter_map(|e| e.ok().map(|e| e.file_name().to_string_lossy().into_owned()))
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    assert!(s.private().join("torch/lib").join(lib_name()).is_file());
    // Both started before either finished, so both ran pip: the loser's copy was dropped.
    assert_eq!(s.pip_calls(), 2);
}

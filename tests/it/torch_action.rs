//! The private torch where the stage runner really gets it: `parity run` starting the
//! runner on a copy provisioned on first use, and the action's `torch: provision` input
//! with its cache step (tests/it/torch_provision.rs has the scene).

use crate::common::*;
use crate::torch_provision::*;
use std::path::Path;

#[test]
fn parity_run_in_provision_mode_installs_the_copy_and_starts_the_runner_on_it() {
    let s = Scene::new();
    stub_wheel(&s.path("wheels"), WANTED, WANTED);
    s.port_torch("2.10.0");
    let out = run(bin()
        .current_dir(s.dir.path())
        .args(["parity", "run", "--runner"])
        .arg(s.runner())
        .env("HTDEMUCS_TORCH", "provision")
        .env("HTDEMUCS_TORCH_CACHE", s.path("cache"))
        .env("HTDEMUCS_PYTHON", s.python())
        .env("PIP_NO_INDEX", "1")
        .env("PIP_FIND_LINKS", s.path("wheels"))
        .env("GITHUB_TOKEN", SECRET)
        .env_remove("HTDEMUCS_LIBTORCH"));
    // The stand-in runner exits 2 once it has recorded what it was started with.
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert_eq!(s.pip_calls(), 1, "{}", text(&out));
    let env = std::fs::read_to_string(s.path("runner.env")).expect("the runner was started");
    let lib = s.private().join("torch/lib").display().to_string();
    assert!(
        env.lines()
            .any(|l| l.starts_with(&format!("HTDEMUCS_LIBTORCH_LIB={lib}"))),
        "{env}"
    );
    let loader = if cfg!(target_os = "macos") {
        "DYLD_LIBRARY_PATH"
    } else {
        "LD_LIBRARY_PATH"
    };
    assert!(
        env.lines()
            .any(|l| l.starts_with(&format!("{loader}={lib}"))),
        "{env}"
    );
    assert!(!env.contains(SECRET), "{env}");
}

#[test]
fn the_actions_torch_provision_input_caches_the_private_copy_by_release_os_and_arch() {
    let s = Scene::new();
    let ws = s.path("ws");
    write(&ws.join("reports/gen.txt"), "");
    stub_wheel(&s.path("wheels"), WANTED, WANTED);
    let runner = s.runner();
    let python = s.python();
    let wheels = s.path("wheels");
    let job_env = [
        ("HTDEMUCS_STAGE_RUNNER", runner.to_str().unwrap()),
        ("HTDEMUCS_PYTHON", python.to_str().unwrap()),
        // pip reads these as --no-index --find-links: the stub wheel, no network.
        ("PIP_NO_INDEX", "1"),
        ("PIP_FIND_LINKS", wheels.to_str().unwrap()),
        ("DEPLOY_TOKEN", SECRET),
    ];
    let bin = bin_path();
    let with = |torch: &'static str| {
        vec![
            ("phase", "lint"),
            ("binary-path", bin.to_str().unwrap()),
            ("args", "--report generic=reports/gen.txt"),
            ("torch", torch),
        ]
    };
    let (_, os, arch) = crate::release_host::host_platform();
    let private = ws.join(".toolcache/htdemucs-devops").join(format!(
        "torch-{WANTED}-{}-{}",
        std::env::consts::OS,
        std::env::consts::ARCH
    ));
    for round in 0..2 {
        let r = crate::composite::run_action(&ws, &with("provision"), &job_env);
        assert_eq!(r.code, Some(0), "round {round}: {}{}", r.stdout, r.stderr);
        assert_eq!(r.caches.len(), 1, "{:?}", r.caches);
        assert_eq!(Path::new(&r.caches[0]["path"]), private);
        assert_eq!(
            r.caches[0]["key"],
            format!("htdemucs-devops-torch-{WANTED}-{os}-{arch}")
        );
        assert!(private.join("torch/lib").join(lib_name()).is_file());
        // Installed in the first round only: the second finds it (a cache hit).
        assert_eq!(s.pip_calls(), 1, "round {round}");
    }
    let env = std::fs::read_to_string(s.path("python.env")).expect("python was run");
    assert!(!env.contains(SECRET), "{env}");
    // Linux gets the CPU wheels unless told otherwise (here pip's PIP_NO_INDEX wins).
    let log = std::fs::read_to_string(s.path("python.log")).expect("python was run");
    assert_eq!(
        log.contains("--index-url https://download.pytorch.org/whl/cpu"),
        cfg!(target_os = "linux"),
        "{log}"
    );
    // Without the input, no torch step runs and nothing is cached.
    let r = crate::composite::run_action(&ws, &with(""), &job_env);
    assert_eq!(r.code, Some(0), "{}{}", r.stdout, r.stderr);
    assert!(r.caches.is_empty(), "{:?}", r.caches);
}

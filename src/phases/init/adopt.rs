//! Reading a port as it is: the targets of its Makefile and the shape of its CI workflow
//! (what every render needs), and on a first `init` what it already has (parity suite
//! and its venv, pytest tests, benchmark script and its results file, stem folders,
//! pinned ruff, CoreML model) turned into settings and proposed config sections.

use std::path::{Path, PathBuf};

use super::blocks::{hook_rev, MAKE_MARKERS};
use super::config::InitConfig;
use super::templates::Repo;

/// What adoption found, proposes and leaves to the maintainer.
#[derive(Debug, Default)]
pub struct Adoption {
    pub found: Vec<String>,
    pub todo: Vec<String>,
}

const RUFF_HOOKS: &str = "https://github.com/astral-sh/ruff-pre-commit";

fn read(root: &Path, rel: &str) -> Option<String> {
    std::fs::read_to_string(root.join(rel)).ok()
}

/// Safe to put in YAML flow sequences, Makefile variables and shell unquoted.
fn plain(v: &str) -> bool {
    !v.is_empty()
        && v.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._/@+-".contains(c))
}

/// Targets a Makefile defines (outside our block): `name:` rules, not variables.
pub fn make_targets(text: &str) -> Vec<String> {
    let own = MAKE_MARKERS.find(text);
    let text = match own {
        Some(r) => format!("{}{}", &text[..r.start], &text[r.end..]),
        None => text.to_string(),
    };
    let mut out = Vec::new();
    for line in text.lines() {
        if line.starts_with(['\t', ' ', '#', '.']) {
            continue;
        }
        let Some((names, rest)) = line.split_once(':') else {
            continue;
        };
        if rest.starts_with('=') || names.contains('=') || names.contains('$') {
            continue;
        }
        out.extend(names.split_whitespace().map(str::to_string));
    }
    out
}

/// The parts of the repository every render depends on.
pub fn read_repo(root: &Path) -> Repo {
    let make_targets = read(root, "Makefile")
        .map(|t| make_targets(&t))
        .unwrap_or_default();
    let (mut ci_name, mut ci_has_phase_input) = (None, false);
    if let Some(text) = read(root, ".github/workflows/ci.yml") {
        let v: serde_yaml_ng::Value = serde_yaml_ng::from_str(&text).unwrap_or_default();
        // Ends up in ci-comment.yml's `workflows:`; anything unusual falls back to CI.
        let name = v["name"].as_str().unwrap_or("CI");
        let safe = name.len() <= 100
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || " ._-/()".contains(c));
        ci_name = Some(if safe { name } else { "CI" }.to_string());
        ci_has_phase_input = !v["on"]["workflow_dispatch"]["inputs"]["phase"].is_null();
    }
    Repo {
        make_targets,
        ci_name,
        ci_has_phase_input,
        adopted_config: String::new(),
    }
}

/// The ruff release the pre-commit config pins (its ruff-pre-commit `rev`): the one ruff
/// version, which `make setup` and CI are rendered with (Dependabot moves it).
pub fn pinned_ruff(root: &Path) -> Option<String> {
    let pre_commit = read(root, ".pre-commit-config.yaml")?;
    let rev = hook_rev(&pre_commit, RUFF_HOOKS)?;
    let v = rev.trim_start_matches('v').to_string();
    plain(&v).then_some(v)
}

/// Folders below `root` (hidden ones, venvs and build products skipped), up to `depth`.
fn walk(root: &Path, rel: PathBuf, depth: usize, out: &mut Vec<PathBuf>) {
    out.push(rel.clone());
    if depth == 0 {
        return;
    }
    let Ok(entries) = std::fs::read_dir(root.join(&rel)) else {
        return;
    };
    let mut dirs: Vec<PathBuf> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.file_name())
        .filter(|n| {
            let n = n.to_string_lossy();
            !n.starts_with('.') && !n.contains("venv") && n != "node_modules" && n != "build"
        })
        .map(|n| rel.join(n))
        .collect();
    dirs.sort();
    for d in dirs {
        walk(root, d, depth - 1, out);
    }
}

/// The regular files directly in `root/rel`, by name, sorted.
pub(super) fn files_in(root: &Path, rel: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root.join(rel))
        .map(|rd| {
            rd.flatten()
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    names.sort();
    names
}

/// A relative path with `/` separators, as configs and Makefiles spell it.
pub(super) fn rel_str(p: &Path) -> String {
    p.to_string_lossy().replace('\\', "/")
}

/// Fills `settings` from what the repository has and returns the config sections
/// that wire its suites and scripts in, with notes for the maintainer.
pub fn adopt(root: &Path, settings: &mut InitConfig) -> (String, Adoption) {
    let mut a = Adoption::default();
    let mut config = String::new();
    let mut parity_section = String::new();
    let mut dirs = Vec::new();
    walk(root, PathBuf::new(), 4, &mut dirs);
    let makefile = read(root, "Makefile").unwrap_or_default();

    // The venv their Makefile names (VENV := ...), else a venv folder beside the suite.
    let venv = makefile.lines().find_map(|l| {
        let (k, v) = l.split_once('=')?;
        let k = k.trim_end_matches([':', '?', ' ']);
        (k.trim() == "VENV").then(|| v.trim().to_string())
    });
    if let Some(v) = venv.filter(|v| plain(v)) {
        a.found.push(format!("venv {v} (from the Makefile)"));
        settings.venv = v;
    } else if root.join("tests/parity/venv").is_dir() {
        settings.venv = "tests/parity/venv".into();
    }
    let has_tests = |rel: &Path| {
        files_in(root, rel)
            .iter()
            .any(|f| f.starts_with("test_") && f.ends_with(".py"))
    };
    let parity = dirs
        .iter()
        .find(|d| d.ends_with("parity") && has_tests(d))
        .map(|d| rel_str(d))
        .filter(|d| plain(d));
    if let Some(p) = &parity {
        a.found.push(format!("pytest parity suite {p}"));
        settings.parity_tests = p.clone();
        let req = format!("{p}/requirements.txt");
        if root.join(&req).is_file() && settings.venv.starts_with(p.as_str()) {
            settings.requirements = req;
        }
    }
    if settings.requirements == "requirements.txt" && !root.join("requirements.txt").is_file() {
        a.todo.push(
            "no requirements.txt: make setup installs only ruff, pytest and pre-commit".into(),
        );
    }
    let py = format!("{}/bin/python", settings.venv);
    if let Some(v) = pinned_ruff(root) {
        a.found.push(format!(
            "ruff {v} (the pre-commit pin; setup and CI use it too)"
        ));
        settings.ruff_version = v;
    }
    let package = read(root, "Package.swift").unwrap_or_default();
    if package.to_lowercase().contains("ffmpeg") {
        a.found
            .push("an FFmpeg dependency in Package.swift: CI installs ffmpeg with brew".into());
        settings.brew.push("ffmpeg".into());
    }
    for kept in [".swiftformat"] {
        if root.join(kept).is_file() {
            a.found
                .push(format!("{kept}: kept yours (listed under init.skip)"));
            settings.skip.push(kept.into());
        }
    }
    if let Some(b) = ["benchmarks/baseline.json"]
        .iter()
        .find(|b| root.join(b).is_file())
    {
        settings.baseline = (*b).into();
    }

    // Stems: the folder the parity scripts write pairs to, wired in as parity.pairs.
    if let Some(p) = super::stems::detect(root, &dirs, parity.as_deref())
        .filter(|p| plain(&p.dir) && p.metrics_csv.as_deref().is_none_or(plain))
    {
        let count = if p.stems > 0 {
            format!("{} stem pairs", p.stems)
        } else {
            "stem pairs".to_string()
        };
        a.found.push(format!(
            "{count} in {} ({}: reference {}, candidate {}; read from {}) as parity.pairs",
            p.dir, p.pattern, p.reference, p.candidate, p.source
        ));
        match &p.metrics_csv {
            Some(m) => a.found.push(format!("{m} as parity.metrics_csv")),
            None => a.todo.push(format!(
                "no metrics.csv in {}: if your scripts write one, add `metrics_csv: {}/metrics.csv` under parity",
                p.dir, p.dir
            )),
        }
        a.todo.push(format!(
            "the parity job compares the stems in {} as they are in the checkout; if your scripts write them in CI, run those first (the `setup` input of the workflow call)",
            p.dir
        ));
        settings.stems = Some(p.dir.clone());
        parity_section = super::stems::config_section(&p);
    }

    // Test commands: the port's pytest suites, through its venv.
    let mut commands = Vec::new();
    let top_tests = Path::new("tests");
    if has_tests(top_tests) {
        let ignore = parity
            .as_ref()
            .map(|p| format!(", \"--ignore={p}\""))
            .unwrap_or_default();
        commands.push(format!(
            "    - name: pytest\n      command: [{py}, -m, pytest, tests{ignore}, -q, --junitxml, \"{{out_dir}}/pytest-junit.xml\"]\n      junit: [\"{{out_dir}}/pytest-junit.xml\"]\n"
        ));
        a.found.push("pytest tests in tests".into());
    }
    if let Some(p) = &parity {
        commands.push(format!(
            "    - name: parity suite\n      command: [{py}, -m, pytest, {p}, -q, --junitxml, \"{{out_dir}}/parity-suite-junit.xml\"]\n      junit: [\"{{out_dir}}/parity-suite-junit.xml\"]\n"
        ));
    }
    if !commands.is_empty() {
        config.push_str("\n# Adopted by `htdemucs-devops init` from what the repository has.\ntest:\n  commands:\n    - name: swift test\n      command: [swift, test, --parallel, --xunit-output, \"{out_dir}/swift-xunit.xml\"]\n      junit: [\"{out_dir}/swift-xunit*.xml\"]\n      if_present: [Package.swift]\n");
        for c in commands {
            config.push_str(&c);
        }
    }

    // Benchmark script: a Python file under benchmarks/ that names a results JSON.
    let bench = files_in(root, Path::new("benchmarks"))
        .into_iter()
        .filter(|f| f.ends_with(".py") && f.contains("bench"))
        .find_map(|f| {
            let text = read(root, &format!("benchmarks/{f}"))?;
            let results = ["latest.json", "results.json", "benchmark.json"]
                .into_iter()
                .find(|r| text.contains(r))?;
            Some((format!("benchmarks/{f}"), format!("benchmarks/{results}")))
        });
    if let Some((script, results)) = bench.filter(|(s, r)| plain(s) && plain(r)) {
        a.found
            .push(format!("benchmark script {script} writing {results}"));
        config.push_str(&format!(
            "\nbenchmark:\n  # Our history, kept apart from {} (the file your scripts read and write).\n  baseline: benchmarks/htdemucs-devops-baseline.json\n  producers:\n    - name: {}\n      command: [{py}, {script}]\n      results_file: {results}\n",
            settings.baseline,
            script.trim_start_matches("benchmarks/").trim_end_matches(".py"),
        ));
    }

    config.push_str(&parity_section);

    // The CoreML model: its package manifest names the spec and the weights.
    for d in dirs
        .iter()
        .filter(|d| d.extension().is_some_and(|e| e == "mlpackage"))
    {
        let manifest = d.join("Manifest.json");
        let Some(text) = read(root, &rel_str(&manifest)) else {
            continue;
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        let root_id = v["rootModelIdentifier"].as_str().unwrap_or_default();
        let spec = v["itemInfoEntries"][root_id]["path"]
            .as_str()
            .unwrap_or("?");
        a.found
            .push(format!("CoreML model {} (spec {spec})", rel_str(d)));
        a.todo.push(format!(
            "{}: its inputs and outputs are in the protobuf spec, which init does not read; name them in a pipeline.yml to use `parity run` stage by stage",
            rel_str(d)
        ));
    }
    (config, a)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn make_targets_skips_variables_recipes_and_our_block() {
        let text = format!(
            "VENV := x\nA ?= 1\n.PHONY: a\nbuild build-cli: dep\n\techo: no\nlint:\n{}",
            MAKE_MARKERS.wrap("setup:\n\ttrue")
        );
        assert_eq!(make_targets(&text), ["build", "build-cli", "lint"]);
    }
}

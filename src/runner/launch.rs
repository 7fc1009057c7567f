//! The one way the main binary starts `htdemucs-stage-runner`: finding the binary, its
//! argv and environment (its libtorch on the loader path, the allocator and thread
//! settings, no secrets), starting it and reading back what it wrote.
//!
//! The main binary never links libtorch or CoreML; it starts one runner process per
//! backend, in turn (never in parallel: they would compete for the same cores and skew
//! each other's times), so each backend's peak memory is its own. `parity run` starts it
//! through [`run`] for each backend and mode; `benchmark run` starts a producer whose
//! program is the runner through [`CommandLine`]. The runner's CLI is the contract:
//! `--spec FILE --backend NAME [--audio FILE | --signal-seconds N] [--capture OUT.npz]
//! [--inputs-from REF.npz | --shared-from REF.npz] [--stage NAME]... [--warmup N]
//! [--repeat N] [--threads N] [--out RESULTS.json]`.

use anyhow::{bail, Context, Result};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use super::external::THREAD_VARS;
use super::libtorch::{runner_env, TorchConfig};
use super::settings::{RunnerSettings, THREADS_ENV};
use crate::output::console::Console;
use crate::process::{run_tool, Launch};

/// Environment variable that overrides where the runner binary is.
pub const RUNNER_ENV: &str = "HTDEMUCS_STAGE_RUNNER";
/// The runner's executable name.
pub const RUNNER_BIN: &str = "htdemucs-stage-runner";

/// The runner to use: an explicit path, else `$HTDEMUCS_STAGE_RUNNER`, next to the current
/// executable (or its parent, for test binaries in `target/*/deps`), then `PATH`; else the
/// bare name, so that starting it reports it as not installed.
pub fn locate(explicit: Option<PathBuf>) -> PathBuf {
    explicit
        .or_else(search)
        .unwrap_or_else(|| PathBuf::from(RUNNER_BIN))
}

fn search() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os(RUNNER_ENV) {
        return Some(PathBuf::from(path));
    }
    let name = format!("{RUNNER_BIN}{}", std::env::consts::EXE_SUFFIX);
    if let Ok(exe) = std::env::current_exe() {
        for dir in exe.ancestors().skip(1).take(2) {
            let candidate = dir.join(&name);
            if candidate.is_file() {
                return Some(candidate);
            }
        }
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(&name))
        .find(|c| c.is_file())
}

/// What the runner is fed.
#[derive(Debug, Clone)]
pub enum Input {
    /// A WAV file.
    Audio(PathBuf),
    /// The generated test signal, this many seconds long.
    Signal(f64),
}

impl Input {
    /// A short name for messages and folder names.
    pub fn label(&self) -> String {
        match self {
            Input::Audio(p) => p
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| p.display().to_string()),
            Input::Signal(s) => format!("signal-{s}s"),
        }
    }

    fn args(&self) -> Vec<String> {
        match self {
            Input::Audio(p) => vec!["--audio".into(), p.display().to_string()],
            Input::Signal(s) => vec!["--signal-seconds".into(), s.to_string()],
        }
    }
}

/// Warm-up, repetitions and threads, identical for every backend.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub warmup: usize,
    pub repeat: usize,
    /// Intra-op threads (`None`: the `runner:` settings' count).
    pub threads: Option<usize>,
}

/// The environment every runner process gets: its libtorch on the loader path (nothing
/// for a runner without libtorch), the allocator and thread settings of the `runner:`
/// config, and, with an explicit thread count, that count in every thread variable.
pub fn environment(
    runner: &Path,
    torch: &TorchConfig,
    settings: &RunnerSettings,
    threads: Option<usize>,
    root: &Path,
) -> Result<Vec<(String, String)>> {
    let mut env = runner_env(runner, torch, root)?;
    env.extend(settings.launch_env());
    if let Some(t) = threads {
        let t = t.to_string();
        for var in std::iter::once(THREADS_ENV).chain(THREAD_VARS) {
            match env.iter_mut().find(|(k, _)| k == var) {
                Some((_, v)) => v.clone_from(&t),
                None => env.push((var.to_string(), t.clone())),
            }
        }
    }
    Ok(env)
}

/// One runner process: one backend on one input.
pub struct Invocation<'a> {
    pub runner: &'a Path,
    pub spec: &'a Path,
    pub backend: &'a str,
    pub input: &'a Input,
    /// Where the runner writes its outputs; its results JSON goes beside it.
    pub capture: &'a Path,
    /// Isolated mode: every stage fed from this reference capture.
    pub inputs_from: Option<&'a Path>,
    /// Chained mode: the reference capture feeding stages this backend does not run.
    pub shared_from: Option<&'a Path>,
    /// Stages to run (empty: all).
    pub stages: &'a [String],
    pub timing: Timing,
    pub cwd: &'a Path,
    /// From [`environment`].
    pub env: &'a [(String, String)],
}

impl Invocation<'_> {
    /// The results JSON the runner writes (`--out`): the capture's name with `.json`.
    pub fn results(&self) -> PathBuf {
        self.capture.with_extension("json")
    }

    /// The runner's command line, program first.
    pub fn argv(&self) -> Vec<String> {
        let mut argv = vec![
            self.runner.display().to_string(),
            "--spec".into(),
            self.spec.display().to_string(),
            "--backend".into(),
            self.backend.to_string(),
            "--capture".into(),
            self.capture.display().to_string(),
        ];
        match self.inputs_from {
            // Isolated: the reference capture holds the input audio too, and the runner
            // takes it from there (naming the audio again is an error).
            Some(r) => argv.extend(["--inputs-from".into(), r.display().to_string()]),
            None => argv.extend(self.input.args()),
        }
        if let Some(r) = self.shared_from {
            argv.extend(["--shared-from".into(), r.display().to_string()]);
        }
        for stage in self.stages {
            argv.extend(["--stage".into(), stage.clone()]);
        }
        argv.extend([
            "--warmup".into(),
            self.timing.warmup.to_string(),
            "--repeat".into(),
            self.timing.repeat.to_string(),
        ]);
        if let Some(t) = self.timing.threads {
            argv.extend(["--threads".into(), t.to_string()]);
        }
        argv.extend(["--out".into(), self.results().display().to_string()]);
        argv
    }

    fn title(&self) -> String {
        let mode = if self.inputs_from.is_some() {
            "isolated"
        } else {
            "chained"
        };
        format!(
            "stage runner {} {mode} on {}",
            self.backend,
            self.input.label()
        )
    }
}

/// Runs the stage runner (output folded and masked by the console, no secrets in its
/// environment), checks it wrote its capture, and returns its results JSON (`None` when a
/// runner other than ours wrote none).
pub fn run(console: &Console, inv: &Invocation<'_>) -> Result<Option<Value>> {
    let title = inv.title();
    match run_tool(console, &title, &inv.argv(), inv.cwd, inv.env)? {
        Launch::NotInstalled => bail!(
            "the stage runner {} is not installed (build it with `cargo build --features torch \
             --bin {RUNNER_BIN}`, put it on PATH, or set parity.run.runner / --runner)",
            inv.runner.display()
        ),
        Launch::Ran(run) if run.code != Some(0) => {
            let tail: Vec<&str> = run.stderr.lines().rev().take(5).collect();
            let tail: Vec<&str> = tail.into_iter().rev().collect();
            bail!(
                "{title} failed (exit {}): {}",
                run.code
                    .map_or("by a signal".to_string(), |c| c.to_string()),
                tail.join(" | ")
            )
        }
        Launch::Ran(_) => {
            if !inv.capture.is_file() {
                bail!(
                    "{title} exited 0 but wrote no capture at {}",
                    inv.capture.display()
                );
            }
            read_results(&inv.results())
        }
    }
}

fn read_results(path: &Path) -> Result<Option<Value>> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    let doc = serde_json::from_str(&text).with_context(|| {
        format!(
            "the stage runner's results {} are not JSON; rerun it, or check what wrote there",
            path.display()
        )
    })?;
    Ok(Some(doc))
}

/// A command line given as program and arguments (a benchmark producer), resolved once
/// and started as often as needed. When the program is the stage runner (named without a
/// path, it is found like [`locate`] finds it), it gets its libtorch and the allocator and
/// thread settings, the same for every backend process.
pub struct CommandLine {
    program: PathBuf,
    args: Vec<String>,
    cwd: PathBuf,
    env: Vec<(String, String)>,
}

impl CommandLine {
    pub fn new(
        program: &str,
        args: &[String],
        cwd: &Path,
        torch: &TorchConfig,
        settings: &RunnerSettings,
        root: &Path,
    ) -> Result<Self> {
        let program = if program == RUNNER_BIN {
            locate(None)
        } else {
            PathBuf::from(program)
        };
        let env = if program.file_name() == Some(std::ffi::OsStr::new(RUNNER_BIN)) {
            environment(&program, torch, settings, None, root)?
        } else {
            Vec::new()
        };
        Ok(CommandLine {
            program,
            args: args.to_vec(),
            cwd: cwd.to_path_buf(),
            env,
        })
    }

    /// The program that starts.
    pub fn program(&self) -> &Path {
        &self.program
    }

    /// A process ready to start: no secrets in its environment, stdin closed.
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.program);
        crate::secrets::scrub_child_env(&mut cmd);
        cmd.args(&self.args)
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.cwd)
            .stdin(Stdio::null());
        cmd
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a failed unwrap is a failed test
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn invocation<'a>(input: &'a Input, from: Option<&'a Path>) -> Invocation<'a> {
        Invocation {
            runner: Path::new("/bin/runner"),
            spec: Path::new("spec.yml"),
            backend: "coreml",
            input,
            capture: Path::new("out/cand.npz"),
            inputs_from: from,
            shared_from: None,
            stages: &[],
            timing: Timing {
                warmup: 1,
                repeat: 2,
                threads: Some(3),
            },
            cwd: Path::new("."),
            env: &[],
        }
    }

    #[test]
    fn isolated_runs_take_the_audio_from_the_reference() {
        let input = Input::Signal(2.5);
        let chained = invocation(&input, None).argv().join(" ");
        assert_eq!(
            chained,
            "/bin/runner --spec spec.yml --backend coreml --capture out/cand.npz \
             --signal-seconds 2.5 --warmup 1 --repeat 2 --threads 3 --out out/cand.json"
        );
        let isolated = invocation(&input, Some(Path::new("ref.npz"))).argv();
        assert!(!isolated.contains(&"--signal-seconds".to_string()));
        assert!(isolated.join(" ").contains("--inputs-from ref.npz"));
    }

    #[test]
    fn an_explicit_thread_count_reaches_every_thread_variable() {
        let settings = RunnerSettings {
            threads: Some(4),
            env: Some(BTreeMap::from([("OMP_NUM_THREADS".into(), "8".into())])),
        };
        let torch = TorchConfig::default();
        // `sh` carries no libtorch marker, so only the settings are added.
        let sh = Path::new("/bin/sh");
        let env: BTreeMap<_, _> = environment(sh, &torch, &settings, None, Path::new("."))
            .unwrap()
            .into_iter()
            .collect();
        assert_eq!(env[THREADS_ENV], "4");
        assert_eq!(env["OMP_NUM_THREADS"], "8", "the config's own value stays");
        let env: BTreeMap<_, _> = environment(sh, &torch, &settings, Some(2), Path::new("."))
            .unwrap()
            .into_iter()
            .collect();
        for var in std::iter::once(THREADS_ENV).chain(THREAD_VARS) {
            assert_eq!(env[var], "2", "{var}");
        }
    }

    #[test]
    fn results_that_are_not_json_are_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.json");
        assert!(read_results(&path).unwrap().is_none());
        std::fs::write(&path, "{\"$meta\": {\"threads\": 2}}").unwrap();
        assert_eq!(read_results(&path).unwrap().unwrap()["$meta"]["threads"], 2);
        std::fs::write(&path, "not json").unwrap();
        let err = format!("{:#}", read_results(&path).unwrap_err());
        assert!(err.contains("r.json") && err.contains("not JSON"), "{err}");
    }
}

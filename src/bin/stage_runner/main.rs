//! `htdemucs-stage-runner`: runs a pipeline spec's stages on ONE backend, timing and capturing them.
//!
//! One backend per process, so peak memory is that backend's alone; the main binary spawns
//! one runner per backend (`htdemucs_devops::runner::run_stage_runner`) and merges the JSON.
//! All engine code lives in this binary: `torch.rs` (feature `torch`) and `coreml.rs`
//! (feature `coreml`, macOS only). Exit 0 on success, 2 on any bad input or setup.

#[cfg(all(target_os = "macos", feature = "coreml"))]
mod coreml;
#[cfg(feature = "torch")]
mod torch;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use htdemucs_devops::runner::{
    npz, results_json, signal, spec::AUDIO, wav, ArrayF32, Engine, PipelineSpec, RunMeta,
    RunOutcome, RunPlan, RunnerError, StageRouting, META,
};

/// Run a model pipeline's stages on one backend: time every repetition, record load time and
/// peak memory, and optionally capture every stage output to an .npz.
#[derive(Debug, Parser)]
#[command(name = "htdemucs-stage-runner", version)]
struct Args {
    /// Pipeline spec (YAML): stages, their inputs/outputs and per-backend artifacts.
    #[arg(long)]
    spec: PathBuf,
    /// Backend to run (a name under `backends:` in the spec, e.g. pytorch, converted, coreml).
    #[arg(long)]
    backend: String,
    /// Input audio (16/24-bit PCM or 32-bit float WAV at the spec's rate and channel count).
    #[arg(long, conflicts_with = "signal_seconds")]
    audio: Option<PathBuf>,
    /// Use the generated test signal of this many seconds instead of a WAV [default: 10].
    #[arg(long, allow_hyphen_values = true)]
    signal_seconds: Option<f64>,
    /// Untimed runs per stage before timing. Two by default: TorchScript's profiling
    /// executor profiles the first call and optimises on the second.
    #[arg(long, default_value_t = 2)]
    warmup: usize,
    /// Timed runs per stage (each one a sample in the results).
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// Intra-op threads (default: the backend's own default; launchers set
    /// HTDEMUCS_RUNNER_THREADS so every backend gets the same); external command stages get
    /// it as OMP_NUM_THREADS, MKL_NUM_THREADS, OPENBLAS_NUM_THREADS and VECLIB_MAXIMUM_THREADS.
    #[arg(long, env = htdemucs_devops::runner::settings::THREADS_ENV)]
    threads: Option<usize>,
    /// Write the results JSON here (default: stdout).
    #[arg(long)]
    out: Option<PathBuf>,
    /// Write every stage output (and the input audio) to this .npz.
    #[arg(long)]
    capture: Option<PathBuf>,
    /// Isolated mode: feed every stage its inputs from this reference .npz (a --capture of
    /// another backend) instead of this backend's own upstream outputs. The reference's
    /// `audio` array, when present, is the input audio.
    #[arg(long, conflicts_with = "shared_from")]
    inputs_from: Option<PathBuf>,
    /// Chained mode: a capture of the reference backend. Stages this backend does not run
    /// (another backend's `shared:` stage, `skip:`, or deselected) feed their consumers
    /// from it, so they get the reference's values.
    #[arg(long, value_name = "REF.npz")]
    shared_from: Option<PathBuf>,
    /// Run only this stage (repeatable); the others are not run, as with --skip-stage.
    #[arg(long = "stage", value_name = "NAME")]
    stages: Vec<String>,
    /// Do not run this stage (repeatable).
    #[arg(long = "skip-stage", value_name = "NAME")]
    skip_stages: Vec<String>,
}

const DEFAULT_SIGNAL_SECONDS: f64 = 10.0;

fn main() -> ExitCode {
    let args = match Args::try_parse() {
        Ok(args) => args,
        Err(e) => {
            // --help/--version print to stdout and succeed; usage errors exit 2.
            let _ = e.print();
            return if e.use_stderr() {
                ExitCode::from(2)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The message may quote a spec's names and paths: inert for a CI log reader.
            let msg = format!("htdemucs-stage-runner: error: {e}\n");
            eprint!("{}", htdemucs_devops::output::workflow::neutralize(&msg));
            ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
        }
    }
}

fn run(args: &Args) -> Result<(), RunnerError> {
    let spec = PipelineSpec::load(&args.spec)?;
    let backend = spec.backend(&args.backend)?.clone();
    if args.repeat == 0 {
        return Err(RunnerError::Usage("--repeat must be at least 1".into()));
    }
    // The generated signal's size is checked before any file is read or buffer sized.
    let signal_error = |e: signal::SignalError| {
        RunnerError::Usage(format!(
            "{e} (sample_rate {} and channels {} come from the pipeline spec {})",
            spec.sample_rate,
            spec.channels,
            spec.path.display()
        ))
    };
    if args.audio.is_none() && (args.inputs_from.is_none() || args.signal_seconds.is_some()) {
        let seconds = args.signal_seconds.unwrap_or(DEFAULT_SIGNAL_SECONDS);
        signal::signal_frames(seconds, spec.sample_rate, spec.channels).map_err(signal_error)?;
    }
    let inputs_from = match &args.inputs_from {
        Some(path) => Some((path.clone(), npz::read_npz(path)?)),
        None => None,
    };
    let routing = StageRouting {
        shared_from: match &args.shared_from {
            Some(path) => Some((path.clone(), npz::read_npz(path)?)),
            None => None,
        },
        only: args.stages.clone(),
        skip: args.skip_stages.clone(),
        threads: args.threads,
    };
    routing.check(&spec)?;
    // In isolated mode the reference's own audio (a --capture always has it) is the input,
    // so captures and `audio_seconds` describe what the stages were really fed.
    let reference_audio = match inputs_from
        .as_ref()
        .and_then(|(path, arrays)| Some((path, arrays.get(AUDIO)?)))
    {
        Some((path, a)) => Some((
            a.to_f32().map_err(|m| {
                RunnerError::Usage(format!("{}: array `{AUDIO}`: {m}", path.display()))
            })?,
            path.clone(),
        )),
        None => None,
    };
    let (audio, source) = match (reference_audio, &args.audio) {
        (Some(_), _) if args.audio.is_some() || args.signal_seconds.is_some() => {
            return Err(RunnerError::Usage(
                "--inputs-from names a reference that already holds the `audio` array; \
                 drop --audio/--signal-seconds"
                    .into(),
            ))
        }
        (Some(from_reference), _) => from_reference,
        (None, Some(path)) => {
            let wav = wav::read_wav(path, spec.sample_rate, spec.channels).map_err(|source| {
                RunnerError::Wav {
                    stages: spec.audio_readers(),
                    source,
                }
            })?;
            (wav.audio, path.clone())
        }
        (None, None) => {
            let seconds = args.signal_seconds.unwrap_or(DEFAULT_SIGNAL_SECONDS);
            let audio = signal::test_signal(seconds, spec.sample_rate, spec.channels)
                .map_err(signal_error)?;
            (audio, PathBuf::from(format!("signal:{seconds}")))
        }
    };
    let plan = RunPlan {
        backend: args.backend.clone(),
        warmup: args.warmup,
        repeat: args.repeat,
        capture: args.capture.is_some(),
        inputs_from,
        audio_source: source.clone(),
        routing,
    };
    let (outcome, info, threads, version) = match backend.engine {
        Engine::Torch => run_torch(&spec, plan, &audio, args.threads)?,
        Engine::Coreml => run_coreml(&spec, plan, &audio, &backend)?,
    };
    let frames = audio.shape().last().copied().unwrap_or(0);
    let meta = RunMeta {
        backend: args.backend.clone(),
        backend_info: info,
        threads,
        // Sample counts are far below 2^53.
        audio_seconds: frames as f64 / f64::from(spec.sample_rate),
        audio_source: source.display().to_string(),
        warmup: args.warmup,
        repeat: args.repeat,
        inputs_from: args.inputs_from.as_ref().map(|p| p.display().to_string()),
        engine_version: version,
    };
    if let Some(path) = &args.capture {
        npz::write_npz(path, outcome.captured.iter().map(|(k, v)| (k.as_str(), v)))?;
    }
    let mut doc = results_json(&outcome, &meta);
    if let Some(path) = &args.shared_from {
        if let Some(info) = doc[META]["backends"].get_mut(&args.backend) {
            info["shared_from"] = serde_json::json!(path.display().to_string());
        }
    }
    write_results(args.out.as_ref(), &doc)
}

type Ran = (RunOutcome, serde_json::Value, usize, Option<String>);

#[cfg(feature = "torch")]
fn run_torch(
    spec: &PipelineSpec,
    plan: RunPlan,
    audio: &ArrayF32,
    threads: Option<usize>,
) -> Result<Ran, RunnerError> {
    let (mut backend, threads) =
        torch::TorchBackend::new(threads).map_err(|m| RunnerError::Backend {
            backend: plan.backend.clone(),
            message: m,
        })?;
    let runtime_init_sec = backend.warm_up().map_err(|m| RunnerError::Backend {
        backend: plan.backend.clone(),
        message: m,
    })?;
    let (outcome, segments) =
        htdemucs_devops::runner::run_segmented(&mut backend, spec, plan, audio)?;
    let version = torch::TorchBackend::version().map(str::to_string);
    let mut info = serde_json::json!({
        "engine": "torch",
        "version": version,
        "device": "cpu",
        "libtorch": std::env::var(htdemucs_devops::runner::libtorch::LIB_DIR_ENV).ok(),
        // One-time TorchScript set-up, kept out of the per-stage load times (see warm_up).
        "runtime_init_sec": runtime_init_sec,
    });
    if let Some(segments) = segments {
        info["segments"] = segments;
    }
    Ok((outcome, info, threads, version))
}

#[cfg(not(feature = "torch"))]
fn run_torch(
    _: &PipelineSpec,
    plan: RunPlan,
    _: &ArrayF32,
    _: Option<usize>,
) -> Result<Ran, RunnerError> {
    Err(RunnerError::Backend {
        backend: plan.backend.clone(),
        message: "this htdemucs-stage-runner was built without libtorch; rebuild with \
                  `LIBTORCH_USE_PYTORCH=1 cargo build --release --features torch`"
            .into(),
    })
}

#[cfg(all(target_os = "macos", feature = "coreml"))]
fn run_coreml(
    spec: &PipelineSpec,
    plan: RunPlan,
    audio: &ArrayF32,
    backend: &htdemucs_devops::runner::BackendSpec,
) -> Result<Ran, RunnerError> {
    let units = backend
        .compute_units
        .unwrap_or(htdemucs_devops::runner::ComputeUnits::All);
    let mut engine = coreml::CoremlBackend::new(units);
    let (outcome, segments) =
        htdemucs_devops::runner::run_segmented(&mut engine, spec, plan, audio)?;
    let mut info = serde_json::json!({"engine": "coreml", "compute_units": units});
    if let Some(segments) = segments {
        info["segments"] = segments;
    }
    // CoreML manages its own threads; report the machine's parallelism.
    let threads = std::thread::available_parallelism()
        .map(usize::from)
        .unwrap_or(1);
    Ok((outcome, info, threads, None))
}

#[cfg(not(all(target_os = "macos", feature = "coreml")))]
fn run_coreml(
    _: &PipelineSpec,
    plan: RunPlan,
    _: &ArrayF32,
    _: &htdemucs_devops::runner::BackendSpec,
) -> Result<Ran, RunnerError> {
    let message = if cfg!(target_os = "macos") {
        "this htdemucs-stage-runner was built without CoreML; rebuild with `cargo build --release --features coreml`"
    } else {
        "CoreML runs only on macOS; run this backend on a macOS runner"
    };
    Err(RunnerError::Backend {
        backend: plan.backend.clone(),
        message: message.into(),
    })
}

fn write_results(out: Option<&PathBuf>, doc: &serde_json::Value) -> Result<(), RunnerError> {
    let text = serde_json::to_string_pretty(doc)
        .map_err(|e| RunnerError::Usage(format!("cannot serialise results: {e}")))?;
    match out {
        Some(path) => std::fs::write(path, text + "\n").map_err(|source| RunnerError::Io {
            path: path.clone(),
            source,
        }),
        None => {
            let mut stdout = std::io::stdout().lock();
            // A closed pipe (`| head`) is not a failure of the run.
            let _ = writeln!(stdout, "{text}");
            Ok(())
        }
    }
}

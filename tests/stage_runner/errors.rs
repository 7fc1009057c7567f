//! Bad input exits 2 with an error naming the stage and the file.

use std::path::PathBuf;

use htdemucs_devops::runner::{signal::test_signal, wav::encode};

use crate::common::*;

/// The committed spec: WAV problems are found before any artifact is needed.
fn source_spec() -> String {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("examples/htdemucs-mini/pipeline.yml")
        .display()
        .to_string()
}

fn wav_args<'a>(spec: &'a str, wav: &'a str) -> Vec<&'a str> {
    vec![
        "--spec",
        spec,
        "--backend",
        "pytorch",
        "--audio",
        wav,
        "--repeat",
        "1",
    ]
}

#[test]
fn truncated_wav() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("cut.wav");
    let bytes = encode(&test_signal(0.2, 44_100, 2).unwrap(), 44_100, 24);
    std::fs::write(&wav, &bytes[..bytes.len() / 2]).unwrap();
    let spec = source_spec();
    let err = runner_fails(&wav_args(&spec, s(&wav)));
    assert!(
        err.contains("cut.wav") && err.contains("truncated"),
        "{err}"
    );
    assert!(
        err.contains("stft") && err.contains("time_branch"),
        "names the stages reading audio: {err}"
    );
}

#[test]
fn sample_rate_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("48k.wav");
    std::fs::write(
        &wav,
        encode(&test_signal(0.2, 48_000, 2).unwrap(), 48_000, 16),
    )
    .unwrap();
    let spec = source_spec();
    let err = runner_fails(&wav_args(&spec, s(&wav)));
    assert!(
        err.contains("48k.wav") && err.contains("48000 Hz") && err.contains("44100 Hz"),
        "{err}"
    );
    assert!(err.contains("stage(s) stft"), "{err}");
}

#[test]
fn channel_mismatch() {
    let dir = tempfile::tempdir().unwrap();
    let wav = dir.path().join("mono.wav");
    std::fs::write(
        &wav,
        encode(&test_signal(0.2, 44_100, 1).unwrap(), 44_100, 32),
    )
    .unwrap();
    let spec = source_spec();
    let err = runner_fails(&wav_args(&spec, s(&wav)));
    assert!(
        err.contains("mono.wav") && err.contains("1 channel(s)"),
        "{err}"
    );
}

#[test]
fn unknown_backend_and_bad_spec() {
    let spec = source_spec();
    let err = runner_fails(&["--spec", &spec, "--backend", "tensorflow"]);
    assert!(
        err.contains("no backend `tensorflow`") && err.contains("pytorch"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    std::fs::write(
        &bad,
        "sample_rate: 44100\nchannels: 2\nbackends: {}\nstages: []\n",
    )
    .unwrap();
    let err = runner_fails(&["--spec", s(&bad), "--backend", "pytorch"]);
    assert!(err.contains("bad.yml"), "{err}");
    // clap usage errors are exit 2 as well.
    runner_fails(&["--spec", s(&bad)]);
}

#[test]
fn a_spec_typo_names_file_stage_key_and_allowed_keys() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("typo.yml");
    let text = std::fs::read_to_string(source_spec()).unwrap().replace(
        "{name: raw_audio, from: audio, shape: [1, 2, -1]}",
        "{name: raw_audio, from: audio, shpae: [1, 2, -1]}",
    );
    std::fs::write(&spec, text).unwrap();
    let err = runner_fails(&["--spec", s(&spec), "--backend", "pytorch"]);
    for want in [
        s(&spec),
        "stage `time_branch`",
        "unknown field `shpae`",
        "`from`",
        "`shape`",
        "`dtype`",
    ] {
        assert!(err.contains(want), "{want}: {err}");
    }
    assert!(!err.contains("untagged"), "{err}");
}

#[test]
fn declared_shapes_of_producer_and_consumer_are_checked_before_running() {
    let dir = tempfile::tempdir().unwrap();
    let spec = dir.path().join("shapes.yml");
    // stft declares 256 frequency bins, freq_branch expects 2048: nothing needs to run
    // (the artifacts do not even exist) to see the two cannot both be right.
    let text = std::fs::read_to_string(source_spec())
        .unwrap()
        .replace(
            "outputs: [spectrogram]",
            "outputs: [{name: spectrogram, shape: [1, 4, 256, -1], dtype: float32}]",
        )
        .replace("shape: [1, 4, 256, -1]}", "shape: [1, 4, 2048, -1]}");
    std::fs::write(&spec, text).unwrap();
    let err = runner_fails(&["--spec", s(&spec), "--backend", "pytorch"]);
    assert!(
        err.contains(s(&spec))
            && err.contains("stage `freq_branch`")
            && err.contains("[1, 4, 2048, *]")
            && err.contains("[1, 4, 256, *]"),
        "{err}"
    );
}

/// Runs the runner, killing it (and failing) after 30 s; exit code and stderr.
fn runner_bounded(args: &[&str]) -> (Option<i32>, String) {
    use std::process::{Command, Stdio};
    use std::time::{Duration, Instant};
    let dir = tempfile::tempdir().unwrap();
    let err = dir.path().join("stderr");
    let mut child = Command::new(RUNNER)
        .args(args)
        .envs(runner_env())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let start = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if start.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            let _ = child.wait();
            panic!("{args:?} still running after 30 s");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    (status.code(), std::fs::read_to_string(&err).unwrap())
}

/// A spec with the given head (sample rate, channels) and one stage reading the audio.
fn spec_with(dir: &std::path::Path, head: &str) -> String {
    let path = dir.join("absurd.yml");
    std::fs::write(
        &path,
        format!(
            "{head}backends: {{pytorch: {{engine: torch}}}}\nstages:\n  - {{name: a, inputs: [audio], outputs: [x], artifacts: {{pytorch: a.pt}}}}\n"
        ),
    )
    .unwrap();
    path.display().to_string()
}

#[test]
fn absurd_spec_sizes_exit_2_naming_spec_key_and_limit() {
    let dir = tempfile::tempdir().unwrap();
    for (head, key, limit) in [
        (
            "sample_rate: 4294967295\nchannels: 2\n",
            "sample_rate",
            "768000",
        ),
        ("sample_rate: 44100\nchannels: 1000000\n", "channels", "256"),
        ("sample_rate: 44100\nchannels: 1e6\n", "channels", ""),
        (
            "sample_rate: 44100\nchannels: 9223372036854775807\n",
            "channels",
            "256",
        ),
        (
            "sample_rate: 44100\nchannels: 4611686018427387904\n",
            "channels",
            "256",
        ),
    ] {
        let spec = spec_with(dir.path(), head);
        let (code, err) = runner_bounded(&["--spec", &spec, "--backend", "pytorch"]);
        assert_eq!(code, Some(2), "{head}: {err}");
        assert!(
            err.contains("absurd.yml") && err.contains(key) && err.contains(limit),
            "{head}: {err}"
        );
    }
}

#[test]
fn an_absurd_signal_length_exits_2_naming_the_limit() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_with(dir.path(), "sample_rate: 44100\nchannels: 2\n");
    for seconds in ["1e12", "NaN", "-3"] {
        let (code, err) = runner_bounded(&[
            "--spec",
            &spec,
            "--backend",
            "pytorch",
            "--signal-seconds",
            seconds,
        ]);
        assert_eq!(code, Some(2), "{seconds}: {err}");
        assert!(err.contains("--signal-seconds"), "{seconds}: {err}");
    }
    let (_, err) = runner_bounded(&[
        "--spec",
        &spec,
        "--backend",
        "pytorch",
        "--signal-seconds",
        "1e12",
    ]);
    assert!(
        err.contains("268435456") && err.contains("absurd.yml"),
        "names the limit and the spec: {err}"
    );
}

#[test]
fn a_reference_npz_with_a_lying_member_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec_with(dir.path(), "sample_rate: 44100\nchannels: 2\n");
    // The shape's element count wraps to 0 in 64 bits: it must not read as empty.
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }\n";
    let mut npy = b"\x93NUMPY\x01\x00".to_vec();
    npy.extend((dict.len() as u16).to_le_bytes());
    npy.extend(dict.as_bytes());
    let npz = dir.path().join("ref.npz");
    {
        use std::io::Write;
        let mut zip = zip::ZipWriter::new(std::fs::File::create(&npz).unwrap());
        let opts = zip::write::SimpleFileOptions::default()
            .compression_method(zip::CompressionMethod::Stored);
        zip.start_file("a.x.npy", opts).unwrap();
        zip.write_all(&npy).unwrap();
        zip.finish().unwrap();
    }
    let (code, err) = runner_bounded(&[
        "--spec",
        &spec,
        "--backend",
        "pytorch",
        "--inputs-from",
        npz.to_str().unwrap(),
    ]);
    assert_eq!(code, Some(2), "{err}");
    assert!(
        err.contains("ref.npz") && err.contains("a.x.npy") && err.contains("64 bits"),
        "{err}"
    );
}

#[cfg(feature = "torch")]
mod with_torch {
    use super::*;
    use htdemucs_devops::runner::{npz::write_npz, Array, ArrayF32};

    /// A copy of the example folder whose `build/` we may break.
    fn broken_example() -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        let src = example();
        std::fs::copy(src.join("pipeline.yml"), dir.path().join("pipeline.yml")).unwrap();
        let build = dir.path().join("build/pytorch");
        std::fs::create_dir_all(&build).unwrap();
        for entry in std::fs::read_dir(src.join("build/pytorch")).unwrap() {
            let entry = entry.unwrap();
            std::fs::copy(entry.path(), build.join(entry.file_name())).unwrap();
        }
        dir
    }

    #[test]
    fn missing_artifact() {
        let dir = broken_example();
        std::fs::remove_file(dir.path().join("build/pytorch/freq_branch.pt")).unwrap();
        let spec = dir.path().join("pipeline.yml");
        let err = runner_fails(&[
            "--spec",
            s(&spec),
            "--backend",
            "pytorch",
            "--signal-seconds",
            "0.2",
        ]);
        assert!(
            err.contains("stage `freq_branch`") && err.contains("freq_branch.pt"),
            "{err}"
        );
        assert!(
            err.contains("not found") && err.contains("make setup"),
            "{err}"
        );
    }

    #[test]
    fn corrupt_artifact() {
        let dir = broken_example();
        std::fs::write(
            dir.path().join("build/pytorch/time_branch.pt"),
            b"not torchscript",
        )
        .unwrap();
        let spec = dir.path().join("pipeline.yml");
        let err = runner_fails(&[
            "--spec",
            s(&spec),
            "--backend",
            "pytorch",
            "--signal-seconds",
            "0.2",
        ]);
        assert!(
            err.contains("stage `time_branch`") && err.contains("time_branch.pt"),
            "{err}"
        );
        assert!(err.contains("cannot load the artifact"), "{err}");
    }

    #[test]
    fn wrong_input_shape_in_reference() {
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("ref.npz");
        let audio = Array::from(test_signal(0.2, 44_100, 2).unwrap());
        // Three "channels" of spectrogram instead of four (stereo real+imag).
        let wrong =
            Array::from(ArrayF32::new(vec![1, 3, 256, 70], vec![0.0; 3 * 256 * 70]).unwrap());
        write_npz(
            &reference,
            [("audio", &audio), ("stft.spectrogram", &wrong)],
        )
        .unwrap();
        let spec = spec("pipeline.yml");
        let err = runner_fails(&[
            "--spec",
            &spec,
            "--backend",
            "pytorch",
            "--inputs-from",
            s(&reference),
        ]);
        assert!(
            err.contains("stage `freq_branch`") && err.contains("ref.npz"),
            "{err}"
        );
        assert!(
            err.contains("[1, 3, 256, 70]") && err.contains("[1, 4, 256, *]"),
            "{err}"
        );
    }

    #[test]
    fn shape_the_spec_does_not_declare_fails_in_the_model_naming_the_artifact() {
        let dir = tempfile::tempdir().unwrap();
        let reference = dir.path().join("ref.npz");
        let audio = Array::from(test_signal(0.2, 44_100, 2).unwrap());
        // The joint spec declares no shapes for istft: the model itself rejects the input.
        let zeros = |shape: Vec<usize>| {
            let n = shape.iter().product();
            Array::from(ArrayF32::new(shape, vec![0.0; n]).unwrap())
        };
        let freq = zeros(vec![1, 4, 4, 100, 3]);
        let time = zeros(vec![1, 4, 2, 10]);
        let spectrogram = zeros(vec![1, 4, 256, 70]);
        write_npz(
            &reference,
            [
                ("audio", &audio),
                ("stft.spectrogram", &spectrogram),
                ("branches.freq_out", &freq),
                ("branches.time_out", &time),
            ],
        )
        .unwrap();
        let spec = spec("pipeline-joint.yml");
        let err = runner_fails(&[
            "--spec",
            &spec,
            "--backend",
            "pytorch",
            "--inputs-from",
            s(&reference),
        ]);
        assert!(
            err.contains("stage `istft`")
                && err.contains("istft.pt")
                && err.contains("running the model failed"),
            "{err}"
        );
        // One line: the engine's error and the inputs it was given, no traceback.
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
        assert!(
            err.contains("Error: ") && err.contains("[1, 4, 4, 100, 3] float32"),
            "{err}"
        );
        assert!(
            !err.contains("Traceback") && err.contains("HTDEMUCS_DEBUG=1"),
            "{err}"
        );
        // At debug level the traceback's tail follows on its own lines.
        let out = std::process::Command::new(RUNNER)
            .args(["--spec", &spec, "--backend", "pytorch", "--inputs-from"])
            .arg(&reference)
            .envs(runner_env())
            .env("HTDEMUCS_DEBUG", "1")
            .output()
            .unwrap();
        let debug = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{debug}");
        assert!(
            debug.contains("engine traceback") && debug.lines().count() > 3,
            "{debug}"
        );
    }
}

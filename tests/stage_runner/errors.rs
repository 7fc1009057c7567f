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

#[cfg(feature = "torch")]
mod with_torch {
    use super::*;
    use htdemucs_devops::runner::{npz::write_npz, ArrayF32};

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
        let audio = test_signal(0.2, 44_100, 2).unwrap();
        // Three "channels" of spectrogram instead of four (stereo real+imag).
        let wrong = ArrayF32::new(vec![1, 3, 256, 70], vec![0.0; 3 * 256 * 70]).unwrap();
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
        let audio = test_signal(0.2, 44_100, 2).unwrap();
        // The joint spec declares no shapes for istft: the model itself rejects the input.
        let freq = ArrayF32::new(vec![1, 4, 4, 100, 3], vec![0.0; 4 * 4 * 100 * 3]).unwrap();
        let time = ArrayF32::new(vec![1, 4, 2, 10], vec![0.0; 80]).unwrap();
        let spectrogram = ArrayF32::new(vec![1, 4, 256, 70], vec![0.0; 4 * 256 * 70]).unwrap();
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
    }
}

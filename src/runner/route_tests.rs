//! Tests of stages outside any model on the mock backend: shared, skipped, deselected and
//! external command stages, in chained and isolated runs.

#![allow(clippy::unwrap_used)] // test-only module: a failed unwrap is a failed test

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::array::{Array, ArrayF32};
use super::mock::Mock;
use super::route::StageRouting;
use super::schedule::{run_pipeline, RunOutcome, RunPlan};
use super::spec::PipelineSpec;

/// `pre` is shared (ref's implementation), `mid` differs per backend, `post` is a command
/// on `cand` and skipped on `third`.
const SPEC: &str = "sample_rate: 8\nchannels: 1\nbackends: {ref: {engine: torch}, cand: {engine: torch}, third: {engine: coreml}}\nstages:
  - {name: pre, shared: ref, inputs: [audio], outputs: [y], artifacts: {ref: double.op}}
  - {name: mid, inputs: [pre.y], outputs: [z], artifacts: {ref: double.op, cand: double.op, third: double.op}}
  - name: post
    inputs: [mid.z]
    outputs: [w]
    artifacts:
      ref: double.op
      cand: {command: [sh, -c, 'cp \"$0\" \"$1\"', '{input:z}', '{output:w}'], timeout_sec: 30}
      third: {skip: not on this backend}
";

fn setup(spec: &str) -> (tempfile::TempDir, PipelineSpec) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("double.op"), "double").unwrap();
    let path = dir.path().join("pipeline.yml");
    std::fs::write(&path, spec).unwrap();
    (dir, PipelineSpec::load(&path).unwrap())
}

fn plan(backend: &str, routing: StageRouting) -> RunPlan {
    RunPlan {
        backend: backend.into(),
        warmup: 0,
        repeat: 2,
        capture: true,
        inputs_from: None,
        audio_source: PathBuf::from("signal"),
        routing,
    }
}

fn audio() -> ArrayF32 {
    ArrayF32::new(vec![1, 1, 3], vec![1.0, 2.0, 3.0]).unwrap()
}

fn get(out: &RunOutcome, key: &str) -> Option<Vec<f32>> {
    out.captured
        .iter()
        .find(|(n, _)| n == key)
        .map(|(_, a)| a.to_f32().unwrap().data().to_vec())
}

fn reference_capture(spec: &PipelineSpec) -> BTreeMap<String, Array> {
    let out = run_pipeline(
        &mut Mock,
        spec,
        &plan("ref", StageRouting::default()),
        &audio(),
    )
    .unwrap();
    out.captured.into_iter().collect()
}

#[test]
fn shared_stage_is_computed_once_and_feeds_the_candidate() {
    let (_d, spec) = setup(SPEC);
    let mut reference = reference_capture(&spec);
    // Mark the reference's shared output so the candidate provably used it, not its own run.
    reference.insert(
        "pre.y".into(),
        Array::from(ArrayF32::new(vec![1, 1, 3], vec![10.0, 20.0, 30.0]).unwrap()),
    );
    let routing = StageRouting {
        shared_from: Some((PathBuf::from("ref.npz"), reference)),
        ..Default::default()
    };
    let out = run_pipeline(&mut Mock, &spec, &plan("cand", routing), &audio()).unwrap();
    assert_eq!(
        get(&out, "pre.y"),
        None,
        "a shared stage is not the candidate's to capture"
    );
    assert_eq!(get(&out, "mid.z"), Some(vec![20.0, 40.0, 60.0]));
    // The command stage copied its input to its output through .npy files.
    assert_eq!(get(&out, "post.w"), Some(vec![20.0, 40.0, 60.0]));
    assert_eq!(out.from_reference, ["pre.y"]);
    assert!(out.not_run[0].1.contains("shared"), "{:?}", out.not_run);
    let post = out.stages.iter().find(|s| s.name == "post").unwrap();
    assert_eq!(
        (post.samples.len(), post.implementation.as_str()),
        (2, "command")
    );

    // Without a capture, a backend of the same engine runs the shared implementation itself.
    let alone = run_pipeline(
        &mut Mock,
        &spec,
        &plan("cand", StageRouting::default()),
        &audio(),
    )
    .unwrap();
    assert_eq!(get(&alone, "pre.y"), Some(vec![2.0, 4.0, 6.0]));
    assert_eq!(alone.stages[0].implementation, "shared:ref");
    // Another engine cannot load it: the error says to pass a capture.
    let err = run_pipeline(
        &mut Mock,
        &spec,
        &plan("third", StageRouting::default()),
        &audio(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("stage `pre`") && err.contains("--shared-from"),
        "{err}"
    );
}

#[test]
fn skipped_stage_consumers_get_the_reference_values_or_a_clear_error() {
    let spec_text = SPEC.replace("{name: mid, inputs: [pre.y], outputs: [z], artifacts: {ref: double.op, cand: double.op, third: double.op}}",
        "{name: mid, inputs: [pre.y], outputs: [z], artifacts: {ref: double.op, cand: {skip: vDSP}}}");
    let (_d, spec) = setup(&spec_text);
    let reference = reference_capture(&spec);
    let err = run_pipeline(
        &mut Mock,
        &spec,
        &plan("cand", StageRouting::default()),
        &audio(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("stage `post`")
            && err.contains("mid.z")
            && err.contains("skipped: vDSP")
            && err.contains("--shared-from"),
        "{err}"
    );
    let routing = StageRouting {
        shared_from: Some((PathBuf::from("ref.npz"), reference.clone())),
        ..Default::default()
    };
    let out = run_pipeline(&mut Mock, &spec, &plan("cand", routing), &audio()).unwrap();
    assert_eq!(
        get(&out, "post.w"),
        reference
            .get("mid.z")
            .map(|a| a.to_f32().unwrap().data().to_vec())
    );
    assert_eq!(out.skipped, ["pre", "mid"]);

    // Isolated: nothing is needed from a skipped stage, every input is the reference's.
    let mut isolated = plan("cand", StageRouting::default());
    isolated.inputs_from = Some((PathBuf::from("ref.npz"), reference.clone()));
    let out = run_pipeline(&mut Mock, &spec, &isolated, &audio()).unwrap();
    assert_eq!(
        get(&out, "post.w"),
        reference
            .get("mid.z")
            .map(|a| a.to_f32().unwrap().data().to_vec())
    );
    assert_eq!(get(&out, "mid.z"), None);
}

#[test]
fn stage_selection_runs_only_the_chosen_stages() {
    let (_d, spec) = setup(SPEC);
    let reference = reference_capture(&spec);
    let routing = StageRouting {
        shared_from: Some((PathBuf::from("ref.npz"), reference)),
        only: vec!["post".into()],
        ..Default::default()
    };
    let out = run_pipeline(&mut Mock, &spec, &plan("cand", routing), &audio()).unwrap();
    let ran: Vec<&str> = out.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(ran, ["post"]);
    assert!(out
        .not_run
        .iter()
        .any(|(s, why)| s == "mid" && why.contains("--stage")));
    let bad = StageRouting {
        skip: vec!["nope".into()],
        ..Default::default()
    };
    let err = run_pipeline(&mut Mock, &spec, &plan("ref", bad), &audio())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--skip-stage nope") && err.contains("pre, mid, post"),
        "{err}"
    );
}

#[test]
fn failing_and_hanging_commands_name_the_stage_and_show_stderr() {
    let failing = SPEC.replace(
        "[sh, -c, 'cp \"$0\" \"$1\"', '{input:z}', '{output:w}'], timeout_sec: 30",
        "[sh, -c, 'echo vDSP setup failed >&2; exit 3', '{output:w}']",
    );
    let (_d, spec) = setup(&failing);
    let err = run_pipeline(
        &mut Mock,
        &spec,
        &plan("cand", StageRouting::default()),
        &audio(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("stage `post`")
            && err.contains("exited 3")
            && err.contains("vDSP setup failed"),
        "{err}"
    );
    let hanging = SPEC.replace(
        "[sh, -c, 'cp \"$0\" \"$1\"', '{input:z}', '{output:w}'], timeout_sec: 30",
        "[sh, -c, 'sleep 20', '{output:w}'], timeout_sec: 0.3",
    );
    let (_d, spec) = setup(&hanging);
    let started = std::time::Instant::now();
    let err = run_pipeline(
        &mut Mock,
        &spec,
        &plan("cand", StageRouting::default()),
        &audio(),
    )
    .unwrap_err()
    .to_string();
    assert!(
        err.contains("within 0.3 s") && err.contains("timeout_sec"),
        "{err}"
    );
    assert!(
        started.elapsed().as_secs() < 10,
        "the command was not stopped"
    );
    let silent = SPEC.replace(
        "[sh, -c, 'cp \"$0\" \"$1\"', '{input:z}', '{output:w}'], timeout_sec: 30",
        "[sh, -c, 'true', '{output:w}']",
    );
    let (_d, spec) = setup(&silent);
    let err = run_pipeline(
        &mut Mock,
        &spec,
        &plan("cand", StageRouting::default()),
        &audio(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("did not write output `w`"), "{err}");
}

#[test]
fn commands_get_threads_and_no_tokens() {
    let spec_text = SPEC.replace(
        "[sh, -c, 'cp \"$0\" \"$1\"', '{input:z}', '{output:w}'], timeout_sec: 30",
        "[sh, -c, 'echo \"$OMP_NUM_THREADS:$MKL_NUM_THREADS:${{HTDEMUCS_ROUTE_TEST_TOKEN:-none}}\" >&2; exit 1', '{outputs}']",
    );
    let (_d, spec) = setup(&spec_text);
    // A name no other test reads: the variable is process-wide.
    std::env::set_var("HTDEMUCS_ROUTE_TEST_TOKEN", "not-for-children");
    let routing = StageRouting {
        threads: Some(3),
        ..Default::default()
    };
    let err = run_pipeline(&mut Mock, &spec, &plan("cand", routing), &audio())
        .unwrap_err()
        .to_string();
    assert!(err.contains("3:3:none"), "{err}");
}

#[test]
fn spec_errors_name_the_stage_and_key() {
    let cases = [
        (
            "'{output:w}'], timeout_sec: 30",
            "'{output:q}'], timeout_sec: 30",
            "artifacts.cand: `{output:q}` names no output",
        ),
        (
            "'{output:w}'], timeout_sec: 30",
            "'x'], timeout_sec: 30",
            "never receives a path for output(s) w",
        ),
        ("timeout_sec: 30", "timeout_sec: -1", "timeout_sec: -1"),
        (
            "shared: ref,",
            "shared: nobody,",
            "`shared: nobody` names no backend",
        ),
        (
            "{ref: double.op}}\n",
            "{ref: double.op, cand: double.op}}\n",
            "also lists `cand`",
        ),
    ];
    for (from, to, want) in cases {
        let text = SPEC.replacen(from, to, 1);
        assert_ne!(text, SPEC, "{from}");
        let err = PipelineSpec::parse(&text, std::path::Path::new("p.yml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("pipeline spec p.yml: ") && err.contains(want),
            "{err}"
        );
    }
}

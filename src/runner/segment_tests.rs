//! Tests of segmenting: demucs's geometry on small numbers, overlap-add, validation, and
//! segmented runs (chained and isolated) through the mock backend.

use std::collections::BTreeMap;
use std::path::PathBuf;

use super::*;
use crate::runner::array::Array;
use crate::runner::mock::Mock;
use crate::runner::schedule::RunPlan;
use crate::runner::segment_run::{run_segmented, slice_segment, stack};
use crate::runner::spec::PipelineSpec;

fn seg(samples: usize, overlap: f64) -> Segmenting {
    Segmenting {
        samples,
        overlap,
        transition_power: 1.0,
        first: None,
        last: None,
    }
}

fn ramp(n: usize) -> ArrayF32 {
    ArrayF32::new(vec![1, 1, n], (0..n).map(|i| i as f32 + 1.0).collect()).unwrap()
}

#[test]
fn windows_and_weights_follow_apply_model() {
    // demucs: stride int(0.75 * 4) = 3, offsets range(0, 10, 3), last chunk 1 sample long
    // padded to 4 from offset - (4 - 1) // 2.
    let s = seg(4, 0.25);
    let w = s.windows(10).unwrap();
    let got: Vec<(usize, usize, i64)> = w.iter().map(|w| (w.offset, w.length, w.start)).collect();
    assert_eq!(got, [(0, 4, 0), (3, 4, 3), (6, 4, 6), (9, 1, 8)]);
    assert_eq!(s.weights(), [0.5, 1.0, 1.0, 0.5]);
    // Odd length: cat(arange(1, 3), arange(3, 0, -1)) / 3.
    let odd: Vec<f64> = seg(5, 0.25).weights().iter().map(|w| w * 3.0).collect();
    assert_eq!(odd, [1.0, 2.0, 3.0, 2.0, 1.0]);
    let sharper = Segmenting {
        transition_power: 2.0,
        ..seg(4, 0.25)
    };
    assert_eq!(sharper.weights(), [0.25, 1.0, 1.0, 0.25]);
    // The real segment: 343,980 samples, stride 257,985; 30 s make 6 segments.
    let real = seg(343_980, 0.25);
    assert_eq!(real.stride(), 257_985);
    assert_eq!(real.windows(30 * 44_100).unwrap().len(), 6);
}

#[test]
fn a_short_input_is_centred_with_zeros_around_it() {
    // demucs: TensorChunk(mix, 0, 5).padded(5) of 2 samples = [0, a0, a1, 0, 0].
    let s = seg(5, 0.25);
    let w = s.windows(2).unwrap();
    assert_eq!(w.len(), 1);
    assert_eq!(
        cut(&ramp(2), &w[0], 5).unwrap().data(),
        &[0.0, 1.0, 2.0, 0.0, 0.0]
    );
    // The last segment of a longer input takes real audio before its offset.
    let w = seg(4, 0.25).windows(10).unwrap();
    assert_eq!(
        cut(&ramp(10), &w[3], 4).unwrap().data(),
        &[9.0, 10.0, 0.0, 0.0]
    );
}

#[test]
fn overlap_add_of_unchanged_segments_is_the_input() {
    let s = seg(4, 0.25);
    let audio = ArrayF32::new(vec![1, 2, 10], (0..20).map(|i| (i * i) as f32).collect()).unwrap();
    let weights = s.weights();
    let mut sum = OverlapAdd::new(&[1, 2, 4], 10);
    for w in s.windows(10).unwrap() {
        sum.add(&w, &cut(&audio, &w, 4).unwrap(), &weights).unwrap();
    }
    assert_eq!(sum.finish().unwrap(), audio);
}

#[test]
fn stacking_and_slicing_are_inverse() {
    let parts = vec![Array::from_f32(&ramp(3)), Array::from_f32(&ramp(3))];
    let stacked = stack(parts.clone()).unwrap();
    assert_eq!(stacked.shape(), &[2, 1, 3]);
    assert_eq!(slice_segment(&stacked, 1, 2).unwrap(), parts[1]);
    let err = slice_segment(&stacked, 0, 3).unwrap_err();
    assert!(err.contains("not a multiple of the 3 segment(s)"), "{err}");
}

const HEAD: &str = "sample_rate: 8\nchannels: 1\nbackends: {mock: {engine: torch}}\n";
// pre: 2a (whole audio) · s1: 2a, s2: (s1, -s1) per segment · post: s2.p + pre.y = 4a.
const STAGES: &str = "stages:
  - {name: pre, inputs: [audio], outputs: [y], artifacts: {mock: double.op}}
  - {name: s1, inputs: [audio], outputs: [y], artifacts: {mock: double.op}}
  - {name: s2, inputs: [s1.y], outputs: [p, n], artifacts: {mock: split.op}}
  - {name: post, inputs: [s2.p, pre.y], outputs: [z], artifacts: {mock: sum.op}}
";

fn spec(dir: &tempfile::TempDir, segmenting: &str) -> Result<PipelineSpec, String> {
    for op in ["double", "split", "sum"] {
        std::fs::write(dir.path().join(format!("{op}.op")), op).unwrap();
    }
    let path = dir.path().join("pipeline.yml");
    std::fs::write(&path, format!("{HEAD}{STAGES}segmenting: {segmenting}\n")).unwrap();
    PipelineSpec::load(&path).map_err(|e| e.to_string())
}

fn plan(reference: Option<BTreeMap<String, ArrayF32>>) -> RunPlan {
    RunPlan {
        backend: "mock".into(),
        warmup: 0,
        repeat: 2,
        capture: true,
        inputs_from: reference.map(|r| {
            let arrays = r
                .iter()
                .map(|(k, v)| (k.clone(), Array::from_f32(v)))
                .collect();
            (PathBuf::from("ref.npz"), arrays)
        }),
        audio_source: PathBuf::from("signal"),
        routing: Default::default(),
    }
}

fn captured(out: &crate::runner::RunOutcome) -> BTreeMap<String, ArrayF32> {
    out.captured
        .iter()
        .map(|(k, v)| (k.clone(), v.to_f32().unwrap()))
        .collect()
}

fn scaled(a: &ArrayF32, k: f32) -> Vec<f32> {
    a.data().iter().map(|v| v * k).collect()
}

#[test]
fn a_segmented_range_chains_overlap_adds_and_feeds_later_stages() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir, "{samples: 4, first: s1, last: s2}").unwrap();
    let audio = ramp(10);
    let (out, report) = run_segmented(&mut Mock, &spec, plan(None), &audio).unwrap();
    let arrays = captured(&out);
    let names: Vec<&str> = out.captured.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["audio", "pre.y", "s1.y", "s2.p", "s2.n", "post.z"]);
    assert_eq!(arrays["s2.p"].data(), scaled(&audio, 2.0).as_slice());
    assert_eq!(arrays["s2.n"].data(), scaled(&audio, -2.0).as_slice());
    assert_eq!(arrays["post.z"].data(), scaled(&audio, 4.0).as_slice());
    // s1.y per segment, stacked: 4 segments of [1, 1, 4]; the last one centred on 9..10.
    assert_eq!(arrays["s1.y"].shape(), &[4, 1, 4]);
    assert_eq!(&arrays["s1.y"].data()[12..], &[18.0, 20.0, 0.0, 0.0]);
    // Whole-input samples are sums over the segments; each segment's are kept.
    let report = report.unwrap();
    assert_eq!(report["windows"].as_array().unwrap().len(), 4);
    for stage in out.stages.iter().filter(|s| s.name.starts_with('s')) {
        let per = report["stage_sec"][&stage.name].as_array().unwrap();
        assert_eq!(per.len(), 4);
        for (r, total) in stage.samples.iter().enumerate() {
            let sum: f64 = per.iter().map(|p| p[r].as_f64().unwrap()).sum();
            assert!((sum - total).abs() < 1e-12);
        }
    }
    let names: Vec<&str> = out.stages.iter().map(|s| s.name.as_str()).collect();
    assert_eq!(names, ["pre", "s1", "s2", "post"]);
}

#[test]
fn an_isolated_segmented_run_slices_the_reference_per_segment() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir, "{samples: 4, first: s1, last: s2}").unwrap();
    let audio = ramp(10);
    let (chained, _) = run_segmented(&mut Mock, &spec, plan(None), &audio).unwrap();
    let mut reference = captured(&chained);
    let (same, _) = run_segmented(&mut Mock, &spec, plan(Some(reference.clone())), &audio).unwrap();
    assert_eq!(captured(&same), reference);
    // s2 is fed the reference's s1.y, segment by segment: +100 everywhere shows through.
    let s1 = &reference["s1.y"];
    let bumped = ArrayF32::new(
        s1.shape().to_vec(),
        s1.data().iter().map(|v| v + 100.0).collect(),
    );
    reference.insert("s1.y".into(), bumped.unwrap());
    let (out, _) = run_segmented(&mut Mock, &spec, plan(Some(reference.clone())), &audio).unwrap();
    let want: Vec<f32> = audio.data().iter().map(|v| 2.0 * v + 100.0).collect();
    assert_eq!(captured(&out)["s2.p"].data(), want.as_slice());
    // A reference cut into other segments is refused, naming the stage, file and array.
    reference.insert("s1.y".into(), ramp(3));
    let err = run_segmented(&mut Mock, &spec, plan(Some(reference)), &audio).unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("stage `s2`") && msg.contains("ref.npz") && msg.contains("`s1.y`"),
        "{msg}"
    );
}

#[test]
fn odd_segments_cover_any_length_and_empty_audio_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir, "{samples: 5, first: s1, last: s2}").unwrap();
    let (ok, _) = run_segmented(&mut Mock, &spec, plan(None), &ramp(12)).unwrap();
    assert_eq!(captured(&ok)["s2.p"].shape(), &[1, 1, 12]);
    let err = run_segmented(
        &mut Mock,
        &spec,
        plan(None),
        &ArrayF32::new(vec![1, 1, 0], vec![]).unwrap(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("the audio is empty"), "{err}");
}

#[test]
fn bad_segmenting_sections_name_the_key_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    for (section, want) in [
        ("{samples: 0}", "segmenting.samples: 0"),
        (
            "{samples: 4, overlap: 1}",
            "segmenting.overlap must be a fraction in [0, 1)",
        ),
        ("{samples: 4, overlap: .nan}", "segmenting.overlap"),
        ("{samples: 1, overlap: 0.5}", "leaves no stride"),
        (
            "{samples: 4, transition_power: 0.5}",
            "transition_power must be a number ≥ 1",
        ),
        (
            "{samples: 4, first: nope}",
            "segmenting.first: no stage named `nope`",
        ),
        ("{samples: 4, first: s2, last: s1}", "comes after `last`"),
        (
            "{samples: 4, first: s1, last: post}",
            "input `y` comes from `pre.y`",
        ),
        ("{samples: 4, sample: 3}", "unknown field `sample`"),
    ] {
        let err = spec(&dir, section).unwrap_err();
        assert!(err.contains(want), "{section}: {err}");
    }
    // After the range, only the last segmented stage's outputs are full length.
    let err = spec(&dir, "{samples: 4, first: pre, last: s2}").unwrap_err();
    assert!(
        err.contains("stage `post` reads `pre.y`, a per-segment output"),
        "{err}"
    );
    assert!(spec(&dir, "{samples: 4, first: s1, last: s1}").is_ok());
}

#[test]
fn stage_selection_names_stages_of_the_whole_spec() {
    let dir = tempfile::tempdir().unwrap();
    let spec = spec(&dir, "{samples: 4, first: s1, last: s2}").unwrap();
    let mut p = plan(None);
    p.routing.only = vec!["s1".into(), "s2".into()];
    let (out, _) = run_segmented(&mut Mock, &spec, p, &ramp(10)).unwrap();
    let ran: Vec<&str> = out.stages.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(ran, ["s1", "s2"]);
    let not_run: Vec<&str> = out.not_run.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(not_run, ["pre", "post"]);
    let mut p = plan(None);
    p.routing.skip = vec!["nope".into()];
    let err = run_segmented(&mut Mock, &spec, p, &ramp(10))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("--skip-stage nope") && err.contains("pre, s1, s2, post"),
        "{err}"
    );
}

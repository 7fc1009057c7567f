//! The parity phase on files: metric agreement with numpy, the cases that must fail,
//! default tolerances, output formats and the HTML report in headless Chromium.

use crate::common::*;
use serde_json::Value;
use std::path::Path;

/// Deterministic standard normal samples (xorshift + Box–Muller).
pub fn normal(seed: u64, n: usize) -> Vec<f64> {
    let mut s = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    let mut uniform = move || {
        s ^= s << 13;
        s ^= s >> 7;
        s ^= s << 17;
        ((s >> 11) as f64 + 0.5) / (1u64 << 53) as f64
    };
    (0..n)
        .map(|_| {
            let (u, v) = (uniform(), uniform());
            (-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()
        })
        .collect()
}

/// Rounds to the nearest float16 value (ties to even), kept as f32.
pub fn f16_round(x: f32) -> f32 {
    let a = x.abs();
    if a < 6.103_515_6e-5 {
        // float16 subnormals are multiples of 2^-24.
        let q = 2f32.powi(24);
        return (x * q).round_ties_even() / q;
    }
    let bits = x.to_bits();
    let lsb = (bits >> 13) & 1;
    f32::from_bits((bits + 0x0FFF + lsb) & !0x1FFF)
}

/// An audio-like signal: a few sines plus a little noise, amplitude ~0.3.
pub fn signal(seed: u64, n: usize) -> Vec<f32> {
    let noise = normal(seed, n);
    (0..n)
        .map(|i| {
            let t = i as f64 / 44100.0;
            (0.2 * (2.0 * std::f64::consts::PI * 220.0 * t).sin()
                + 0.1 * (2.0 * std::f64::consts::PI * 1234.5 * t + seed as f64).sin()
                + 0.02 * noise[i]) as f32
        })
        .collect()
}

pub struct Pair {
    pub dir: tempfile::TempDir,
}

impl Pair {
    pub fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }
}

/// HTDemucs-shaped (small) stage outputs.
pub fn stages(seed: u64) -> Vec<(&'static str, Vec<usize>, Vec<f32>)> {
    vec![
        ("stft.spec", vec![1, 4, 64, 20], signal(seed, 4 * 64 * 20)),
        (
            "freq_branch.freq_out",
            vec![1, 4, 4, 64, 20],
            signal(seed + 1, 16 * 64 * 20),
        ),
        (
            "time_branch.time_out",
            vec![1, 4, 2, 3000],
            signal(seed + 2, 8 * 3000),
        ),
        (
            "output.stems",
            vec![1, 4, 2, 3000],
            signal(seed + 3, 8 * 3000),
        ),
    ]
}

fn members(arrays: &[(&'static str, Vec<usize>, Vec<f32>)]) -> Vec<(&'static str, Vec<u8>)> {
    arrays.iter().map(|(n, s, d)| (*n, npy_f32(s, d))).collect()
}

/// Writes ref.npz and cand.npz where the candidate is `f` applied to each array.
pub fn pair(f: impl Fn(&str, &mut Vec<usize>, &mut Vec<f32>)) -> Pair {
    let dir = tempdir();
    let reference = stages(7);
    let mut candidate = reference.clone();
    for (n, s, d) in candidate.iter_mut() {
        f(n, s, d);
    }
    write_npz(&dir.path().join("ref.npz"), &members(&reference), false);
    write_npz(&dir.path().join("cand.npz"), &members(&candidate), false);
    Pair { dir }
}

pub fn parity(p: &Pair, extra: &[&str]) -> std::process::Output {
    parity_env(p, &[], extra)
}

/// [`parity`] with extra environment variables.
pub fn parity_env(p: &Pair, env: &[(&str, &str)], extra: &[&str]) -> std::process::Output {
    run(bin()
        .current_dir(p.dir.path())
        .envs(env.iter().copied())
        .args([
            "parity",
            "--reference",
            "ref.npz",
            "--candidate",
            "cand.npz",
        ])
        .args(extra))
}

pub fn json_report(p: &Pair, extra: &[&str]) -> (Option<i32>, Value) {
    let out = parity(p, &[&["--format", "json"], extra].concat());
    let v: Value = serde_json::from_str(&stdout(&out))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(&out), stderr(&out)));
    (out.status.code(), v)
}

pub fn check<'a>(v: &'a Value, array: &str) -> &'a Value {
    v["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["array"] == array))
        .unwrap_or_else(|| panic!("no check for {array} in {v:#}"))
}

fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(f64::NAN),
        Value::String(s) if s == "inf" => f64::INFINITY,
        other => panic!("not a number: {other}"),
    }
}

#[test]
fn metrics_agree_with_numpy_float64() {
    let p = pair(|_, _, d| {
        let noise = normal(99, d.len());
        for (x, n) in d.iter_mut().zip(noise) {
            *x += (n * 1e-3) as f32;
        }
    });
    write(
        &p.dir.path().join("cfg.yml"),
        "parity:\n  stages:\n    output:\n      stem_axis: 1\n      stems: [drums, bass, other, vocals]\n",
    );
    let (_, ours) = json_report(&p, &["--config", "cfg.yml"]);
    assert_matches_numpy(&p, &ours, 4);
}

/// An array of several read chunks (split between worker threads and merged) agrees
/// with numpy as closely as a single-chunk one.
#[test]
fn metrics_agree_with_numpy_across_chunks() {
    let dir = tempdir();
    let shape = vec![1usize, 4, 2, 80_000];
    let reference = signal(11, 4 * 2 * 80_000);
    let noise = normal(12, reference.len());
    let candidate: Vec<f32> = reference
        .iter()
        .zip(noise)
        .map(|(x, n)| x + (n * 1e-3) as f32)
        .collect();
    write_npz(
        &dir.path().join("ref.npz"),
        &[("output.stems", npy_f32(&shape, &reference))],
        false,
    );
    write_npz(
        &dir.path().join("cand.npz"),
        &[("output.stems", npy_f32(&shape, &candidate))],
        false,
    );
    let p = Pair { dir };
    write(
        &p.dir.path().join("cfg.yml"),
        "parity:\n  stages:\n    output:\n      stem_axis: 1\n      stems: [drums, bass, other, vocals]\n",
    );
    let (_, ours) = json_report(&p, &["--config", "cfg.yml"]);
    assert_matches_numpy(&p, &ours, 1);
}

/// Runs the numpy script on the pair and compares every metric it computes.
fn assert_matches_numpy(p: &Pair, ours: &Value, arrays: usize) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("benchmarks/parity/numpy_metrics.py");
    let out = run(std::process::Command::new(python_with_numpy())
        .arg(script)
        .args([p.path("ref.npz"), p.path("cand.npz")])
        .args([
            "--atol",
            "1e-3",
            "--rtol",
            "1e-3",
            "--rel-floor",
            "1e-4",
            "--stem-axis",
            "1",
        ]));
    assert!(out.status.success(), "{}", stderr(&out));
    let theirs: Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}"));
    let names = theirs.as_object().map(|o| o.len()).unwrap_or(0);
    assert_eq!(names, arrays, "{theirs}");
    for (array, want) in theirs.as_object().into_iter().flatten() {
        let got = check(ours, array);
        for (key, w) in want.as_object().into_iter().flatten() {
            if key == "stems_sdr" {
                // Only the stage configured with stem_axis has them; numpy computes all.
                if array != "output.stems" {
                    continue;
                }
                let g = got["stems_sdr"].as_array().cloned().unwrap();
                let w = w.as_array().cloned().unwrap();
                assert_eq!(g.len(), w.len());
                for (g, w) in g.iter().zip(&w) {
                    let (g, w) = (num(&g["sdr_db"]), num(w));
                    assert!(
                        ((g - w) / w).abs() <= 1e-9,
                        "{array} stem sdr: {g} vs numpy {w}"
                    );
                }
                continue;
            }
            if key == "sdr_db" && array != "output.stems" {
                continue;
            }
            match w {
                Value::Array(_) => assert_eq!(&got[key], w, "{array}.{key}"),
                _ => {
                    let (g, w) = (num(&got[key]), num(w));
                    let rel = if w == 0.0 {
                        g.abs()
                    } else {
                        ((g - w) / w).abs()
                    };
                    assert!(
                        rel <= 1e-9,
                        "{array}.{key}: ours {g} vs numpy {w} (rel {rel:e})"
                    );
                }
            }
        }
    }
}

#[test]
fn float16_rounded_candidate_passes_default_tolerances() {
    let p = pair(|_, _, d| d.iter_mut().for_each(|x| *x = f16_round(*x)));
    let (code, v) = json_report(&p, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["passed"], true);
    assert_eq!(v["checks"].as_array().map(Vec::len), Some(4));
    for c in v["checks"].as_array().into_iter().flatten() {
        assert!(
            num(&c["max_abs"]) > 0.0,
            "the rounding must change something: {c}"
        );
        assert!(num(&c["snr_db"]) > 60.0, "{c}");
    }
}

#[test]
fn white_noise_at_40_db_is_reported_as_40_db() {
    let p = pair(|name, _, d| {
        let power = d.iter().map(|x| f64::from(*x).powi(2)).sum::<f64>() / d.len() as f64;
        let sigma = (power / 1e4).sqrt();
        let noise = normal(name.len() as u64 + 3, d.len());
        for (x, n) in d.iter_mut().zip(noise) {
            *x += (n * sigma) as f32;
        }
    });
    let (_, v) = json_report(&p, &[]);
    for c in v["checks"].as_array().into_iter().flatten() {
        let snr = num(&c["snr_db"]);
        assert!((snr - 40.0).abs() <= 0.5, "{}: {snr} dB", c["array"]);
    }
}

#[test]
fn nan_in_one_candidate_element_fails_and_says_where() {
    let p = pair(|name, _, d| {
        if name == "time_branch.time_out" {
            d[1234] = f32::NAN;
        }
    });
    let (code, v) = json_report(&p, &[]);
    assert_eq!(code, Some(1));
    assert_eq!(v["passed"], false);
    let c = check(&v, "time_branch.time_out");
    assert_eq!(c["passed"], false);
    assert_eq!(c["nan_cand"], 1);
    assert_eq!(c["nan_ref"], 0);
    let msg = c["problems"][0].as_str().unwrap();
    assert!(msg.contains("1 NaN in the candidate"), "{msg}");
    assert!(msg.contains("[0, 0, 0, 1234]"), "{msg}");
    // Other arrays are unaffected and still pass.
    assert_eq!(check(&v, "output.stems")["passed"], true);
}

#[test]
fn stage_one_sample_shorter_names_both_shapes() {
    let p = pair(|name, s, d| {
        if name == "output.stems" {
            s[3] -= 1;
            d.truncate(s.iter().product());
        }
    });
    let (code, v) = json_report(&p, &[]);
    assert_eq!(code, Some(1));
    let msg = check(&v, "output.stems")["problems"][0]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        msg.contains("[1, 4, 2, 3000]") && msg.contains("[1, 4, 2, 2999]"),
        "{msg}"
    );
}

#[test]
fn missing_stage_fails() {
    let dir = tempdir();
    let reference = stages(1);
    write_npz(&dir.path().join("ref.npz"), &members(&reference), false);
    write_npz(
        &dir.path().join("cand.npz"),
        &members(&reference[..3]),
        false,
    );
    let p = Pair { dir };
    let (code, v) = json_report(&p, &[]);
    assert_eq!(code, Some(1));
    let c = check(&v, "output.stems");
    assert_eq!(c["stage"], "output");
    let msg = c["problems"][0].as_str().unwrap();
    assert!(msg.contains("missing in the candidate"), "{msg}");
}

#[test]
fn int16_where_float32_expected_fails() {
    let dir = tempdir();
    let reference = stages(2);
    let mut cand = members(&reference);
    let (_, shape, data) = &reference[0];
    let ints: Vec<u8> = data
        .iter()
        .flat_map(|x| ((x * 32767.0) as i16).to_le_bytes())
        .collect();
    cand[0].1 = npy_bytes("<i2", shape, &ints);
    write_npz(&dir.path().join("ref.npz"), &members(&reference), false);
    write_npz(&dir.path().join("cand.npz"), &cand, false);
    let p = Pair { dir };
    let (code, v) = json_report(&p, &[]);
    assert_eq!(code, Some(1));
    let c = check(&v, "stft.spec");
    assert_eq!(c["candidate_dtype"], "int16");
    let msg = c["problems"][0].as_str().unwrap();
    assert!(
        msg.contains("dtype mismatch: reference float32 vs candidate int16"),
        "{msg}"
    );
}

#[test]
fn truncated_npz_exits_2_naming_the_file() {
    let p = pair(|_, _, _| {});
    let path = p.dir.path().join("cand.npz");
    let bytes = std::fs::read(&path).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap_or_else(|e| panic!("{e}"));
    let out = parity(&p, &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("cand.npz") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn truncated_npy_in_a_folder_exits_2_naming_the_file() {
    let dir = tempdir();
    let data = signal(1, 1000);
    for side in ["ref", "cand"] {
        std::fs::create_dir_all(dir.path().join(side)).unwrap_or_else(|e| panic!("{e}"));
        let mut bytes = npy_f32(&[2, 500], &data);
        if side == "cand" {
            bytes.truncate(bytes.len() - 10);
        }
        std::fs::write(dir.path().join(side).join("istft.wave.npy"), bytes)
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = run(bin().current_dir(dir.path()).args([
        "parity",
        "--reference",
        "ref",
        "--candidate",
        "cand",
    ]));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("cand/istft.wave.npy") && err.contains("truncated"),
        "{err}"
    );
}

#[test]
fn compressed_npz_is_read() {
    let dir = tempdir();
    let reference = stages(3);
    write_npz(&dir.path().join("ref.npz"), &members(&reference), false);
    write_npz(&dir.path().join("cand.npz"), &members(&reference), true);
    let p = Pair { dir };
    let (code, v) = json_report(&p, &[]);
    assert_eq!(code, Some(0), "{v:#}");
    assert_eq!(v["checks"].as_array().map(Vec::len), Some(4));
    for c in v["checks"].as_array().into_iter().flatten() {
        assert_eq!(c["snr_db"], "inf");
        assert_eq!(c["max_abs"], 0.0);
    }
}

#[test]
fn flags_override_tolerances_for_every_array() {
    let p = pair(|_, _, d| d.iter_mut().for_each(|x| *x = f16_round(*x)));
    let (code, v) = json_report(&p, &["--min-snr-db", "90"]);
    assert_eq!(code, Some(1));
    assert_eq!(v["tolerance"]["min_snr_db"], 90.0);
    let (code, _) = json_report(&p, &["--atol", "0", "--rtol", "1e-6"]);
    assert_eq!(code, Some(1));
}

#[test]
fn wav_stems_get_demucs_sdr() {
    let dir = tempdir();
    let stems = ["drums", "bass"];
    for (k, stem) in stems.iter().enumerate() {
        let s: Vec<f64> = signal(k as u64, 2 * 4410)
            .iter()
            .map(|&v| f64::from(v))
            .collect();
        let noise = normal(50 + k as u64, s.len());
        let c: Vec<f64> = s.iter().zip(&noise).map(|(a, n)| a + n * 1e-3).collect();
        write_wav(&dir.path().join(format!("ref/{stem}.wav")), 1, 24, 2, &s);
        write_wav(&dir.path().join(format!("cand/{stem}.wav")), 3, 32, 2, &c);
    }
    let out = run(bin().current_dir(dir.path()).args([
        "parity",
        "--reference",
        "ref",
        "--candidate",
        "cand",
        "--format",
        "json",
        "--atol",
        "1",
    ]));
    let v: Value =
        serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    for stem in stems {
        let c = check(&v, stem);
        assert_eq!(c["stage"], "stems");
        assert_eq!(c["reference_dtype"], "pcm24");
        assert_eq!(c["candidate_dtype"], "float32");
        assert_eq!(c["reference_shape"], serde_json::json!([4410, 2]));
        let sdr = num(&c["sdr_db"]);
        // Noise σ = 1e-3 on a ~0.16 RMS signal: SDR ≈ 44 dB, which is also what SNR says.
        assert!((sdr - num(&c["snr_db"])).abs() < 0.01, "{c}");
        assert!(sdr > 40.0 && sdr < 48.0, "{sdr}");
    }
    assert_eq!(out.status.code(), Some(0), "{}", stdout(&out));
}

/// Every instruction-set variant of the metrics loop this CPU runs gives the same report
/// (each array here is one chunk, so one worker adds it up and the figures are exact to
/// the bit), and an unknown `HTDEMUCS_DEVOPS_SIMD` value exits 2 naming it.
#[test]
fn instruction_set_override_gives_the_same_report_and_refuses_unknown_values() {
    use htdemucs_devops::simd::{Level, ENV};
    let p = pair(|_, _, d| {
        let noise = normal(5, d.len());
        for (x, n) in d.iter_mut().zip(noise) {
            *x += (n * 1e-3) as f32;
        }
    });
    let report = |level: &str| {
        let out = parity_env(&p, &[(ENV, level)], &["--format", "json"]);
        let v: Value = serde_json::from_str(&stdout(&out))
            .unwrap_or_else(|e| panic!("{level}: not JSON ({e}): {}", stderr(&out)));
        v["checks"].to_string()
    };
    let baseline = report("baseline");
    assert!(baseline.contains("freq_branch.freq_out"), "{baseline}");
    for level in Level::ALL.into_iter().filter(|l| l.supported()) {
        assert_eq!(report(level.name()), baseline, "{level:?}");
    }
    assert_eq!(report("auto"), baseline);
    let out = parity_env(&p, &[(ENV, "sse9")], &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("HTDEMUCS_DEVOPS_SIMD=\"sse9\" is not a level"),
        "{}",
        stderr(&out)
    );
}

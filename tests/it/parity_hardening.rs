//! Parity on hostile numbers and files: errors beyond the float64 range, nonsense
//! tolerances, shapes that overflow, corrupted archives and headers that lie about the
//! data. Each must end (bounded time) in a failed check or a clear exit 2.

use crate::common::*;
use serde_json::Value;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Runs `cmd` with its output in files, killing it (and failing) after `secs`.
fn run_bounded(cmd: &mut Command, secs: u64) -> Output {
    let dir = tempdir();
    let (out, err) = (dir.path().join("out"), dir.path().join("err"));
    let file = |p: &Path| std::fs::File::create(p).unwrap_or_else(|e| panic!("{e}"));
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(file(&out))
        .stderr(file(&err))
        .spawn()
        .unwrap_or_else(|e| panic!("cannot run {cmd:?}: {e}"));
    let start = Instant::now();
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) if start.elapsed() < Duration::from_secs(secs) => {
                std::thread::sleep(Duration::from_millis(20));
            }
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "{cmd:?} still running after {secs} s; stderr: {}",
                    std::fs::read_to_string(&err).unwrap()
                );
            }
            Err(e) => panic!("wait: {e}"),
        }
    };
    Output {
        status,
        stdout: std::fs::read(&out).unwrap(),
        stderr: std::fs::read(&err).unwrap(),
    }
}

/// `parity --reference ref --candidate cand --format json` in `dir`, bounded.
fn parity_in(dir: &Path, extra: &[&str]) -> Output {
    run_bounded(
        bin()
            .current_dir(dir)
            .args([
                "parity",
                "--reference",
                "ref",
                "--candidate",
                "cand",
                "--format",
                "json",
            ])
            .args(extra),
        60,
    )
}

fn f64_npy(shape: &[usize], values: &[f64]) -> Vec<u8> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    npy_bytes("<f8", shape, &bytes)
}

/// `ref/` and `cand/` folders each holding `name.npy`.
fn folders(dir: &Path, name: &str, reference: Vec<u8>, candidate: Vec<u8>) {
    for (side, bytes) in [("ref", reference), ("cand", candidate)] {
        let d = dir.join(side);
        std::fs::create_dir_all(&d).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(d.join(format!("{name}.npy")), bytes).unwrap_or_else(|e| panic!("{e}"));
    }
}

fn json(out: &Output) -> Value {
    serde_json::from_str(&stdout(out))
        .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", stdout(out), stderr(out)))
}

#[test]
fn an_error_beyond_the_float64_range_ends_in_a_failed_check() {
    let dir = tempdir();
    let r = [9e307, 0.0, 1.0, -1e308, 0.5, 0.25, 0.0, 1.0];
    let c = [-9e307, 0.0, 1.0, 1e308, 0.5, 0.25, 0.0, 1.0];
    folders(dir.path(), "x.y", f64_npy(&[8], &r), f64_npy(&[8], &c));
    let out = parity_in(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let v = json(&out);
    let check = &v["checks"][0];
    assert_eq!(check["passed"], false);
    assert_eq!(check["max_abs"], "inf", "{check:#}");
    assert_eq!(check["max_abs_index"], serde_json::json!([0]));
    assert_eq!(check["outside"], 2);
    // Every figure is a number or an honest inf/nan, and the HTML report was drawn.
    let html = std::fs::read_to_string(dir.path().join(".htdemucs-devops/parity.html"))
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(html.contains("<svg"), "charts drawn");
}

#[test]
fn a_float64_wav_with_huge_samples_ends_in_a_failed_check() {
    let dir = tempdir();
    let wav = |samples: &[f64]| {
        let data: Vec<u8> = samples.iter().flat_map(|v| v.to_le_bytes()).collect();
        let mut v = b"RIFF".to_vec();
        v.extend((36 + data.len() as u32).to_le_bytes());
        v.extend(b"WAVEfmt \x10\0\0\0");
        v.extend(3u16.to_le_bytes());
        v.extend(1u16.to_le_bytes());
        v.extend(44100u32.to_le_bytes());
        v.extend((44100u32 * 8).to_le_bytes());
        v.extend(8u16.to_le_bytes());
        v.extend(64u16.to_le_bytes());
        v.extend(b"data");
        v.extend((data.len() as u32).to_le_bytes());
        v.extend(data);
        v
    };
    for (side, s) in [("ref", [1e308, 0.1, 0.2]), ("cand", [-1e308, 0.1, 0.2])] {
        std::fs::create_dir_all(dir.path().join(side)).unwrap_or_else(|e| panic!("{e}"));
        std::fs::write(dir.path().join(side).join("vocals.wav"), wav(&s))
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let out = parity_in(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let check = &json(&out)["checks"][0];
    assert_eq!(
        (&check["passed"], &check["max_abs"]),
        (&Value::Bool(false), &Value::from("inf"))
    );
}

#[test]
fn merging_a_shard_with_a_huge_curve_value_ends() {
    let dir = tempdir();
    let r: Vec<f64> = (0..64).map(|i| f64::from(i) * 0.01).collect();
    let c: Vec<f64> = r.iter().map(|x| x + 1e-6).collect();
    folders(dir.path(), "a.b", f64_npy(&[64], &r), f64_npy(&[64], &c));
    let out = run_bounded(
        bin().current_dir(dir.path()).args([
            "parity",
            "--reference",
            "ref",
            "--candidate",
            "cand",
            "--shard",
            "1/1",
            "--out-dir",
            "s1",
        ]),
        60,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let path = dir.path().join("s1/parity.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    let curve = &mut v["data"]["checks"][0]["curve"];
    assert!(curve.is_object(), "{v:#}");
    curve["max"][0] = Value::from(1e308);
    curve["rms"][1] = Value::from(1e308);
    std::fs::write(&path, v.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let merged = run_bounded(
        bin()
            .current_dir(dir.path())
            .args(["parity", "merge", "s1/parity.json", "--out-dir", "m"]),
        60,
    );
    assert!(
        matches!(merged.status.code(), Some(0 | 1)),
        "{}",
        stderr(&merged)
    );
    assert!(dir.path().join("m/parity.html").is_file());
}

#[test]
fn nonsense_tolerance_flags_are_usage_errors() {
    let dir = tempdir();
    let r = [0.0, 1.0];
    folders(
        dir.path(),
        "a.b",
        f64_npy(&[2], &r),
        f64_npy(&[2], &[0.5, 1.0]),
    );
    for (flag, value) in [
        ("--atol", "NaN"),
        ("--atol", "-1"),
        ("--atol", "inf"),
        ("--rtol", "nan"),
        ("--rtol", "-0.5"),
        ("--min-snr-db", "NaN"),
    ] {
        let out = parity_in(dir.path(), &[flag, value]);
        assert_eq!(
            out.status.code(),
            Some(2),
            "{flag} {value}: {}",
            stderr(&out)
        );
        assert!(stderr(&out).contains(flag), "{flag}: {}", stderr(&out));
    }
}

#[test]
fn nonsense_tolerances_in_the_config_name_the_key() {
    let dir = tempdir();
    folders(
        dir.path(),
        "a.b",
        f64_npy(&[2], &[0.0, 1.0]),
        f64_npy(&[2], &[0.5, 1.0]),
    );
    for (yaml, key) in [
        ("parity:\n  atol: .nan\n", "atol"),
        ("parity:\n  rtol: -1\n", "rtol"),
        ("parity:\n  min_snr_db: .nan\n", "min_snr_db"),
        ("parity:\n  rel_floor: 0\n", "rel_floor"),
        ("parity:\n  stages:\n    a:\n      atol: .nan\n", "atol"),
        (
            "parity:\n  stages:\n    a:\n      min_sdr_db: .inf\n",
            "min_sdr_db",
        ),
    ] {
        write(&dir.path().join("cfg.yml"), yaml);
        let out = run_bounded(
            bin().current_dir(dir.path()).args([
                "parity",
                "--reference",
                "ref",
                "--candidate",
                "cand",
                "--config",
                "cfg.yml",
            ]),
            60,
        );
        assert_eq!(out.status.code(), Some(2), "{yaml}: {}", stderr(&out));
        let err = stderr(&out);
        assert!(
            err.contains(key) && err.contains("cfg.yml"),
            "{yaml}: {err}"
        );
    }
}

#[test]
fn a_shape_whose_element_count_overflows_is_an_error() {
    let dir = tempdir();
    let huge = npy_bytes("<f4", &[1 << 32, 1 << 32], &[0u8; 16]);
    folders(dir.path(), "a.b", huge.clone(), huge);
    let out = parity_in(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("a.b.npy") && err.contains("shape"), "{err}");
}

#[test]
fn a_header_claiming_more_than_the_file_holds_is_an_error_up_front() {
    let dir = tempdir();
    let liar = npy_bytes("<f4", &[1 << 40], &[0u8; 16]);
    folders(dir.path(), "a.b", liar.clone(), liar);
    let out = parity_in(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(
        err.contains("a.b.npy") && err.contains("4398046511104 bytes"),
        "names the file and what the header needs: {err}"
    );
    // The same inside an archive.
    let liar = npy_bytes("<f4", &[1 << 40], &[0u8; 16]);
    for side in ["r.npz", "c.npz"] {
        write_npz(&dir.path().join(side), &[("a.b", liar.clone())], false);
    }
    let out = run_bounded(
        bin().current_dir(dir.path()).args([
            "parity",
            "--reference",
            "r.npz",
            "--candidate",
            "c.npz",
        ]),
        60,
    );
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    let err = stderr(&out);
    assert!(err.contains("r.npz") && err.contains("a.b.npy"), "{err}");
}

#[test]
fn a_corrupted_npz_member_is_an_error_naming_archive_and_member() {
    let dir = tempdir();
    let values: Vec<f32> = (0..256).map(|i| i as f32 * 0.001).collect();
    let good = npy_f32(&[256], &values);
    for compressed in [false, true] {
        write_npz(
            &dir.path().join("r.npz"),
            &[("s.out", good.clone())],
            compressed,
        );
        write_npz(
            &dir.path().join("c.npz"),
            &[("s.out", good.clone())],
            compressed,
        );
        let path = dir.path().join("c.npz");
        let mut bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}"));
        // Flip one bit in the middle of the member's data (stored: a float; deflated:
        // the compressed stream).
        let at = if compressed { 200 } else { 64 + 128 + 30 + 9 };
        bytes[at] ^= 0x01;
        std::fs::write(&path, &bytes).unwrap_or_else(|e| panic!("{e}"));
        let out = run_bounded(
            bin().current_dir(dir.path()).args([
                "parity",
                "--reference",
                "r.npz",
                "--candidate",
                "c.npz",
            ]),
            60,
        );
        assert_eq!(
            out.status.code(),
            Some(2),
            "compressed={compressed}: {}",
            stdout(&out)
        );
        let err = stderr(&out);
        assert!(
            err.contains("c.npz") && err.contains("s.out.npy"),
            "compressed={compressed}: {err}"
        );
    }
}

#[test]
fn a_merged_shard_claiming_a_pass_its_figures_deny_fails() {
    let dir = tempdir();
    let r: Vec<f64> = (0..64).map(|i| f64::from(i) * 0.01).collect();
    let mut c = r.clone();
    c[5] += 0.5;
    folders(dir.path(), "a.b", f64_npy(&[64], &r), f64_npy(&[64], &c));
    let out = run_bounded(
        bin().current_dir(dir.path()).args([
            "parity",
            "--reference",
            "ref",
            "--candidate",
            "cand",
            "--shard",
            "1/1",
            "--out-dir",
            "s1",
        ]),
        60,
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let path = dir.path().join("s1/parity.json");
    let mut v: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}")))
            .unwrap_or_else(|e| panic!("{e}"));
    v["data"]["checks"][0]["passed"] = Value::Bool(true);
    v["data"]["checks"][0]["problems"] = serde_json::json!([]);
    std::fs::write(&path, v.to_string()).unwrap_or_else(|e| panic!("{e}"));
    let merged = run_bounded(
        bin().current_dir(dir.path()).args([
            "parity",
            "merge",
            "s1/parity.json",
            "--format",
            "json",
            "--out-dir",
            "m",
        ]),
        60,
    );
    assert_eq!(merged.status.code(), Some(1), "{}", stderr(&merged));
    let check = &json(&merged)["checks"][0];
    assert_eq!(check["passed"], false);
    assert!(
        check["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("outside")),
        "{check:#}"
    );
}

#[test]
fn a_stem_axis_the_array_lacks_is_a_failed_check() {
    let dir = tempdir();
    let r: Vec<f64> = (0..8).map(f64::from).collect();
    folders(
        dir.path(),
        "a.b",
        f64_npy(&[2, 4], &r),
        f64_npy(&[2, 4], &r),
    );
    write(
        &dir.path().join("cfg.yml"),
        "parity:\n  stages:\n    a:\n      stem_axis: 5\n",
    );
    let out = parity_in(dir.path(), &["--config", "cfg.yml"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let check = &json(&out)["checks"][0];
    assert!(
        check["problems"][0]
            .as_str()
            .is_some_and(|p| p.contains("stem_axis 5")),
        "{check:#}"
    );
}

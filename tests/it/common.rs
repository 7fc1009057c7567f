//! Helpers shared by the integration tests: a hermetic command for our binary and
//! temporary workspaces.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Path of the built `htdemucs-devops` binary.
pub fn bin_path() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_htdemucs-devops"))
}

/// A command for our binary with every CI/GitHub variable removed, so a test decides
/// exactly where the binary thinks it runs (the test suite itself may run in CI).
pub fn bin() -> Command {
    let mut cmd = Command::new(bin_path());
    for (k, _) in std::env::vars() {
        if k.starts_with("GITHUB_")
            || k.starts_with("RUNNER_")
            || k == "CI"
            || k == "ACT"
            || k == "NO_COLOR"
            || k == "HTDEMUCS_DEVOPS_CONFIG"
        {
            cmd.env_remove(k);
        }
    }
    cmd
}

/// Same as [`bin`], set up as a GitHub Actions step with summary and output files in `dir`.
pub fn bin_in_actions(dir: &Path) -> Command {
    let mut cmd = bin();
    cmd.env("GITHUB_ACTIONS", "true")
        .env("CI", "true")
        .env("GITHUB_WORKSPACE", dir)
        .env("GITHUB_STEP_SUMMARY", dir.join("summary.md"))
        .env("GITHUB_OUTPUT", dir.join("output.txt"));
    cmd
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Runs and returns output, panicking with context if the binary could not start.
pub fn run(cmd: &mut Command) -> Output {
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {:?}: {e}", cmd))
}

pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

pub fn write(path: &Path, text: &str) {
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    }
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// Directory of committed fixtures.
pub fn fixtures() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// Every line of `stdout` that GitHub would read as a workflow command (`::name...::`),
/// skipping what lies between `::stop-commands::TOKEN` and `::TOKEN::`.
pub fn workflow_commands(stdout: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut stopped: Option<String> = None;
    for line in stdout.lines() {
        if let Some(tok) = &stopped {
            if line == format!("::{tok}::") {
                stopped = None;
            }
            continue;
        }
        if let Some(tok) = line.strip_prefix("::stop-commands::") {
            stopped = Some(tok.to_string());
            out.push(line.to_string());
            continue;
        }
        if line.starts_with("::") && line[2..].contains("::") {
            out.push(line.to_string());
        }
    }
    out
}

/// Runs git in `dir` with a fixed identity, failing the test when git fails; returns
/// trimmed stdout.
pub fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "seed")
        .env("GIT_AUTHOR_EMAIL", "seed@example.com")
        .env("GIT_COMMITTER_NAME", "seed")
        .env("GIT_COMMITTER_EMAIL", "seed@example.com")
        .output()
        .unwrap_or_else(|e| panic!("git: {e}"));
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// `.npy` bytes (format 1.0, C order) for `data` stored as `descr` (`<f4`, `<i2`, ...).
pub fn npy_bytes(descr: &str, shape: &[usize], data: &[u8]) -> Vec<u8> {
    let dims: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    let shape_txt = match dims.len() {
        1 => format!("({},)", dims[0]),
        _ => format!("({})", dims.join(", ")),
    };
    let mut header =
        format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_txt}, }}");
    // numpy pads the header with spaces so the data starts on a 64-byte boundary.
    while (10 + header.len() + 1) % 64 != 0 {
        header.push(' ');
    }
    header.push('\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend((header.len() as u16).to_le_bytes());
    out.extend(header.as_bytes());
    out.extend(data);
    out
}

/// `.npy` bytes of float32 values.
pub fn npy_f32(shape: &[usize], data: &[f32]) -> Vec<u8> {
    let bytes: Vec<u8> = data.iter().flat_map(|v| v.to_le_bytes()).collect();
    npy_bytes("<f4", shape, &bytes)
}

/// Writes an `.npz` (stored, or deflate-compressed like `numpy.savez_compressed`).
pub fn write_npz(path: &Path, members: &[(&str, Vec<u8>)], compressed: bool) {
    use std::io::Write;
    let file = std::fs::File::create(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut zip = zip::ZipWriter::new(file);
    let method = if compressed {
        zip::CompressionMethod::Deflated
    } else {
        zip::CompressionMethod::Stored
    };
    let opts = zip::write::SimpleFileOptions::default().compression_method(method);
    for (name, bytes) in members {
        zip.start_file(format!("{name}.npy"), opts)
            .unwrap_or_else(|e| panic!("zip: {e}"));
        zip.write_all(bytes).unwrap_or_else(|e| panic!("zip: {e}"));
    }
    zip.finish().unwrap_or_else(|e| panic!("zip: {e}"));
}

/// A WAV file: `format` 1 (integer PCM, 16/24 bits) or 3 (float, 32 bits); samples
/// interleaved, in [-1, 1].
pub fn write_wav(path: &Path, format: u16, bits: u16, channels: u16, samples: &[f64]) {
    let mut data = Vec::new();
    for &s in samples {
        match (format, bits) {
            (1, 16) => data.extend(((s * 32767.0).round() as i16).to_le_bytes()),
            (1, 24) => data.extend(&((s * 8_388_607.0).round() as i32).to_le_bytes()[..3]),
            (3, 32) => data.extend((s as f32).to_le_bytes()),
            _ => panic!("unsupported test WAV format {format}/{bits}"),
        }
    }
    let align = channels * bits / 8;
    let mut v = b"RIFF".to_vec();
    v.extend((36 + data.len() as u32).to_le_bytes());
    v.extend(b"WAVEfmt \x10\0\0\0");
    v.extend(format.to_le_bytes());
    v.extend(channels.to_le_bytes());
    v.extend(44100u32.to_le_bytes());
    v.extend((44100 * u32::from(align)).to_le_bytes());
    v.extend(align.to_le_bytes());
    v.extend(bits.to_le_bytes());
    v.extend(b"data");
    v.extend((data.len() as u32).to_le_bytes());
    v.extend(data);
    if let Some(p) = path.parent() {
        std::fs::create_dir_all(p).unwrap_or_else(|e| panic!("mkdir {}: {e}", p.display()));
    }
    std::fs::write(path, v).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A Python with numpy: `$PYTHON`, `$HTDEMUCS_VENV/bin/python`, else the repo's `.venv`, else `python3` on PATH
/// (`make test` puts the venv there). Panics with the fix when numpy is missing, so a
/// test that needs it can never pass without running it.
pub fn python_with_numpy() -> PathBuf {
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = std::env::var_os("PYTHON") {
        candidates.push(PathBuf::from(p));
    }
    if let Some(v) = std::env::var_os("HTDEMUCS_VENV") {
        candidates.push(PathBuf::from(v).join("bin/python"));
    }
    candidates.push(PathBuf::from(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
    candidates.push(PathBuf::from("python3"));
    for c in &candidates {
        let ok = Command::new(c)
            .args(["-c", "import numpy"])
            .output()
            .map(|o| o.status.success())
            .unwrap_or(false);
        if ok {
            return c.clone();
        }
    }
    panic!("no Python with numpy found (tried {candidates:?}); run `make test` or put a venv with numpy on PATH");
}

/// Debian's chromium, headless, with a throw-away profile. Returns (stdout, stderr).
fn chromium(args: &[&str], target: &str) -> (String, String) {
    let profile = tempdir();
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(target)
        .output()
        .unwrap_or_else(|e| panic!("cannot start chromium: {e}"));
    (stdout(&out), stderr(&out))
}

/// A URL for a local file, or the argument unchanged when it already is a URL.
fn url_of(url_or_file: &str) -> String {
    if url_or_file.contains("://") {
        url_or_file.to_string()
    } else {
        let p = Path::new(url_or_file)
            .canonicalize()
            .unwrap_or_else(|e| panic!("{url_or_file}: {e}"));
        format!("file://{}", p.display())
    }
}

/// The DOM after load (`--dump-dom`) and chromium's log, where page console messages
/// and uncaught errors appear as `CONSOLE` lines.
pub fn chromium_dump_dom(url_or_file: &str) -> (String, String) {
    chromium(&["--dump-dom"], &url_of(url_or_file))
}

/// Takes a screenshot of the page into `png`; returns chromium's log.
pub fn chromium_screenshot(url_or_file: &str, png: &Path, width: u32, height: u32) -> String {
    let shot = format!("--screenshot={}", png.display());
    let size = format!("--window-size={width},{height}");
    chromium(&[&shot, &size], &url_of(url_or_file)).1
}

/// Lines of a chromium log that come from the page: console messages (chromium logs
/// `console.error` and uncaught exceptions alike as `INFO:CONSOLE` lines) and blocked
/// loads. Our pages run no script, so any such line is a problem.
pub fn chromium_page_errors(log: &str) -> Vec<String> {
    log.lines()
        .filter(|l| {
            l.contains(":CONSOLE") || l.contains("Refused to") || l.contains("Not allowed to load")
        })
        .map(str::to_string)
        .collect()
}

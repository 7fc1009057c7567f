//! The publish phase through the real binary: the site rendered locally and opened in
//! headless Chromium, and pushes to a gh-pages branch of a local bare repository.

use crate::common::*;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A baseline in the foundation design's date-keyed format, three runs.
const BASELINE: &str = r#"{
  "2026-02-03": {"coreml": {"stft_sec": 0.42, "freq_branch_sec": 3.21, "memory_peak_mb": 1840},
                 "pytorch": {"stft_sec": 0.38, "freq_branch_sec": 4.87, "memory_peak_mb": 2910}},
  "2026-02-04": {"coreml": {"stft_sec": 0.41, "freq_branch_sec": 3.25, "memory_peak_mb": 1850},
                 "pytorch": {"stft_sec": 0.39, "freq_branch_sec": 4.80, "memory_peak_mb": 2900}},
  "2026-02-05": {"coreml": {"stft_sec": 0.43, "freq_branch_sec": 4.10, "memory_peak_mb": 1845},
                 "pytorch": {"stft_sec": 0.38, "freq_branch_sec": 4.85, "memory_peak_mb": 2905}}
}"#;

const EVIL: &str = "<script>alert(1)</script>";

/// A workspace with a baseline and real phase reports (written by the parity and
/// benchmark phases) whose array and metric names carry markup.
fn workspace() -> tempfile::TempDir {
    let dir = tempdir();
    let ws = dir.path();
    write(&ws.join("benchmarks/baseline.json"), BASELINE);
    let signal: Vec<f32> = (0..4096).map(|i| (i as f32 * 0.01).sin()).collect();
    let noisy: Vec<f32> = signal
        .iter()
        .enumerate()
        .map(|(i, v)| v + if i % 7 == 0 { 0.05 } else { 0.0 })
        .collect();
    let evil_array = format!("{EVIL}.out");
    write_npz(
        &ws.join("ref.npz"),
        &[
            ("stft.spec", npy_f32(&[4096], &signal)),
            (evil_array.as_str(), npy_f32(&[4096], &signal)),
        ],
        false,
    );
    write_npz(
        &ws.join("cand.npz"),
        &[
            ("stft.spec", npy_f32(&[4096], &signal)),
            (evil_array.as_str(), npy_f32(&[4096], &noisy)),
        ],
        false,
    );
    let out = run(bin().current_dir(ws).arg("--root").arg(ws).args([
        "parity",
        "--reference",
        "ref.npz",
        "--candidate",
        "cand.npz",
    ]));
    assert_eq!(
        out.status.code(),
        Some(1),
        "the noisy array fails parity: {}",
        stderr(&out)
    );
    let evil_metric = EVIL.replace('"', "\\\"");
    write(
        &ws.join("current.json"),
        &format!(
            r#"{{"coreml": {{"stft_sec": 0.42, "freq_branch_sec": 5.0, "{evil_metric}_sec": 1.0}}, "pytorch": {{"stft_sec": 0.38, "freq_branch_sec": 4.85}}}}"#
        ),
    );
    let out = run(bin().current_dir(ws).arg("--root").arg(ws).args([
        "benchmark",
        "compare",
        "--baseline",
        "benchmarks/baseline.json",
        "--current",
        "current.json",
    ]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for phase in ["parity", "benchmark"] {
        assert!(
            ws.join(format!(".htdemucs-devops/{phase}.json")).is_file(),
            "{phase}.json"
        );
    }
    dir
}

fn publish_cmd(ws: &Path) -> Command {
    let mut cmd = bin();
    cmd.current_dir(ws)
        .env("SOURCE_DATE_EPOCH", "1770300000")
        .arg("publish")
        .arg("--root")
        .arg(ws);
    cmd
}

const PAGES: [&str; 7] = [
    "index.html",
    "parity/latest.html",
    "benchmarks/latest.html",
    "benchmarks/history.html",
    "benchmarks/history-full.html",
    "archive/index.html",
    "archive/2026-02-05.html",
];

#[test]
fn renders_the_site_locally() {
    let ws = workspace();
    let out = run(publish_cmd(ws.path()).args(["--site-dir", "site"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let site = ws.path().join("site");
    for p in PAGES.iter().chain(["data/history.json"].iter()) {
        assert!(site.join(p).is_file(), "missing {p}");
    }
    let history = std::fs::read_to_string(site.join("benchmarks/history.html")).unwrap();
    assert_eq!(history.matches("<svg").count(), 3, "one chart per metric");
    assert!(history.contains("<title>"), "points carry tooltips");
    let index = std::fs::read_to_string(site.join("index.html")).unwrap();
    assert!(!index.contains(EVIL), "markup must be escaped");
    // The template's autoescape also writes `/` as `&#x2f;`.
    assert!(
        index.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;"),
        "the name is shown, escaped"
    );
    let latest = std::fs::read_to_string(site.join("benchmarks/latest.html")).unwrap();
    assert!(!latest.contains(EVIL));
    // Self-contained: nothing fetched from elsewhere.
    for p in PAGES {
        let html = std::fs::read_to_string(site.join(p)).unwrap();
        assert!(
            !html.contains("src=\"http") && !html.contains("href=\"http"),
            "{p} references an external asset"
        );
    }
}

#[test]
fn unreadable_report_exits_2_naming_it() {
    let ws = workspace();
    write(
        &ws.path().join(".htdemucs-devops/parity.json"),
        "{ not json",
    );
    let out = run(publish_cmd(ws.path()).args(["--site-dir", "site"]));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("parity.json"), "{}", stderr(&out));
}

/// Serves `dir` on a local port until the returned guard is dropped.
struct Server {
    port: u16,
    child: std::process::Child,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn serve(dir: &Path) -> Server {
    let listener =
        std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    drop(listener);
    let child = Command::new("python3")
        .args([
            "-m",
            "http.server",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
        ])
        .current_dir(dir)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("python3 http.server: {e}"));
    for _ in 0..100 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Server { port, child }
}

#[test]
fn every_page_opens_in_chromium_and_markup_stays_text() {
    let ws = workspace();
    let out = run(publish_cmd(ws.path()).args(["--site-dir", "site"]));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let server = serve(&ws.path().join("site"));
    let shots = ws.path().join("shots");
    std::fs::create_dir_all(&shots).unwrap_or_else(|e| panic!("{e}"));
    for (i, page) in PAGES.iter().enumerate() {
        let url = format!("http://127.0.0.1:{}/{page}", server.port);
        let (dom, log) = chromium_dump_dom(&url);
        assert!(dom.contains("</html>"), "{page} did not load: {log}");
        assert!(!dom.contains(EVIL), "{page}: the stage name became markup");
        assert!(
            chromium_page_errors(&log).is_empty(),
            "{page}: {:?}",
            chromium_page_errors(&log)
        );
        let png: PathBuf = shots.join(format!("{i}.png"));
        chromium_screenshot(&url, &png, 1000, 1400);
        let bytes = std::fs::read(&png).unwrap();
        assert!(
            bytes.len() > 5_000 && bytes.starts_with(b"\x89PNG"),
            "{page}: no screenshot"
        );
    }
    let (index, _) = chromium_dump_dom(&format!("http://127.0.0.1:{}/index.html", server.port));
    assert!(
        index.contains("&lt;script&gt;alert(1)&lt;/script&gt;"),
        "the name is shown as text"
    );
}

fn bare_remote(ws: &Path) -> PathBuf {
    let remote = ws.join("remote.git");
    git(
        ws,
        &["init", "--quiet", "--bare", &remote.to_string_lossy()],
    );
    git(ws, &["init", "--quiet"]);
    git(ws, &["remote", "add", "origin", &remote.to_string_lossy()]);
    remote
}

fn ls_branch(remote: &Path, branch: &str) -> Vec<String> {
    git(remote, &["ls-tree", "-r", "--name-only", branch])
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn first_publish_creates_the_branch_and_later_ones_keep_the_archive() {
    let ws = workspace();
    let remote = bare_remote(ws.path());
    let out = run(publish_cmd(ws.path())
        .env("GITHUB_SHA", "1111111aaaa")
        .arg("--push"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files = ls_branch(&remote, "gh-pages");
    assert!(files.contains(&"index.html".to_string()), "{files:?}");
    let first_archive: Vec<String> = files
        .iter()
        .filter(|f| f.starts_with("archive/2026-02-05/"))
        .cloned()
        .collect();
    assert_eq!(first_archive.len(), 1, "{files:?}");
    // Someone adds a file of their own to gh-pages; we must keep it.
    let clone = ws.path().join("clone");
    git(
        ws.path(),
        &[
            "clone",
            "--quiet",
            "--branch",
            "gh-pages",
            &remote.to_string_lossy(),
            &clone.to_string_lossy(),
        ],
    );
    write(&clone.join("CNAME"), "example.org\n");
    git(&clone, &["add", "CNAME"]);
    git(
        &clone,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@e",
            "commit",
            "--quiet",
            "-m",
            "cname",
        ],
    );
    git(&clone, &["push", "--quiet", "origin", "gh-pages"]);

    let out = run(publish_cmd(ws.path())
        .env("GITHUB_SHA", "2222222bbbb")
        .env("SOURCE_DATE_EPOCH", "1770303600")
        .arg("--push"));
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let files = ls_branch(&remote, "gh-pages");
    assert!(
        files.contains(&first_archive[0]),
        "the first archive page is kept: {files:?}"
    );
    assert!(
        files.contains(&"CNAME".to_string()),
        "foreign files are kept: {files:?}"
    );
    assert_eq!(
        files
            .iter()
            .filter(|f| f.starts_with("archive/2026-02-05/"))
            .count(),
        2,
        "{files:?}"
    );
    let day = git(&remote, &["show", "gh-pages:archive/2026-02-05.html"]);
    assert!(
        day.contains("1111111") && day.contains("2222222"),
        "the day page lists both runs"
    );
    let log = git(&remote, &["log", "--format=%s", "gh-pages"]);
    assert_eq!(log.lines().count(), 3, "{log}");
}

#[test]
fn two_racing_publishers_both_land() {
    let ws = workspace();
    let remote = bare_remote(ws.path());
    let children: Vec<_> = ["3333333", "4444444"]
        .iter()
        .map(|sha| {
            publish_cmd(ws.path())
                .env("GITHUB_SHA", sha)
                .arg("--push")
                .arg("--out-dir")
                .arg(ws.path().join(format!("out-{sha}")))
                .arg("--reports")
                .arg(ws.path().join(".htdemucs-devops"))
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    for c in children {
        let out = c.wait_with_output().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
    let files = ls_branch(&remote, "gh-pages");
    let archived: Vec<&String> = files
        .iter()
        .filter(|f| f.starts_with("archive/2026-02-05/"))
        .collect();
    assert_eq!(archived.len(), 2, "both runs' pages landed: {files:?}");
    assert!(
        archived.iter().any(|f| f.contains("3333333"))
            && archived.iter().any(|f| f.contains("4444444"))
    );
}

#[test]
fn a_clone_that_fails_exits_2_and_creates_nothing() {
    let ws = workspace();
    let missing = ws.path().join("no-such-remote.git");
    let out = run(publish_cmd(ws.path())
        .args(["--push", "--remote"])
        .arg(&missing));
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(
        stderr(&out).contains("cannot reach the remote"),
        "{}",
        stderr(&out)
    );
    assert!(!missing.exists(), "nothing may be created");
}

//! Test support for the installer: a local HTTP server playing the release host, fake
//! binaries packaged with the release workflow's own scripts, and a clean runner
//! environment for `dist/install.sh`.

use crate::common::*;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The release target and `RUNNER_OS`/`RUNNER_ARCH` of the machine running the tests.
pub fn host_platform() -> (&'static str, &'static str, &'static str) {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => ("x86_64-unknown-linux-gnu", "Linux", "X64"),
        ("linux", "aarch64") => ("aarch64-unknown-linux-gnu", "Linux", "ARM64"),
        ("macos", "aarch64") => ("aarch64-apple-darwin", "macOS", "ARM64"),
        ("macos", "x86_64") => ("x86_64-apple-darwin", "macOS", "X64"),
        other => panic!("no release target for the test host {other:?}"),
    }
}

/// One canned HTTP answer.
#[derive(Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn ok(body: Vec<u8>) -> Self {
        Reply { status: 200, body }
    }
    pub fn status(status: u16) -> Self {
        Reply {
            status,
            body: format!("status {status}").into_bytes(),
        }
    }
}

/// A release host on 127.0.0.1: each path answers its replies in order (the last one
/// repeats); unknown paths get 404. Every request path is recorded.
pub struct ReleaseServer {
    pub base: String,
    pub requests: Arc<Mutex<Vec<String>>>,
    server: Arc<tiny_http::Server>,
    thread: Option<JoinHandle<()>>,
}

impl ReleaseServer {
    pub fn start(routes: HashMap<String, Vec<Reply>>) -> Self {
        let server = Arc::new(
            tiny_http::Server::http("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}")),
        );
        let addr = server
            .server_addr()
            .to_ip()
            .unwrap_or_else(|| panic!("no ip address"));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let (srv, log) = (Arc::clone(&server), Arc::clone(&requests));
        let thread = std::thread::spawn(move || {
            let mut routes = routes;
            for req in srv.incoming_requests() {
                let path = req.url().to_string();
                log.lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .push(path.clone());
                let reply = match routes.get_mut(&path) {
                    Some(list) if list.len() > 1 => list.remove(0),
                    Some(list) if !list.is_empty() => list[0].clone(),
                    _ => Reply::status(404),
                };
                let resp = tiny_http::Response::from_data(reply.body)
                    .with_status_code(tiny_http::StatusCode(reply.status));
                let _ = req.respond(resp);
            }
        });
        ReleaseServer {
            base: format!("http://{addr}"),
            requests,
            server,
            thread: Some(thread),
        }
    }

    pub fn request_count(&self) -> usize {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .len()
    }
}

impl Drop for ReleaseServer {
    fn drop(&mut self) {
        self.server.unblock();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// A fake `htdemucs-devops` (a shell script) in `dir/bin`, printing `says` and its args.
pub fn fake_binary(dir: &Path, says: &str) -> PathBuf {
    let bin_dir = dir.join("bin");
    let bin = bin_dir.join("htdemucs-devops");
    write(&bin, &format!("#!/bin/sh\necho \"{says} $*\"\n"));
    chmod_x(&bin);
    bin_dir
}

pub fn chmod_x(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755))
        .unwrap_or_else(|e| panic!("chmod {}: {e}", p.display()));
}

fn sh(script: &str, args: &[&Path]) -> Output {
    let out = run(Command::new("bash")
        .arg(repo_root().join("dist").join(script))
        .args(args));
    assert!(
        out.status.success(),
        "{script} failed: {}\n{}",
        stdout(&out),
        stderr(&out)
    );
    out
}

/// A packaged release of `bin_dir` for `target` in `dir/out`, recorded as `version` in
/// a copy of the committed manifest at `dir/manifest`. Returns the archive bytes.
pub fn release(dir: &Path, bin_dir: &Path, target: &str, version: &str) -> Vec<u8> {
    let out_dir = dir.join("out").join(version);
    let t = PathBuf::from(target);
    sh("package.sh", &[&t, bin_dir, &out_dir]);
    let manifest = dir.join("manifest");
    if !manifest.exists() {
        std::fs::copy(repo_root().join("dist/manifest"), &manifest)
            .unwrap_or_else(|e| panic!("copy manifest: {e}"));
    }
    sh(
        "update-manifest.sh",
        &[Path::new(version), &out_dir, &manifest],
    );
    let archive = out_dir.join(format!("htdemucs-devops-{target}.tar.xz"));
    std::fs::read(&archive).unwrap_or_else(|e| panic!("read {}: {e}", archive.display()))
}

pub fn route(version: &str, target: &str) -> String {
    format!("/{version}/htdemucs-devops-{target}.tar.xz")
}

/// `bash dist/install.sh` with a clean environment: a runner on this machine, with tool
/// cache, temp, PATH and output files inside `dir`.
pub fn installer(dir: &Path, base: &str) -> Command {
    let (_, os, arch) = host_platform();
    let mut cmd = Command::new("bash");
    cmd.arg(repo_root().join("dist/install.sh"))
        .env_clear()
        .env("PATH", std::env::var("PATH").expect("PATH is set"))
        .env("HOME", dir)
        .env("GITHUB_ACTIONS", "true")
        .env("RUNNER_OS", os)
        .env("RUNNER_ARCH", arch)
        .env("RUNNER_TOOL_CACHE", dir.join("toolcache"))
        .env("RUNNER_TEMP", dir.join("runner-temp"))
        .env("GITHUB_PATH", dir.join("github_path"))
        .env("GITHUB_OUTPUT", dir.join("github_output"))
        .env("GITHUB_WORKSPACE", dir)
        .env("HTDEMUCS_DEVOPS_MANIFEST", dir.join("manifest"))
        .env("HTDEMUCS_DEVOPS_DOWNLOAD_BASE", base)
        .env("HTDEMUCS_DEVOPS_RETRY_DELAY", "0");
    cmd
}

//! `dist/install.sh` bounded and re-verifying: a server that accepts and never answers times
//! out with a clear error, and a cached install is reused only after re-verification.

use crate::common::*;
use crate::release_host::*;
use std::collections::HashMap;
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// A server on 127.0.0.1 that accepts every connection and never sends a byte.
pub struct SilentServer {
    pub base: String,
    _thread: std::thread::JoinHandle<()>,
}

impl SilentServer {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
        let addr = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("addr: {e}"));
        let thread = std::thread::spawn(move || {
            let mut held = Vec::new();
            for conn in listener.incoming().flatten() {
                held.push(conn);
            }
        });
        SilentServer {
            base: format!("http://{addr}"),
            _thread: thread,
        }
    }
}

#[test]
fn a_server_that_accepts_and_never_answers_times_out_clearly() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let bins = fake_binary(dir.path(), "never installed");
    release(dir.path(), &bins, target, "v1.2.3");
    let server = SilentServer::start();
    let started = Instant::now();
    let out = run(installer(dir.path(), &server.base)
        .env("HTDEMUCS_DEVOPS_VERSION", "v1.2.3")
        .env("HTDEMUCS_DEVOPS_RETRIES", "2")
        .env("HTDEMUCS_DEVOPS_STALL_TIMEOUT", "2"));
    let took = started.elapsed();
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(err.contains("timeout: no answer within 2s"), "{err}");
    assert!(err.contains("failed 2 times"), "{err}");
    // Two attempts of about two seconds each, not curl's default of forever.
    assert!(took < Duration::from_secs(60), "took {took:?}");
    assert!(!dir.path().join("toolcache/htdemucs-devops/1.2.3").exists());
}

#[test]
fn the_total_time_of_an_attempt_is_bounded_too() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    release(dir.path(), &fake_binary(dir.path(), "x"), target, "v1.2.3");
    let server = SilentServer::start();
    let out = run(installer(dir.path(), &server.base)
        .env("HTDEMUCS_DEVOPS_VERSION", "v1.2.3")
        .env("HTDEMUCS_DEVOPS_RETRIES", "1")
        .env("HTDEMUCS_DEVOPS_STALL_TIMEOUT", "30")
        .env("HTDEMUCS_DEVOPS_MAX_TIME", "2"));
    assert_eq!(out.status.code(), Some(2), "{}", stderr(&out));
    assert!(stderr(&out).contains("2s in all"), "{}", stderr(&out));
}

fn installed(dir: &Path, server: &ReleaseServer) -> std::process::Output {
    run(installer(dir, &server.base).env("HTDEMUCS_DEVOPS_VERSION", "v1.2.3"))
}

#[test]
fn a_cached_binary_changed_on_disk_is_not_run_but_reinstalled_from_the_verified_archive() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let bins = fake_binary(dir.path(), "genuine 1.2.3");
    let archive = release(dir.path(), &bins, target, "v1.2.3");
    let server = ReleaseServer::start(HashMap::from([(
        route("v1.2.3", target),
        vec![Reply::ok(archive)],
    )]));
    let first = installed(dir.path(), &server);
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    let cached = dir
        .path()
        .join(format!("toolcache/htdemucs-devops/1.2.3/{target}"));
    let bin = cached.join("htdemucs-devops");
    // Someone with write access to the runner's tool cache swaps the binary.
    write(&bin, "#!/bin/sh\necho forged\n");
    chmod_x(&bin);
    let again = installed(dir.path(), &server);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("differs from its verified archive"),
        "{}",
        stdout(&again)
    );
    let ran = run(&mut Command::new(&bin));
    assert_eq!(stdout(&ran).trim(), "genuine 1.2.3");
    // Reinstalled from the kept archive: still one download.
    assert_eq!(server.request_count(), 1);
    // And an untouched cache is reused as it is.
    let third = installed(dir.path(), &server);
    assert!(stdout(&third).contains("found in the tool cache (verified"));
    assert_eq!(server.request_count(), 1);
}

#[test]
fn a_cached_archive_that_no_longer_matches_the_manifest_is_downloaded_again() {
    let dir = tempdir();
    let (target, _, _) = host_platform();
    let bins = fake_binary(dir.path(), "genuine 1.2.3");
    let archive = release(dir.path(), &bins, target, "v1.2.3");
    let server = ReleaseServer::start(HashMap::from([(
        route("v1.2.3", target),
        vec![Reply::ok(archive)],
    )]));
    assert_eq!(installed(dir.path(), &server).status.code(), Some(0));
    let kept = dir
        .path()
        .join(format!("toolcache/htdemucs-devops/1.2.3/{target}.tar.xz"));
    let mut bytes = std::fs::read(&kept).unwrap_or_else(|e| panic!("{e}"));
    let n = bytes.len();
    bytes[n / 2] ^= 0x40;
    std::fs::write(&kept, bytes).unwrap_or_else(|e| panic!("{e}"));
    let again = installed(dir.path(), &server);
    assert_eq!(again.status.code(), Some(0), "{}", stderr(&again));
    assert!(
        stdout(&again).contains("does not match dist/manifest"),
        "{}",
        stdout(&again)
    );
    assert_eq!(server.request_count(), 2);
}

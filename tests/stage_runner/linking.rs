//! The main binary never links libtorch; only the stage runner does (with feature `torch`).

use std::process::Command;

use crate::common::{MAIN, RUNNER};

/// The shared libraries a binary depends on (`ldd` on Linux, `otool -L` on macOS).
fn linked_libraries(binary: &str) -> String {
    let out = if cfg!(target_os = "macos") {
        Command::new("otool").args(["-L", binary]).output()
    } else {
        Command::new("ldd").arg(binary).output()
    }
    .unwrap();
    assert!(out.status.success(), "listing libraries of {binary} failed");
    String::from_utf8_lossy(&out.stdout).to_string()
}

#[test]
#[cfg(unix)]
fn main_binary_does_not_link_libtorch() {
    let libs = linked_libraries(MAIN);
    assert!(
        !libs.contains("libtorch") && !libs.contains("libc10"),
        "htdemucs-devops links libtorch:\n{libs}"
    );
    let runner = linked_libraries(RUNNER);
    if cfg!(feature = "torch") {
        // Proves the check can see libtorch at all, and that the rpath resolves it
        // without LD_LIBRARY_PATH ("not found" otherwise).
        assert!(
            runner.contains("libtorch_cpu"),
            "stage runner should link libtorch:\n{runner}"
        );
        assert!(
            !runner.contains("not found"),
            "unresolved libraries:\n{runner}"
        );
    } else {
        assert!(
            !runner.contains("libtorch"),
            "runner without feature torch links libtorch:\n{runner}"
        );
    }
}

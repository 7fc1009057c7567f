//! The CLI's common behaviour: help, exit codes, config errors.

use crate::common::*;

#[test]
fn help_documents_exit_codes() {
    let out = run(bin().arg("--help"));
    assert!(out.status.success());
    let text = stdout(&out);
    assert!(text.contains("Exit codes:"), "{text}");
    assert!(text.contains("2  the tool could not do its job"), "{text}");
}

#[test]
fn usage_error_exits_2() {
    let out = run(bin().arg("no-such-phase"));
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn config_with_unknown_key_exits_2_naming_file_line_and_key() {
    let dir = tempdir();
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "test:\n  slowest: 3\n  flaky: yes\n",
    );
    let out = run(bin()
        .args(["test", "--junit", "none.xml"])
        .arg("--root")
        .arg(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(err.contains("htdemucs-devops.yml:3:"), "{err}");
    assert!(err.contains("flaky"), "{err}");
}

#[test]
fn missing_explicit_config_exits_2() {
    let dir = tempdir();
    let out = run(bin()
        .args(["lint", "--config", "nope.yml"])
        .arg("--root")
        .arg(dir.path())
        .current_dir(dir.path()));
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("nope.yml"), "{}", stderr(&out));
}

#[test]
fn errors_in_actions_become_an_escaped_error_annotation() {
    let dir = tempdir();
    write(
        &dir.path().join(".github/htdemucs-devops.yml"),
        "lint:\n  bad%key: 1\n",
    );
    let out = run(bin_in_actions(dir.path()).arg("lint"));
    assert_eq!(out.status.code(), Some(2));
    let cmds = workflow_commands(&stdout(&out));
    assert_eq!(cmds.len(), 1, "{cmds:?}");
    assert!(cmds[0].starts_with("::error::"), "{cmds:?}");
    assert!(cmds[0].contains("bad%25key"), "{cmds:?}");
    assert!(!cmds[0][2..].contains('\n'));
}

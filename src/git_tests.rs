//! Tests of `crate::git` with real git and local bare repositories as remotes.
use super::*;

#[test]
fn redacts_credentials() {
    assert_eq!(
        redact("fatal: https://x-access-token:ghs_abc@github.com/o/r.git not found"),
        "fatal: https://***@github.com/o/r.git not found"
    );
    assert_eq!(redact("/tmp/remote.git"), "/tmp/remote.git");
    assert_eq!(redact("https://github.com/o/r"), "https://github.com/o/r");
}

fn sh(dir: &Path, args: &[&str]) {
    let ok = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_AUTHOR_NAME", "t")
        .env("GIT_AUTHOR_EMAIL", "t@e")
        .env("GIT_COMMITTER_NAME", "t")
        .env("GIT_COMMITTER_EMAIL", "t@e")
        .status()
        .map(|s| s.success())
        .unwrap_or(false);
    assert!(ok, "git {args:?} failed");
}

fn spec(remote: &Path, branch: &str) -> PushSpec {
    PushSpec {
        remote: remote.display().to_string(),
        branch: branch.into(),
        author: Identity {
            name: "bot".into(),
            email: "bot@example.com".into(),
        },
        message: "test: append".into(),
        max_attempts: 4,
        backoff: Duration::from_millis(10),
        create_branch: false,
        config: Vec::new(),
        work_root: std::env::temp_dir().join("htdemucs-devops-git-tests"),
    }
}

/// A bare remote with one commit on `main` containing `log.txt`.
fn remote() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let bare = dir.path().join("remote.git");
    let seed = dir.path().join("seed");
    std::fs::create_dir_all(&seed).unwrap_or_else(|e| panic!("{e}"));
    sh(
        dir.path(),
        &[
            "init",
            "--quiet",
            "--bare",
            "--initial-branch=main",
            "remote.git",
        ],
    );
    sh(&seed, &["init", "--quiet", "--initial-branch=main"]);
    std::fs::write(seed.join("log.txt"), "start\n").unwrap_or_else(|e| panic!("{e}"));
    sh(&seed, &["add", "log.txt"]);
    sh(&seed, &["commit", "--quiet", "-m", "init"]);
    sh(&seed, &["push", "--quiet", bare.to_str().unwrap(), "main"]);
    (dir, bare)
}

fn append(dir: &Path, line: &str) -> Result<Applied> {
    let p = dir.join("log.txt");
    let mut text = std::fs::read_to_string(&p)?;
    text.push_str(line);
    std::fs::write(&p, text)?;
    Ok(Applied::Changed)
}

fn read_remote(bare: &Path, branch: &str) -> String {
    let out = Command::new("git")
        .arg("--git-dir")
        .arg(bare)
        .args(["show", &format!("{branch}:log.txt")])
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_rejected_push_is_refetched_and_reapplied() {
    let (dir, bare) = remote();
    let other = dir.path().join("other");
    let mut seen = Vec::new();
    let pushed = commit_and_push(&spec(&bare, "main"), |tree, attempt| {
        seen.push(std::fs::read_to_string(tree.join("log.txt"))?);
        if attempt == 1 {
            // Someone else lands a commit between our clone and our push.
            sh(
                dir.path(),
                &["clone", "--quiet", bare.to_str().unwrap(), "other"],
            );
            append(&other, "theirs\n")?;
            sh(&other, &["commit", "--quiet", "-am", "theirs"]);
            sh(&other, &["push", "--quiet", "origin", "main"]);
        }
        append(tree, "ours\n")
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(pushed.attempts, 2);
    assert!(pushed.commit.is_some());
    assert_eq!(seen, ["start\n", "start\ntheirs\n"]);
    assert_eq!(read_remote(&bare, "main"), "start\ntheirs\nours\n");
}

#[test]
fn unchanged_pushes_nothing_and_missing_branch_is_created_when_asked() {
    let (_dir, bare) = remote();
    let p = commit_and_push(&spec(&bare, "main"), |_, _| Ok(Applied::Unchanged))
        .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(p.commit, None);
    assert!(commit_and_push(&spec(&bare, "gh-pages"), |t, _| append(t, "x")).is_err());
    let mut s = spec(&bare, "gh-pages");
    s.create_branch = true;
    commit_and_push(&s, |t, _| {
        std::fs::write(t.join("log.txt"), "site\n")?;
        Ok(Applied::Changed)
    })
    .unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(read_remote(&bare, "gh-pages"), "site\n");
    assert_eq!(read_remote(&bare, "main"), "start\n");
}

#[test]
fn an_error_in_the_change_leaves_the_remote_alone() {
    let (_dir, bare) = remote();
    let err = commit_and_push(&spec(&bare, "main"), |_, _| -> Result<Applied> {
        bail!("corrupt input")
    });
    assert!(err.is_err());
    assert_eq!(read_remote(&bare, "main"), "start\n");
}

#[test]
fn auth_config_reads_the_checkout_extraheader() {
    let (dir, _bare) = remote();
    let seed = dir.path().join("seed");
    sh(
        &seed,
        &[
            "config",
            "--local",
            "http.https://github.com/.extraheader",
            "AUTHORIZATION: basic abc",
        ],
    );
    assert_eq!(
        auth_config(&seed),
        vec![(
            "http.https://github.com/.extraheader".to_string(),
            "AUTHORIZATION: basic abc".to_string()
        )]
    );
    assert_eq!(toplevel(&seed).ok(), seed.canonicalize().ok());
    assert!(head_commit(&seed).is_some_and(|c| c.len() == 40));
    assert!(remote_url(&seed, "nope").is_err());
}

#[test]
fn push_failures_are_told_apart() {
    let hook = "remote: GH006: Protected branch update failed for refs/heads/gh-pages.        \nremote: Changes must be made through a pull request.        \nTo ../r.git\n ! [remote rejected] HEAD -> gh-pages (pre-receive hook declined)\nerror: failed to push some refs to '../r.git'\n";
    match classify_push(hook) {
        PushFailure::Refused(why) => {
            assert!(why.starts_with("pre-receive hook declined"), "{why}");
            assert!(why.contains("GH006: Protected branch update failed for refs/heads/gh-pages. / Changes must be made"), "{why}");
        }
        other => panic!("{other:?}"),
    }
    let race = " ! [rejected]        HEAD -> main (fetch first)\nerror: failed to push some refs\n";
    assert_eq!(classify_push(race), PushFailure::Race);
    let lock = " ! [remote rejected] HEAD -> main (cannot lock ref 'refs/heads/main': is at 1 but expected 2)\n";
    assert_eq!(classify_push(lock), PushFailure::Race);
    assert_eq!(
        classify_push("fatal: could not read Username"),
        PushFailure::Other
    );
}

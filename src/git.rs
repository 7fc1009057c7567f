//! Commit a change to a branch of a remote and push it, safely under concurrency.
//!
//! [`commit_and_push`] clones one branch of a remote (URL or path) into a locked scratch
//! folder under the output folder, lets a closure change files there, commits with a configurable author and
//! message, and pushes. When the push is rejected because someone else pushed first, it
//! re-fetches the branch, resets to it and calls the closure again on the fresh tree
//! (so the change is re-applied, never merged blindly), with a bounded number of
//! attempts and a jittered exponential backoff. A push the remote refuses (a hook,
//! branch protection) is no race: it fails at once with the remote's message. Used by `benchmark record` (append a run
//! to `baseline.json` on main) and meant for `publish` (the site on `gh-pages`; set
//! [`PushSpec::create_branch`] to start an orphan branch when it does not exist yet).
//!
//! Secrets: extra git configuration (e.g. the `http.<url>.extraheader` that
//! actions/checkout stores) is passed through `GIT_CONFIG_*` environment variables,
//! never on the command line, and remote URLs are shown with credentials redacted.

use anyhow::{bail, Context, Result};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

/// Author and committer of the commits we make.
#[derive(Debug, Clone)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

/// What to push where.
#[derive(Debug, Clone)]
pub struct PushSpec {
    /// Remote URL or local path (a bare repository in tests).
    pub remote: String,
    pub branch: String,
    pub author: Identity,
    pub message: String,
    /// Total attempts (at least 1).
    pub max_attempts: u32,
    /// Delay before the second attempt; doubles each time, plus up to 100 % jitter.
    pub backoff: Duration,
    /// Create the branch as an orphan when the remote does not have it.
    pub create_branch: bool,
    /// Extra `git -c` settings, passed via the environment so they never show in
    /// process listings or logs.
    pub config: Vec<(String, String)>,
    /// The clone goes into a scratch folder here (the output folder), not `$TMPDIR`;
    /// clones a killed run left here are removed on the next push.
    pub work_root: PathBuf,
}

/// What the closure did to the tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Changed,
    /// Nothing to commit (e.g. the run is already recorded): stop without pushing.
    Unchanged,
}

/// The result of [`commit_and_push`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pushed {
    /// The pushed commit; `None` when there was nothing to commit.
    pub commit: Option<String>,
    /// Attempts used (1 when the first push landed).
    pub attempts: u32,
}

/// `https://user:token@host/x` → `https://***@host/x`.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(i) = rest.find("://") {
        let (head, tail) = rest.split_at(i + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || c == '/' || c == '\'' || c == '"')
            .unwrap_or(tail.len());
        match tail[..end].rfind('@') {
            Some(at) => {
                out.push_str("***");
                rest = &tail[at..];
            }
            None => rest = tail,
        }
    }
    out.push_str(rest);
    out
}

struct Git<'a> {
    spec: &'a PushSpec,
}

impl Git<'_> {
    fn command(&self, dir: Option<&Path>) -> Command {
        let mut cmd = Command::new("git");
        if let Some(d) = dir {
            cmd.arg("-C").arg(d);
        }
        // A hook or a parent git process must not redirect us to another repository.
        for k in [
            "GIT_DIR",
            "GIT_WORK_TREE",
            "GIT_INDEX_FILE",
            "GIT_OBJECT_DIRECTORY",
        ] {
            cmd.env_remove(k);
        }
        let a = &self.spec.author;
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_AUTHOR_NAME", &a.name)
            .env("GIT_AUTHOR_EMAIL", &a.email)
            .env("GIT_COMMITTER_NAME", &a.name)
            .env("GIT_COMMITTER_EMAIL", &a.email);
        let mut config = vec![
            ("commit.gpgsign".to_string(), "false".to_string()),
            ("core.hooksPath".to_string(), "/dev/null".to_string()),
        ];
        config.extend(self.spec.config.iter().cloned());
        cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
        for (i, (k, v)) in config.iter().enumerate() {
            cmd.env(format!("GIT_CONFIG_KEY_{i}"), k)
                .env(format!("GIT_CONFIG_VALUE_{i}"), v);
        }
        cmd
    }

    fn output(&self, dir: Option<&Path>, args: &[&str]) -> Result<Output> {
        self.command(dir)
            .args(args)
            .output()
            .with_context(|| "cannot run git (is it installed and on PATH?)")
    }

    /// Runs and fails with git's (redacted) stderr.
    fn run(&self, dir: Option<&Path>, args: &[&str]) -> Result<String> {
        let out = self.output(dir, args)?;
        if !out.status.success() {
            bail!(
                "`git {}` failed: {}",
                redact(&args.join(" ")),
                redact(String::from_utf8_lossy(&out.stderr).trim())
            );
        }
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}

#[path = "git_push.rs"]
mod push_failure;
use push_failure::{classify_push, PushFailure};

/// Clones `spec.branch` of `spec.remote`, applies `apply(tree, attempt)`, commits and
/// pushes, re-fetching and re-applying on rejection. See the module documentation.
pub fn commit_and_push<F>(spec: &PushSpec, mut apply: F) -> Result<Pushed>
where
    F: FnMut(&Path, u32) -> Result<Applied>,
{
    let git = Git { spec };
    let shown = redact(&spec.remote);
    // A relative local path would be read from inside the clone later: make it absolute.
    let remote = match std::fs::canonicalize(&spec.remote) {
        Ok(p) if !spec.remote.contains("://") => p.to_string_lossy().into_owned(),
        _ => spec.remote.clone(),
    };
    let tmp = crate::scratch::scratch_dir(&spec.work_root, "git-")
        .context("cannot create a scratch folder for the clone")?;
    let work: PathBuf = tmp.path().join("repo");
    let work_s = work.to_string_lossy().to_string();
    let branch_ref = format!("refs/heads/{}", spec.branch);
    let exists = {
        let out = git.output(
            None,
            &["ls-remote", "--exit-code", "--heads", &remote, &branch_ref],
        )?;
        match out.status.code() {
            Some(0) => true,
            Some(2) => false,
            _ => bail!(
                "cannot reach the remote {shown}: {}",
                redact(String::from_utf8_lossy(&out.stderr).trim())
            ),
        }
    };
    if exists {
        git.run(
            None,
            &[
                "clone",
                "--quiet",
                "--no-tags",
                "--single-branch",
                "--depth",
                "1",
                "--branch",
                &spec.branch,
                &remote,
                &work_s,
            ],
        )
        .with_context(|| format!("cannot clone branch {} of {shown}", spec.branch))?;
    } else if spec.create_branch {
        git.run(None, &["init", "--quiet", &work_s])?;
        git.run(
            Some(&work),
            &["checkout", "--quiet", "--orphan", &spec.branch],
        )?;
        git.run(Some(&work), &["remote", "add", "origin", &remote])?;
    } else {
        bail!(
            "the remote {shown} has no branch {:?} (check benchmark.record.branch)",
            spec.branch
        );
    }

    let attempts = spec.max_attempts.max(1);
    let mut delay = spec.backoff;
    let mut last_rejection = String::new();
    for attempt in 1..=attempts {
        if attempt > 1 {
            // Someone else pushed: start again from their tip and re-apply our change.
            git.run(
                Some(&work),
                &[
                    "fetch",
                    "--quiet",
                    "--no-tags",
                    "--depth",
                    "1",
                    "origin",
                    &branch_ref,
                ],
            )?;
            git.run(Some(&work), &["reset", "--quiet", "--hard", "FETCH_HEAD"])?;
            git.run(Some(&work), &["clean", "--quiet", "-fdx"])?;
        }
        if apply(&work, attempt)? == Applied::Unchanged {
            return Ok(Pushed {
                commit: None,
                attempts: attempt,
            });
        }
        git.run(Some(&work), &["add", "--all"])?;
        let staged = git.output(Some(&work), &["diff", "--cached", "--quiet"])?;
        if staged.status.success() {
            return Ok(Pushed {
                commit: None,
                attempts: attempt,
            });
        }
        git.run(
            Some(&work),
            &["commit", "--quiet", "--no-verify", "-m", &spec.message],
        )?;
        let refspec = format!("HEAD:{branch_ref}");
        let out = git.output(
            Some(&work),
            &["push", "--quiet", "--no-verify", "origin", &refspec],
        )?;
        if out.status.success() {
            let commit = git.run(Some(&work), &["rev-parse", "HEAD"])?;
            return Ok(Pushed {
                commit: Some(commit),
                attempts: attempt,
            });
        }
        let stderr = String::from_utf8_lossy(&out.stderr).to_string();
        match classify_push(&stderr) {
            PushFailure::Race => last_rejection = stderr,
            PushFailure::Refused(why) => bail!(
                "the remote refused the push to branch {} of {shown} ({why}); this is not a race with another job, so it was not retried: fix the remote's rule or hook, or publish to another branch",
                spec.branch
            ),
            PushFailure::Other => bail!(
                "cannot push to branch {} of {shown}: {}",
                spec.branch,
                redact(stderr.trim())
            ),
        }
        if attempt < attempts {
            let jitter = delay.mul_f64(rand::random::<f64>());
            std::thread::sleep(delay + jitter);
            delay *= 2;
        }
    }
    bail!(
        "the push to branch {} of {shown} was rejected {attempts} times because others kept pushing; nothing was changed there — run the job again (last answer: {})",
        spec.branch,
        redact(last_rejection.trim())
    )
}

/// The URL of remote `name` in the repository at `repo`.
pub fn remote_url(repo: &Path, name: &str) -> Result<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["remote", "get-url", name])
        .output()
        .context("cannot run git (is it installed and on PATH?)")?;
    if !out.status.success() {
        bail!(
            "{} has no git remote {name:?} (pass --remote or set benchmark.record.remote)",
            repo.display()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// A remote given by name (looked up in the repository at `repo`) or as a URL/path.
/// A name that is not configured is taken as a URL or path, except `origin`, whose
/// absence is an error worth reporting.
pub fn resolve_remote(repo: &Path, arg: &str) -> Result<String> {
    match remote_url(repo, arg) {
        Ok(url) => Ok(url),
        Err(_) if arg != "origin" => Ok(arg.to_string()),
        Err(e) => Err(e),
    }
}

/// The `http.*.extraheader` settings of the repository at `repo` (actions/checkout puts
/// the job token there), to authenticate a fresh clone the same way.
pub fn auth_config(repo: &Path) -> Vec<(String, String)> {
    let Ok(out) = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args([
            "config",
            "--local",
            "--get-regexp",
            r"^http\..*\.extraheader$",
        ])
        .output()
    else {
        return Vec::new();
    };
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The top folder of the work tree containing `path`.
pub fn toplevel(path: &Path) -> Result<PathBuf> {
    let out = Command::new("git")
        .arg("-C")
        .arg(path)
        .args(["rev-parse", "--show-toplevel"])
        .output()
        .context("cannot run git (is it installed and on PATH?)")?;
    if !out.status.success() {
        bail!("{} is not inside a git repository", path.display());
    }
    Ok(PathBuf::from(String::from_utf8_lossy(&out.stdout).trim()))
}

/// `HEAD`'s commit of the repository at `repo`, if any.
pub fn head_commit(repo: &Path) -> Option<String> {
    let out = Command::new("git")
        .arg("-C")
        .arg(repo)
        .args(["rev-parse", "HEAD"])
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
}

#[cfg(test)]
#[path = "git_tests.rs"]
mod tests;
